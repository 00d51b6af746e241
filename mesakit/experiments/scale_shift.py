"""``mesakit reproduce scale-shift``: the trained LSA keeps "optimizing" with a step size baked in
for its training inputs, and fails when the inputs are rescaled.

One LSA layer trained on ``x ~ U(-1, 1)^d`` computes one GD step whose step size η suits that
scale. Multiply the inputs by ``s`` (``RegressionTask(x_scale=s)``; labels scale with them since
``y = w·x``): the context's second moment grows like ``s²``, so the best step shrinks like ``1/s²``,
but the model's η is frozen in its weights. We compare, on fresh prompts at each scale, the model,
GD with its step size re-tuned for that scale (line search), GD with the old step, and predicting 0.
Past ``s = √2`` the frozen step overshoots so far that predicting 0 is better.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..core import metrics, models, reference
from ..core.tasks import RegressionTask
from ..incontext.lsa import EVAL_SEED, LR_SEED, train_lsa

SCALES = (1.0, 1.5, 2.0, 2.5, 3.0)
EVAL_PROMPTS = 10_000


def trained_lsa(seed: int = 0, steps: int | None = None, progress: bool = True):
    """The shipped one-layer LSA (seed 0, default steps), else a freshly trained one; ``(model, seconds)``."""
    if seed == 0 and steps is None and "lsa_1layer" in models.pretrained_names():
        return models.load_pretrained("lsa_1layer"), 0.0
    model, history = train_lsa(seed, steps or 3000, progress)
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


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    torch.set_num_threads(1)
    model, seconds = trained_lsa(seed, steps, progress)
    if save:
        models.save(model, save)
    return {**evaluate(model), "train_seconds": seconds}


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
