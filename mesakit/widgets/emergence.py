"""Lesson 03's widget: pick a pool size M and see which solution the model trained on it found.

``sweep`` is the dict of :func:`mesakit.emergence.sweep.evaluate` (losses and each
path's size per trained model). :func:`diversity_frame` is the pure update; :func:`pool_size_explorer`
wraps it in a slider over the sweep's pool sizes. Nothing is trained or evaluated here.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ..plots.emergence import solution_bars
from .base import interactive_figure

TOLERANCE = 0.1  # "as good as GD" on new tasks: within 10% (as in the sweep's transition)


def verdict(loss_fresh: float, loss_pool: float, gd_loss: float, tolerance: float = TOLERANCE) -> str:
    """Which solution wins: ``"in-context optimizer"`` (new tasks within ``tolerance`` of GD),
    ``"memorizer"`` (its pool at most half GD's loss, new tasks worse than GD), else ``"in between"``."""
    if loss_fresh <= (1 + tolerance) * gd_loss:
        return "in-context optimizer"
    if loss_pool <= 0.5 * gd_loss:
        return "memorizer"
    return "in between"


def _label(pool_size) -> str:
    return "fresh" if pool_size is None else f"{pool_size:,}"


def diversity_frame(sweep: dict, index: int) -> Figure:
    """The figure for the ``index``-th model of ``sweep`` (pool sizes in ``sweep["pool_sizes"]``)."""
    sizes = sweep["pool_sizes"]
    if not 0 <= index < len(sizes):
        raise ValueError(f"index must be in 0..{len(sizes) - 1}, got {index}")
    fresh, pool, gd = sweep["loss_fresh"][index], sweep["loss_pool"][index], sweep["gd_loss"]
    return solution_bars(
        _label(sizes[index]),
        fresh,
        pool,
        gd,
        sweep["lsa_rms"][index],
        sweep["memory_rms"][index],
        verdict(fresh, pool, gd),
    )


def pool_size_explorer(sweep: dict, start: int = 0):
    """A slider over the sweep's pool sizes above :func:`diversity_frame`."""
    import ipywidgets as w

    options = [(_label(m), i) for i, m in enumerate(sweep["pool_sizes"])]
    slider = w.SelectionSlider(options=options, value=start, description="pool size M", continuous_update=False)
    return interactive_figure(
        lambda index: diversity_frame(sweep, index),
        {"index": slider},
        title="Pretrained on M tasks: memorizer or in-context optimizer?",
    )
