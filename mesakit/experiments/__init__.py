"""The course's reproducible experiments, one module each, run by ``mesakit reproduce NAME``.

Every module defines ``run(seed, steps, progress, save) -> dict`` (the measured figures, JSON-ready,
with the keys that COURSE.md and the issues name) and ``describe(result) -> str`` (the same figures
beside the published setup, for people). Modules are imported only when their experiment runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# name -> (module, one-line summary)
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "lsa-gd": (
        "mesakit.experiments.lsa_gd",
        "one LSA layer learns one step of gradient descent (von Oswald et al. 2022)",
    ),
    "multistep": ("mesakit.experiments.multistep", "weight-tied LSA: K iterations track K steps of GD"),
    "thinking-time": (
        "mesakit.experiments.thinking_time",
        "a recurrent maze planner: more iterations solve more and larger mazes; a probe reads its value map",
    ),
    "detector": (
        "mesakit.experiments.detector",
        "lesson 06's mesa-optimizer detector scored on a labelled zoo (AUROC, accuracy)",
    ),
    "task-diversity": (
        "mesakit.experiments.task_diversity",
        "memorizer below a pool-size threshold, in-context optimizer above (Raventós et al. 2023)",
    ),
    "scale-shift": (
        "mesakit.experiments.scale_shift",
        "rescaled inputs: the LSA's baked-in step size overshoots, worse than predicting 0",
    ),
    "goal-misgeneralization": (
        "mesakit.experiments.goal_misgeneralization",
        "gridworld agent goes for the right edge, not the moved coin (Langosco et al. 2022)",
    ),
}


def get(name: str) -> ModuleType:
    if name not in EXPERIMENTS:
        raise KeyError(f"no experiment {name!r}; the experiments are: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name][0])
