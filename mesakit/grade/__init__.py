"""``mesakit grade``: autograde submissions so that cheating earns nothing and faults stop nothing.

    mesakit grade SUBMITTED [--lesson NAME ...] [--out DIR] [--workers N] [--timeout S] [--gradebook]

reads ``SUBMITTED/<student>/<assignment>/<notebook>.ipynb`` (nbgrader's collected layout; a lesson's
notebook is ``<lesson>.ipynb``), grades each against the instructor's ``solutions/`` (hidden tests
included) and writes ``DIR/grades.csv`` and ``DIR/feedback/<student>/<assignment>/<notebook>.html``;
with ``--gradebook`` also into nbgrader's gradebook and feedback folder. One idea per module:

* :mod:`.assignments` — the course as nbgrader sees it: assignments, notebooks, files, due dates;
* :mod:`.plan` — reconcile the submission with the source (restore locked cells, note tampering);
* :mod:`.sandbox` — bubblewrap, per-process limits, the scratch folders;
* :mod:`.cgroups` — each submission's CPU share, memory and process limits (cgroup v2 or v1);
* :mod:`.meter` — its CPU time against ``--timeout`` (and memory, without cgroups);
* :mod:`.worker` — the student's process (their cells, and answers about their objects);
* :mod:`.judge` — the instructor's tests, run where no student code ever runs;
* :mod:`.wire` — the data-only codec between the two;
* :mod:`.runner` — one submission end to end, and the batch;
* :mod:`.cluster` — the batch on a Dask cluster (``--scheduler``);
* :mod:`.report` — the CSV and the feedback pages;
* :mod:`.gradebook` — the scores into nbgrader's gradebook (``--gradebook``).

The instructor's workflow and the threat model are in ``docs/grading.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The one default of `--timeout`, for the CLI, the local pool, the cluster and --self: CPU seconds per
# submission (its worker and judge together; meter.py), 4x the 60 s a lesson may take on one core.
# A submission is also stopped after meter.WALL_FACTOR (5) times that in wall-clock time.
DEFAULT_TIMEOUT = 240
DEFAULT_MEMORY_GB = 2.0


def add_parser(sub) -> None:
    from .meter import WALL_FACTOR

    p = sub.add_parser(
        "grade",
        help="autograde submissions SUBMITTED/<student>/<assignment>/<notebook>.ipynb (sandboxed)",
        description="Autograde submissions (nbgrader's collected layout) against solutions/ (hidden tests "
        "included). Writes DIR/grades.csv (student,lesson,score,max_score,status,notebook,timestamp,late,"
        "seconds_late,late_penalty,manual) and feedback HTML per notebook.",
    )
    p.add_argument(
        "submitted",
        type=Path,
        nargs="?",
        metavar="SUBMITTED",
        help="folder of <student>/<assignment>/<notebook>.ipynb, e.g. nbgrader's submitted/",
    )
    p.add_argument(
        "--lesson",
        "--assignment",
        nargs="+",
        default=[],
        metavar="NAME",
        dest="lesson",
        help="lessons or nbgrader assignments to grade, e.g. 01, 01_base_and_mesa or quiz1 (default: all handed in)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write grades.csv and feedback/ (default: ./graded; with --self: ./graded-self)",
    )
    p.add_argument("--workers", type=int, default=2, metavar="N", help="submissions graded at once (default 2)")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"CPU seconds allowed per submission, its worker and judge together (default {DEFAULT_TIMEOUT}; "
        f"it is also stopped after {WALL_FACTOR:g}x that in wall-clock seconds)",
    )
    p.add_argument(
        "--memory",
        type=float,
        default=DEFAULT_MEMORY_GB,
        metavar="GB",
        help=f"memory allowed per submission (default {DEFAULT_MEMORY_GB:g})",
    )
    p.add_argument("--course", type=Path, help="course folder (default: found from the current folder)")
    p.add_argument("--quiet", action="store_true", help="no progress line per submission")
    p.add_argument(
        "--self",
        dest="self_lesson",
        metavar="LESSON",
        help="grade your own notebook of LESSON (default file: "
        "lessons/<lesson>/<lesson>.ipynb) with the hidden tests, in the same sandbox; prints the score and the feedback page",
    )
    p.add_argument(
        "--notebook", type=Path, metavar="PATH", help="with --self: the notebook to grade (it is copied, never changed)"
    )
    p.add_argument("--open", action="store_true", help="with --self: open the feedback page in a browser")
    p.add_argument(
        "--gradebook",
        action="store_true",
        help="also record the scores in nbgrader's gradebook (never over a score "
        "entered by hand) and put the feedback where `nbgrader release_feedback` finds it",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs "
        "mesakit[cluster]; its workers need mesakit and bubblewrap; --workers is then the cluster's)",
    )
    p.set_defaults(func=_grade)


def grade(
    submitted: Path,
    root: Path,
    lessons: list[str] = (),
    out: Path = Path("graded"),
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    memory_gb: float = DEFAULT_MEMORY_GB,
    progress=None,
    gradebook: bool = False,
    tell=None,
    scheduler: str | None = None,
):
    """Grade a folder of submissions; write the CSV and feedback; return the results.
    ``tell(line)`` gets notes for the instructor (stray files, lateness, the gradebook)."""
    from ..course import CourseError
    from . import assignments, report, runner, sandbox

    if not scheduler:  # on a cluster each worker checks its own bubblewrap
        sandbox.probe()
    course = assignments.load_course(root)
    handed_in = {
        p.name
        for student in submitted.iterdir()
        if student.is_dir() and not student.is_symlink()
        for p in student.iterdir()
        if p.is_dir() or p.is_symlink()
    }
    if lessons:
        names = assignments.select(course, list(lessons))
    else:  # every assignment of the course that someone handed in
        names = [n for n in assignments.names(course) if n in handed_in]
        if not names:
            raise CourseError(
                f"no submissions of this course's assignments in {submitted} (expected "
                f"{submitted}/<student>/<assignment>/<notebook>.ipynb; the course has: "
                f"{', '.join(assignments.names(course)) or 'none'})"
            )
    if gradebook:
        from .gradebook import check

        check(course, names)  # before grading: a missing assignment is a usage error
    loaded = [a for name in names for a in assignments.load(course, name)]
    results = runner.grade_all(submitted, loaded, workers, timeout, int(memory_gb * 1024**3), progress, scheduler)
    lines = assignments.apply_lateness(course, submitted, results)
    lines += assignments.survey(course, submitted, names, results)
    report.write_csv(results, out / "grades.csv")
    for r in results:
        report.write_feedback(r, out)
    if gradebook:
        from .gradebook import record

        lines += record(course, submitted, results, {(a.name, a.notebook_name): a.release for a in loaded})
    for line in lines:
        if tell:
            tell(line)
    return results


def _grade(args) -> int:
    from ..course import CourseError, find_root
    from .cluster import ClusterUnavailable
    from .sandbox import SandboxUnavailable

    if args.workers < 1 or args.timeout <= 0 or args.memory <= 0:
        print("error: --workers, --timeout and --memory must be positive", file=sys.stderr)
        return 2
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
        print(
            f"error: {args.submitted} is not a folder (expected SUBMITTED/<student>/<lesson>/<lesson>.ipynb)",
            file=sys.stderr,
        )
        return 2

    def progress(r) -> None:
        if not args.quiet:
            what = r.lesson if (r.notebook or r.lesson) == r.lesson else f"{r.lesson}/{r.notebook}"
            print(f"{r.student:20} {what:26} {r.score:g}/{r.max_score:g}  {r.status}  ({r.seconds:.1f} s)", flush=True)

    try:
        root = args.course.resolve() if args.course else _nbgrader_course() or find_root()
        results = grade(
            args.submitted.resolve(),
            root,
            args.lesson,
            args.out,
            args.workers,
            args.timeout,
            args.memory,
            progress,
            gradebook=args.gradebook,
            tell=lambda line: print(line, file=sys.stderr),
            scheduler=args.scheduler,
        )
    except (CourseError, SandboxUnavailable, ClusterUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = [r for r in results if r.status == "grader-error"]
    print(
        f"graded {len(results)} submissions -> {args.out / 'grades.csv'}"
        + (f"; the grader failed on {len(failed)}" if failed else "")
    )
    return 1 if failed else 0


def _nbgrader_course() -> Path | None:
    """The nearest folder at or above the current one with an ``nbgrader_config.py``: an nbgrader
    course whose source folder is not called ``solutions/`` is still the course we are in."""
    from .assignments import load_course

    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and load_course(folder).source.is_dir():
            return folder
    return None
