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

    .venv/bin/python benchmarks/grading.py --cluster [--students 4] [--workers 2]
    .venv/bin/python benchmarks/grading.py --cost [--lessons ...]

`--cluster` grades the same batch with the local pool (`--workers W`) and through a Dask
LocalCluster of W worker processes (one thread each, 127.0.0.1; started before the clock) with
`--scheduler`, and prints each one's throughput in submissions per minute of wall-clock time and per
minute of CPU time (the whole tree: client, scheduler, workers, sandboxes), the load average, and
whether every score is the same (exit 1 if not). Target: the cluster within 15% of local.
`--cost` grades one honest submission of each lesson alone (`--workers 1`) and prints its wall and
CPU seconds and the peak memory of its two sandboxed processes (the sum of their PSS, sampled every
0.2 s) next to the grader's own peak RSS: the figures docs/deploy.md sizes a cluster from.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
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
            cell.source = "\n".join(
                l for l in by_id[gid].splitlines() if "### BEGIN SOLUTION" not in l and "### END SOLUTION" not in l
            )
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

    cmd = [
        str(Path(sys.executable).parent / "mesakit"),
        "grade",
        str(submitted),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--course",
        str(ROOT),
        "--lesson",
        *lessons,
    ]
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
        subprocess.run(
            base
            + [
                "generate_assignment",
                lesson,
                "--force",
                f"--CourseDirectory.root={course}",
                f"--CourseDirectory.db_url={db}",
                "--CourseDirectory.release_directory=release",
            ],
            cwd=course,
            env=env,
            check=True,
            capture_output=True,
        )
    shutil.copytree(submitted, course / "submitted")
    start = time.perf_counter()
    for lesson in lessons:
        done = subprocess.run(
            base
            + ["autograde", lesson, "--force", f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url={db}"],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
        )
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


def _timed(submitted: Path, out: Path, lessons: list[str], workers: int, cluster: bool) -> dict:
    """Grade in a child process in a cpuacct cgroup of its own: wall, CPU and memory while grading."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_grade",
        str(submitted),
        str(out),
        str(workers),
        "cluster" if cluster else "local",
        *lessons,
    ]
    group = _cpu_cgroup()

    def enter() -> None:
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    env = dict(os.environ, BENCH_CPUACCT=str(group or ""), OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=enter, env=env)
    for _ in range(60 if group is not None else 0):  # a cluster's helper processes may outlive it briefly
        try:
            group.rmdir()
            break
        except OSError:
            time.sleep(0.5)
    if done.returncode != 0:
        sys.exit(f"grading failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cpu_now() -> float:
    group = os.environ.get("BENCH_CPUACCT")
    if group:
        return int((Path(group) / "cpuacct.usage").read_text()) / 1e9
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime  # undercounts: live children missed


def _sandbox_pss(peak: list[float], stop) -> None:
    """Peak of the summed PSS (MB) of the sandboxed worker and judge processes, every 0.2 s."""
    import psutil

    me = psutil.Process()
    while not stop.wait(0.2):
        total = 0
        for proc in me.children(recursive=True):
            try:
                if any(m in " ".join(proc.cmdline()) for m in ("mesakit.grade.worker", "mesakit.grade.judge")):
                    total += proc.memory_full_info().pss
            except (psutil.Error, OSError):
                continue
        peak[0] = max(peak[0], total / 2**20)


def _grade_child(argv: list[str]) -> int:
    """``--_grade SUBMITTED OUT WORKERS local|cluster LESSON...``: grade, print one JSON line."""
    import resource
    import threading

    from mesakit.grade import grade

    submitted, out, workers, mode, lessons = Path(argv[0]), Path(argv[1]), int(argv[2]), argv[3], argv[4:]
    cluster = None
    if mode == "cluster":
        import logging

        from distributed import LocalCluster

        cluster = LocalCluster(
            processes=True,
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
    peak, stop = [0.0], threading.Event()
    watcher = threading.Thread(target=_sandbox_pss, args=(peak, stop), daemon=True)
    watcher.start()
    load = os.getloadavg()[0]
    cpu0, t0 = _cpu_now(), time.perf_counter()
    results = grade(
        submitted, ROOT, lessons, out, workers=workers, scheduler=cluster.scheduler_address if cluster else None
    )
    wall, cpu = time.perf_counter() - t0, _cpu_now() - cpu0
    stop.set()
    worker_rss = None
    if cluster is not None:
        from distributed import Client

        with Client(cluster, set_as_default=False) as client:  # what a Dask worker process holds itself
            worker_rss = max(client.run(lambda: __import__("psutil").Process().memory_info().rss).values()) / 2**20
        cluster.close()
    rows = {f"{r.student}/{r.lesson}": [r.score, r.status, r.seconds] for r in results}
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "load": [load, os.getloadavg()[0]],
                "rows": rows,
                "sandbox_pss_mb": peak[0],
                "grader_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "dask_worker_rss_mb": worker_rss,
                "cpu_how": "cpuacct cgroup, whole tree"
                if os.environ.get("BENCH_CPUACCT")
                else "getrusage: undercounts",
            }
        )
    )
    return 0


def cluster_vs_local(tmp: Path, lessons: list[str], students: int, workers: int) -> int:
    submitted = tmp / "submitted"
    build(submitted, lessons, students)
    n = students * len(lessons)
    print(
        f"{n} honest submissions ({students} students x {len(lessons)} lessons); {os.cpu_count()} cores; "
        f"load average before: {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    runs = {}
    for mode in ("local", "cluster"):
        runs[mode] = r = _timed(submitted, tmp / mode, lessons, workers, mode == "cluster")
        print(
            f"{mode:8} {workers} workers: {r['wall']:7.1f} s wall = {60 * n / r['wall']:5.2f} submissions/min; "
            f"{r['cpu']:7.1f} s CPU = {60 * n / r['cpu']:5.2f} submissions per CPU-minute ({r['cpu_how']}); "
            f"load {r['load'][0]:.1f} -> {r['load'][1]:.1f}",
            flush=True,
        )
        if r["dask_worker_rss_mb"]:
            print(f"         a Dask worker process itself: {r['dask_worker_rss_mb']:.0f} MB RSS after the batch")
    wall_ratio = runs["cluster"]["wall"] / runs["local"]["wall"]
    cpu_ratio = runs["cluster"]["cpu"] / runs["local"]["cpu"]
    print(f"cluster / local: wall {wall_ratio:.3f}, CPU {cpu_ratio:.3f} (target: throughput within 15%, i.e. <= 1.15)")
    same = {k: v[:2] for k, v in runs["local"]["rows"].items()} == {
        k: v[:2] for k, v in runs["cluster"]["rows"].items()
    }
    same_csv = (tmp / "local" / "grades.csv").read_bytes() == (tmp / "cluster" / "grades.csv").read_bytes()
    print(f"same scores and statuses: {same}; grades.csv byte for byte: {same_csv}")
    return 0 if same and same_csv else 1


def cost_table(tmp: Path, lessons: list[str]) -> int:
    print(
        f"one honest submission per lesson, graded alone (--workers 1); {os.cpu_count()} cores; "
        f"load average before: {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(
        f"{'lesson':26} {'score':>7} {'wall s':>7} {'CPU s':>7} {'sandboxes peak PSS MB':>22} {'grader RSS MB':>14}  load"
    )
    for lesson in lessons:
        submitted = tmp / lesson / "submitted"
        build(submitted, [lesson], 1)
        r = _timed(submitted, tmp / lesson / "out", [lesson], 1, False)
        ((score, status, _),) = r["rows"].values()
        print(
            f"{lesson:26} {score:7g} {r['wall']:7.1f} {r['cpu']:7.1f} {r['sandbox_pss_mb']:22.0f} {r['grader_rss_mb']:14.0f}  "
            f"{r['load'][0]:.1f}->{r['load'][1]:.1f}  {status}",
            flush=True,
        )
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--_grade"]:
        return _grade_child(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=8)
    p.add_argument("--lessons", nargs="+", default=["01_base_and_mesa", "02_toy_mesa_optimizer"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None, help="keep the scratch folder here")
    p.add_argument("--no-nbgrader", action="store_true", help="time mesakit grade only (no score comparison)")
    p.add_argument("--cluster", action="store_true", help="local pool vs a Dask LocalCluster (throughput, same scores)")
    p.add_argument("--cost", action="store_true", help="per-submission cost of each lesson (wall, CPU, peak MB)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    if args.cluster or args.cost:
        try:
            return (
                cluster_vs_local(tmp, args.lessons, args.students, args.workers)
                if args.cluster
                else cost_table(tmp, args.lessons)
            )
        finally:
            if args.keep is None:
                shutil.rmtree(tmp, ignore_errors=True)
    submitted = tmp / "submitted"
    build(submitted, args.lessons, args.students)
    n = args.students * len(args.lessons)
    print(
        f"{n} honest submissions ({args.students} students x {len(args.lessons)} lessons); machine: {os.cpu_count()} cores"
    )
    t_mk, cpu_mk, how, mk = run_mesakit(submitted, tmp / "mesakit", args.lessons, args.workers)
    print(
        f"mesakit grade --workers {args.workers}: {t_mk:.1f} s wall ({t_mk / n:.1f} s per submission), "
        f"{cpu_mk:.1f} s CPU ({cpu_mk / n:.1f} s per submission; {how})",
        flush=True,
    )
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
