"""``mesakit grade``: autograde submissions so that cheating earns nothing and faults stop nothing.

    mesakit grade SUBMITTED [--lesson NAME ...] [--out DIR] [--workers N] [--timeout S]

reads ``SUBMITTED/<student>/<lesson>/<lesson>.ipynb``, grades each against the instructor's
``solutions/`` (hidden tests included) and writes ``DIR/grades.csv`` and
``DIR/feedback/<student>/<lesson>/<lesson>.html``. How it works, one idea per module:

* :mod:`.plan` — reconcile the submission with the source (restore locked cells, note tampering);
* :mod:`.sandbox` — bubblewrap, per-process limits, the scratch folders;
* :mod:`.cgroups` — each submission's CPU share, memory and process limits (cgroup v2 or v1);
* :mod:`.meter` — its CPU time against ``--timeout`` (and memory, without cgroups);
* :mod:`.worker` — the student's process (their cells, and answers about their objects);
* :mod:`.judge` — the instructor's tests, run where no student code ever runs;
* :mod:`.wire` — the data-only codec between the two;
* :mod:`.runner` — one submission end to end, and the batch;
* :mod:`.report` — the CSV and the feedback pages.

The instructor's workflow and the threat model are in ``docs/grading.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_TIMEOUT = 240  # s per submission: 4x the 60 s a lesson may take on one core
DEFAULT_MEMORY_GB = 2.0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "grade",
        help="autograde submissions SUBMITTED/<student>/<lesson>/<lesson>.ipynb (sandboxed)",
        description="Autograde submissions against solutions/ (hidden tests included). Writes "
        "DIR/grades.csv (student,lesson,score,max_score,status) and feedback HTML per submission.",
    )
    p.add_argument("submitted", type=Path, nargs="?", metavar="SUBMITTED", help="folder of <student>/<lesson>/<lesson>.ipynb")
    p.add_argument("--lesson", nargs="+", default=[], metavar="NAME", help="lessons to grade, e.g. 01 or 01_base_and_mesa (default: all)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="where to write grades.csv and feedback/ (default: ./graded; with --self: ./graded-self)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="submissions graded at once (default 2)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S", help=f"CPU seconds allowed per submission (default {DEFAULT_TIMEOUT}; wall clock: 5x that)")
    p.add_argument("--memory", type=float, default=DEFAULT_MEMORY_GB, metavar="GB", help=f"memory allowed per submission (default {DEFAULT_MEMORY_GB:g})")
    p.add_argument("--course", type=Path, help="course folder (default: found from the current folder)")
    p.add_argument("--quiet", action="store_true", help="no progress line per submission")
    p.add_argument("--self", dest="self_lesson", metavar="LESSON", help="grade your own notebook of LESSON (default file: "
                   "lessons/<lesson>/<lesson>.ipynb) with the hidden tests, in the same sandbox; prints the score and the feedback page")  # fmt: skip
    p.add_argument("--notebook", type=Path, metavar="PATH", help="with --self: the notebook to grade (it is copied, never changed)")
    p.add_argument("--open", action="store_true", help="with --self: open the feedback page in a browser")
    p.set_defaults(func=_grade)


def load_assignments(root: Path, names: list[str]):
    """The source (solutions/) and release (lessons/) notebooks of the lessons asked for."""
    from ..course import CourseError, read_notebook, select
    from .runner import Assignment

    chosen = select(root, names, solutions=True)
    found = []
    for lesson in chosen:
        release_path = root / "lessons" / lesson.name / f"{lesson.name}.ipynb"
        if not release_path.is_file():
            raise CourseError(f"{lesson.name} has no release in lessons/; run `mesakit release` first")
        found.append(Assignment(lesson.name, read_notebook(lesson.path), read_notebook(release_path)))
    return found


def grade(submitted: Path, root: Path, lessons: list[str] = (), out: Path = Path("graded"), workers: int = 2,
          timeout: float = DEFAULT_TIMEOUT, memory_gb: float = DEFAULT_MEMORY_GB, progress=None):  # fmt: skip
    """Grade a folder of submissions; write the CSV and feedback; return the results."""
    from . import report, runner, sandbox

    sandbox.probe()
    names = list(lessons)
    if not names:  # every lesson of the course that someone handed in
        from ..course import lessons as course_lessons

        handed_in = {p.name for student in submitted.iterdir() if student.is_dir() and not student.is_symlink()
                     for p in student.iterdir() if p.is_dir() or p.is_symlink()}  # fmt: skip
        names = [l.name for l in course_lessons(root, solutions=True) if l.name in handed_in]
        if not names:
            from ..course import CourseError

            raise CourseError(f"no submissions in {submitted} (expected {submitted}/<student>/<lesson>/<lesson>.ipynb)")
    assignments = load_assignments(root, names)
    results = runner.grade_all(submitted, assignments, workers, timeout, int(memory_gb * 1024**3), progress)
    report.write_csv(results, out / "grades.csv")
    for r in results:
        report.write_feedback(r, out)
    return results


def _grade(args) -> int:
    from ..course import CourseError, find_root
    from .sandbox import SandboxUnavailable

    if args.self_lesson is not None:
        if args.submitted is not None:
            print("error: give either SUBMITTED or --self LESSON, not both", file=sys.stderr)
            return 2
        from . import selfgrade

        return selfgrade.run(args)
    if args.notebook is not None or args.open:
        print("error: --notebook and --open go with --self LESSON", file=sys.stderr)
        return 2
    if args.submitted is None:
        print("error: give SUBMITTED (a folder of <student>/<lesson>/<lesson>.ipynb) or --self LESSON", file=sys.stderr)
        return 2
    args.out = args.out or Path("graded")
    if not args.submitted.is_dir():
        print(f"error: {args.submitted} is not a folder (expected SUBMITTED/<student>/<lesson>/<lesson>.ipynb)", file=sys.stderr)
        return 2
    if args.workers < 1 or args.timeout <= 0 or args.memory <= 0:
        print("error: --workers, --timeout and --memory must be positive", file=sys.stderr)
        return 2

    def progress(r) -> None:
        if not args.quiet:
            print(f"{r.student:20} {r.lesson:26} {r.score:g}/{r.max_score:g}  {r.status}  ({r.seconds:.1f} s)", flush=True)

    try:
        root = args.course.resolve() if args.course else find_root()
        results = grade(args.submitted.resolve(), root, args.lesson, args.out, args.workers, args.timeout, args.memory, progress)
    except (CourseError, SandboxUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = [r for r in results if r.status == "grader-error"]
    print(f"graded {len(results)} submissions -> {args.out / 'grades.csv'}" + (f"; the grader failed on {len(failed)}" if failed else ""))
    return 1 if failed else 0
