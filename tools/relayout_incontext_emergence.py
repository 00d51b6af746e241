"""Issue 16, lessons 02 and 03: the solution notebooks import the recipes from their topic packages.

The experiments now hold only ``run`` and ``describe`` (docs/architecture.md); the names the lessons
use moved to ``mesakit.incontext.lsa``, ``mesakit.incontext.multistep``, ``mesakit.emergence.sweep``
and ``mesakit.emergence.trajectory``, and ``metrics``/``reference`` to ``mesakit.core``. The old
paths still work with a MovedWarning; after this script no cell of lessons 02 and 03 triggers one.
The modules are imported under names the lessons do not use for variables (lesson 02 calls its
model ``lsa``, lesson 03 its results ``sweep`` and ``trajectory``). Idempotent:

    python tools/relayout_incontext_emergence.py && mesakit release
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import nbedit  # noqa: E402

LESSON02 = ROOT / "solutions/02_toy_mesa_optimizer/02_toy_mesa_optimizer.ipynb"
LESSON03 = ROOT / "solutions/03_emergence/03_emergence.ipynb"

# (old, new) exact text in the setup cell
IMPORTS = {
    LESSON02: [
        (
            "from mesakit import checks, metrics, models, plots, reference\n",
            "from mesakit import checks, models, plots\nfrom mesakit.core import metrics, reference\n",
        ),
        (
            "from mesakit.experiments import lsa_gd, multistep\n",
            "from mesakit.incontext import lsa as lsa_recipe, multistep\n",
        ),
    ],
    LESSON03: [
        (
            "from mesakit import checks, emergence, metrics, models, plots, reference\n",
            "from mesakit import checks, models, plots\nfrom mesakit.core import metrics, reference\n",
        ),
        (
            "from mesakit.experiments import lsa_gd, task_diversity\n",
            "from mesakit.emergence import sweep as pool_sweep\n"
            "from mesakit.emergence.trajectory import appearance_step, training_trajectory\n"
            "from mesakit.incontext import lsa\n",
        ),
    ],
}

# (pattern, replacement) in every cell; a name preceded by a dot or a word character is left alone
NAMES = {
    LESSON02: [
        (r"(?<![\w.])lsa_gd\.", "lsa_recipe."),
        (r"`mesakit\.experiments\.multistep`", "`mesakit.incontext.multistep`"),
    ],
    LESSON03: [
        (r"(?<![\w.])lsa_gd\.", "lsa."),
        (r"(?<![\w.])task_diversity\.", "pool_sweep."),
        (r"(?<![\w.])emergence\.(training_trajectory|appearance_step)\b", r"\1"),
    ],
}


def relayout(path: Path) -> int:
    nb = nbedit.read(path)
    changed = 0
    for old, new in IMPORTS[path]:
        if nbedit.has(nb, old):
            nbedit.replace(nb, old, new)
            changed += 1
        elif not nbedit.has(nb, new):
            raise ValueError(f"{path.name}: neither the old import nor the new one is there: {old!r}")
    for pattern, replacement in NAMES[path]:
        for cell in nb.cells:
            source, n = re.subn(pattern, replacement, cell.source)
            if n:
                cell.source, changed = source, changed + n
    nbedit.write(nb, path)
    return changed


def main() -> None:
    for path in IMPORTS:
        print(f"{path.relative_to(ROOT)}: {relayout(path)} edits")


if __name__ == "__main__":
    main()
