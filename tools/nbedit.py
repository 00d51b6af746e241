"""Small helpers for the committed notebook-editing scripts (tools/edit_lessonNN.py): replace text in
cells idempotently, find cells, insert new ones with nbgrader metadata. Notebooks are read and
written with nbformat only."""

from __future__ import annotations

import nbformat

SKETCH = '''```python
from mesakit.detect import detect_optimization_pattern, measure_signals


def analyze_model_behavior(model, inputs):
    """Look for evidence of internal optimization in how the model responds."""
    signals = measure_signals(model, inputs)  # vary the inputs, watch the outputs
    if detect_optimization_pattern(signals):  # an optimizer at work?
        return "Potential mesa optimizer detected"
    return "Standard model behavior"
```'''  # lesson 01 ends with it and lesson 06 opens with it; tests/test_course.py checks both quote it


def read(path):
    return nbformat.read(path, as_version=4)


def write(nb, path):
    nbformat.validate(nb)
    nbformat.write(nb, path)


def find(nb, needle: str) -> int:
    """Index of the only cell whose source contains ``needle``."""
    hits = [i for i, c in enumerate(nb.cells) if needle in c.source]
    if len(hits) != 1:
        raise ValueError(f"{needle!r} is in {len(hits)} cells, expected exactly one")
    return hits[0]


def has(nb, needle: str) -> bool:
    return any(needle in c.source for c in nb.cells)


def replace(nb, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the one cell holding it; a no-op when ``new`` is already there."""
    if any(new in c.source for c in nb.cells):  # done already (``new`` may contain ``old``)
        return
    hits = [c for c in nb.cells if old in c.source]
    if not hits:
        raise ValueError(f"neither the old text nor the new one is in the notebook: {old[:80]!r}")
    if len(hits) > 1:
        raise ValueError(f"{old[:80]!r} is in {len(hits)} cells")
    hits[0].source = hits[0].source.replace(old, new)


def _stable_id(source: str) -> str:
    import hashlib

    return hashlib.sha1(source.encode()).hexdigest()[:8]  # the same script run gives the same notebook


def markdown(source: str):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.id = _stable_id(source)
    return cell


def code(
    source: str,
    grade_id: str | None = None,
    *,
    solution: bool = False,
    points: float | None = None,
    locked: bool = False,
):
    cell = nbformat.v4.new_code_cell(source)
    cell.id = _stable_id(source)
    if grade_id is not None:
        meta = {
            "grade": points is not None,
            "grade_id": grade_id,
            "locked": locked or points is not None,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
        cell.id = grade_id
    return cell


def replace_if_present(nb, old: str, new: str) -> None:
    """Like :func:`replace`, but silent when ``old`` is absent (text left by an earlier run of a script)."""
    if any(old in c.source for c in nb.cells):
        replace(nb, old, new)
