"""``mesakit grade --self LESSON``: a learner grades their own notebook exactly as an instructor would.

The notebook (default ``lessons/<lesson>/<lesson>.ipynb``) is *copied* into a temporary
``SUBMITTED/me/<lesson>/<lesson>.ipynb`` and handed to :func:`mesakit.grade.grade` — the same
sandbox, the same hidden tests from ``solutions/``, the same feedback page. The learner's file is
only read, never written.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from . import DEFAULT_MEMORY_GB, DEFAULT_TIMEOUT

ME = "me"  # the student folder of a self-graded submission
DEFAULT_OUT = Path("graded-self")  # not ./graded, so an instructor's grades.csv there is never overwritten


def grade_self(
    lesson: str,
    root: Path,
    notebook: Path | None = None,
    out: Path = DEFAULT_OUT,
    timeout: float = DEFAULT_TIMEOUT,
    memory_gb: float = DEFAULT_MEMORY_GB,
):
    """Grade one notebook; return ``(result, feedback page path)``. Raises CourseError when the lesson
    or the notebook does not exist."""
    from ..course import CourseError, select
    from . import grade, report

    chosen = select(root, [lesson], solutions=True)[0]  # an unknown lesson raises CourseError, naming the lessons
    path = Path(notebook) if notebook is not None else root / "lessons" / chosen.name / f"{chosen.name}.ipynb"
    if not path.is_file():
        raise CourseError(f"notebook not found: {path} (pass --notebook PATH to grade another file)")
    with tempfile.TemporaryDirectory(prefix="mesakit-self-") as tmp:
        submitted = Path(tmp) / "submitted"
        copy = submitted / ME / chosen.name / f"{chosen.name}.ipynb"
        copy.parent.mkdir(parents=True)
        shutil.copyfile(path, copy)  # the grader works on the copy; the learner's file stays as it is
        results = grade(submitted, root, [chosen.name], out, workers=1, timeout=timeout, memory_gb=memory_gb)
    (result,) = results
    return result, report.feedback_path(out, result)


def run(args) -> int:
    """The ``--self`` branch of ``mesakit grade``."""
    from ..course import CourseError, find_root
    from .sandbox import SandboxUnavailable

    try:
        root = args.course.resolve() if args.course else find_root()
        result, page = grade_self(
            args.self_lesson, root, args.notebook, args.out or DEFAULT_OUT, args.timeout, args.memory
        )
    except (CourseError, SandboxUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{result.lesson}: {result.score:g} / {result.max_score:g} points ({result.status})")
    print(f"feedback: {page.resolve()}")
    if args.open:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())
    return 1 if result.status == "grader-error" else 0
