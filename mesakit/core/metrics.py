"""How the course compares an in-context model with gradient descent (von Oswald et al. 2022).

* :func:`loss` — 0.5·MSE, the training objective.
* :func:`sensitivity` — ``∂ŷ/∂x_q``, how the prediction responds to the query; for a GD step it is
  the learned weight vector ``w``, so its cosine with GD's says "same algorithm", not just "same score".
* :func:`prediction_diff` — RMS difference of two models' predictions on the same prompts.
* :func:`in_context_gain` — how much the model's loss rises when the context labels are swapped
  between prompts: zero for a model that ignores its context.

Models are any callables ``f(Z) -> (B,)``; nothing here depends on a model's internals.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .tasks import check_prompts

Predictor = Callable[[torch.Tensor], torch.Tensor]


def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Shapes: ``pred (B,)``, ``target (B,)`` -> scalar ``0.5·mean((pred - target)^2)``."""
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    return 0.5 * ((pred - target) ** 2).mean()


def predict(model: Predictor, Z: torch.Tensor) -> torch.Tensor:
    """``model(Z)`` with its output checked against the contract: shape ``(B,)``, finite."""
    check_prompts(Z)
    out = model(Z)
    if not isinstance(out, torch.Tensor) or out.shape != (Z.shape[0],):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"an in-context model must map prompts (B, N+1, d+1) = {tuple(Z.shape)} to predictions (B,) = "
            f"({Z.shape[0]},); got {shape}"
        )
    return out


def sensitivity(model: Predictor, Z: torch.Tensor) -> torch.Tensor:
    """Shapes: ``Z (B, N+1, d+1)`` -> ``∂ŷ_b/∂x_q,b`` of shape ``(B, d)``."""
    Z = check_prompts(Z).detach().clone().requires_grad_(True)
    out = predict(model, Z)
    if not out.requires_grad:  # e.g. a constant model: the prediction does not depend on the prompt
        return torch.zeros(Z.shape[0], Z.shape[2] - 1, dtype=Z.dtype)
    (grad,) = torch.autograd.grad(out.sum(), Z, allow_unused=True)
    if grad is None:  # the prediction does not depend on the prompt at all
        return torch.zeros(Z.shape[0], Z.shape[2] - 1, dtype=Z.dtype)
    return grad[:, -1, :-1].detach()


def sensitivity_cosine(model_a: Predictor, model_b: Predictor, Z: torch.Tensor) -> float:
    """Mean over prompts of the cosine between the two models' sensitivities (1 = same direction)."""
    a, b = sensitivity(model_a, Z), sensitivity(model_b, Z)
    return torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-12).mean().item()


def prediction_diff(model_a: Predictor, model_b: Predictor, Z: torch.Tensor) -> float:
    """RMS difference of the two models' predictions on ``Z`` (0 = identical predictions)."""
    with torch.no_grad():
        return ((predict(model_a, Z) - predict(model_b, Z)) ** 2).mean().sqrt().item()


def shuffle_labels(Z: torch.Tensor) -> torch.Tensor:
    """Give every prompt the context labels of the previous prompt in the batch (deterministic)."""
    check_prompts(Z)
    if Z.shape[0] < 2:
        raise ValueError("shuffling labels across prompts needs a batch of at least 2 prompts")
    shuffled = Z.clone()
    shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
    return shuffled


def in_context_gain(model: Predictor, Z: torch.Tensor, y: torch.Tensor) -> float:
    """Loss with the context labels shuffled across prompts minus the loss on the true prompts."""
    with torch.no_grad():
        true = loss(predict(model, Z), y)
        shuffled = loss(predict(model, shuffle_labels(Z)), y)
    return (shuffled - true).item()
