"""Reference solutions the course measures learned models against: gradient descent on a prompt.

* :func:`gd_predict` — K steps of gradient descent from ``w = 0`` on the context's least-squares
  loss ``L(w) = 1/(2N) Σ_i (w·x_i - y_i)^2``, then predict ``w·x_q``.
* :func:`best_gd_lr` — the step size that minimises the loss of that prediction (line search).
* :func:`gd_construction` — von Oswald et al.'s LSA weights that run exactly these GD steps.

Everything here is plain tensor algebra (float64 where accuracy matters); nothing is trained.
"""

from __future__ import annotations

import math

import torch

from .models import LinearSelfAttention, LSAConfig
from .tasks import RegressionTask, check_prompts, split_prompt


def gd_weights(Z: torch.Tensor, lr: float, steps: int = 1) -> torch.Tensor:
    """Shapes: ``Z (B, N+1, d+1)`` -> ``w (B, d)`` after ``steps`` GD steps of size ``lr`` from 0."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    x, y, _ = split_prompt(Z)
    n = x.shape[1]
    w = torch.zeros(x.shape[0], x.shape[2], dtype=Z.dtype)
    for _ in range(steps):
        residual = y - torch.einsum("bnd,bd->bn", x, w)
        w = w + lr / n * torch.einsum("bn,bnd->bd", residual, x)
    return w


def gd_predict(Z: torch.Tensor, lr: float, steps: int = 1) -> torch.Tensor:
    """Shapes: ``Z (B, N+1, d+1)`` -> ``ŷ (B,)``: the query's prediction after ``steps`` GD steps."""
    w = gd_weights(Z, lr, steps)
    return torch.einsum("bd,bd->b", w, Z[:, -1, :-1])


def best_gd_lr(
    task: RegressionTask = RegressionTask(),
    steps: int = 1,
    n_prompts: int = 10_000,
    seed: int = 1234,
    Z: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
) -> float:
    """The step size minimising the mean 0.5·squared error of :func:`gd_predict` (golden-section
    search in float64 on fixed prompts: ``n_prompts`` fresh ones from ``task``, or ``Z, y`` given)."""
    if Z is None:
        Z, y = task.sample(n_prompts, seed=seed, dtype=torch.float64)
    else:
        check_prompts(Z)
        Z, y = Z.double(), y.double()

    def loss(lr: float) -> float:
        return 0.5 * ((gd_predict(Z, lr, steps) - y) ** 2).mean().item()

    # Bracket the minimum: grow the interval until the loss turns up (GD diverges for large lr).
    hi = 0.5
    while loss(2 * hi) < loss(hi) and hi < 1e6:
        hi *= 2
    lo, hi = 0.0, 2 * hi
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(48):  # shrinks the bracket by 0.618^48 ≈ 1e-10: far below any figure we quote
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return (lo + hi) / 2


def gd_construction(d: int = 10, lr: float = 1.0, iterations: int = 1) -> LinearSelfAttention:
    """An LSA whose forward pass is exactly ``iterations`` GD steps of size ``lr`` from ``w = 0``.

    ``W_KQ`` reads the inputs (identity on the x-block): attention scores are ``x_i·x_j``.
    ``W_PV`` writes ``-lr ×`` the label slot: each token's label slot becomes its residual
    ``y_j - w·x_j``; the query's slot, which started at 0, ends at ``-w·x_q = -ŷ``.
    """
    model = LinearSelfAttention(LSAConfig(d=d, n_layers=1, iterations=iterations, init_std=0.0))
    with torch.no_grad():
        model.W_KQ.zero_()
        model.W_KQ[0, :d, :d] = torch.eye(d)
        model.W_PV.zero_()
        model.W_PV[0, d, d] = -lr
    return model.eval()
