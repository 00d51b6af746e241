"""Lesson 01 ends with a sketch of the detector and lesson 06 opens with it: the two notebooks (source
and release) quote the same code, and every name it mentions exists in mesakit — the sketch runs."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT

from mesakit.core import reference
from mesakit.core.tasks import RegressionTask
from mesakit.detection import zoo

NOTEBOOKS = [
    f"{folder}/{name}/{name}.ipynb"
    for folder in ("solutions", "lessons")
    for name in ("01_base_and_mesa", "06_detection")
]


def _sketch(path: str) -> str:
    nb = nbformat.read(ROOT / path, as_version=4)
    blocks = [
        b
        for c in nb.cells
        if c.cell_type == "markdown"
        for b in re.findall(r"```python\n(.*?)```", c.source, re.S)
        if "def analyze_model_behavior" in b
    ]
    assert len(blocks) == 1, f"{path}: expected one sketch of analyze_model_behavior in the text, found {len(blocks)}"
    return blocks[0]


def test_lessons_01_and_06_quote_the_same_sketch():
    sketches = {path: _sketch(path) for path in NOTEBOOKS}
    assert len(set(sketches.values())) == 1, sketches


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_name_in_the_sketch_exists_and_it_runs(path):
    namespace: dict = {}
    exec(compile(_sketch(path), path, "exec"), namespace)  # its imports are mesakit's: a missing name fails here
    analyze = namespace["analyze_model_behavior"]
    Z = RegressionTask().sample(64, seed=5)[0]
    assert analyze(reference.gd_construction(lr=0.9), Z) == "Potential mesa optimizer detected"
    assert analyze(zoo.LabelAverage(), Z) == "Standard model behavior"
