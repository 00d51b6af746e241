"""Figures of lesson 01 (base and mesa optimizers): gradient descent as the base optimizer on one
dataset, the hand-built mesa optimizer's inner loop inside one forward pass, the base optimizer
tuning the inner step size, and a first behavioural look at detection (shuffled context labels).

Each function returns a ``Figure`` made by :func:`mesakit.plots.style.figure`. Inputs are tensors
and numbers; the small computations a figure needs (the inner loop of a prompt, a loss surface) use
``mesakit.inner.handbuilt`` / ``mesakit.core.reference``, never the learner's code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ..core.tasks import check_prompts, split_prompt
from ..inner import handbuilt
from .style import COLORS, CYCLE, SEQUENTIAL, figure


def gd_path(x: torch.Tensor, y: torch.Tensor, path: torch.Tensor, lr: float | None = None) -> Figure:
    """GD fitting one 2-D least-squares problem: shapes ``x (N, 2)``, ``y (N,)``, ``path (S+1, 2)``
    (the weights after 0..S steps). Left: the loss surface with the path; right: the loss per step."""
    x, y, path = (torch.as_tensor(t, dtype=torch.float64) for t in (x, y, path))
    if x.dim() != 2 or x.shape[1] != 2 or y.shape != (x.shape[0],):
        raise ValueError(
            f"gd_path draws a 2-D problem: x must be (N, 2) and y (N,), got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    if path.dim() != 2 or path.shape[1] != 2 or len(path) < 1:
        raise ValueError(f"path must have shape (steps+1, 2), got {tuple(path.shape)}")
    w_star = torch.linalg.lstsq(x, y.unsqueeze(1)).solution.squeeze(1)
    losses = handbuilt.least_squares_loss(path, x.expand(len(path), -1, -1), y.expand(len(path), -1)).numpy()
    finite = path[torch.isfinite(path).all(dim=1)]
    points = torch.cat([finite, w_star.unsqueeze(0)])
    lo, hi = points.min(dim=0).values, points.max(dim=0).values
    pad = 0.25 * (hi - lo).clamp(min=0.5)
    g0 = torch.linspace(float(lo[0] - pad[0]), float(hi[0] + pad[0]), 80, dtype=torch.float64)
    g1 = torch.linspace(float(lo[1] - pad[1]), float(hi[1] + pad[1]), 80, dtype=torch.float64)
    W0, W1 = torch.meshgrid(g0, g1, indexing="xy")
    grid = torch.stack([W0.ravel(), W1.ravel()], dim=1)
    surface = handbuilt.least_squares_loss(grid, x.expand(len(grid), -1, -1), y.expand(len(grid), -1))
    fig, (left, right) = figure(ncols=2, width=9.5, height=3.8)
    levels = np.quantile(surface.numpy(), np.linspace(0.0, 0.9, 12) ** 2)
    left.contour(
        W0.numpy(),
        W1.numpy(),
        surface.reshape(W0.shape).numpy(),
        levels=np.unique(levels),
        cmap=SEQUENTIAL,
        linewidths=0.9,
    )
    left.plot(finite[:, 0], finite[:, 1], "-o", color=COLORS["vermillion"], ms=3.5, lw=1.4, label="GD path from w = 0")
    left.plot(*w_star.numpy(), marker="*", color=COLORS["black"], ms=13, ls="none", label="least-squares solution")
    left.set_xlabel("weight w₁")
    left.set_ylabel("weight w₂")
    left.set_title("loss surface L(w) and the path of GD")
    left.legend(loc="best", fontsize=9)
    left.grid(False)
    steps = np.arange(len(losses))
    right.plot(steps, losses, "-o", color=COLORS["vermillion"], ms=3.5)
    best = handbuilt.least_squares_loss(w_star[None], x[None], y[None]).item()
    right.axhline(best, color=COLORS["black"], ls=":", lw=1.2, label=f"minimum ({best:.3g})")
    right.set_yscale("log")
    right.set_xlabel("GD step k")
    right.set_ylabel("training loss L(w_k)")
    right.set_title("base optimizer at work" + (f" (lr = {lr:g})" if lr is not None else ""))
    right.legend(loc="upper right")
    return fig


def inner_loop(Z: torch.Tensor, y_q: torch.Tensor, lr: float, K: int, index: int = 0) -> Figure:
    """One forward pass of the hand-built mesa optimizer on prompt ``index`` of ``Z (B, N+1, d+1)``
    (targets ``y_q (B,)``): left, the inner (context) loss after each of the K steps; right, the
    query's prediction after each step beside the true label and the least-squares answer."""
    check_prompts(Z)
    if not 0 <= index < Z.shape[0]:
        raise ValueError(f"index must be in [0, {Z.shape[0]}), got {index}")
    Z = Z[index : index + 1].double()
    target = float(y_q[index])
    losses, preds = handbuilt.inner_run(Z, lr, K)
    losses, preds = losses[:, 0].numpy(), preds[:, 0].numpy()
    x, y, x_q = split_prompt(Z)
    w_ls = torch.linalg.lstsq(x[0], y[0].unsqueeze(1)).solution.squeeze(1)
    limit = 1e6  # clip diverging runs so the axes stay readable
    shown_losses = np.clip(np.nan_to_num(losses, nan=limit, posinf=limit), 1e-12, limit)
    shown_preds = np.clip(np.nan_to_num(preds, nan=limit, posinf=limit, neginf=-limit), -limit, limit)
    steps = np.arange(K + 1)
    fig, (left, right) = figure(ncols=2, width=9.5, height=3.6)
    left.plot(steps, shown_losses, "-o", color=COLORS["blue"], ms=4)
    left.set_yscale("log")
    left.set_xlabel("inner step k (inside one forward pass)")
    left.set_ylabel("inner loss on the context")
    left.set_title("the mesa objective falls" if losses[-1] <= losses[0] else "the inner loop diverges")
    right.plot(steps, shown_preds, "-o", color=COLORS["orange"], ms=4, label="prediction ŷ_k = w_k·x_q")
    right.axhline(target, color=COLORS["black"], ls="--", lw=1.3, label=f"true y_q ({target:.2f})")
    right.axhline(float(w_ls @ x_q[0]), color=COLORS["green"], ls=":", lw=1.5, label="least-squares w·x_q")
    right.set_xlabel("inner step k")
    right.set_ylabel("prediction of y_q")
    error = 0.5 * (preds[-1] - target) ** 2
    right.set_title(f"K = {K}, η = {lr:.2f}: query loss {error:.3g}")
    if abs(shown_preds).max() > 50 * max(1.0, abs(target)):
        right.set_yscale("symlog", linthresh=max(1.0, abs(target)))
    right.legend(loc="best", fontsize=9)
    return fig


def step_size_learning(trajectories: Mapping[int, Sequence[float]], best: Mapping[int, float]) -> Figure:
    """The base optimizer tuning the inner step size: the step size after each base (SGD) step for
    each K (``trajectories[K]``), dashed at the line-searched best step size (``best[K]``)."""
    if not trajectories:
        raise ValueError("trajectories is empty: pass {K: [step size per base step]}")
    fig, ax = figure(width=6.5, height=3.6)
    for i, (K, traj) in enumerate(sorted(trajectories.items())):
        color = CYCLE[i % len(CYCLE)]
        ax.plot(np.arange(len(traj)), np.asarray(traj, dtype=float), color=color, lw=1.6, label=f"learned, K = {K}")
        if K in best:
            ax.axhline(best[K], color=color, ls="--", lw=1.2, label=f"best for K = {K} ({best[K]:.2f})")
    ax.set_xlabel("base optimizer step (SGD)")
    ax.set_ylabel("inner step size η")
    ax.set_title("SGD tunes the mesa optimizer's step size")
    ax.legend(loc="lower right", fontsize=9)
    return fig


def two_objectives(
    lrs: Sequence[float],
    query_loss: Sequence[float],
    context_loss: Sequence[float],
    K: int = 1,
    learned: float | None = None,
) -> Figure:
    """The base objective (query loss) and the mesa objective (context loss after the K inner steps)
    against the inner step size ``lrs``, each with its minimum marked; ``learned`` adds SGD's value."""
    lrs_np = np.asarray(lrs, dtype=float)
    query, context = np.asarray(query_loss, dtype=float), np.asarray(context_loss, dtype=float)
    if not (len(lrs_np) == len(query) == len(context)) or len(lrs_np) < 2:
        raise ValueError("lrs, query_loss and context_loss must have the same length (at least 2)")
    fig, ax = figure(width=6.5, height=3.6)
    for values, color, name in (
        (query, COLORS["blue"], "base objective: loss on the query"),
        (context, COLORS["orange"], "mesa objective: loss on the context"),
    ):
        i = int(np.nanargmin(values))
        ax.plot(lrs_np, values, color=color, lw=1.8, label=f"{name} (min at η = {lrs_np[i]:.2f})")
        ax.plot(lrs_np[i], values[i], "o", color=color, ms=7)
    if learned is not None:
        ax.axvline(learned, color=COLORS["black"], ls=":", lw=1.3, label=f"learned by SGD (η = {learned:.2f})")
    ax.set_xlabel("inner step size η")
    ax.set_ylabel(f"loss after K = {K} inner steps (0.5·MSE)")
    ax.set_title("two objectives, two different best step sizes")
    ax.legend(loc="upper center", fontsize=9)
    ax.set_ylim(0, None)
    return fig


def context_shuffle(names: Sequence[str], true_losses: Sequence[float], shuffled_losses: Sequence[float]) -> Figure:
    """A first behavioural test for in-context optimization: each model's query loss on true prompts
    beside the loss when the context labels come from another prompt."""
    if not (len(names) == len(true_losses) == len(shuffled_losses)) or not names:
        raise ValueError("names, true_losses and shuffled_losses must be non-empty and of equal length")
    positions = np.arange(len(names))
    fig, ax = figure(width=6.5, height=3.4)
    ax.bar(positions - 0.2, true_losses, width=0.4, color=COLORS["blue"], label="true context")
    ax.bar(positions + 0.2, shuffled_losses, width=0.4, color=COLORS["orange"], label="context labels shuffled")
    ax.set_xticks(positions, list(names))
    ax.set_xlabel("model")
    ax.set_ylabel("query loss (0.5·MSE)")
    ax.set_title("does the model use its context?")
    ax.legend(loc="upper left")
    return fig
