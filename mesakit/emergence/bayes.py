"""The Bayes-optimal yardsticks of lesson 03 (Raventós et al. 2023): ridge regression and dMMSE.

Both predict the query's label by the posterior mean of the task vector ``w`` given the context,
under an assumed observation noise ``y_i = w·x_i + ε_i``, ``ε_i ~ N(0, σ²)``; they differ in the
prior over ``w``:

* :func:`ridge_predict` — the prior of *all* tasks, ``w ~ N(0, s² I)``. The posterior mean is ridge
  regression with ``λ = σ² / s²``: ``ŵ = (XᵀX + λI)⁻¹ Xᵀy``. Optimal on new tasks.
* :func:`dmmse_predict` — the prior of the *pretraining pool*, uniform over its M vectors. The
  posterior weights each pool task by how well it explains the context,
  ``p_k ∝ exp(-Σ_i (y_i - w_k·x_i)² / (2σ²))``, and predicts ``Σ_k p_k w_k·x_q`` (the paper's
  "discrete minimum mean squared error" estimator). Optimal on the pool's tasks.

Our labels are noise-free (σ = 0). Then ridge's ``λ → 0``: the posterior mean is the minimum-norm
interpolant of the context, which for ``N ≥ d`` examples in general position *is* ``w`` (loss 0);
and dMMSE puts all its weight on the pool task with the smallest context error. Both limits are
numerically touchy, so :data:`ASSUMED_NOISE` supplies a small σ² for both (stated in the lesson);
with the same σ², dMMSE tends to ridge as the pool grows, as in the paper. Everything runs in
float64.
"""

from __future__ import annotations

import math

import torch

from ..core.tasks import check_prompts

ASSUMED_NOISE = 1e-4  # σ²: an assumed label-noise variance for noise-free data (see module docstring)


def _split(Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    Z = check_prompts(Z).double()
    return Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]


def _check_noise(noise_var: float) -> None:
    if not (isinstance(noise_var, (int, float)) and math.isfinite(noise_var) and noise_var > 0):
        raise ValueError(f"noise_var must be a finite number > 0 (an assumed σ²), got {noise_var!r}")


def ridge_predict(Z: torch.Tensor, noise_var: float = ASSUMED_NOISE, w_var: float = 1.0) -> torch.Tensor:
    """Shapes: ``Z (B, N+1, d+1)`` -> ``ŷ (B,)`` (float64).

    Posterior-mean prediction under ``w ~ N(0, w_var·I)`` and label noise of variance ``noise_var``:
    ridge regression on the context with ``λ = noise_var / w_var``, applied to the query.
    """
    _check_noise(noise_var)
    if not (math.isfinite(w_var) and w_var > 0):
        raise ValueError(f"w_var must be a finite number > 0 (the prior variance of w), got {w_var!r}")
    x, y, x_q = _split(Z)
    d = x.shape[-1]
    gram = x.transpose(1, 2) @ x + (noise_var / w_var) * torch.eye(d, dtype=x.dtype)  # (B, d, d)
    w = torch.linalg.solve(gram, (x.transpose(1, 2) @ y.unsqueeze(-1))).squeeze(-1)  # (B, d)
    return (w * x_q).sum(-1)


def dmmse_predict(Z: torch.Tensor, pool_w: torch.Tensor, noise_var: float = ASSUMED_NOISE) -> torch.Tensor:
    """Shapes: ``Z (B, N+1, d+1)``, ``pool_w (M, d)`` -> ``ŷ (B,)`` (float64).

    Posterior mean under a uniform prior over the M pool tasks and label noise of variance
    ``noise_var``: softmax over the pool of ``-Σ_i (y_i - w_k·x_i)² / (2·noise_var)``, then the
    weighted average of the pool tasks' predictions ``w_k·x_q``.
    """
    _check_noise(noise_var)
    x, y, x_q = _split(Z)
    d = x.shape[-1]
    if not isinstance(pool_w, torch.Tensor) or pool_w.dim() != 2 or pool_w.shape[1] != d or len(pool_w) < 1:
        shape = tuple(pool_w.shape) if isinstance(pool_w, torch.Tensor) else type(pool_w).__name__
        raise ValueError(f"pool_w must be a tensor of task vectors (M, d) = (M, {d}) with M >= 1, got {shape}")
    pool_w = pool_w.double()
    error = ((x @ pool_w.T - y.unsqueeze(-1)) ** 2).sum(1)  # (B, M): each pool task's squared error on the context
    posterior = torch.softmax(-error / (2 * noise_var), dim=-1)
    return ((posterior @ pool_w) * x_q).sum(-1)  # Σ_k p_k w_k·x_q
