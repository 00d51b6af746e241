"""The training scrubber of lesson 02: slide through weight snapshots of a training run and watch
``W_KQ`` and ``W_PV`` turn into the gradient-descent construction while the loss meets GD's line.

:func:`snapshot_frame` is the pure update (tested headless); :func:`snapshot_scrubber` wraps it in
a slider with :func:`mesakit.widgets.base.interactive_figure`.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ..core.train import History
from ..incontext.lsa import learned_step_size
from ..plots.incontext import training_snapshot


def _snapshots(history: History) -> list[tuple[int, dict]]:
    if not isinstance(history, History) or not history.snapshots:
        raise ValueError(
            "the scrubber needs a training History with weight snapshots: train with "
            "TrainConfig(snapshot_every=...) (e.g. 50)"
        )
    return history.snapshots


def snapshot_frame(history: History, step: int, gd_loss: float | None = None, gd_lr: float | None = None) -> Figure:
    """The figure at the snapshot taken at ``step`` (the nearest one at or before it)."""
    snapshots = _snapshots(history)
    chosen = snapshots[0]
    for snap in snapshots:
        if snap[0] <= step:
            chosen = snap
    at, state = chosen
    W_KQ, W_PV = state["W_KQ"][0], state["W_PV"][0]
    eta = learned_step_size(W_KQ, W_PV)
    title = f"step {at}: step size read off the weights η = {eta:.3f}"
    if gd_lr is not None:
        title += f"  (best GD step size {gd_lr:.3f})"
    return training_snapshot(history.loss, at, W_KQ, W_PV, gd_loss, title=title)


def snapshot_scrubber(history: History, gd_loss: float | None = None, gd_lr: float | None = None):
    """A slider over the run's snapshot steps above :func:`snapshot_frame` (starts at the last one)."""
    import ipywidgets as w

    from .base import interactive_figure

    steps = [step for step, _ in _snapshots(history)]
    slider = w.SelectionSlider(
        options=steps,
        value=steps[-1],
        description="step",
        continuous_update=False,
        layout=w.Layout(width="60%"),
    )

    def update(step: int) -> Figure:
        return snapshot_frame(history, step, gd_loss, gd_lr)

    return interactive_figure(update, {"step": slider}, title="Training snapshots: LSA weights becoming a GD step")
