"""``mesakit reproduce multistep``: a weight-tied LSA, iterated K times, tracks K steps of GD.

Trained with K drawn from 1..4 through a curriculum (K = 1 first), tested at K = 1..8 against K
steps of gradient descent, each with its own line-searched step size; a diverged loss is reported
as ``null`` in the JSON. The recipe, and why it is what it is, is :mod:`mesakit.incontext.multistep`.
"""

from __future__ import annotations

from pathlib import Path

from ..core import models
from ..incontext import multistep
from ..moved import moved_name


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    model, history = multistep.train_tied(seed, steps or multistep.STEPS, progress)
    if save:
        models.save(model, save)
    return {**multistep.evaluate(model), "train_seconds": history.seconds}


def describe(r: dict) -> str:
    lines = ["Weight-tied LSA iterated K times vs K steps of GD (trained with K in 1..4)", "   K   LSA loss   GD loss"]
    for k, a, b in zip(r["k"], r["loss_by_k"], r["gd_loss_by_k"]):
        shown = f"{a:8.4f}" if a is not None else "diverged"
        lines.append(f"  {k:2d}   {shown}   {b:7.4f}" + ("" if k in r["trained_k"] else "   (beyond training)"))
    lines.append(f"  training time {r['train_seconds']:.1f} s")
    return "\n".join(lines)


def __getattr__(name: str) -> object:  # 0.1's names of the recipe, now in mesakit.incontext.multistep
    return moved_name(__name__, name)
