"""Run `mesakit reproduce` experiments over several seeds and print, per target, how many seeds meet it.

    .venv/bin/python benchmarks/seeds.py [EXPERIMENT ...] [--seeds 0-7] [--jobs 2]

Each run gets one core (OMP/MKL threads = 1, pinned to a CPU); `--jobs` runs that many at once (default 2,
one per core here). The targets are the issues' own, kept in benchmarks/experiments.py (TARGETS). Prints a
line per run (wall and CPU seconds, every target) and a summary table; exit status 1 if any seed misses any
target or a run fails. This is a benchmark, not a test: it takes minutes per experiment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from experiments import TARGETS  # noqa: E402

from mesakit.experiments import EXPERIMENTS  # noqa: E402


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> [0..7]; '0,3,5' -> [0, 3, 5]; '2-4,9' -> [2, 3, 4, 9]."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def run_one(name: str, seed: int, cpu: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "mesakit.cli", "reproduce", name, "--seed", str(seed), "--json"]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, text=True, env=env, preexec_fn=lambda: os.sched_setaffinity(0, {cpu})
        )
        # wait4 (not communicate) gives this child's own CPU time while other runs go on in parallel.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        cpu_s = usage.ru_utime + usage.ru_stime
        returncode = proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        out, err = out.read(), err.read()
    if returncode != 0:
        return {"name": name, "seed": seed, "wall": wall, "cpu": cpu_s, "error": err[-1500:]}
    result = json.loads(out)
    return {
        "name": name,
        "seed": seed,
        "wall": wall,
        "cpu": cpu_s,
        "result": result,
        "targets": TARGETS[name](result) if name in TARGETS else {},
    }


def write_records(folder: Path, rows: list[dict]) -> None:
    """DIR/EXPERIMENT.json = {"seed": figures} for every run that finished (merged into what is there)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted({r["name"] for r in rows}):
        path = folder / f"{name}.json"
        record = json.loads(path.read_text()) if path.exists() else {}
        record.update({str(r["seed"]): r["result"] for r in rows if r["name"] == name and "result" in r})
        path.write_text(json.dumps(dict(sorted(record.items(), key=lambda kv: int(kv[0]))), indent=1) + "\n")
        print(f"recorded {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiments", nargs="*", metavar="EXPERIMENT", help="default: every experiment with targets")
    ap.add_argument("--seeds", default="0-7", help="e.g. 0-7 or 0,3,5 (default 0-7)")
    ap.add_argument("--jobs", type=int, default=2, help="runs at once, one core each (default 2)")
    ap.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="write DIR/EXPERIMENT.json ({seed: figures}); the lessons' seed ranges are checked "
        "against benchmarks/results/ by tests/test_quoted_figures.py",
    )
    args = ap.parse_args(argv)
    names = args.experiments or [n for n in EXPERIMENTS if n in TARGETS]
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        ap.error(f"unknown experiment(s) {unknown}; choose from {', '.join(EXPERIMENTS)}")
    seeds = parse_seeds(args.seeds)
    cpus = sorted(os.sched_getaffinity(0))
    jobs = [(n, s) for n in names for s in seeds]
    missed = 0
    rows: list[dict] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, n, s, cpus[i % len(cpus)]) for i, (n, s) in enumerate(jobs)]
        for fut in futures:
            row = fut.result()
            rows.append(row)
            cpu = f"{row['cpu']:.1f}"
            head = f"{row['name']} seed {row['seed']}: {row['wall']:.1f} s wall, {cpu} s CPU"
            if "error" in row:
                missed += 1
                print(f"{head}: FAILED\n{row['error']}", flush=True)
                continue
            bad = [t for t, ok in row["targets"].items() if not ok]
            missed += bool(bad)
            print(f"{head}: {'all targets met' if not bad else 'MISSED ' + '; '.join(bad)}", flush=True)
            print(f"  {json.dumps(row['result'])}", flush=True)
    if args.record:
        write_records(args.record, rows)
    print("\nSeeds meeting each target:")
    for name in names:
        mine = [r for r in rows if r["name"] == name]
        ok_rows = [r for r in mine if "error" not in r]
        walls = [r["wall"] for r in mine]
        print(f"{name}  ({len(mine)} seeds, wall {min(walls):.0f}-{max(walls):.0f} s per run)")
        if len(ok_rows) < len(mine):
            print(f"  {len(mine) - len(ok_rows)}/{len(mine)} runs FAILED")
        targets = list(ok_rows[0]["targets"]) if ok_rows else []
        for t in targets:
            met = [r["seed"] for r in ok_rows if r["targets"][t]]
            failed = [r["seed"] for r in mine if r not in ok_rows or not r["targets"][t]]
            note = f"   (missed: seeds {failed})" if failed else ""
            print(f"  {len(met)}/{len(mine)}  {t}{note}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
