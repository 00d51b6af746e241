"""Lessons 04 and 05 import the 0.2 paths (issue 16): no cell of either lesson uses an old path.

Lesson 04's recipes left the experiments (``goal_misgeneralization`` -> ``mesakit.divergence.goals``,
``scale_shift`` -> ``mesakit.divergence.shift``, imported as ``scale_shift`` because the lesson's
``shift`` is a result dict), and its setup cell still imported 0.1's root modules (``gridworld``,
``metrics``, ``reference``) and ``lsa_gd.LR_SEED``; lesson 05's recipe moved from
``mesakit.experiments.thinking_time`` to ``mesakit.search.thinking``, and its setup imported
``mesakit.planner``. Each of those raised a MovedWarning in the learner's notebook. Idempotent:

    .venv/bin/python tools/relayout_divergence_search.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import nbedit  # noqa: E402

LESSON04 = ROOT / "solutions" / "04_objective_divergence" / "04_objective_divergence.ipynb"
LESSON05 = ROOT / "solutions" / "05_internal_search" / "05_internal_search.ipynb"

SETUP04 = [
    (
        "from mesakit import checks, gridworld, metrics, models, plots, reference\n"
        "from mesakit.experiments import goal_misgeneralization, scale_shift\n"
        "from mesakit.experiments.lsa_gd import LR_SEED\n",
        "from mesakit import checks, models, plots\n"
        "from mesakit.core import metrics, reference\n"
        "from mesakit.divergence import goals, gridworld\n"
        "from mesakit.divergence import shift as scale_shift\n"
        "from mesakit.incontext.lsa import LR_SEED\n",
    ),
]
SETUP05 = [
    ("from mesakit.experiments import thinking_time\n", "from mesakit.search import thinking\n"),
    ("from mesakit import planner as planner_lib\n", "from mesakit.search import planner as planner_lib\n"),
    ("trained by `mesakit.experiments.thinking_time`", "trained by `mesakit.search.thinking`"),
]
# module.name -> new module.name, in code and prose alike
RENAMES04 = [(re.compile(r"\bgoal_misgeneralization\.(?=\w)"), "goals.")]
RENAMES05 = [(re.compile(r"\bthinking_time\.(?=\w)"), "thinking.")]
# what must be gone afterwards: 0.1 paths (MovedWarning) and the old experiment modules
OLD = re.compile(
    r"mesakit\.experiments|from mesakit import [^\n]*\b(gridworld|gridpolicy|metrics|reference|tasks|mazes|planner|probe)\b"
    r"|\bgoal_misgeneralization\.|\bthinking_time\.|lsa_gd"
)


def relayout(path: Path, setup: list[tuple[str, str]], renames: list[tuple[re.Pattern, str]]) -> None:
    nb = nbedit.read(path)
    for old, new in setup:
        nbedit.replace(nb, old, new)
    for cell in nb.cells:
        for pattern, new in renames:
            cell.source = pattern.sub(new, cell.source)
    left = [f"cell {i}: {m.group(0)!r}" for i, c in enumerate(nb.cells) for m in OLD.finditer(c.source)]
    if left:
        raise SystemExit(f"{path.name} still uses old paths: {left}")
    nbedit.write(nb, path)
    print(f"{path.relative_to(ROOT)}: 0.2 paths")


def main() -> None:
    relayout(LESSON04, SETUP04, RENAMES04)
    relayout(LESSON05, SETUP05, RENAMES05)


if __name__ == "__main__":
    main()
