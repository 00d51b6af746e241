"""Run `mesakit reproduce` experiments on ONE core and print their figures beside the targets
the issues set. Prints figures; exit status 1 if a target is missed or an experiment fails.

    .venv/bin/python benchmarks/experiments.py [NAME ...]     (default: every experiment)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mesakit.experiments import EXPERIMENTS  # noqa: E402


def _lsa_gd(r):
    return {
        "loss ≤ 1.02 × GD": r["model_loss"] <= 1.02 * r["gd_loss"],
        "sensitivity cosine ≥ 0.99": r["sensitivity_cosine"] >= 0.99,
        "training ≤ 10 s": r["train_seconds"] <= 10,
    }


def _multistep(r):
    l = r["loss_by_k"][:4]
    return {
        "loss falls strictly K=1..4": all(a is not None and b is not None and b < a for a, b in zip(l, l[1:])),
        "K=4 ≤ 0.75 × K=1": l[3] is not None and l[3] <= 0.75 * l[0],
    }


def _task_diversity(r):
    gd, fresh, pool = r["gd_loss"], r["loss_fresh"], r["loss_pool"]
    return {
        "smallest pool: new tasks ≥ 1.5 × GD": fresh[0] >= 1.5 * gd,
        "smallest pool: its pool ≤ 0.1 × GD": pool[0] <= 0.1 * gd,
        "largest pool: new tasks ≤ 1.05 × GD": fresh[-1] <= 1.05 * gd,
        "a transition is found": r["transition_num_tasks"] is not None,
        "sweep training ≤ 120 s": r["train_seconds"] <= 120,
    }


def _thinking_time(r):
    its, rate, large = r["iterations"], r["solve_rate"], r["larger_maze_solve_rate"]
    at = rate[its.index(r["trained_iterations"])]
    beyond = [x for k, x in zip(its, rate) if r["trained_iterations"] < k <= 2 * r["trained_iterations"]]
    return {
        "solve rate ≥ 0.9 at the trained iterations": at >= 0.9,
        "solve rate ≤ 0.5 with one iteration": rate[its.index(1)] <= 0.5,
        "no drop beyond 0.02 up to 2× the iterations": all(x >= at - 0.02 for x in beyond),
        "larger mazes: rises by > 0.2": large[-1] - large[0] > 0.2,
        "feed-forward ≥ 0.2 below the planner": r["feedforward_solve_rate"] <= at - 0.2,
        "probe R² ≥ 0.8": r["probe_r2"] >= 0.8,
        "at 4× the most supervised iterations: no drop beyond 0.02": r["long_solve_rate"][-1] >= at - 0.02,
        # CPU time: the wall time of a run on a shared machine measures the other jobs too
        "training ≤ 60 s CPU (one core)": r["train_cpu_seconds"] <= 60,
    }


def _scale_shift(r):
    lsa, gd, zero = r["lsa_loss"], r["gd_retuned_loss"], r["zero_loss"]
    return {
        "scale 1: LSA within 5% of retuned GD": r["scales"][0] == 1 and lsa[0] <= 1.05 * gd[0],
        "largest scale ≥ 3": r["scales"][-1] >= 3,
        "largest scale: LSA worse than predicting 0": lsa[-1] > zero[-1],
        "largest scale: retuned GD better than predicting 0": gd[-1] < zero[-1],
    }


def _goal_misgeneralization(r):
    return {
        "train coin rate ≥ 0.95": r["train_coin_rate"] >= 0.95,
        "shifted: proxy rate ≥ 0.7": r["shifted_proxy_rate"] >= 0.7,
        "shifted: coin rate ≤ 0.3": r["shifted_coin_rate"] <= 0.3,
        "diverse training: shifted coin rate ≥ 0.8": r["diverse_shifted_coin_rate"] >= 0.8,
    }


TARGETS = {
    "lsa-gd": _lsa_gd,
    "multistep": _multistep,
    "task-diversity": _task_diversity,
    "thinking-time": _thinking_time,
    "scale-shift": _scale_shift,
    "goal-misgeneralization": _goal_misgeneralization,
}


def main(names: list[str]) -> int:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    missed = 0
    for name in names or list(EXPERIMENTS):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "mesakit.cli", "reproduce", name, "--json"], capture_output=True, text=True, env=env
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(f"{name}: FAILED\n{done.stderr[-2000:]}")
            missed += 1
            continue
        result = json.loads(done.stdout)
        print(f"{name} ({wall:.1f} s wall, one core): {json.dumps(result)}")
        check = TARGETS.get(name)
        for target, ok in (check(result) if check else {}).items():
            missed += not ok
            print(f"  {'ok  ' if ok else 'MISS'} {target}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
