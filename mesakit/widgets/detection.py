"""Widgets of lesson 06: the zoo leaderboard and the kernel-smoother probe of the detector's limits.

* :func:`leaderboard` — zoo models ranked by the detector's score or by one signal, for all models
  or one half; pure update :func:`leaderboard_frame`.
* :func:`kernel_explorer` — a Nadaraya–Watson kernel smoother (a context-using non-optimizer) with
  a bandwidth slider: watch which signals it fools as the kernel widens; pure update
  :func:`kernel_frame`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure

from ..detection import detector as detect
from ..detection import zoo
from ..plots.detection import leaderboard as leaderboard_figure
from ..plots.detection import signal_bars

BANDWIDTHS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def leaderboard_frame(rows: Sequence[dict], rank_by: str = "score", half: str = "all") -> Figure:
    """The leaderboard figure: ``rows`` from :func:`mesakit.detection.builders.analyse_zoo`."""
    options = ["score", *dict.fromkeys(n for r in rows for n in r["signals"])]
    if rank_by not in options:
        raise ValueError(f"rank_by must be one of {options}, got {rank_by!r}")
    return leaderboard_figure(rows, key=rank_by, half=half)


def leaderboard(rows: Sequence[dict]):
    """Dropdowns (rank by: score or a signal; which half of the zoo) above the leaderboard."""
    import ipywidgets as w

    from .base import interactive_figure

    controls = {
        "rank_by": w.Dropdown(
            options=["score", *dict.fromkeys(n for r in rows for n in r["signals"])],
            value="score",
            description="rank by",
        ),
        "half": w.Dropdown(options=["all", "design", "holdout"], value="all", description="models"),
    }
    return interactive_figure(
        lambda rank_by, half: leaderboard_frame(rows, rank_by, half), controls, title="Where each zoo model lands"
    )


def kernel_frame(Z: torch.Tensor, bandwidth: float, seed: int = 0) -> Figure:
    """The detector's signals for a kernel smoother of this ``bandwidth`` on prompts ``Z``."""
    report = detect.analyze_model_behavior(zoo.KernelSmoother(zoo.KernelConfig(bandwidth=bandwidth)), Z, seed=seed)
    title = f"kernel smoother, bandwidth {bandwidth:g}: score {report.score:.2f} → {report.verdict}"
    return signal_bars(report.signals, title=title)


def kernel_explorer(Z: torch.Tensor, seed: int = 0):
    """A bandwidth slider above :func:`kernel_frame` (narrow = nearest neighbour, wide = label average)."""
    import ipywidgets as w

    from .base import interactive_figure

    slider = w.SelectionSlider(options=list(BANDWIDTHS), value=1.0, description="bandwidth", continuous_update=False)
    return interactive_figure(
        lambda bandwidth: kernel_frame(Z, bandwidth, seed),
        {"bandwidth": slider},
        title="Which signals does a kernel smoother fool?",
    )
