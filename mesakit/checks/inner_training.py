"""Checks of lesson 01 (base and mesa optimizers), part 3: the base optimizer tunes the mesa optimizer.

* :func:`check_learn_step_size` — SGD on the hand-built mesa optimizer's step size, through
  ``mesakit.core.train.train``, against ``mesakit.inner.handbuilt.learn_step_size``.
* :func:`check_step_size_converges` — the learned step size lands near the line-searched best,
  ``mesakit.inner.handbuilt.best_step_size``.

Gradient descent, the hand-built mesa optimizer's forward pass and the concept check are checked in
:mod:`mesakit.checks.inner`. When the learner's step sizes differ from the reference, the check names
the likely mistake by matching them against known wrong training set-ups (Adam, batch size, seed, K).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..inner import handbuilt
from .core import call, expect_close, expect_tensor, is_close, passed

__all__ = ["check_learn_step_size", "check_step_size_converges"]


# ---------------------------------------------------------------------------------------------
# 3. The base optimizer tunes the mesa optimizer


def check_learn_step_size(
    fn: Callable, K: int = 2, init_lr: float = 0.2, steps: int = 40, base_lr: float = 0.05, seed: int = 3
) -> None:
    """``learn_step_size(K, init_lr, steps, base_lr, seed) -> (model, step sizes)``: SGD with batch
    256 through ``mesakit.core.train.train``; the list holds the step size before training and after
    every base step (``steps + 1`` floats)."""
    result = call(fn, K, init_lr, steps, base_lr, seed, name="learn_step_size")
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError("learn_step_size should return a tuple (model, step_sizes)")
    model, trajectory = result
    if not isinstance(model, handbuilt.HandBuiltMesaOptimizer):
        raise AssertionError(f"the model should be a HandBuiltMesaOptimizer, got {type(model).__name__}")
    if not isinstance(trajectory, (list, tuple, torch.Tensor)):
        raise AssertionError(f"step_sizes should be a list of floats, got {type(trajectory).__name__}")
    traj = torch.as_tensor([float(v) for v in trajectory], dtype=torch.float64)
    if len(traj) == steps:
        raise AssertionError(
            f"step_sizes has {steps} entries, one per base step: put the initial step size first "
            f"({steps + 1} entries in all)"
        )
    expect_tensor(traj, (steps + 1,), "step_sizes", "the initial step size, then one value per base step")
    if not is_close(traj[:1], torch.tensor([init_lr], dtype=torch.float64)):
        raise AssertionError(
            f"step_sizes[0] should be the initial step size init_lr = {init_lr}, got {traj[0].item():.6g}"
        )
    if not is_close(model.lr.detach().double().reshape(1), traj[-1:]):
        raise AssertionError(
            "the model's step size model.lr differs from the last entry of step_sizes: return the trained model"
        )

    def ref(**changes) -> torch.Tensor:
        kwargs = dict(K=K, init_lr=init_lr, steps=steps, base_lr=base_lr, seed=seed, batch_size=256) | changes
        return torch.tensor(handbuilt.learn_step_size(**kwargs)[1], dtype=torch.float64)

    expected = ref()
    if is_close(traj, expected, rtol=1e-4, atol=1e-6):
        passed(f"the base optimizer (SGD) moved the inner step size from {init_lr} to {traj[-1].item():.3f}")
        return
    if torch.all(traj == traj[0]):
        raise AssertionError(
            "the step size never moved: train the model with mesakit.core.train.train (did the training run? is "
            "model.lr an nn.Parameter that requires grad?)"
        )
    diagnoses = [
        (ref(optimizer="adam"), "you trained with Adam: this exercise uses plain SGD, TrainConfig(optimizer='sgd')"),
        (ref(batch_size=512), "you used batch size 512 (TrainConfig's default): use batch_size=256"),
        (ref(seed=0), f"you did not pass the seed: TrainConfig(seed=seed) (the check used seed={seed})"),
        (ref(K=K - 1), f"your model runs {K - 1} inner steps instead of K = {K}: HandBuiltConfig(steps=K)"),
        (ref(K=K + 1), f"your model runs {K + 1} inner steps instead of K = {K}: HandBuiltConfig(steps=K)"),
    ]
    for wrong, message in diagnoses:
        if is_close(traj, wrong, rtol=1e-4, atol=1e-6):
            raise AssertionError(f"learn_step_size: {message}")
    expect_close(traj, expected, "step_sizes")


def check_step_size_converges(fn: Callable, K: int = 1, steps: int = 200, tolerance: float = 0.03) -> None:
    """The learned step size (mean of the last quarter of base steps) lands within ``tolerance``
    (relative) of the line-searched best, ``mesakit.inner.handbuilt.best_step_size(K)``."""
    _, trajectory = call(fn, K, 0.1, steps, 0.05, 0, name="learn_step_size")
    tail = [float(v) for v in trajectory][-(steps // 4) :]
    learned = sum(tail) / len(tail)
    best = handbuilt.best_step_size(K)
    if abs(learned - best) > tolerance * best:
        raise AssertionError(
            f"after {steps} base steps the learned step size averages {learned:.3f}, but the best for K = {K} is "
            f"{best:.3f}: check that the loss is the query's 0.5·MSE and that SGD runs on model.lr"
        )
    passed(f"the learned step size {learned:.3f} is within {tolerance:.0%} of the best, {best:.3f}")
