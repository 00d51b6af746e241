"""Training one LSA layer on in-context regression, and what lesson 02 measures on it.

* :func:`train_lsa` — a fresh one-layer :class:`~mesakit.core.models.LinearSelfAttention` trained
  with the course's loop (Adam, batch 512, 3,000 steps by default: seconds on one core).
* :func:`evaluate` — von Oswald et al. (2022)'s comparison on fresh prompts: the model's loss
  beside one GD step with the line-searched best step size, the sensitivity cosine and the RMS
  prediction difference.
* :func:`learned_step_size` — the GD step size η a trained layer implements, read off its weights.
* :data:`PRETRAINED` — how the shipped ``lsa_1layer`` checkpoint is made (``make pretrained``).

``mesakit reproduce lsa-gd`` (:mod:`mesakit.experiments.lsa_gd`) runs these and prints the figures.
"""

from __future__ import annotations

import torch

from ..core import metrics, models, reference
from ..core.seeding import seeded
from ..core.tasks import RegressionTask
from ..core.train import History, TrainConfig, train

EVAL_PROMPTS = 10_000
EVAL_SEED = 10_007  # evaluation prompts: a seed the training generator never uses
LR_SEED = 20_011  # prompts for the step-size line search
STEPS = 3000  # the recipe's training steps (the official code: 5,000 at batch 2,048)


def train_lsa(
    seed: int = 0, steps: int = STEPS, progress: bool = True, task: RegressionTask = RegressionTask()
) -> tuple[models.LinearSelfAttention, History]:
    """Train a fresh one-layer LSA on ``task``; returns ``(model, history)``."""
    with seeded(seed):  # the initial weights
        model = models.LinearSelfAttention(models.LSAConfig(d=task.d))
    config = TrainConfig(steps=steps, seed=seed, progress=progress, snapshot_every=max(steps // 30, 1))
    history = train(model, task.sample, config)
    return model, history


def evaluate(model, task: RegressionTask = RegressionTask(), n_prompts: int = EVAL_PROMPTS) -> dict:
    """The figures of the paper's comparison, on ``n_prompts`` fresh prompts."""
    lr = reference.best_gd_lr(task, steps=1, seed=LR_SEED)
    Z, y = task.sample(n_prompts, seed=EVAL_SEED)
    gd = lambda Z: reference.gd_predict(Z, lr)  # noqa: E731
    with torch.no_grad():
        model_loss = metrics.loss(model(Z), y).item()
        gd_loss = metrics.loss(gd(Z), y).item()
    return {
        "model_loss": model_loss,
        "gd_loss": gd_loss,
        "gd_lr": lr,
        "sensitivity_cosine": metrics.sensitivity_cosine(model, gd, Z),
        "prediction_diff": metrics.prediction_diff(model, gd, Z),
    }


def learned_step_size(W_KQ: torch.Tensor, W_PV: torch.Tensor) -> float:
    """The GD step size η an LSA layer implements, read off its weights ``(d+1, d+1)`` each.

    The prediction's GD-like term is ``-W_PV[d, d] · (1/N Σ y_i x_i)ᵀ W_KQ[:d, :d] x_q``; with
    ``W_KQ[:d, :d] ≈ a·I`` (what training finds) that is one GD step of size ``η = -W_PV[d, d]·a``.
    """
    if W_KQ.dim() != 2 or W_KQ.shape != W_PV.shape or W_KQ.shape[0] != W_KQ.shape[1]:
        raise ValueError(f"expected two (d+1, d+1) matrices, got {tuple(W_KQ.shape)} and {tuple(W_PV.shape)}")
    d = W_KQ.shape[0] - 1
    return (-W_PV[d, d] * torch.diagonal(W_KQ[:d, :d]).mean()).item()


def _pretrained_lsa() -> models.LinearSelfAttention:
    return train_lsa(seed=0, steps=STEPS, progress=False)[0]


# Shipped checkpoints made here (name -> zero-argument builder), rebuilt by `make pretrained`.
PRETRAINED = {"lsa_1layer": _pretrained_lsa}
