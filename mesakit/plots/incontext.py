"""Figures of training an in-context model (lesson 02 and later): the loss curve beside gradient
descent's line, the LSA's weight matrices as heatmaps, a training snapshot combining both, the
sensitivity comparison and the loss of weight-tied models against K steps of GD.

Each function returns a ``Figure`` made by :func:`mesakit.plots.style.figure`; inputs are plain
numbers and tensors (a :class:`mesakit.core.train.History`'s ``loss`` list, a layer's ``(d+1, d+1)``
matrices), so nothing here trains or evaluates a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .style import COLORS, DIVERGING, figure


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Running mean over ``window`` points (shorter at the start), so noisy batch losses read clearly."""
    if window <= 1 or len(values) < 2:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    for i in range(len(values)):
        lo = max(0, i + 1 - window)
        out[i] = (cumsum[i + 1] - cumsum[lo]) / (i + 1 - lo)
    return out


def draw_loss_curve(
    ax,
    losses: Sequence[float],
    gd_loss: float | None = None,
    zero_loss: float | None = None,
    marker_step: int | None = None,
    smooth: int = 25,
) -> None:
    """Draw the batch loss per step (smoothed) on ``ax``, with horizontal lines for one tuned GD
    step and for predicting 0, and a vertical marker at ``marker_step``."""
    losses = np.asarray(losses, dtype=float)
    if len(losses):
        steps = np.arange(1, len(losses) + 1)
        ax.plot(steps, losses, color=COLORS["sky"], alpha=0.35, lw=0.8)
        ax.plot(steps, _smooth(losses, smooth), color=COLORS["blue"], lw=1.8, label="LSA (training batches)")
    if gd_loss is not None:
        ax.axhline(gd_loss, color=COLORS["vermillion"], ls="--", lw=1.5, label=f"one GD step, tuned η ({gd_loss:.3f})")
    if zero_loss is not None:
        ax.axhline(zero_loss, color=COLORS["black"], ls=":", lw=1.2, label=f"predict 0 ({zero_loss:.2f})")
    if marker_step is not None:
        ax.axvline(marker_step, color=COLORS["orange"], lw=1.5, label=f"step {marker_step}")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (0.5·MSE)")
    ax.legend(loc="lower left")  # the curve starts high and ends on the GD line: the corner stays free


def loss_curve(
    losses: Sequence[float],
    gd_loss: float | None = None,
    zero_loss: float | None = None,
    smooth: int = 25,
    title: str = "Training the LSA: the base optimizer at work",
) -> Figure:
    """The training loss per step beside the loss of one tuned GD step (the line it should meet)."""
    fig, ax = figure()
    draw_loss_curve(ax, losses, gd_loss, zero_loss, smooth=smooth)
    ax.set_title(title)
    return fig


def _labels(d: int) -> list[str]:
    return [f"x{i + 1}" for i in range(d)] + ["y"]


def draw_matrix(ax, W: torch.Tensor, title: str, vmax: float | None = None):
    """A signed ``(d+1, d+1)`` matrix as a heatmap, rows and columns labelled x1..xd, y."""
    W = np.asarray(W.detach().cpu().double() if isinstance(W, torch.Tensor) else W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"expected a square (d+1, d+1) matrix, got shape {W.shape}")
    vmax = float(np.abs(W).max()) if vmax is None else vmax
    vmax = vmax or 1.0
    image = ax.imshow(W, cmap=DIVERGING, vmin=-vmax, vmax=vmax)
    labels = _labels(W.shape[0] - 1)
    ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=90)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("input component (column)")
    ax.set_ylabel("output component (row)")
    ax.grid(False)
    ax.set_title(title)
    return image


def weight_heatmaps(W_KQ: torch.Tensor, W_PV: torch.Tensor, title: str | None = None) -> Figure:
    """``W_KQ`` and ``W_PV`` side by side (each ``(d+1, d+1)``), on colour scales centred at 0.

    For a GD step ``W_KQ`` is ``a·I`` on the x-block and ``W_PV`` has one entry, ``W_PV[d, d] = -η/a``.
    """
    fig, axes = figure(ncols=2, width=9.0, height=4.4)
    for ax, W, name in zip(axes, (W_KQ, W_PV), ("W_KQ (keys·queries)", "W_PV (projection·values)")):
        image = draw_matrix(ax, W, name)
        fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    if title:
        fig.suptitle(title)
    return fig


def training_snapshot(
    losses: Sequence[float],
    step: int,
    W_KQ: torch.Tensor,
    W_PV: torch.Tensor,
    gd_loss: float | None = None,
    title: str | None = None,
) -> Figure:
    """One frame of training: the loss curve up to now (marker at ``step``) and the weights then."""
    fig, axes = figure(ncols=3, width=9.5, height=3.4)  # ≤ ~9.5 in: readable at notebook width
    shown = list(losses)[:step] if step else []
    draw_loss_curve(axes[0], shown, gd_loss, marker_step=step if step else None)
    if len(losses):
        axes[0].set_xlim(0, len(losses) + 1)
        axes[0].set_ylim(0, max(float(np.max(losses)), gd_loss or 0.0) * 1.1)
    axes[0].set_title("loss")
    axes[0].legend(loc="lower left", fontsize=8)  # a third of the width: a smaller legend keeps the curve visible
    for ax, W, name in zip(axes[1:], (W_KQ, W_PV), ("W_KQ", "W_PV")):
        image = draw_matrix(ax, W, name)
        fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    if title:
        fig.suptitle(title)
    return fig


def sensitivity_scatter(s_model: torch.Tensor, s_gd: torch.Tensor, max_points: int = 2000) -> Figure:
    """Each component of ``∂ŷ/∂x_q`` (shape ``(B, d)``): trained model (y axis) against GD (x axis).
    Points on the diagonal mean the model responds to the query exactly like a GD step."""
    if s_model.shape != s_gd.shape:
        raise ValueError(f"sensitivities must have the same shape, got {tuple(s_model.shape)} and {tuple(s_gd.shape)}")
    a = s_gd.detach().double().flatten().numpy()[:max_points]
    b = s_model.detach().double().flatten().numpy()[:max_points]
    fig, ax = figure(width=4.8, height=4.4)
    ax.scatter(a, b, s=6, alpha=0.5, color=COLORS["blue"], label="one component of one prompt")
    lim = float(max(np.abs(a).max(), np.abs(b).max(), 1e-12)) * 1.05
    ax.plot([-lim, lim], [-lim, lim], color=COLORS["vermillion"], ls="--", lw=1.2, label="identical")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("GD step: ∂ŷ/∂x_q (= w₁)")
    ax.set_ylabel("trained LSA: ∂ŷ/∂x_q")
    ax.set_title("Same sensitivity, same algorithm")
    ax.legend(loc="upper left")
    return fig


def losses_by_k(
    k: Sequence[int],
    model_losses: Sequence[float | None],
    gd_losses: Sequence[float],
    trained_k: Sequence[int] = (),
    label: str = "weight-tied LSA, K iterations",
) -> Figure:
    """Loss against the number of iterations/steps K, for the model and for K tuned GD steps.
    ``None`` or non-finite model losses (divergence) are drawn as ✕ at the top edge."""
    if not (len(k) == len(model_losses) == len(gd_losses)):
        raise ValueError("k, model_losses and gd_losses must have the same length")
    fig, ax = figure(width=8.5)
    ks = np.asarray(k)
    gd = np.asarray(gd_losses, dtype=float)
    model = np.array([np.nan if v is None else v for v in model_losses], dtype=float)
    # The chart's top: the largest loss in GD's range (≤ 10× GD's worst); anything above is "diverged".
    sane = np.isfinite(model) & (model <= 10 * gd.max())
    top = max(float(model[sane].max()) if sane.any() else 0.0, float(gd.max())) * 1.4
    bad = ~np.isfinite(model) | (model > top)
    ax.plot(ks, gd, "o--", color=COLORS["vermillion"], label="K steps of GD (tuned η per K)")
    ax.plot(ks[~bad], model[~bad], "s-", color=COLORS["blue"], label=label)
    if bad.any():
        ax.plot(
            ks[bad], np.full(bad.sum(), top), "x", color=COLORS["blue"], ms=10, mew=2, label="diverged (off the chart)"
        )
    if len(trained_k):
        ax.axvspan(
            min(trained_k) - 0.4, max(trained_k) + 0.4, color=COLORS["green"], alpha=0.12, label="K seen in training"
        )
    ax.set_ylim(0, top * 1.05)
    ax.set_xticks(ks)
    ax.set_xlabel("K (iterations of the tied layer / GD steps)")
    ax.set_ylabel("loss (0.5·MSE, fresh prompts)")
    ax.set_title("More iterations, more gradient steps")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: the ✕ markers sit at the top
    return fig


def step_size_curve(
    lrs: Sequence[float], losses: Sequence[float], best_lr: float | None = None, zero_loss: float | None = None
) -> Figure:
    """Loss of one GD step against its step size η (a line search), with the best η marked."""
    if len(lrs) != len(losses):
        raise ValueError(f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}")
    fig, ax = figure(width=6.0)
    ax.plot(lrs, losses, color=COLORS["vermillion"], lw=2, label="one GD step from w = 0")
    if zero_loss is not None:
        ax.axhline(zero_loss, color=COLORS["black"], ls=":", lw=1.2, label=f"predict 0 ({zero_loss:.2f})")
    if best_lr is not None:
        ax.axvline(best_lr, color=COLORS["orange"], lw=1.5, label=f"best η = {best_lr:.3f}")
    ax.set_xlabel("step size η")
    ax.set_ylabel("loss (0.5·MSE)")
    ax.set_title("Tuning gradient descent's step size")
    ax.legend(loc="upper center")
    return fig
