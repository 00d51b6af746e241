"""Grade the same batch of honest submissions with `mesakit grade` and with `nbgrader autograde`.

    .venv/bin/python benchmarks/grading.py [--students 8] [--lessons 01_base_and_mesa 02_toy_mesa_optimizer]
                                           [--workers 2] [--keep DIR]

Builds STUDENTS x LESSONS honest submissions from solutions/ and lessons/ (student k leaves
exercise k mod E unsolved, so scores differ between students; student 0 solves everything),
then times, in one run on this machine:
  * `mesakit grade SUBMITTED --workers W` (sandboxed, judge process separate), and
  * `nbgrader autograde LESSON --force` per lesson (a scratch copy of the course, its gradebook
    prepared by `nbgrader generate_assignment`, which is not timed).
Prints both wall times, the CPU time of `mesakit grade` and everything it started (sandboxes
included: measured with a cpuacct cgroup where one can be made, else getrusage, which misses
killed sandboxes), the speed-up, and every (student, lesson) score from both tools; exits 1 if any
score differs. Targets: identical scores, mesakit >= 1.5x faster. `--no-nbgrader` skips nbgrader.
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _solved(release, source, skip: int | None):
    """The release with its solution cells filled in from the source, except exercise ``skip``."""
    nb = copy.deepcopy(release)
    sol = [c for c in source.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    by_id = {c.metadata["nbgrader"]["grade_id"]: c.source for c in sol}
    order = [c.metadata["nbgrader"]["grade_id"] for c in sol]
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in by_id and (skip is None or order.index(gid) != skip % len(order)):
            cell.source = "\n".join(l for l in by_id[gid].splitlines() if "### BEGIN SOLUTION" not in l and "### END SOLUTION" not in l)
    return nb


def build(submitted: Path, lessons: list[str], students: int) -> None:
    for lesson in lessons:
        release = nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
        source = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
        for k in range(students):
            nb = _solved(release, source, None if k == 0 else k - 1)
            path = submitted / f"student{k:02d}" / lesson / f"{lesson}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)


def _cpu_cgroup() -> Path | None:
    """A cpuacct cgroup (v1) to count the CPU time of a command's whole process tree, if we may."""
    base = Path("/sys/fs/cgroup/cpuacct")
    try:
        path = base / f"bench-grading-{os.getpid()}"
        path.mkdir()
        return path
    except OSError:
        return None


def run_mesakit(submitted: Path, out: Path, lessons: list[str], workers: int) -> tuple[float, float, str, dict]:
    """(wall seconds, CPU seconds, how the CPU was measured, rows)."""
    import resource

    cmd = [str(Path(sys.executable).parent / "mesakit"), "grade", str(submitted), "--out", str(out),
           "--workers", str(workers), "--course", str(ROOT), "--lesson", *lessons]  # fmt: skip
    group = _cpu_cgroup()

    def enter() -> None:
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=enter)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if group is not None:
        cpu, how = int((group / "cpuacct.usage").read_text()) / 1e9, "cpuacct cgroup, whole tree"
        group.rmdir()
    else:
        cpu, how = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, "getrusage: undercounts"
    if done.returncode != 0:
        sys.exit(f"mesakit grade failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    with open(out / "grades.csv", newline="") as f:
        rows = {(r["student"], r["lesson"]): (float(r["score"]), r["status"]) for r in csv.DictReader(f)}
    return seconds, cpu, how, rows


def run_nbgrader(submitted: Path, course: Path, lessons: list[str]) -> tuple[float, dict]:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    db = f"sqlite:///{course / 'gradebook.db'}"
    base = [sys.executable, "-m", "nbgrader"]
    for lesson in lessons:
        shutil.copytree(ROOT / "solutions" / lesson, course / "solutions" / lesson)
        subprocess.run(base + ["generate_assignment", lesson, "--force", f"--CourseDirectory.root={course}",
                               f"--CourseDirectory.db_url={db}", "--CourseDirectory.release_directory=release"],
                       cwd=course, env=env, check=True, capture_output=True)  # fmt: skip
    shutil.copytree(submitted, course / "submitted")
    start = time.perf_counter()
    for lesson in lessons:
        done = subprocess.run(base + ["autograde", lesson, "--force", f"--CourseDirectory.root={course}",
                                      f"--CourseDirectory.db_url={db}"],
                              cwd=course, env=env, capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
    seconds = time.perf_counter() - start
    from nbgrader.api import Gradebook

    rows = {}
    with Gradebook(db) as gb:
        for lesson in lessons:
            for sub in gb.assignment_submissions(lesson):
                rows[(sub.student.id, lesson)] = float(sub.score)
    return seconds, rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=8)
    p.add_argument("--lessons", nargs="+", default=["01_base_and_mesa", "02_toy_mesa_optimizer"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None, help="keep the scratch folder here")
    p.add_argument("--no-nbgrader", action="store_true", help="time mesakit grade only (no score comparison)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    submitted = tmp / "submitted"
    build(submitted, args.lessons, args.students)
    n = args.students * len(args.lessons)
    print(f"{n} honest submissions ({args.students} students x {len(args.lessons)} lessons); machine: {os.cpu_count()} cores")
    t_mk, cpu_mk, how, mk = run_mesakit(submitted, tmp / "mesakit", args.lessons, args.workers)
    print(f"mesakit grade --workers {args.workers}: {t_mk:.1f} s wall ({t_mk / n:.1f} s per submission), "
          f"{cpu_mk:.1f} s CPU ({cpu_mk / n:.1f} s per submission; {how})", flush=True)
    if args.no_nbgrader:
        for key in sorted(mk):
            print(f"{key[0]:12} {key[1]:26} {mk[key][0]:8g}  {mk[key][1]}")
        return 0
    t_nb, nb = run_nbgrader(submitted, tmp / "course", args.lessons)
    print(f"nbgrader autograde:          {t_nb:.1f} s wall ({t_nb / n:.1f} s per submission)")
    print(f"speed-up: {t_nb / t_mk:.2f}x (target >= 1.5x)")
    mismatches = 0
    print(f"{'student':12} {'lesson':26} {'mesakit':>8} {'nbgrader':>8}  status")
    for key in sorted(set(mk) | set(nb)):
        ours, status = mk.get(key, (float("nan"), "absent"))
        theirs = nb.get(key, float("nan"))
        flag = "" if ours == theirs else "  <-- differs"
        mismatches += bool(flag)
        print(f"{key[0]:12} {key[1]:26} {ours:8g} {theirs:8g}  {status}{flag}")
    print(f"scores identical: {mismatches == 0} ({mismatches} differ)")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
