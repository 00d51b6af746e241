"""Figures of lesson 05 (internal search): mazes, thinking-time curves, probes.

* :func:`maze` — one maze (walls, start, goal) with an optional path or value map drawn on it.
* :func:`thinking_curve` — solve rate against iterations, one line per maze set, the trained count marked.
* :func:`solve_by_length` — solve rate per path-length bin, one group of bars per model.
* :func:`probe_scatter` — probe prediction against the true BFS distance, with R².
* :func:`value_map_frame` — a maze, the planner's path and the probe's value map at one iteration
  (the frame the lesson's widget steps through).

Inputs are tensors and plain numbers; nothing here trains or evaluates a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..search.mazes import GOAL, START, WALL
from .style import COLORS, SEQUENTIAL, figure

_WALLS = ListedColormap(["white", "#404040"])


def _check_maze(maze: torch.Tensor) -> torch.Tensor:
    if not isinstance(maze, torch.Tensor) or maze.dim() != 3 or maze.shape[0] != 3:
        shape = tuple(maze.shape) if isinstance(maze, torch.Tensor) else type(maze).__name__
        raise ValueError(f"expected one maze of shape (3, H, W), got {shape}; pick one with mazes.inputs[i]")
    return maze


def _draw_maze(
    ax,
    maze: torch.Tensor,
    path: torch.Tensor | None = None,
    values: torch.Tensor | None = None,
    vmax: float | None = None,
    title: str = "",
):
    """Draw walls (grey), an optional value map (colours on open squares), path dots, start S and goal G."""
    maze = _check_maze(maze)
    walls = maze[WALL].numpy()
    ax.imshow(walls, cmap=_WALLS, vmin=0, vmax=1, interpolation="nearest")
    image = None
    if values is not None:
        shown = np.ma.masked_where(walls > 0, np.asarray(values, dtype=float))
        image = ax.imshow(shown, cmap=SEQUENTIAL, vmin=0, vmax=vmax, interpolation="nearest")
    if path is not None:
        r, c = np.nonzero(np.asarray(path) > 0)
        ax.plot(c, r, "o", ms=5, color=COLORS["orange"], mec="black", mew=0.5, label="path")
    for channel, letter, color in ((START, "S", COLORS["blue"]), (GOAL, "G", COLORS["vermillion"])):
        r, c = (int(i) for i in torch.nonzero(maze[channel])[0])
        ax.text(
            c,
            r,
            letter,
            ha="center",
            va="center",
            fontsize=10,
            fontweight="bold",
            color="white",
            bbox=dict(boxstyle="circle,pad=0.15", fc=color, ec="none"),
        )
    ax.set(xticks=[], yticks=[], title=title, xlabel="column (squares)", ylabel="row (squares)")
    ax.grid(False)
    return image


def maze(
    maze: torch.Tensor, path: torch.Tensor | None = None, values: torch.Tensor | None = None, title: str = ""
) -> Figure:
    """One maze ``(3, H, W)``; ``path (H, W)`` draws dots on the path, ``values (H, W)`` colours open squares."""
    fig, ax = figure(width=4.0, height=4.0)
    image = _draw_maze(ax, maze, path, values, title=title)
    if image is not None:
        fig.colorbar(image, ax=ax, shrink=0.8, label="steps to the goal")
    return fig


def thinking_curve(
    iterations: Sequence[int],
    rates: dict[str, Sequence[float]],
    trained_iterations: int | None = None,
    baselines: dict[str, float] | None = None,
) -> Figure:
    """Solve rate (fraction of mazes solved exactly) against iterations; one line per entry of ``rates``."""
    if not rates:
        raise ValueError("rates must name at least one curve, e.g. {'5×5 mazes': [...]}")
    fig, ax = figure(width=7.0, height=3.8)
    for label, values in rates.items():
        if len(values) != len(iterations):
            raise ValueError(f"curve {label!r} has {len(values)} values for {len(iterations)} iteration counts")
        ax.plot(iterations, values, "o-", ms=4, label=label)
    for label, value in (baselines or {}).items():
        ax.axhline(value, ls=":", color=COLORS["black"], label=label)
    if trained_iterations is not None:
        ax.axvline(trained_iterations, color=COLORS["black"], lw=1, ls="--", alpha=0.6)
        ax.text(trained_iterations, 1.02, " trained", fontsize=9, va="bottom")
    ax.set(
        xlabel="iterations at test time (thinking steps)", ylabel="solve rate (fraction of mazes)", ylim=(-0.02, 1.08)
    )
    ax.legend(loc="center right")
    return fig


def solve_by_length(edges: Sequence[int], rates: dict[str, Sequence[float]]) -> Figure:
    """Grouped bars: the solve rate of each model for each bin ``[edges[i], edges[i+1])`` of path length."""
    if len(edges) < 2 or not rates:
        raise ValueError("need at least two bin edges and one model")
    fig, ax = figure(width=7.0, height=3.6)
    n_bins, n_models = len(edges) - 1, len(rates)
    width = 0.8 / n_models
    for i, (label, values) in enumerate(rates.items()):
        ax.bar(
            np.arange(n_bins) + (i - (n_models - 1) / 2) * width,
            np.nan_to_num(np.asarray(values, dtype=float)),
            width=width,
            label=label,
        )
    ax.set_xticks(np.arange(n_bins), [f"{a}–{b - 1}" for a, b in zip(edges, edges[1:])])
    ax.set(xlabel="path length (steps from start to goal)", ylabel="solve rate (fraction of mazes)", ylim=(0, 1.05))
    ax.legend(loc="upper right")
    return fig


def probe_scatter(
    predicted: torch.Tensor, true: torch.Tensor, r2: float | None = None, max_points: int = 3000
) -> Figure:
    """Probe prediction against the true distance to the goal, one dot per open square."""
    predicted, true = np.asarray(predicted, dtype=float).ravel(), np.asarray(true, dtype=float).ravel()
    if predicted.shape != true.shape:
        raise ValueError(f"predicted and true must have the same size, got {predicted.size} and {true.size}")
    keep = np.random.default_rng(0).permutation(true.size)[:max_points]  # a fixed subsample keeps the figure light
    fig, ax = figure(width=4.6, height=4.0)
    ax.scatter(true[keep], predicted[keep], s=6, alpha=0.3, color=COLORS["blue"])
    top = float(true.max()) if true.size else 1.0
    ax.plot([0, top], [0, top], "--", color=COLORS["vermillion"], label="perfect probe")
    ax.set(
        xlabel="true distance to the goal (steps)",
        ylabel="probe's reading (steps)",
        title=f"linear probe, R² = {r2:.2f}" if r2 is not None else "linear probe",
    )
    ax.legend(loc="upper left")
    return fig


def value_map_frame(
    maze: torch.Tensor, path: torch.Tensor, values: torch.Tensor, true: torch.Tensor, iteration: int
) -> Figure:
    """Three panels: the planner's path after ``iteration`` steps, the probe's value map read from the
    hidden state at that step, and the true BFS distance map. All maps ``(H, W)``."""
    fig, axes = figure(ncols=3, width=10.5, height=3.8)
    vmax = float(true.max())
    _draw_maze(axes[0], maze, path=path, title=f"predicted path, iteration {iteration}")
    image = _draw_maze(
        axes[1],
        maze,
        values=torch.as_tensor(values).clamp(0, vmax).nan_to_num(0),
        vmax=vmax,
        title="probe's value map (hidden state)",
    )
    _draw_maze(axes[2], maze, values=true, vmax=vmax, title="true distance to the goal (BFS)")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="steps to the goal")
    return fig
