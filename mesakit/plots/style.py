"""The one figure style of the course: colour-blind-safe colours, readable at notebook width.

Every plot helper in ``mesakit.plots`` starts from :func:`figure` and returns the ``Figure``
(never calls ``plt.show``), so tests can inspect it headless and notebooks just display it.
"""

from __future__ import annotations

import matplotlib
from matplotlib.figure import Figure

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
CYCLE = [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple", "black")]
# Diverging map for signed weight matrices (blue negative, red positive), also colour-blind safe.
DIVERGING = "RdBu_r"
SEQUENTIAL = "viridis"

RC = {
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "figure.dpi": 100,
}


def figure(ncols: int = 1, nrows: int = 1, width: float = 7.0, height: float = 3.6, **kwargs) -> tuple[Figure, object]:
    """A new Figure in the course style and its axes (``plt.subplots`` semantics, not pyplot state)."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, **kwargs)
    _apply_style(axes)
    return fig, axes


def _apply_style(axes) -> None:
    import numpy as np

    for ax in np.atleast_1d(axes).ravel():
        ax.set_prop_cycle(color=CYCLE)
        ax.grid(True, alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
