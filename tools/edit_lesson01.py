"""Lesson 01, text only (issues 13 and 14): the hand-built model is a stand-in for what a mesa
optimizer computes, not a mesa optimizer (those are emergent, not designed); the closing sketch is
the one lesson 06 opens with, and its names exist in ``mesakit.detect``. Idempotent:

    .venv/bin/python tools/edit_lesson01.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbedit  # noqa: E402

PATH = Path(__file__).resolve().parent.parent / "solutions/01_base_and_mesa/01_base_and_mesa.ipynb"


def main() -> None:
    nb = nbedit.read(PATH)
    r = lambda old, new: nbedit.replace(nb, old, new)  # noqa: E731
    r(
        """In this lesson you build one by hand, so that you know exactly what is inside it, and then let an
ordinary training loop tune it.""",
        """In this lesson you build a stand-in for one by hand — a model whose forward pass runs an optimizer
because we wrote it that way — so that you know exactly what a mesa optimizer computes, and then
let an ordinary training loop tune it. (A real mesa optimizer is written by nobody: lessons 02 and
03 watch training find one.)""",
    )
    r(
        """$w \\cdot x_q$. That model is a mesa optimizer whose mesa objective is the least-squares loss on the
prompt's context.""",
        """$w \\cdot x_q$. Written by hand, that model is not itself a mesa optimizer — mesa optimizers are
emergent, and nobody trained this one into being — but a **hand-built stand-in for what a mesa
optimizer computes**: its forward pass optimizes an objective of its own, the least-squares loss on
the prompt's context, which plays the role of a mesa objective. Lesson 02 shows training find the
same computation without our help.""",
    )
    r("### Exercise 3.1 — a hand-built mesa optimizer", "### Exercise 3.1 — a hand-built stand-in for a mesa optimizer")
    r(
        """step size for that K — the base optimizer has tuned the mesa optimizer without ever looking inside
a forward pass.""",
        """step size for that K — the base optimizer has tuned the inner optimizer without ever looking
inside a forward pass.""",
    )
    r(
        """objective's — a larger step than the one that best fits the context. The base optimizer shapes the
mesa optimizer for its own objective; the mesa optimizer never sees that objective.""",
        """objective's — a larger step than the one that best fits the context. The base optimizer shapes the
inner optimizer for its own objective; the inner optimizer never sees that objective.""",
    )
    cell = nb.cells[nbedit.find(nb, "The question that lesson 06 answers is whether")]
    start, end = cell.source.index("```python"), cell.source.index("```", cell.source.index("```python") + 3) + 3
    cell.source = cell.source[:start] + nbedit.SKETCH + cell.source[end:]
    r(
        """In lesson 06 you build the real `mesakit.detect.analyze_model_behavior(model, inputs)`: it returns
a report with a score in [0, 1], the measured signals, and one of exactly these two verdicts.""",
        """Both names exist: `mesakit.detect.measure_signals` returns a dict of named measurements and
`detect_optimization_pattern` says whether they add up to an optimizer. In lesson 06 you write
your own `analyze_model_behavior(model, inputs)` from signals you measure yourself, score it on
models it has never seen, and compare it with the library's `mesakit.detect.analyze_model_behavior`,
which returns a report with a score in [0, 1], the measured signals, and one of exactly these two
verdicts.""",
    )
    r(
        """rise; a model that ignores its context will not care. Below, three models: your tuned mesa
optimizer, a model that always predicts 0, and a fixed linear model fitted to one single task.""",
        """rise; a model that ignores its context will not care. Below, three models: your tuned hand-built
optimizer, a model that always predicts 0, and a fixed linear model fitted to one single task.""",
    )
    r("""    "tuned mesa optimizer": tuned,""", """    "tuned hand-built optimizer": tuned,""")
    r(
        """*What to look for:* only the mesa optimizer's loss jumps when its context is scrambled; the other
two score the same either way.""",
        """*What to look for:* only the hand-built optimizer's loss jumps when its context is scrambled; the
other two score the same either way.""",
    )
    r(
        """- You wrote gradient descent on least squares (the base optimizer at work), then put the same
  algorithm inside a forward pass:""",
        """- You wrote gradient descent on least squares (the base optimizer at work), then put the same
  algorithm inside a forward pass — a hand-built stand-in for what a mesa optimizer computes:""",
    )
    r("## 4. The base optimizer tunes the mesa optimizer", "## 4. The base optimizer tunes the inner optimizer")
    nbedit.write(nb, PATH)


if __name__ == "__main__":
    main()
