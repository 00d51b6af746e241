"""How often plain `nbgrader autograde` stalls on a lesson when several run at once (issue 17).

    .venv/bin/python benchmarks/nbgrader_stall.py [--lesson 02_toy_mesa_optimizer] [--rounds 10]
        [--concurrency 3] [--kill-after 120] [--dump] [--keep DIR] [-- EXTRA NBGRADER ARGS...]

Builds one honest, fully solved submission of LESSON from solutions/ and lessons/, and CONCURRENCY
scratch copies of the course (each its own gradebook, prepared by `nbgrader generate_assignment`,
not timed), with this checkout's nbgrader_config.py. Then, ROUNDS times, starts CONCURRENCY
`nbgrader autograde LESSON --force` at once and kills any still running after KILL_AFTER seconds
(an honest lesson takes ~12 s alone on a quiet core). A killed run is a stall if its nbgrader
process and kernel used < 0.3 CPU-s in their last 20 s (idle, waiting on a message), else "slow"
(still computing: the machine is just that busy). Prints every run's wall and CPU
time (nbgrader + its kernel), its score, and the stall rate. With --dump, a stalled run's nbgrader
process and kernel are dumped with py-spy (if installed) before the kill, and its nbgrader log
(run with --log-level=DEBUG) is kept.

The stall shows up only when the machine is busy: measure under the same load on both sides of a
comparison and say so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import _solved  # noqa: E402  (the benchmark's honest-submission builder)


IDLE_WINDOW, IDLE_CPU = 20.0, 0.3  # killed with < 0.3 CPU-s used in its last 20 s: stalled, else just slow


def prepare(tmp: Path, lesson: str, slots: int, env: dict) -> list[Path]:
    release = nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    source = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    honest = _solved(release, source, None)
    courses = []
    for k in range(slots):
        course = tmp / f"course{k}"
        (course / "solutions").mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions" / lesson, course / "solutions" / lesson)
        sub = course / "submitted" / "student00" / lesson / f"{lesson}.ipynb"
        sub.parent.mkdir(parents=True)
        nbformat.write(honest, sub)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", lesson, "--force",
                        f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
                        "--CourseDirectory.release_directory=release"],
                       cwd=course, env=env, check=True, capture_output=True)  # fmt: skip
        courses.append(course)
    return courses


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (the kernel), or 0 if gone."""
    import psutil

    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _dump(pid: int, out: Path) -> None:
    """py-spy dumps of the stalled nbgrader process and every child (the kernel) into ``out``."""
    import psutil

    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    with open(out, "w") as f:
        for p in procs:
            try:
                f.write(f"==== pid {p.pid} {' '.join(p.cmdline())[:200]}\n    status {p.status()} cpu {p.cpu_times()}\n")
            except psutil.NoSuchProcess:
                continue
            f.flush()
            if spy:
                subprocess.run([spy, "dump", "--locals", "--pid", str(p.pid)], stdout=f, stderr=subprocess.STDOUT, timeout=60)
            f.flush()


def score(course: Path, lesson: str) -> float | None:
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            return float(gb.find_submission(lesson, "student00").score)
    except (MissingEntry, Exception):
        return None


def one_round(courses: list[Path], lesson: str, kill_after: float, env: dict, extra: list[str],
              dump_dir: Path | None, tag: str) -> list[dict]:  # fmt: skip
    procs = []
    for k, course in enumerate(courses):
        shutil.rmtree(course / "autograded", ignore_errors=True)
        log = open(course / "autograde.log", "w")
        cmd = [sys.executable, "-m", "nbgrader", "autograde", lesson, "--force", f"--CourseDirectory.root={course}",
               f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}", *extra]  # fmt: skip
        if dump_dir is not None:
            cmd.append("--log-level=DEBUG")
        p = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((p, log, time.perf_counter()))
    results = [None] * len(procs)
    cpu = [0.0] * len(procs)
    history = [[] for _ in procs]  # (elapsed, cpu) samples: a stall is a run whose CPU stays flat
    while any(r is None for r in results):
        time.sleep(0.5)
        for k, (p, log, start) in enumerate(procs):
            if results[k] is not None:
                continue
            elapsed = time.perf_counter() - start
            if p.poll() is None:
                cpu[k] = max(cpu[k], _tree_cpu(p.pid))
                history[k].append((elapsed, cpu[k]))
                if elapsed < kill_after:
                    continue
                recent = [c for t, c in history[k] if t >= elapsed - IDLE_WINDOW]
                idle = recent[-1] - recent[0] < IDLE_CPU
                if dump_dir is not None:
                    _dump(p.pid, dump_dir / f"{tag}-slot{k}.txt")
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                log.close()
                if dump_dir is not None:
                    shutil.copy(courses[k] / "autograde.log", dump_dir / f"{tag}-slot{k}.log")
                results[k] = {"status": "stalled" if idle else "slow", "wall": elapsed, "cpu": cpu[k], "score": None}
            else:
                log.close()
                status = "ok" if p.returncode == 0 else f"exit {p.returncode}"
                results[k] = {"status": status, "wall": elapsed, "cpu": cpu[k], "score": score(courses[k], lesson)}
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lesson", default="02_toy_mesa_optimizer")
    p.add_argument("--rounds", type=int, default=10, help="rounds of CONCURRENCY simultaneous autogrades")
    p.add_argument("--concurrency", type=int, default=3)
    p.add_argument("--kill-after", type=float, default=120.0, help="seconds; a run still going is a stall")
    p.add_argument("--dump", action="store_true", help="py-spy dump + DEBUG log of each stalled run")
    p.add_argument("--keep", type=Path, default=None, help="keep the scratch folder (and dumps) here")
    p.add_argument("extra", nargs="*", help="extra arguments for nbgrader autograde (after --)")
    args = p.parse_args()
    if args.rounds < 1 or args.concurrency < 1 or args.kill_after <= 0:
        p.error(f"--rounds and --concurrency must be >= 1 and --kill-after > 0, got {args.rounds}, "
                f"{args.concurrency}, {args.kill_after}")  # fmt: skip
    if not (ROOT / "solutions" / args.lesson).is_dir():
        p.error(f"no lesson {args.lesson!r} in {ROOT / 'solutions'}")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    tmp = Path(tempfile.mkdtemp(prefix="bench-stall-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    dump_dir = tmp / "dumps" if args.dump else None
    if dump_dir:
        dump_dir.mkdir(exist_ok=True)
    courses = prepare(tmp, args.lesson, args.concurrency, env)
    load = os.getloadavg()
    print(f"{args.lesson}: {args.rounds} rounds x {args.concurrency} concurrent `nbgrader autograde`, kill after "
          f"{args.kill_after:.0f} s; {os.cpu_count()} cores, load average {load[0]:.1f} at start", flush=True)  # fmt: skip
    runs = []
    for r in range(args.rounds):
        res = one_round(courses, args.lesson, args.kill_after, env, args.extra, dump_dir, f"round{r:02d}")
        runs += res
        line = "  ".join(f"{x['status']:>7} {x['wall']:5.1f}s wall {x['cpu']:5.1f}s cpu score {x['score']}" for x in res)
        print(f"round {r:2d} (load {os.getloadavg()[0]:4.1f}): {line}", flush=True)
    stalled = sum(x["status"] == "stalled" for x in runs)
    slow = sum(x["status"] == "slow" for x in runs)
    failed = sum(x["status"].startswith("exit") for x in runs)
    done = [x for x in runs if x["status"] == "ok"]
    walls = sorted(x["wall"] for x in done)
    print(f"stalled: {stalled}/{len(runs)} runs ({100 * stalled / len(runs):.0f}%), killed while still computing (slow, not stalled): {slow}, failed: {failed}, "
          f"rounds with a stall: {sum(any(x['status'] == 'stalled' for x in runs[i:i + args.concurrency]) for i in range(0, len(runs), args.concurrency))}/{args.rounds}")  # fmt: skip
    if walls:
        print(f"finished runs: wall median {walls[len(walls) // 2]:.1f} s, max {walls[-1]:.1f} s; "
              f"cpu median {sorted(x['cpu'] for x in done)[len(done) // 2]:.1f} s; scores {sorted({x['score'] for x in done})}")  # fmt: skip
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}" + (f" (dumps in {dump_dir})" if dump_dir else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
