"""Lesson 04's figures: a learned optimizer that stays competent while pursuing the wrong objective.

* :func:`scale_shift` — losses against the input scale (LSA, re-tuned GD, GD with the old step,
  predicting 0) and the step size each scale wants beside the one the LSA baked in.
* :func:`draw_level` / :func:`episodes` — gridworld levels with the agent's path, side by side.
* :func:`goal_bars` — which goal the agent reached, per condition (training, shifted, diverse).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..divergence.gridworld import pursued_goal
from .style import COLORS, figure

GOAL_COLORS = {"coin": COLORS["orange"], "edge": COLORS["blue"], "neither": "#BBBBBB"}


def scale_shift(result: dict) -> Figure:
    """``result`` as returned by :func:`mesakit.divergence.shift.evaluate` (keys ``scales``,
    ``lsa_loss``, ``gd_retuned_loss``, ``zero_loss``, optional ``gd_fixed_loss``, ``gd_lr``,
    ``lsa_step_size``)."""
    scales = result["scales"]
    has_steps = "gd_lr" in result and "lsa_step_size" in result
    fig, axes = figure(ncols=2 if has_steps else 1, width=10 if has_steps else 6, height=3.8)
    ax = axes[0] if has_steps else axes
    ax.plot(scales, result["lsa_loss"], "o-", color=COLORS["vermillion"], label="trained LSA (frozen step)")
    if "gd_fixed_loss" in result:
        ax.plot(scales, result["gd_fixed_loss"], "--", color=COLORS["black"], label="GD, step tuned at scale 1")
    ax.plot(scales, result["gd_retuned_loss"], "s-", color=COLORS["blue"], label="GD, step re-tuned per scale")
    ax.plot(scales, result["zero_loss"], "^-", color=COLORS["green"], label="predict 0")
    ax.axvspan(min(scales), 1.0 + 1e-9, color=COLORS["sky"], alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("input scale s (x ~ U(-s, s))")
    ax.set_ylabel("loss (0.5·MSE, log scale)")
    ax.set_title("Rescaled inputs: competent, wrong step")
    ax.legend()
    if has_steps:
        ax = axes[1]
        ax.plot(scales, result["gd_lr"], "s-", color=COLORS["blue"], label="best GD step (line search)")
        ax.axhline(result["lsa_step_size"], color=COLORS["vermillion"], ls="--", label="step the LSA baked in")
        ax.set_yscale("log")
        ax.set_xlabel("input scale s")
        ax.set_ylabel("step size η (log scale)")
        ax.set_title("The best step shrinks like 1/s²")
        ax.legend()
    return fig


def draw_level(ax, level, positions=None, title: str | None = None) -> None:
    """Draw ``level`` on ``ax``: walls dark, right edge shaded, coin, start, and the agent's
    ``positions`` (a path; the last one is where the agent is now)."""
    h, w = level.shape
    image = np.where(level.walls, 2, 0)
    image[:, w - 1] = np.where(level.walls[:, w - 1], 2, 1)
    cmap = ListedColormap(["white", "#D6EAF8", "#444444"])
    ax.imshow(image, cmap=cmap, vmin=0, vmax=2, origin="upper")
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(True, which="minor", color="#999999", lw=0.5, alpha=0.6)
    ax.grid(False, which="major")
    ax.set_xticks(range(w))
    ax.set_yticks(range(h))
    ax.set_xlabel("column (right edge shaded)")
    ax.set_ylabel("row")
    ax.plot(level.coin[1], level.coin[0], "o", ms=14, color=COLORS["yellow"], mec=COLORS["orange"], mew=2, label="coin")
    ax.plot(level.start[1], level.start[0], "s", ms=10, mfc="none", mec=COLORS["green"], mew=2, label="start")
    if positions:
        rows = [p[0] for p in positions]
        cols = [p[1] for p in positions]
        ax.plot(cols, rows, "-", color=COLORS["purple"], lw=2, alpha=0.7)
        ax.plot(cols[-1], rows[-1], "o", ms=10, color=COLORS["purple"], label="agent")
    if title:
        ax.set_title(title)


def episodes(items: list, step: int | None = None, titles: list[str] | None = None) -> Figure:
    """Episodes side by side, each drawn up to move ``step`` (``None``: the whole episode)."""
    if not items:
        raise ValueError("episodes needs at least one episode")
    titles = titles or [""] * len(items)
    fig, axes = figure(ncols=len(items), width=3.6 * len(items), height=3.9)
    axes = np.atleast_1d(axes)
    for ax, episode, title in zip(axes, items, titles):
        upto = len(episode.positions) if step is None else min(step + 1, len(episode.positions))
        status = f"move {upto - 1}/{episode.steps}"
        if upto == len(episode.positions):
            status += f": {pursued_goal(episode)}"
        draw_level(ax, episode.level, episode.positions[:upto], f"{title}\n{status}" if title else status)
    axes[0].legend(loc="upper left", bbox_to_anchor=(0, -0.18), ncol=3, fontsize=9)
    return fig


def goal_bars(rates: dict[str, dict[str, float]]) -> Figure:
    """Stacked bars: for each condition (e.g. ``"training levels"``), the fraction of episodes that
    reached the coin first, the right edge first, or neither (:func:`~mesakit.divergence.gridworld.pursued_goal`)."""
    if not rates:
        raise ValueError("goal_bars needs at least one condition")
    fig, ax = figure(width=7, height=3.6)
    names = list(rates)
    bottom = np.zeros(len(names))
    for goal, label in (("coin", "coin first"), ("edge", "right edge first"), ("neither", "neither")):
        values = np.array([rates[n].get(goal, 0.0) for n in names])
        ax.bar(names, values, bottom=bottom, color=GOAL_COLORS[goal], label=label)
        for i, v in enumerate(values):
            if v >= 0.06:
                ax.text(i, bottom[i] + v / 2, f"{v:.2f}", ha="center", va="center", fontsize=10)
        bottom += values
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of episodes")
    ax.set_xlabel("policy and levels")
    ax.set_title("Which goal does the agent reach first?")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    return fig
