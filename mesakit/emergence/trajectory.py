"""When does the mesa optimizer appear during training? Lesson 03's measurements over a run.

:func:`training_trajectory` replays the weight snapshots that :func:`mesakit.core.train.train` keeps
(``TrainConfig.snapshot_every``) and measures, at each one, the loss on fresh prompts, the
in-context gain (how much the model relies on its context's labels) and the sensitivity cosine
with one GD step (whether it uses them the way GD does). :func:`appearance_step` reads off when
the internal optimizer has appeared. The pool-size sweep lives in :mod:`mesakit.emergence.diversity`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..core import metrics
from ..core.metrics import Predictor
from ..core.train import History


def training_trajectory(
    model: nn.Module, history: History, Z: torch.Tensor, y: torch.Tensor, reference: Predictor
) -> dict[str, list[float]]:
    """Shapes: ``Z (B, N+1, d+1)``, ``y (B,)``. For each snapshot of ``history`` (loaded into a copy
    of ``model``) return lists ``step``, ``loss``, ``in_context_gain``, ``sensitivity_cosine``."""
    if not history.snapshots:
        raise ValueError(
            "the history holds no weight snapshots: train with TrainConfig(snapshot_every=...) "
            "(lesson 02's mesakit.incontext.lsa.train_lsa keeps 30)"
        )
    replay = copy.deepcopy(model).eval()
    out: dict[str, list[float]] = {"step": [], "loss": [], "in_context_gain": [], "sensitivity_cosine": []}
    for step, state in history.snapshots:
        replay.load_state_dict(state)
        with torch.no_grad():
            out["loss"].append(metrics.loss(metrics.predict(replay, Z), y).item())
        out["step"].append(step)
        out["in_context_gain"].append(metrics.in_context_gain(replay, Z, y))
        out["sensitivity_cosine"].append(metrics.sensitivity_cosine(replay, reference, Z))
    return out


def appearance_step(trajectory: dict[str, list[float]], threshold: float = 0.9) -> int | None:
    """The first snapshot step from which the sensitivity cosine with GD stays ``>= threshold``
    (the model has become a GD-like optimizer); ``None`` if it never does."""
    found = None
    for step, cosine in zip(reversed(trajectory["step"]), reversed(trajectory["sensitivity_cosine"])):
        if not cosine >= threshold:
            break
        found = step
    return found
