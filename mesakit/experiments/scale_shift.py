"""``mesakit reproduce scale-shift``: the trained LSA keeps "optimizing" with a step size baked in
for its training inputs, and fails when the inputs are rescaled.

One LSA layer trained on ``x ~ U(-1, 1)^d`` computes one GD step whose step size η suits that
scale. Multiply the inputs by ``s`` (``RegressionTask(x_scale=s)``; labels scale with them since
``y = w·x``): the context's second moment grows like ``s²``, so the best step shrinks like ``1/s²``,
but the model's η is frozen in its weights. We compare, on fresh prompts at each scale, the model,
GD with its step size re-tuned for that scale (line search), GD with the old step, and predicting 0.
Past ``s = √2`` the frozen step overshoots so far that predicting 0 is better. The measurements are
:mod:`mesakit.divergence.shift`.
"""

from __future__ import annotations

from pathlib import Path

from ..core import models
from ..core.seeding import seeded
from ..divergence import shift
from ..moved import moved_name


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    with seeded(seed, threads=1):  # one thread: the figures do not depend on the machine's core count
        model, seconds = shift.trained_lsa(seed, steps, progress)
        if save:
            models.save(model, save)
        return {**shift.evaluate(model), "train_seconds": seconds}


def describe(r: dict) -> str:
    lines = [
        "A trained LSA on rescaled inputs: the step size it baked in no longer fits",
        f"  the LSA behaves like one GD step of size {r['lsa_step_size']:.3f} (fitted at scale 1)",
        "  scale   LSA loss   GD re-tuned (step)    GD old step   predict 0",
    ]
    for i, s in enumerate(r["scales"]):
        lines.append(
            f"  {s:5.2f}  {r['lsa_loss'][i]:9.3f}   {r['gd_retuned_loss'][i]:8.3f} ({r['gd_lr'][i]:.3f})"
            f"   {r['gd_fixed_loss'][i]:11.3f}   {r['zero_loss'][i]:9.3f}"
        )
    lines.append(f"  training time {r['train_seconds']:.1f} s (0 = the shipped checkpoint lsa_1layer)")
    return "\n".join(lines)


def __getattr__(name: str) -> object:  # 0.1's names of the measurements, now in mesakit.divergence.shift
    return moved_name(__name__, name)
