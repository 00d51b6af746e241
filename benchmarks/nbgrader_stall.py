"""How often plain `nbgrader autograde` stalls on a lesson when several run at once (issue 17).

    .venv/bin/python benchmarks/nbgrader_stall.py [--lesson 02_toy_mesa_optimizer] [--rounds 10]
        [--concurrency 3] [--kill-after 120] [--idle-kill 0] [--baseline DIR] [--dump] [--keep DIR]
    .venv/bin/python benchmarks/nbgrader_stall.py --mechanism

Builds one honest, fully solved submission of LESSON from solutions/ and lessons/, and CONCURRENCY
scratch copies of the course (each its own gradebook, prepared by `nbgrader generate_assignment`,
not timed), with this checkout's nbgrader_config.py. Then, ROUNDS times, starts CONCURRENCY
`nbgrader autograde LESSON --force` at once (an honest lesson 02 takes ~12 s alone on a quiet core).

A run is **stalled** when it sits idle: its nbgrader process and kernel together use < 0.3 CPU-s
in IDLE_WINDOW (20 s) while still running. Every run still going after KILL_AFTER seconds is
killed: "stalled" if idle then, else "slow" (still computing: the machine is just that busy). With
--idle-kill S a run idle for S seconds is killed as stalled at once (saves time on a busy machine).

--baseline DIR alternates rounds with a second side whose kernel imports mesakit from DIR (e.g.
`git archive main mesakit | tar -x -C /tmp/main-src`, then --baseline /tmp/main-src), so both
sides see the same load; each side's stall rate is printed. --dump keeps, for each stalled run,
a py-spy dump (if py-spy is installed) of nbgrader and its kernel (its locals name the cell) and
its log (--debug-log: nbclient's every message, but it slows nbgrader and so changes the odds).

--mechanism runs, in-process and in a second, the lost wakeup behind the stall (see
mesakit/widgets/base.py): a reply arrives on a DEALER socket that an asyncio poll is watching, and
a message is then sent on that socket through jupyter_client's Session (a blocking shadow socket),
as nbclient's Output-widget mimic does; the poll wakes only at its timeout.

The stall shows up only when the machine is busy: measure both sides under the same load and say so.
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

IDLE_WINDOW, IDLE_CPU = 20.0, 0.3  # < 0.3 CPU-s in the last 20 s while running: idle, i.e. stalled


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
        subprocess.run(
            [
                sys.executable,
                "-m",
                "nbgrader",
                "generate_assignment",
                lesson,
                "--force",
                f"--CourseDirectory.root={course}",
                f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
                "--CourseDirectory.release_directory=release",
            ],
            cwd=course,
            env=env,
            check=True,
            capture_output=True,
        )
        courses.append(course)
    return courses


def _procs(pid: int) -> list:
    import psutil

    try:
        return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (the kernel), or 0 if gone."""
    import psutil

    total = 0.0
    for p in _procs(pid):
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
    with open(out, "w") as f:
        for p in _procs(pid):
            try:
                f.write(
                    f"==== pid {p.pid} {' '.join(p.cmdline())[:200]}\n    status {p.status()} cpu {p.cpu_times()}\n"
                )
            except psutil.NoSuchProcess:
                continue
            f.flush()
            if spy:
                subprocess.run(
                    [spy, "dump", "--locals", "--pid", str(p.pid)], stdout=f, stderr=subprocess.STDOUT, timeout=60
                )
            f.flush()


def score(course: Path, lesson: str) -> float | None:
    from nbgrader.api import Gradebook

    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            return float(gb.find_submission(lesson, "student00").score)
    except Exception:  # no submission graded: the run failed
        return None


def one_round(courses: list[Path], lesson: str, args, env: dict, dump_dir: Path | None, tag: str) -> list[dict]:
    procs = []
    for course in courses:
        shutil.rmtree(course / "autograded", ignore_errors=True)
        log = open(course / "autograde.log", "w")
        cmd = [
            sys.executable,
            "-m",
            "nbgrader",
            "autograde",
            lesson,
            "--force",
            f"--CourseDirectory.root={course}",
            f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
            *args.extra,
        ]
        if args.debug_log:
            cmd.append("--log-level=DEBUG")
        p = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((p, log, time.perf_counter()))
    results: list[dict | None] = [None] * len(procs)
    history: list[list[tuple[float, float]]] = [[] for _ in procs]  # (elapsed, tree CPU) samples
    while any(r is None for r in results):
        time.sleep(0.5)
        for k, (p, log, start) in enumerate(procs):
            if results[k] is not None:
                continue
            elapsed = time.perf_counter() - start
            if p.poll() is not None:
                log.close()
                status = "ok" if p.returncode == 0 else f"exit {p.returncode}"
                cpu = history[k][-1][1] if history[k] else 0.0
                results[k] = {"status": status, "wall": elapsed, "cpu": cpu, "score": score(courses[k], lesson)}
                continue
            cpu = max(_tree_cpu(p.pid), history[k][-1][1] if history[k] else 0.0)
            history[k].append((elapsed, cpu))
            window = args.idle_kill or IDLE_WINDOW
            recent = [c for t, c in history[k] if t >= elapsed - window]
            idle = elapsed >= window and recent[-1] - recent[0] < IDLE_CPU
            if elapsed < args.kill_after and not (args.idle_kill and idle):
                continue
            if dump_dir is not None and idle:
                _dump(p.pid, dump_dir / f"{tag}-slot{k}.txt")
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            log.close()
            if dump_dir is not None and idle:
                shutil.copy(courses[k] / "autograde.log", dump_dir / f"{tag}-slot{k}.log")
            results[k] = {"status": "stalled" if idle else "slow", "wall": elapsed, "cpu": cpu, "score": None}
    return results


def summary(label: str, runs: list[dict], concurrency: int) -> str:
    stalled = sum(x["status"] == "stalled" for x in runs)
    slow = sum(x["status"] == "slow" for x in runs)
    failed = sum(x["status"].startswith("exit") for x in runs)
    rounds = [runs[i : i + concurrency] for i in range(0, len(runs), concurrency)]
    text = (
        f"{label}: stalled {stalled}/{len(runs)} runs ({100 * stalled / max(1, len(runs)):.0f}%), in "
        f"{sum(any(x['status'] == 'stalled' for x in r) for r in rounds)}/{len(rounds)} rounds; killed while "
        f"still computing (slow, not stalled): {slow}; failed: {failed}"
    )
    done = [x for x in runs if x["status"] == "ok"]
    if done:
        walls, cpus = sorted(x["wall"] for x in done), sorted(x["cpu"] for x in done)
        scores = sorted({x["score"] for x in done})
        text += (
            f"\n{' ' * len(label)}  {len(done)} finished: wall median {walls[len(walls) // 2]:.1f} s "
            f"(max {walls[-1]:.1f} s), CPU median {cpus[len(cpus) // 2]:.1f} s; scores {scores}"
        )
    return text


def mechanism(timeout_s: float = 5.0) -> None:
    """The lost wakeup, alone: how long an asyncio poll takes to see a reply that is already there."""
    import asyncio

    import zmq
    import zmq.asyncio
    from jupyter_client.session import Session

    async def wait_for_reply(send_through_session: bool) -> float:
        router = zmq.Context.instance().socket(zmq.ROUTER)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        dealer = zmq.asyncio.Context.instance().socket(zmq.DEALER)  # nbclient's shell channel
        dealer.connect(f"tcp://127.0.0.1:{port}")
        session = Session(key=b"")
        session.send(dealer, "execute_request")
        ident, *_ = router.recv_multipart()
        start = time.perf_counter()
        poll = asyncio.ensure_future(dealer.poll(int(timeout_s * 1000)))  # shell_channel.get_msg(timeout)
        await asyncio.sleep(0.05)  # the poll now watches the socket's FD
        router.send_multipart([ident, b"execute_reply"])  # the kernel replies while nbclient is busy ...
        time.sleep(0.2)
        if send_through_session:  # ... processing IOPub: its Output mimic sends a comm_msg on shell
            session.send(dealer, "comm_msg")
        else:
            await dealer.send(b"comm_msg")
        await poll
        seconds = time.perf_counter() - start
        dealer.close(0)
        router.close(0)
        return seconds

    for through_session in (True, False):
        how = "jupyter_client Session.send (blocking shadow socket)" if through_session else "the asyncio socket itself"
        seconds = asyncio.run(wait_for_reply(through_session))
        print(
            f"comm_msg sent through {how}: the waiting poll saw the reply after {seconds:.2f} s "
            f"(poll timeout {timeout_s:.0f} s)"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lesson", default="02_toy_mesa_optimizer")
    p.add_argument("--rounds", type=int, default=10, help="rounds of CONCURRENCY simultaneous autogrades (per side)")
    p.add_argument("--concurrency", type=int, default=3)
    p.add_argument("--kill-after", type=float, default=120.0, help="seconds after which every run is killed")
    p.add_argument("--idle-kill", type=float, default=0.0, help="kill a run idle for this many seconds (0: never)")
    p.add_argument("--baseline", type=Path, default=None, help="a folder holding another mesakit/ to compare with")
    p.add_argument("--dump", action="store_true", help="py-spy dump (and the log) of each stalled run")
    p.add_argument("--debug-log", action="store_true", help="run nbgrader with --log-level=DEBUG (slows it)")
    p.add_argument("--keep", type=Path, default=None, help="keep the scratch folder (and dumps) here")
    p.add_argument("--mechanism", action="store_true", help="only show the lost wakeup behind the stall")
    p.add_argument("extra", nargs="*", help="extra arguments for nbgrader autograde (after --)")
    args = p.parse_args()
    if args.mechanism:
        mechanism()
        return 0
    if args.rounds < 1 or args.concurrency < 1 or args.kill_after <= 0 or args.idle_kill < 0:
        p.error(
            f"--rounds, --concurrency must be >= 1, --kill-after > 0, --idle-kill >= 0; got {args.rounds}, "
            f"{args.concurrency}, {args.kill_after}, {args.idle_kill}"
        )
    if not (ROOT / "solutions" / args.lesson).is_dir():
        p.error(f"no lesson {args.lesson!r} in {ROOT / 'solutions'}")
    if args.baseline is not None and not (args.baseline / "mesakit" / "__init__.py").is_file():
        p.error(f"--baseline must be a folder holding a mesakit/ package, got {args.baseline}")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    env.pop("PYTHONPATH", None)
    sides = {"this checkout": env}
    if args.baseline is not None:
        sides = {"baseline": dict(env, PYTHONPATH=str(args.baseline.resolve())), **sides}
    tmp = Path(tempfile.mkdtemp(prefix="bench-stall-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    dump_dir = tmp / "dumps" if args.dump else None
    if dump_dir:
        dump_dir.mkdir(exist_ok=True)
    courses = prepare(tmp, args.lesson, args.concurrency, env)
    print(
        f"{args.lesson}: {args.rounds} rounds x {args.concurrency} concurrent `nbgrader autograde` per side "
        f"({', '.join(sides)}; alternating), kill after {args.kill_after:.0f} s"
        + (f" or {args.idle_kill:.0f} s idle" if args.idle_kill else "")
        + f"; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for r in range(args.rounds):
        for side, side_env in sides.items():
            res = one_round(courses, args.lesson, args, side_env, dump_dir, f"{side.split()[0]}-round{r:02d}")
            runs[side] += res
            line = "  ".join(
                f"{x['status']:>7} {x['wall']:5.1f}s wall {x['cpu']:4.1f}s CPU score {x['score']}" for x in res
            )
            print(f"round {r:2d} {side:>13} (load {os.getloadavg()[0]:4.1f}): {line}", flush=True)
    for side in sides:
        print(summary(side, runs[side], args.concurrency))
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}" + (f" (dumps in {dump_dir})" if dump_dir else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
