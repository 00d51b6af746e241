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
* :mod:`.cluster` — the batch on a Dask cluster (``--scheduler``);
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
    p.add_argument("submitted", type=Path, metavar="SUBMITTED", help="folder of <student>/<lesson>/<lesson>.ipynb")
    p.add_argument("--lesson", nargs="+", default=[], metavar="NAME", help="lessons to grade, e.g. 01 or 01_base_and_mesa (default: all)")
    p.add_argument("--out", type=Path, default=Path("graded"), metavar="DIR", help="where to write grades.csv and feedback/ (default: ./graded)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="submissions graded at once (default 2)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S", help=f"CPU seconds allowed per submission (default {DEFAULT_TIMEOUT}; wall clock: 5x that)")
    p.add_argument("--memory", type=float, default=DEFAULT_MEMORY_GB, metavar="GB", help=f"memory allowed per submission (default {DEFAULT_MEMORY_GB:g})")
    p.add_argument("--course", type=Path, help="course folder (default: found from the current folder)")
    p.add_argument("--quiet", action="store_true", help="no progress line per submission")
    p.add_argument("--scheduler", metavar="ADDRESS", help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs "
                   "mesakit[cluster]; its workers need mesakit and bubblewrap; --workers is then the cluster's)")
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
          timeout: float = DEFAULT_TIMEOUT, memory_gb: float = DEFAULT_MEMORY_GB, progress=None,
          scheduler: str | None = None):  # fmt: skip
    """Grade a folder of submissions (here, or on the Dask cluster at ``scheduler``); write the CSV
    and feedback; return the results."""
    from . import report, runner, sandbox

    if not scheduler:  # on a cluster each worker checks its own bubblewrap
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
    results = runner.grade_all(submitted, assignments, workers, timeout, int(memory_gb * 1024**3), progress, scheduler)
    report.write_csv(results, out / "grades.csv")
    for r in results:
        report.write_feedback(r, out)
    return results


def _grade(args) -> int:
    from ..course import CourseError, find_root
    from .cluster import ClusterUnavailable
    from .sandbox import SandboxUnavailable

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
        results = grade(args.submitted.resolve(), root, args.lesson, args.out, args.workers, args.timeout, args.memory, progress,
                        args.scheduler)
    except (CourseError, SandboxUnavailable, ClusterUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = [r for r in results if r.status == "grader-error"]
    print(f"graded {len(results)} submissions -> {args.out / 'grades.csv'}" + (f"; the grader failed on {len(failed)}" if failed else ""))
    return 1 if failed else 0
