"""An instructor's own nbgrader assignment graded by `nbgrader autograde` and by `mesakit grade --gradebook`.

    .venv/bin/python benchmarks/nbgrader_assignment.py [--students 4] [--workers 2] [--keep DIR]

The assignment is tests/grading/quiz.py's ``week1_quiz`` (two notebooks named part_a and part_b,
a data file, partial credit, manually graded markdown and code answers, a task cell). Students
alternate honest and partial answers, each with a wrong ``data.csv`` of their own (the
instructor's copy must be the one graded) and a ``timestamp.txt`` as ``nbgrader collect`` leaves
it; odd students hand in after the due date, and the course's late policy is nbgrader's
``penalty_method = 'zero'``. Two copies of the course are graded, one by each tool, into their own
nbgrader gradebooks; then every cell's ``auto_score`` and ``needs_manual_grade`` and every
notebook's late penalty are compared. Prints wall and CPU time of each (CPU: getrusage of the
finished child processes; for mesakit it misses the sandboxed processes, which bubblewrap's own
init reaps, so it undercounts — benchmarks/grading.py measures with a cpuacct cgroup) and exits 1
on any difference.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "grading"))
import quiz  # noqa: E402

BIN = Path(sys.executable).parent
ENV = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", OMP_NUM_THREADS="1")
DUE = datetime.datetime(2026, 12, 1, 17, 0)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def build(tmp: Path, students: int) -> Path:
    course = tmp / "course"
    shutil.copytree(ROOT / "tests" / "grading" / "course", course)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    quiz.write_source(course)
    timed([str(BIN / "nbgrader"), "generate_assignment", quiz.NAME, "--force"], course)
    timed([str(BIN / "nbgrader"), "db", "assignment", "add", quiz.NAME, f"--duedate={DUE} UTC"], course)
    for k in range(students):
        folder = course / "submitted" / f"student{k:02d}" / quiz.NAME
        folder.mkdir(parents=True)
        for nb in ("part_a", "part_b"):
            release = nbformat.read(course / "lessons" / quiz.NAME / f"{nb}.ipynb", as_version=4)
            nbformat.write(quiz.answer(release, "honest" if k % 2 == 0 else "partial"), folder / f"{nb}.ipynb")
        (folder / "data.csv").write_text("5,5\n5,5\n")
        when = DUE + datetime.timedelta(hours=1 if k % 2 else -1)
        (folder / "timestamp.txt").write_text(f"{when:%Y-%m-%d %H:%M:%S.%f} UTC")
    return course


def cells(course: Path) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "mesakit") as gb:
        for sub in gb.assignment_submissions(quiz.NAME):
            for nb in sub.notebooks:
                out[(sub.student.id, nb.name)] = (
                    nb.late_submission_penalty or 0.0,
                    sorted((g.name, g.auto_score, g.needs_manual_grade) for g in nb.grades),
                )
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-nbgrader-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    course = build(tmp, args.students)
    theirs, ours = tmp / "nbgrader", tmp / "mesakit"
    shutil.copytree(course, theirs)
    shutil.copytree(course, ours)
    n = 2 * args.students
    print(
        f"{quiz.NAME}: {args.students} students x 2 notebooks = {n} notebooks; machine: {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    t_nb, cpu_nb = timed([str(BIN / "nbgrader"), "autograde", quiz.NAME, "--force"], theirs)
    print(f"nbgrader autograde:          {t_nb:6.1f} s wall, {cpu_nb:6.1f} s CPU")
    t_mk, cpu_mk = timed(
        [
            str(BIN / "mesakit"),
            "grade",
            "submitted",
            "--assignment",
            quiz.NAME,
            "--gradebook",
            "--workers",
            str(args.workers),
            "--quiet",
            "--out",
            str(tmp / "graded"),
        ],
        ours,
    )
    print(
        f"mesakit grade --gradebook:   {t_mk:6.1f} s wall, {cpu_mk:6.1f} s CPU (--workers {args.workers}; CPU undercounted: "
        "sandboxes not included)"
    )
    a, b = cells(theirs), cells(ours)
    same = sum(a[k] == b.get(k) for k in a)
    graded = sum(len(v[1]) for v in a.values())
    print(
        f"notebooks with identical cell scores, needs_manual_grade and late penalty: {same}/{len(a)} "
        f"({graded} cells; {sum(v[0] > 0 for v in a.values())} notebooks with a late penalty)"
    )
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            print(f"  DIFFERENT {k}: nbgrader {a.get(k)} / mesakit {b.get(k)}")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if a == b and len(a) == n else 1


if __name__ == "__main__":
    sys.exit(main())
