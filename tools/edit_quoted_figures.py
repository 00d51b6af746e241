"""Issue 14: two sentences whose figures nothing showed (tests/figures.py) now say where they come
from. Idempotent:

    .venv/bin/python tools/edit_quoted_figures.py && .venv/bin/mesakit release
"""

from __future__ import annotations

from pathlib import Path

import nbedit

ROOT = Path(__file__).resolve().parent.parent
L05 = ROOT / "solutions/05_internal_search/05_internal_search.ipynb"
L06 = ROOT / "solutions/06_detection/06_detection.ipynb"

nb = nbedit.read(L05)
nbedit.replace(
    nb,
    "(R² 0.880 to 0.908 across seeds 0 to 7, against 0.041",
    "(R² 0.880 to 0.908 across seeds 0 to 7 in `mesakit reproduce thinking-time`, against 0.041",
)
nbedit.write(nb, L05)

nb = nbedit.read(L06)
nbedit.replace(
    nb,
    "and scores ≈ 0, where a plain average would give it ≈ 0.24;",
    "and scores ≈ 0, where a plain average would give it about half its first answer;",
)
nbedit.write(nb, L06)
