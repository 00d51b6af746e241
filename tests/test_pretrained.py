"""`make pretrained` (tools/pretrained.py): every shipped checkpoint has exactly one recipe, and
the cheap recipes rebuild the shipped weights. The whole set is checked by
``python tools/pretrained.py --check`` (minutes: see CONTRIBUTING.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mesakit.core import models

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("pretrained_tool", ROOT / "tools" / "pretrained.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_shipped_checkpoint_has_exactly_one_recipe():
    tool = _tool()
    assert sorted(tool.builders()) == models.pretrained_names()


def test_difference_tells_equal_from_different_models():
    tool = _tool()
    a = models.LinearSelfAttention()
    b = models.LinearSelfAttention()
    assert tool.difference(a, a) == 0.0
    assert tool.difference(a, b) > tool.TOLERANCE
    assert tool.difference(a, models.LinearSelfAttention(models.LSAConfig(n_layers=2))) == float("inf")


@pytest.mark.slow
def test_the_cheap_recipes_rebuild_the_shipped_weights(capsys):
    tool = _tool()
    assert tool.main(["--check", "lsa_1layer", "lsa_tied"]) == 0, capsys.readouterr().out


def test_frozen_checkpoints_are_shipped_and_explained():
    tool = _tool()
    assert set(tool.FROZEN) <= set(models.pretrained_names())
    assert all(len(why) > 40 for why in tool.FROZEN.values())
