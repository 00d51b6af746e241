"""``mesakit reproduce lsa-gd``: one LSA layer trained on in-context regression learns one step
of gradient descent (von Oswald et al. 2022, "Transformers learn in-context by gradient descent").

Measured on fresh prompts (never seen in training): the trained model's loss beside one GD step
with the line-searched best step size, the cosine between their sensitivities ∂ŷ/∂x_q and the RMS
difference of their predictions. The official code trains 5,000 steps at batch 2,048; we train
3,000 at batch 512 (seconds on one core) and land within a percent or two of GD. The recipe is
:mod:`mesakit.incontext.lsa`.
"""

from __future__ import annotations

from pathlib import Path

from ..core import models
from ..incontext import lsa
from ..moved import moved_name


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    model, history = lsa.train_lsa(seed, steps or lsa.STEPS, progress)
    if save:
        models.save(model, save)
    return {**lsa.evaluate(model), "train_seconds": history.seconds}


def describe(r: dict) -> str:
    ratio = r["model_loss"] / r["gd_loss"]
    return "\n".join(
        [
            "One LSA layer vs one step of gradient descent (von Oswald et al. 2022)",
            f"  loss (0.5·MSE, {lsa.EVAL_PROMPTS:,} fresh prompts)   LSA {r['model_loss']:.4f}   "
            f"GD {r['gd_loss']:.4f} (step size {r['gd_lr']:.3f})   ratio {ratio:.3f}",
            f"  sensitivity cosine with GD     {r['sensitivity_cosine']:.4f}   (paper: ≈ 1)",
            f"  prediction difference (RMS)    {r['prediction_diff']:.4f}",
            f"  training time                  {r['train_seconds']:.1f} s",
            "  setup: d=10, N=10, x ~ U(-1,1), w ~ N(0,I); Adam lr 1e-3, batch 512 "
            "(official code: 5,000 steps at batch 2,048)",
        ]
    )


def __getattr__(name: str) -> object:  # 0.1's names of the recipe, now in mesakit.incontext.lsa
    return moved_name(__name__, name)
