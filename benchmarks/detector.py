"""Lesson 06's detector on ONE core: AUROC and accuracy on the shipped zoo (both halves), and the
time of one ``analyze_model_behavior`` call on B = 256 prompts. Prints figures beside the targets;
exit status 1 if a target is missed.

    .venv/bin/python benchmarks/detector.py

Targets (issue 6): AUROC >= 0.98 and accuracy >= 0.95 on the project's zoo; one call on B = 256
prompts <= 2 s. The design half is what the signals were designed on; the holdout half was only
ever used to report. Planners (lesson 05) are timed too when their checkpoints are shipped.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from mesakit import detect, models, zoo  # noqa: E402
from mesakit.experiments import detector  # noqa: E402


def main() -> int:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    torch.set_num_threads(1)
    rows = detector.analyse_zoo(seed=0, batch=256, progress=False)
    missed = 0

    def target(label: str, ok: bool) -> None:
        nonlocal missed
        missed += not ok
        print(f"  {'ok  ' if ok else 'MISS'} {label}")

    print(f"Detector on the zoo: {len(rows)} models, B = 256 prompts each, threshold {detect.THRESHOLD}, one core")
    for half in ("all", "design", "holdout"):
        part = [r for r in rows if half == "all" or r["half"] == half]
        s = detector.summarise(part)
        n_pos = sum(r["positive"] for r in part)
        print(f"  {half:8} ({n_pos} mesa / {len(part) - n_pos} other): AUROC {s['auroc']:.3f}   accuracy {s['accuracy']:.3f}   "
              "per-signal AUROC " + ", ".join(f"{k} {v:.3f}" for k, v in s["per_signal_auroc"].items()))  # fmt: skip
        target(f"{half}: AUROC >= 0.98", s["auroc"] >= 0.98)
        target(f"{half}: accuracy >= 0.95", s["accuracy"] >= 0.95)
    positives = [r["score"] for r in rows if r["positive"]]
    negatives = [r["score"] for r in rows if not r["positive"]]
    print(f"  margin: lowest mesa-optimizer score {min(positives):.2f}, highest other score {max(negatives):.2f}")
    for r in sorted(rows, key=lambda r: -r["score"]):
        print(f"    {r['name']:24} {r['half']:8} {'mesa ' if r['positive'] else 'other'} {r['score']:.2f}")

    # Per-call time at B = 256: every zoo model timed three times (the first call includes warm-up).
    times = []
    for e in zoo.ZOO:
        model = zoo.load(e.name)
        Z, _ = e.prompts(256, seed=1)
        for _ in range(3):
            start = time.perf_counter()
            detect.analyze_model_behavior(model, Z)
            times.append(time.perf_counter() - start)
    print(f"One analyze_model_behavior call, B = 256 prompts: median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s over {len(times)} calls")  # fmt: skip
    target("one call on B = 256 <= 2 s (max)", max(times) <= 2.0)

    names = models.pretrained_names()
    if "planner_recurrent" in names:
        from mesakit import mazes

        batch = mazes.generate_mazes(256, 5, seed=1).inputs
        for name in ("planner_recurrent", "planner_feedforward"):
            if name in names:
                model = models.load_pretrained(name)
                start = time.perf_counter()
                report = detect.analyze_model_behavior(model, batch)
                print(f"Planner {name}: {report.verdict} (score {report.score:.2f}, {report.signals}) "
                      f"in {time.perf_counter() - start:.2f} s on {min(256, detect.MAX_MAZES)} mazes")  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
