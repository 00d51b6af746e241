"""Lesson 04's first divergence: a trained LSA keeps "optimizing" with the step size it baked in
for its training inputs, and fails when the inputs are rescaled.

One LSA layer trained on ``x ~ U(-1, 1)^d`` computes one GD step whose step size η suits that
scale. Multiply the inputs by ``s`` (``RegressionTask(x_scale=s)``; labels scale with them since
``y = w·x``): the context's second moment grows like ``s²``, so the best step shrinks like ``1/s²``,
but the model's η is frozen in its weights.

* :func:`trained_lsa` — the shipped one-layer LSA (seed 0), else a freshly trained one.
* :func:`baked_step_size` — the step size that best explains the model as one GD step.
* :func:`losses_at_scale` / :func:`evaluate` — on fresh prompts at each scale: the model, GD with its
  step re-tuned for that scale (line search), GD with the old step, and predicting 0.

``mesakit reproduce scale-shift`` (:mod:`mesakit.experiments.scale_shift`) runs these and prints
the figures.
"""

from __future__ import annotations

import torch

from ..core import metrics, models, reference
from ..core.tasks import RegressionTask
from ..incontext.lsa import EVAL_SEED, LR_SEED, STEPS, train_lsa

SCALES = (1.0, 1.5, 2.0, 2.5, 3.0)
EVAL_PROMPTS = 10_000


def trained_lsa(seed: int = 0, steps: int | None = None, progress: bool = True):
    """The shipped one-layer LSA (seed 0, default steps), else a freshly trained one; ``(model, seconds)``."""
    if seed == 0 and steps is None and "lsa_1layer" in models.pretrained_names():
        return models.load_pretrained("lsa_1layer"), 0.0
    model, history = train_lsa(seed, steps or STEPS, progress)
    return model, history.seconds


def baked_step_size(model, task: RegressionTask = RegressionTask(), n_prompts: int = EVAL_PROMPTS) -> float:
    """The step size η that best explains the model as one GD step: least-squares fit of
    ``model(Z) ≈ η · gd_predict(Z, lr=1)`` on ``task``'s prompts."""
    Z, _ = task.sample(n_prompts, seed=EVAL_SEED)
    with torch.no_grad():
        pred = model(Z).double()
    unit = reference.gd_predict(Z.double(), 1.0)
    return (pred @ unit / (unit @ unit)).item()


def losses_at_scale(model, scale: float, n_prompts: int = EVAL_PROMPTS, train_lr: float | None = None) -> dict:
    """Loss (0.5·MSE) of the model, of re-tuned GD, of GD with the training-scale step, and of 0,
    on ``n_prompts`` fresh prompts whose inputs are scaled by ``scale``."""
    task = RegressionTask(x_scale=scale)
    train_lr = reference.best_gd_lr(RegressionTask(), seed=LR_SEED) if train_lr is None else train_lr
    lr = reference.best_gd_lr(task, seed=LR_SEED)
    Z, y = task.sample(n_prompts, seed=EVAL_SEED)
    with torch.no_grad():
        lsa = metrics.loss(model(Z), y).item()
    return {
        "lsa": lsa,
        "gd_retuned": metrics.loss(reference.gd_predict(Z, lr), y).item(),
        "gd_fixed": metrics.loss(reference.gd_predict(Z, train_lr), y).item(),
        "zero": metrics.loss(torch.zeros_like(y), y).item(),
        "gd_lr": lr,
    }


def evaluate(model, scales=SCALES, n_prompts: int = EVAL_PROMPTS) -> dict:
    """Every figure of the experiment: the losses at each of ``scales`` and the baked step size."""
    train_lr = reference.best_gd_lr(RegressionTask(), seed=LR_SEED)
    rows = [losses_at_scale(model, s, n_prompts, train_lr) for s in scales]
    return {
        "scales": list(scales),
        "lsa_loss": [r["lsa"] for r in rows],
        "gd_retuned_loss": [r["gd_retuned"] for r in rows],
        "gd_fixed_loss": [r["gd_fixed"] for r in rows],
        "zero_loss": [r["zero"] for r in rows],
        "gd_lr": [r["gd_lr"] for r in rows],
        "lsa_step_size": baked_step_size(model),
    }
