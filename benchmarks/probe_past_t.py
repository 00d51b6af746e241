"""How much of the distance a probe fit at the trained count T reads from the planner's hidden state
later on (2T, the most the loss ever saw, and 8T), and what a shuffled-target control reads, for
planners trained with several seeds (lesson 05's Think! moment and exercise 4.3). Retrains each
planner (about a minute of one core per seed); seed 0 is the shipped checkpoint.

    .venv/bin/python benchmarks/probe_past_t.py [--seeds 0-7]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mesakit import models  # noqa: E402
from mesakit.search import thinking  # noqa: E402
from mesakit.search.mazes import generate_mazes  # noqa: E402
from mesakit.search.probe import fit_ridge, open_square_features, probe_value_map, r2_score  # noqa: E402


def measure(planner) -> dict[str, float]:
    fit_mazes, held_out = generate_mazes(200, 5, seed=201), generate_mazes(200, 5, seed=202)  # as in the lesson
    T = planner.config.iterations
    probe, r2 = probe_value_map(planner, fit_mazes, held_out, T, alpha=1.0)
    out = {"T": r2}
    with torch.no_grad():
        for name, k in (("2T", 2 * T), ("8T", 8 * T)):
            X, y = open_square_features(planner.final_state(held_out.inputs, k), held_out)
            out[name] = r2_score(probe.predict(X), y)
        Xf, yf = open_square_features(planner.hidden_states(fit_mazes.inputs, T)[-1], fit_mazes)
        Xt, yt = open_square_features(planner.hidden_states(held_out.inputs, T)[-1], held_out)
    controls = []
    for s in range(3):
        perm = torch.randperm(len(yf), generator=torch.Generator().manual_seed(s))
        p = fit_ridge(Xf, yf[perm], 1.0)
        controls.append(r2_score(p.predict(Xt), yt))
    out["control_min"], out["control_max"] = min(controls), max(controls)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0-7")
    lo, _, hi = parser.parse_args().seeds.partition("-")
    torch.set_num_threads(1)
    print(f"{'seed':>4} {'R² at T':>8} {'at 2T':>7} {'at 8T':>7} {'shuffled control':>18}  cpu s")
    for seed in range(int(lo), int(hi or lo) + 1):
        t0 = time.process_time()
        planner = (
            models.load_pretrained("planner_recurrent")
            if seed == 0
            else thinking.train_planner(seed, progress=False)[0]
        )
        r = measure(planner.eval())
        print(
            f"{seed:4d} {r['T']:8.3f} {r['2T']:7.3f} {r['8T']:7.3f} {r['control_min']:8.3f} to {r['control_max']:6.3f}  "
            f"{time.process_time() - t0:5.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
