"""The course on disk: finding lessons, executing notebooks headless, regenerating ``lessons/``.

``solutions/NN_slug/NN_slug.ipynb`` is the instructor source; ``lessons/`` is generated from it by
nbgrader's ``generate_assignment`` (see ``nbgrader_config.py``). Nothing here writes into
``solutions/``, and only :func:`release` writes into ``lessons/`` — after generating into a
temporary folder, and only the files whose content changed. Grading lives in ``mesakit.grade``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

CELL_TIMEOUT = 300  # wall-clock seconds one cell may run in `mesakit run` (a lesson's budget is 60 s in all)


class CourseError(Exception):
    """A problem with the course's files that the user can fix (message says how)."""


@dataclass(frozen=True)
class Lesson:
    name: str  # "01_base_and_mesa"
    path: Path  # the notebook


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest folder at or above ``start`` holding ``nbgrader_config.py``
    and ``solutions/``; else the checkout this package was installed from."""
    candidates = [Path(start or Path.cwd()).resolve()]
    candidates += list(candidates[0].parents)
    candidates.append(Path(__file__).resolve().parent.parent)
    for folder in candidates:
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    raise CourseError(
        "cannot find the course: run this inside the course folder (the one with nbgrader_config.py "
        "and solutions/) or pass --course DIR"
    )


def lessons(root: Path, solutions: bool = False) -> list[Lesson]:
    """Every lesson in ``lessons/`` (or ``solutions/``), in number order."""
    folder = root / ("solutions" if solutions else "lessons")
    found = []
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if sub.is_dir() and sub.name[:2].isdigit():
            found.append(Lesson(sub.name, sub / f"{sub.name}.ipynb"))
    return found


def select(root: Path, names: list[str], solutions: bool = False) -> list[Lesson]:
    """The lessons named (``01``, ``01_base_and_mesa`` or ``base_and_mesa``); all when none."""
    available = lessons(root, solutions)
    if not names:
        return available
    chosen = []
    for name in names:
        matches = [l for l in available if name in (l.name, l.name[:2], l.name[3:])]
        if not matches:
            listing = ", ".join(l.name for l in available) or "none"
            raise CourseError(f"no lesson {name!r}; the lessons are: {listing}")
        chosen.extend(matches)
    return chosen


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook; a missing or corrupt file raises :class:`CourseError`."""
    if not path.is_file():
        raise CourseError(f"notebook not found: {path}")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:
        raise CourseError(
            f"{path} is not a valid notebook ({type(err).__name__}: {err}); restore it from git"
        ) from None
    return nb


def execute(
    path: Path,
    timeout: int = CELL_TIMEOUT,
    allow_errors: bool = False,
    env: dict[str, str] | None = None,
    extra_cells: tuple[str, ...] = (),
) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom in a fresh kernel, in its own folder, and return the executed
    copy with its wall time; ``extra_cells`` (code) run after the notebook's own cells; ``timeout`` is
    wall-clock seconds per cell. The file on disk is never modified and nothing is written beside it."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = read_notebook(path)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    kernel_env = dict(os.environ if env is None else env)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
        config=kernel_config(),
    )
    start = time.perf_counter()
    try:
        client.execute(env=kernel_env)
    except CellTimeoutError as err:
        raise CourseError(f"{path.name}: a cell ran longer than {timeout} s ({err})") from None
    except CellExecutionError as err:
        raise CourseError(f"{path.name}: a cell failed:\n{err}") from None
    return nb, time.perf_counter() - start


def kernel_config():
    """The kernel manager's settings for a headless run: CurveZMQ-encrypted transport where this
    jupyter_client and pyzmq support it. ipykernel warns on every start that a kernel "is running over
    TCP without encryption"; with keys provisioned it is not, so the warning (and only it) goes away
    and a learner running lessons sees the course's own progress lines. Elsewhere the kernel runs as
    before and says so; the kernel's other warnings and errors are always shown."""
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    if "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve"):
        return Config({"KernelManager": {"transport_encryption": "auto"}})  # keys when the kernelspec takes them
    return Config()


def release(root: Path) -> list[str]:
    """Regenerate ``lessons/`` from ``solutions/`` with nbgrader; return a line per notebook saying
    whether it was rewritten. Deterministic: a second run rewrites nothing."""
    sources = lessons(root, solutions=True)
    if not sources:
        raise CourseError(f"no lessons in {root / 'solutions'}")
    for lesson in sources:
        read_notebook(lesson.path)
    report = []
    with tempfile.TemporaryDirectory(prefix="mesakit-release-") as tmp:
        out = Path(tmp) / "release"
        env = dict(os.environ)
        # nbgrader shells out to alembic, which lives beside this Python.
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        # One nbgrader process for every lesson: the assignment id is a glob matching exactly the
        # folders lessons() lists (two digits first), and nbgrader's start-up is most of its cost.
        cmd = [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            "[0-9][0-9]*",
            "--force",
            "--log-level=WARN",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.release_directory={out}",
            f"--CourseDirectory.db_url=sqlite:///{Path(tmp) / 'gradebook.db'}",
        ]
        done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            names = ", ".join(l.name for l in sources)
            raise CourseError(f"nbgrader could not release the lessons ({names}):\n{done.stdout}{done.stderr}")
        for new in sorted(p for p in out.rglob("*") if p.is_file()):
            rel = new.relative_to(out)
            target = root / "lessons" / rel
            if target.is_file() and target.read_bytes() == new.read_bytes():
                report.append(f"unchanged  lessons/{rel}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(new, target)
            report.append(f"rewrote    lessons/{rel}")
    return report
