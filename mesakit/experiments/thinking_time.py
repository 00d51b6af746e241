"""``mesakit reproduce thinking-time``: a weight-shared recurrent planner trained on small mazes
shows the fingerprints of search (Schwarzschild et al. 2021; Bansal et al. 2022; Guez et al. 2019).

We train :class:`mesakit.search.planner.RecurrentPlanner` on 5×5-cell mazes with a simplified
version of Bansal et al.'s (2022) progressive loss, and a feed-forward baseline of similar size.
Then we measure, on held-out mazes: the solve rate for 1..2× the trained iterations and far past
the largest iteration count the loss ever saw, the same on larger 7×7-cell mazes, how far the score
map drifts per extra iteration, the baseline's solve rate, and a ridge probe's R² for the BFS
distance to the goal read from the hidden state, each next to an untrained control. The recipe and
the measurements are :mod:`mesakit.search.thinking`.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..core import models
from ..core.seeding import seeded
from ..moved import moved_name
from ..search import thinking


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    with seeded(seed, threads=1):  # one thread: the figures do not depend on the machine's core count
        cpu = time.process_time()
        planner, history = thinking.train_planner(seed, steps or thinking.STEPS, progress)
        train_cpu = time.process_time() - cpu
        feedforward, _ = thinking.train_feedforward(seed, thinking.FEEDFORWARD_STEPS, progress)
        if save:
            models.save(planner, save)
        figures = thinking.evaluate(planner, feedforward)
    return {**figures, "train_seconds": history.seconds, "train_cpu_seconds": train_cpu}


def describe(r: dict) -> str:
    T = r["trained_iterations"]
    lines = [
        f"Recurrent maze planner, trained with {T} iterations on {thinking.TRAIN_SIZE}×{thinking.TRAIN_SIZE}-cell mazes",
        f"  iterations   solve rate ({thinking.TRAIN_SIZE}×{thinking.TRAIN_SIZE})   solve rate ({thinking.LARGE_SIZE}×{thinking.LARGE_SIZE}, larger)",
    ]
    for k, a, b in zip(r["iterations"], r["solve_rate"], r["larger_maze_solve_rate"]):
        lines.append(f"  {k:10d}   {a:19.3f}   {b:21.3f}" + ("   (trained)" if k == T else ""))
    for k, a, b in zip(r["long_iterations"], r["long_solve_rate"], r["long_larger_maze_solve_rate"]):
        lines.append(
            f"  {k:10d}   {a:19.3f}   {b:21.3f}   ({k // r['max_supervised_iterations']}× the most the loss ever saw, "
            f"{r['max_supervised_iterations']})"
        )
    lines += [
        f"  score map drift past {T} iterations   {r['score_drift_per_iteration']:+.3f} steps of distance per iteration",
        f"  feed-forward baseline (no iterations)   {r['feedforward_solve_rate']:.3f}",
        f"  probe R² (final hidden state -> distance to goal)   {r['probe_r2']:.3f}"
        f"   (untrained control {r['probe_r2_control']:.3f})",
        f"  probe R² (hidden states of iterations 1..{T} -> distance to goal)   {r['probe_r2_history']:.3f}"
        f"   (untrained control {r['probe_r2_history_control']:.3f})",
        f"  training time   {r['train_seconds']:.1f} s wall, {r['train_cpu_seconds']:.1f} s CPU (one thread)",
        "  papers: Schwarzschild et al. 2021, Bansal et al. 2022 (deep thinking nets on 9×9+ mazes, 30 iterations)",
    ]
    return "\n".join(lines)


def __getattr__(name: str) -> object:  # 0.1's names of the recipe, now in mesakit.search.thinking
    return moved_name(__name__, name)
