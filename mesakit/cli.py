"""The ``mesakit`` command: release and run lessons, reproduce experiments, grade submissions.

A thin layer: parse arguments, call the library, map its errors to exit codes
(0 ok, 1 a lesson failed or the grader failed on a submission, 2 bad usage or bad input, 130 interrupted).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__, grade, progress
from .course import CELL_TIMEOUT


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    from .experiments import EXPERIMENTS

    parser = argparse.ArgumentParser(
        prog="mesakit", description="The mesa-optimizer course: lessons, experiments and grading."
    )
    parser.add_argument("--version", action="version", version=f"mesakit {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("release", help="regenerate lessons/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("--course", type=Path, help="course folder (default: found from the current folder)")
    p.set_defaults(func=_release)

    p = sub.add_parser("run", help="execute lessons headless, one progress line per lesson")
    p.add_argument("lessons", nargs="*", metavar="LESSON", help="e.g. 01 or 01_base_and_mesa (default: all)")
    p.add_argument("--solutions", action="store_true", help="run the solution notebooks instead of lessons/")
    p.add_argument(
        "--timeout",
        type=int,
        default=CELL_TIMEOUT,
        metavar="S",
        help=f"wall-clock seconds each cell may run (default {CELL_TIMEOUT})",
    )
    p.add_argument("--course", type=Path, help="course folder (default: found from the current folder)")
    p.set_defaults(func=_run)

    lines = "\n".join(f"  {name:24} {summary}" for name, (_, summary) in EXPERIMENTS.items())
    p = sub.add_parser(
        "reproduce",
        help="run one of the course's experiments and print its figures",
        description=f"experiments:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("experiment", metavar="EXPERIMENT", help="one of: " + ", ".join(EXPERIMENTS))
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the experiment's own)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the measured figures")
    p.add_argument(
        "--save",
        type=Path,
        default=None,
        help="save the trained model to this file (task-diversity: a folder, one file per pool size)",
    )
    p.set_defaults(func=_reproduce)

    progress.add_parser(sub)
    grade.add_parser(sub)
    return parser


def _release(args) -> int:
    from .course import CourseError, find_root, release

    try:
        root = args.course.resolve() if args.course else find_root()
        for line in release(root):
            print(line)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _run(args) -> int:
    from .course import CourseError, execute, find_root, select

    try:
        root = args.course.resolve() if args.course else find_root()
        chosen = select(root, args.lessons, args.solutions)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = 0
    for lesson in chosen:
        print(f"{lesson.name} ... ", end="", flush=True)
        try:
            _, seconds = execute(lesson.path, timeout=args.timeout)
        except CourseError as err:
            failed += 1
            print(f"FAILED\n{err}", flush=True)
        else:
            print(f"ok ({seconds:.1f} s)", flush=True)
    print(f"{len(chosen) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _reproduce(args) -> int:
    from . import experiments

    try:
        module = experiments.get(args.experiment)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    if args.steps is not None and args.steps < 1:
        print("error: --steps must be >= 1", file=sys.stderr)
        return 2
    result = module.run(seed=args.seed, steps=args.steps, progress=not args.json, save=args.save)
    if args.json:
        print(json.dumps(result))
    else:
        print(module.describe(result))
        if args.save:
            print(f"saved the trained model to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
