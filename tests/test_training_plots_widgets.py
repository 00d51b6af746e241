"""mesakit.plots.incontext and mesakit.widgets.incontext, headless: Figures with labelled axes, the
scrubber's pure update and the widget driven through its slider."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.figure import Figure

from mesakit import models, plots
from mesakit.core import reference
from mesakit.core.tasks import RegressionTask
from mesakit.core.train import History, TrainConfig, train
from mesakit.plots import incontext as tplots
from mesakit.widgets import incontext as twidgets


def _labelled(ax) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


@pytest.fixture(scope="module")
def history() -> History:
    torch.manual_seed(0)
    model = models.LinearSelfAttention(models.LSAConfig(d=3))
    return train(
        model,
        RegressionTask(d=3).sample,
        TrainConfig(steps=60, batch_size=64, lr=1e-2, progress=False, snapshot_every=20),
    )


def test_loss_curve_shows_the_gd_line(history):
    fig = plots.loss_curve(history.loss, gd_loss=0.4, zero_loss=1.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert _labelled(ax) and "loss" in ax.get_ylabel()
    texts = _legend_texts(ax)
    assert any("GD" in t and "0.400" in t for t in texts) and any("predict 0" in t for t in texts)


def test_loss_curve_smoothing_keeps_the_length():
    values = torch.rand(100).numpy()
    smooth = tplots._smooth(values, 10)
    assert smooth.shape == values.shape and smooth[0] == values[0]
    assert smooth[50] == pytest.approx(values[41:51].mean())


def test_weight_heatmaps_label_every_component():
    model = reference.gd_construction(4, 1.5)
    fig = plots.weight_heatmaps(model.W_KQ[0], model.W_PV[0], title="construction")
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 2 and all(_labelled(ax) for ax in images)
    assert [t.get_text() for t in images[0].get_xticklabels()] == ["x1", "x2", "x3", "x4", "y"]
    clim = images[1].images[0].get_clim()
    assert clim[0] == -clim[1], "signed weights on a colour scale centred at 0"
    assert fig.get_suptitle() == "construction"


def test_weight_heatmaps_refuse_non_square():
    with pytest.raises(ValueError, match=r"square \(d\+1, d\+1\)"):
        plots.weight_heatmaps(torch.zeros(3, 4), torch.zeros(3, 4))


def test_training_snapshot_has_loss_and_both_matrices(history):
    step, state = history.snapshots[1]
    fig = plots.training_snapshot(history.loss, step, state["W_KQ"][0], state["W_PV"][0], gd_loss=0.5, title="t")
    assert len([ax for ax in fig.axes if ax.images]) == 2
    loss_ax = fig.axes[0]
    assert _labelled(loss_ax) and any(f"step {step}" in t for t in _legend_texts(loss_ax))
    assert len(loss_ax.lines[1].get_xdata()) == step, "the curve stops at the snapshot's step"


def test_sensitivity_scatter():
    a = torch.randn(20, 4)
    fig = plots.sensitivity_scatter(a, 2 * a)
    assert _labelled(fig.axes[0])
    with pytest.raises(ValueError, match="same shape"):
        plots.sensitivity_scatter(a, a[:, :3])


def test_losses_by_k_marks_divergence():
    fig = plots.losses_by_k([1, 2, 3, 4], [0.9, 0.7, None, math.inf], [0.8, 0.6, 0.5, 0.45], trained_k=[1, 2])
    ax = fig.axes[0]
    assert _labelled(ax)
    texts = _legend_texts(ax)
    assert any("diverged" in t for t in texts) and any("trained" in t or "training" in t for t in texts)
    with pytest.raises(ValueError, match="same length"):
        plots.losses_by_k([1, 2], [0.5], [0.4, 0.3])


def test_step_size_curve():
    fig = plots.step_size_curve([0.0, 1.0, 2.0], [1.6, 0.8, 1.2], best_lr=1.0, zero_loss=1.6)
    ax = fig.axes[0]
    assert _labelled(ax) and any("best η = 1.000" in t for t in _legend_texts(ax))
    with pytest.raises(ValueError, match="same length"):
        plots.step_size_curve([0.0, 1.0], [1.0])


def test_snapshot_frame_picks_the_snapshot_at_or_before_the_step(history):
    fig = twidgets.snapshot_frame(history, 39, gd_loss=0.5, gd_lr=1.5)
    title = fig.get_suptitle()
    assert title.startswith("step 20:") and "best GD step size 1.500" in title
    assert twidgets.snapshot_frame(history, 10).get_suptitle().startswith("step 20:"), "before the first: the first"
    assert twidgets.snapshot_frame(history, 1000).get_suptitle().startswith("step 60:")


def test_snapshot_frame_reads_the_step_size_off_the_weights():
    model = reference.gd_construction(3, 0.7)
    history = History(loss=[1.0, 0.9], snapshots=[(2, {"W_KQ": model.W_KQ.detach(), "W_PV": model.W_PV.detach()})])
    assert "η = 0.700" in twidgets.snapshot_frame(history, 2).get_suptitle()


def test_scrubber_needs_snapshots():
    with pytest.raises(ValueError, match="snapshot_every"):
        twidgets.snapshot_frame(History(loss=[1.0]), 1)
    with pytest.raises(ValueError, match="snapshot_every"):
        twidgets.snapshot_scrubber(History(loss=[1.0]))


def test_scrubber_widget_redraws_when_the_slider_moves(history):
    box = twidgets.snapshot_scrubber(history, gd_loss=0.5, gd_lr=1.5)
    slider = box.controls["step"]
    assert list(slider.options) == [20, 40, 60] and slider.value == 60
    assert box.last_figure.get_suptitle().startswith("step 60:")
    slider.value = 20
    assert box.last_figure.get_suptitle().startswith("step 20:")
