"""Figures of lesson 03 (emergence): the mesa optimizer appearing over training, and the
memorizer-to-optimizer switch over pretraining task diversity.

* :func:`training_emergence` — loss, in-context gain and sensitivity cosine with GD per snapshot.
* :func:`task_diversity_curves` — loss on new tasks and on the pool against the pool size M.
* :func:`solution_bars` — one model of the sweep: its losses and how much each path contributes.

Inputs are plain numbers (from :mod:`mesakit.emergence.trajectory` and
:mod:`mesakit.emergence.sweep`); nothing here trains or evaluates a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .style import COLORS, figure


def training_emergence(
    trajectory: dict[str, Sequence[float]],
    gd_loss: float,
    zero_loss: float | None = None,
    appears_at: int | None = None,
    gd_gain: float | None = None,
) -> Figure:
    """Three panels over training steps: loss on fresh prompts (with one tuned GD step and
    predicting 0 as lines), in-context gain (with GD's as a line), and sensitivity cosine with GD;
    ``appears_at`` marks a step (e.g. :func:`mesakit.emergence.trajectory.appearance_step`) in every panel."""
    fig, (a, b, c) = figure(ncols=3, width=11.0, height=3.4)
    steps = np.asarray(trajectory["step"])
    a.plot(steps, trajectory["loss"], "o-", ms=3, color=COLORS["blue"], label="LSA")
    a.axhline(gd_loss, color=COLORS["vermillion"], ls="--", label=f"one GD step ({gd_loss:.2f})")
    if zero_loss is not None:
        a.axhline(zero_loss, color=COLORS["black"], ls=":", label=f"predict 0 ({zero_loss:.2f})")
    a.set(xlabel="training step", ylabel="loss on fresh prompts (0.5·MSE)", title="loss")
    a.legend(loc="center right")
    b.plot(steps, trajectory["in_context_gain"], "o-", ms=3, color=COLORS["green"])
    if gd_gain is not None:
        b.axhline(gd_gain, color=COLORS["vermillion"], ls="--", label=f"one GD step's gain ({gd_gain:.2f})")
        b.legend(loc="lower right")
    b.set(xlabel="training step", ylabel="loss(shuffled labels) − loss", title="in-context gain")
    c.plot(steps, trajectory["sensitivity_cosine"], "o-", ms=3, color=COLORS["purple"])
    c.set(
        xlabel="training step", ylabel="cosine of ∂ŷ/∂x_q with GD's", title="same algorithm as GD?", ylim=(-0.1, 1.05)
    )
    for ax in (a, b, c):
        if appears_at is not None:
            ax.axvline(appears_at, color=COLORS["orange"], lw=1.5)
    if appears_at is not None:
        c.text(appears_at, 0.05, f" optimizer appears\n (step {appears_at})", color=COLORS["orange"], fontsize=9)
    return fig


def _positions(num_tasks: Sequence[int], fresh_last: bool) -> tuple[np.ndarray, list[str]]:
    """x positions on a log axis; a fresh-task run (last) is drawn one step past the largest pool."""
    x = np.asarray(num_tasks, dtype=float)
    labels = [f"{int(m):,}" for m in num_tasks]
    if fresh_last and len(x) > 1:
        x[-1] = x[-2] * 4
        labels[-1] = "fresh"
    return x, labels


def task_diversity_curves(
    num_tasks: Sequence[int],
    loss_fresh: Sequence[float],
    loss_pool: Sequence[float],
    gd_loss: float,
    transition: int | None = None,
    fresh_last: bool = True,
    dmmse_fresh: Sequence[float | None] | None = None,
    ridge_loss: float | None = None,
    band: float | None = None,
    zoom: float | None = None,
) -> Figure:
    """Loss on new tasks and on the pretraining pool against the pool size (log axis), with one
    tuned GD step as a line. ``fresh_last``: the last entry is the fresh-task run, labelled "fresh".

    The Bayes-optimal yardsticks of Raventós et al. (optional): ``dmmse_fresh`` (the pool-prior
    posterior mean's loss on new tasks, one entry per pool size, ``None`` where it has no pool) and
    ``ridge_loss`` (the Gaussian-prior posterior mean's loss on new tasks), see :mod:`mesakit.emergence.bayes`.
    ``band``: shade "within ``band`` of GD", from ``gd_loss`` to ``(1 + band)·gd_loss`` (lesson 03 reads
    the transition off it). ``zoom``: a linear y-axis from ``(1 - zoom)·gd_loss`` to ``(1 + zoom)·gd_loss``
    instead of the log axis, so that 10% of GD's loss is a visible distance."""
    if not (len(num_tasks) == len(loss_fresh) == len(loss_pool)):
        raise ValueError("num_tasks, loss_fresh and loss_pool must have the same length")
    if dmmse_fresh is not None and len(dmmse_fresh) != len(num_tasks):
        raise ValueError(f"dmmse_fresh needs one entry per pool size ({len(num_tasks)}), got {len(dmmse_fresh)}")
    if ridge_loss is not None and not ridge_loss > 0:
        raise ValueError(f"ridge_loss must be > 0 to show on the log axis, got {ridge_loss}")
    x, labels = _positions(num_tasks, fresh_last)
    fig, ax = figure(width=9.0, height=4.0)
    ax.plot(x, loss_fresh, "o-", color=COLORS["blue"], label="new tasks")
    ax.plot(x, loss_pool, "s-", color=COLORS["orange"], label="its own pool's tasks")
    ax.axhline(gd_loss, color=COLORS["vermillion"], ls="--", label=f"one GD step on new tasks ({gd_loss:.2f})")
    if band is not None:
        if not band > 0:
            raise ValueError(f"band must be > 0 (a relative tolerance such as 0.1), got {band}")
        ax.axhspan(
            gd_loss,
            (1 + band) * gd_loss,
            color=COLORS["vermillion"],
            alpha=0.2,
            lw=0,
            label=f"within {band:.0%} of one GD step",
        )
    if dmmse_fresh is not None:
        shown = [float("nan") if v is None else v for v in dmmse_fresh]
        ax.plot(x, shown, "^:", color=COLORS["purple"], label="dMMSE (pool prior) on new tasks")
    if ridge_loss is not None:
        ax.axhline(
            ridge_loss, color=COLORS["sky"], ls=":", label=f"ridge (Gaussian prior) on new tasks ({ridge_loss:.3f})"
        )
    if transition is not None:
        if transition not in list(num_tasks):
            raise ValueError(f"transition {transition} is not one of the pool sizes {list(num_tasks)}")
        i = list(num_tasks).index(transition)
        ax.axvline(x[i], color=COLORS["green"], lw=1.5, label=f"transition (M = {labels[i]})")
    ax.set_xscale("log")
    if zoom is None:
        ax.set_yscale("log")
    elif not 0 < zoom < 1:
        raise ValueError(f"zoom must be between 0 and 1 (a fraction of gd_loss), got {zoom}")
    else:
        ax.set_ylim((1 - zoom) * gd_loss, (1 + zoom) * gd_loss)
    ax.set_xticks(x, labels, minor=False)
    ax.minorticks_off()
    ax.set_xlabel("number of pretraining tasks M (pool size)")
    ax.set_ylabel("loss (0.5·MSE)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def solution_bars(
    label: str,
    loss_fresh: float,
    loss_pool: float,
    gd_loss: float,
    lsa_rms: float,
    memory_rms: float,
    verdict: str,
) -> Figure:
    """One trained model: its loss on its pool and on new tasks beside GD, and the RMS size of the
    two paths' predictions on new tasks (which solution does the work)."""
    fig, (a, b) = figure(ncols=2, width=9.0, height=3.4)
    bars = a.bar(["its pool", "new tasks"], [loss_pool, loss_fresh], color=[COLORS["orange"], COLORS["blue"]])
    a.bar_label(bars, fmt="%.3f")
    a.axhline(gd_loss, color=COLORS["vermillion"], ls="--", label=f"one GD step ({gd_loss:.2f})")
    a.set(
        xlabel="prompts evaluated on",
        ylabel="loss (0.5·MSE)",
        title=f"M = {label}: {verdict}",
        ylim=(0, max(3.5, loss_fresh * 1.1)),
    )
    a.legend(loc="upper left")
    b.bar(
        ["LSA path\n(in-context)", "memory path\n(stored tasks)"],
        [lsa_rms, memory_rms],
        color=[COLORS["green"], COLORS["purple"]],
    )
    b.bar_label(b.containers[0], fmt="%.2f")
    b.set(
        xlabel="path of the model",
        ylabel="RMS of the path's prediction",
        title="which path answers (new tasks)",
        ylim=(0, 2.0),
    )
    return fig
