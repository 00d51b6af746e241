"""In-context models whose forward pass runs a classical solver on the prompt's examples.

Lesson 01's hand-built model runs gradient descent inside its forward pass. Gradient descent is
one optimizer among many: these models fit ``w`` to the context ``(x_i, y_i)`` of each prompt with
another one and predict ``ŷ = w·x_q``, so a detector that only recognises GD would miss them.
They are exact (closed form or a fixed number of iterations), differentiable, take any ``N``, and
have no trained weights — mesa optimizers by construction, used as positives in lesson 06's zoo.

* :class:`RidgeSolver` — ridge regression, ``w = (XᵀX/N + λI)⁻¹ Xᵀy/N``; ``λ = 0`` is ordinary
  least squares (the minimum-norm solution when ``N < d``).
* :class:`ConjugateGradient` — ``steps`` iterations of conjugate gradient on the least-squares
  normal equations from ``w = 0`` (one step is a line-searched GD step).
* :class:`NewtonSolver` — ``steps`` damped Newton steps on the ridge-regularised least-squares
  loss from ``w = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core import models
from ..core.tasks import check_prompts


def normal_equations(Z: torch.Tensor, ridge: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``H = XᵀX/N + ridge·I (B, d, d)``, ``b = Xᵀy/N (B, d)`` and the query ``x_q (B, d)`` of prompts ``Z``."""
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]
    n = x.shape[1]
    H = x.transpose(1, 2) @ x / n
    if ridge:
        H = H + ridge * torch.eye(H.shape[-1], dtype=H.dtype)
    return H, torch.einsum("bn,bnd->bd", y, x) / n, x_q


@dataclass(frozen=True)
class SolverConfig:
    d: int = 10  # input dimension of the task
    ridge: float = 0.0  # λ >= 0 added to the diagonal of XᵀX/N (0 = least squares)
    steps: int = 1  # iterations (conjugate gradient, Newton); ignored by the exact ridge solver
    damping: float = 1.0  # Newton's step size in (0, 1]; 1 = a full Newton step

    def __post_init__(self) -> None:
        if self.d < 1 or self.steps < 1:
            raise ValueError(f"d and steps must be >= 1, got d={self.d}, steps={self.steps}")
        if not self.ridge >= 0:
            raise ValueError(f"ridge must be >= 0 (0 = ordinary least squares), got {self.ridge}")
        if not 0 < self.damping <= 1:
            raise ValueError(f"damping must lie in (0, 1], got {self.damping}")


@models.register
class RidgeSolver(nn.Module):
    """Ridge regression (least squares when ``ridge = 0``) on the context. ``(B, N+1, d+1) -> (B,)``"""

    Config = SolverConfig

    def __init__(self, config: SolverConfig = SolverConfig()):
        super().__init__()
        self.config = config

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z, self.config.d)
        if self.config.ridge == 0:  # minimum-norm least squares, also for N < d
            w = torch.linalg.pinv(Z[:, :-1, :-1]) @ Z[:, :-1, -1:]
            return (w.squeeze(-1) * Z[:, -1, :-1]).sum(-1)
        H, b, x_q = normal_equations(Z, self.config.ridge)
        w = torch.linalg.solve(H, b)
        return (w * x_q).sum(-1)


@models.register
class ConjugateGradient(nn.Module):
    """``steps`` conjugate-gradient iterations on ``H w = b`` from ``w = 0``. ``(B, N+1, d+1) -> (B,)``"""

    Config = SolverConfig

    def __init__(self, config: SolverConfig = SolverConfig(steps=3)):
        super().__init__()
        self.config = config

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z, self.config.d)
        H, b, x_q = normal_equations(Z, self.config.ridge)
        w = torch.zeros_like(b)
        r, p = b.clone(), b.clone()  # residual b - Hw and search direction
        for _ in range(self.config.steps):
            Hp = torch.einsum("bde,be->bd", H, p)
            rr = (r * r).sum(-1, keepdim=True)
            alpha = rr / (p * Hp).sum(-1, keepdim=True).clamp_min(1e-12)
            w = w + alpha * p
            r = r - alpha * Hp
            p = r + (r * r).sum(-1, keepdim=True) / rr.clamp_min(1e-12) * p
        return (w * x_q).sum(-1)


@models.register
class NewtonSolver(nn.Module):
    """``steps`` damped Newton steps on the ridge-regularised least-squares loss from ``w = 0``.
    ``(B, N+1, d+1) -> (B,)``"""

    Config = SolverConfig

    def __init__(self, config: SolverConfig = SolverConfig(ridge=0.05, steps=2, damping=0.7)):
        super().__init__()
        self.config = config

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z, self.config.d)
        H, b, x_q = normal_equations(Z, self.config.ridge)
        w = torch.zeros_like(b)
        for _ in range(self.config.steps):
            gradient = torch.einsum("bde,be->bd", H, w) - b
            w = w - self.config.damping * torch.linalg.solve(H, gradient)
        return (w * x_q).sum(-1)


@dataclass(frozen=True)
class KernelRidgeConfig:
    bandwidth: float = 1.0  # width of the Gaussian (RBF) kernel, in units of the inputs
    ridge: float = 0.01  # λ > 0 added to the kernel matrix's diagonal

    def __post_init__(self) -> None:
        if not self.bandwidth > 0 or not self.ridge > 0:
            raise ValueError(f"bandwidth and ridge must be > 0, got {self.bandwidth} and {self.ridge}")


@models.register
class KernelRidge(nn.Module):
    """Kernel ridge regression with a Gaussian kernel: the exact minimiser of a ridge-regularised
    least-squares loss over functions ``f(x) = Σ_i α_i k(x_i, x)``. An optimizer of its context's
    loss, but over a non-linear function class: lesson 06's false negative. ``(B, N+1, d+1) -> (B,)``"""

    Config = KernelRidgeConfig

    def __init__(self, config: KernelRidgeConfig = KernelRidgeConfig()):
        super().__init__()
        self.config = config

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z)
        x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1:, :-1]
        k = lambda a, b: torch.exp(-torch.cdist(a, b).pow(2) / (2 * self.config.bandwidth**2))  # noqa: E731
        K = k(x, x) + self.config.ridge * torch.eye(x.shape[1], dtype=Z.dtype)
        alpha = torch.linalg.solve(K, y.unsqueeze(-1))  # (B, N, 1)
        return (k(x_q, x) @ alpha).squeeze(-1).squeeze(-1)
