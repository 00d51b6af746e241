"""Lesson 06's detector on ONE core: the family-disjoint zoo split, per family, accuracy, time, and
the capstone's reference detector on the hidden test's held-out models. Prints figures beside the
targets; exit status 1 if a target is missed.

    .venv/bin/python benchmarks/detector.py [--seeds 0-7]

Targets (issue 13), on every detector seed (the detector's own fresh tasks and the prompts):
  * the library detector: AUROC on the held-out families >= 0.95, accuracy at the default
    threshold >= 0.9, no zoo model makes it raise;
  * one analyze_model_behavior call on B = 256 prompts <= 2 s of CPU time (the max over the zoo;
    CPU time, because wall time on a shared machine measures the other processes too);
  * the capstone's reference solution (executed from solutions/06_detection) reaches a held-out
    AUROC >= 0.9 in the hidden test (mesakit.checks.detection_heldout) and full points; a constant detector 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import nbformat  # noqa: E402
import torch  # noqa: E402

from mesakit import detect, models  # noqa: E402
from mesakit.checks import detection_heldout as heldout  # noqa: E402
from mesakit.detection import builders  # noqa: E402
from mesakit.experiments import detector  # noqa: E402

CAPSTONE = ("context_gain", "gd_alignment", "combine_signals", "auroc", "learning_curve", "analyze_model_behavior")


def reference_capstone() -> dict:
    """The learner-facing reference functions, executed from the solutions notebook."""
    nb = nbformat.read(ROOT / "solutions/06_detection/06_detection.ipynb", as_version=4)
    namespace: dict = {"torch": torch, "detect": detect}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in CAPSTONE:
            exec(cell.source, namespace)
    return namespace


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-7", help="detector seeds, e.g. 0-7")
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    torch.set_num_threads(1)
    missed = 0

    def target(label: str, ok: bool) -> None:
        nonlocal missed
        missed += not ok
        print(f"  {'ok  ' if ok else 'MISS'} {label}")

    seeds = _seeds(args.seeds)
    results = {}
    for seed in seeds:
        start = time.perf_counter()
        try:
            results[seed] = detector.run(seed=seed, progress=False)
        except Exception as err:  # noqa: BLE001 — a zoo model that makes the detector raise is a missed target
            print(f"seed {seed}: the detector raised {type(err).__name__}: {err}")
            target(f"seed {seed}: no zoo model makes the detector raise", False)
            continue
        r = results[seed]
        print(
            f"seed {seed}: AUROC all {r['auroc']:.3f}, design {r['design']['auroc']:.3f}, holdout families {r['holdout_auroc']:.3f}; "
            f"accuracy {r['accuracy']:.3f}; {r['cpu_seconds_per_model']:.3f} s CPU per model (max {r['max_cpu_seconds']:.3f}), "
            f"{r['seconds_per_model']:.3f} s wall; {time.perf_counter() - start:.0f} s for the zoo"
        )
    if results:
        first = results[seeds[0]]
        print(detector.describe(first))
        target(
            f"holdout_auroc >= 0.95 on {sum(r['holdout_auroc'] >= 0.95 for r in results.values())}/{len(seeds)} seeds",
            all(r["holdout_auroc"] >= 0.95 for r in results.values()) and len(results) == len(seeds),
        )
        target(
            f"accuracy >= 0.9 on {sum(r['accuracy'] >= 0.9 for r in results.values())}/{len(seeds)} seeds",
            all(r["accuracy"] >= 0.9 for r in results.values()) and len(results) == len(seeds),
        )
        worst = max(r["max_cpu_seconds"] for r in results.values())
        target(f"one call on B = 256 <= 2 s CPU (max over zoo and seeds: {worst:.3f} s)", worst <= 2.0)
        wrong = sorted({m["name"] for r in results.values() for m in r["models"] if m["detected"] != m["positive"]})
        print(f"  misclassified on some seed: {', '.join(wrong) or 'none'}")

    ref = reference_capstone()
    constant = lambda model, inputs: {"score": 0.5, "verdict": detect.DETECTED, "signals": {}}  # noqa: E731
    aurocs, cpu = [], time.process_time()
    for seed in seeds:
        aurocs.append(heldout.heldout_auroc(ref["analyze_model_behavior"], 6113 + seed))
    print(
        f"Capstone reference on the hidden test's held-out models (seeds 6113+{seeds[0]}..{seeds[-1]}): AUROC "
        f"{', '.join(f'{a:.3f}' for a in aurocs)} ({(time.process_time() - cpu) / len(seeds):.2f} s CPU per held-out set)"
    )
    target("capstone reference held-out AUROC >= 0.9 on every seed", min(aurocs) >= 0.9)
    target("capstone reference earns full points", min(heldout.points(a, 6.0) for a in aurocs) == 6.0)
    target("a constant detector earns 0 points", heldout.points(heldout.heldout_auroc(constant, 6113), 6.0) == 0.0)
    zoo_rows = builders.analyse_zoo(seed=0, progress=False, analyze=ref["analyze_model_behavior"])
    s = builders.summarise(zoo_rows)
    hold = builders.summarise([r for r in zoo_rows if r["half"] == "holdout"])
    print(
        f"Capstone reference on the lesson's zoo: AUROC {s['auroc']:.3f} (holdout families {hold['auroc']:.3f}), accuracy {s['accuracy']:.3f}"
    )

    names = models.pretrained_names()
    if "planner_recurrent" in names:
        from mesakit.search import mazes

        batch = mazes.generate_mazes(256, 5, seed=1).inputs
        for name in ("planner_recurrent", "planner_feedforward"):
            if name in names:
                model = models.load_pretrained(name)
                start = time.process_time()
                report = detect.analyze_model_behavior(model, batch)
                print(
                    f"Planner {name}: {report.verdict} (score {report.score:.2f}) in {time.process_time() - start:.2f} s CPU"
                )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
