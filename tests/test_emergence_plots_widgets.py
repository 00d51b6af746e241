"""Lesson 03's figures and widget, headless: labelled axes, the data drawn, the widget's frames."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from mesakit.plots import emergence as plots
from mesakit.widgets import emergence as widgets

TRAJECTORY = {
    "step": [50, 100, 150, 200],
    "loss": [1.6, 1.3, 0.9, 0.82],
    "in_context_gain": [0.0, 0.3, 0.8, 0.85],
    "sensitivity_cosine": [0.1, 0.6, 0.97, 0.99],
}
SWEEP = {
    "pool_sizes": [1, 4, 64, None],
    "loss_fresh": [3.3, 2.0, 0.88, 0.81],
    "loss_pool": [0.001, 0.01, 0.7, 0.82],
    "gd_loss": 0.81,
    "lsa_rms": [0.1, 0.2, 0.9, 1.05],
    "memory_rms": [1.1, 1.3, 0.8, 0.45],
}


def _labelled(ax) -> bool:
    return bool(ax.get_xlabel().strip()) and bool(ax.get_ylabel().strip())


def test_training_emergence():
    fig = plots.training_emergence(TRAJECTORY, gd_loss=0.81, zero_loss=1.67, appears_at=150, gd_gain=1.24)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert all(_labelled(ax) for ax in fig.axes)
    loss_ax, gain_ax, cos_ax = fig.axes
    assert np.allclose(loss_ax.get_lines()[0].get_ydata(), TRAJECTORY["loss"])
    assert np.allclose(gain_ax.get_lines()[0].get_ydata(), TRAJECTORY["in_context_gain"])
    assert np.allclose(cos_ax.get_lines()[0].get_ydata(), TRAJECTORY["sensitivity_cosine"])
    assert any(np.allclose(l.get_xdata(), 150) for l in cos_ax.get_lines())  # the appearance marker
    assert any(np.allclose(l.get_ydata(), 1.24) for l in gain_ax.get_lines())  # GD's gain as a line


def test_task_diversity_curves_marks_fresh_and_transition():
    num_tasks = [1, 4, 64, 512_000]
    fig = plots.task_diversity_curves(num_tasks, SWEEP["loss_fresh"], SWEEP["loss_pool"], 0.81, transition=64)
    (ax,) = fig.axes
    assert _labelled(ax) and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "fresh"
    fresh_line = ax.get_lines()[0]
    assert np.allclose(fresh_line.get_ydata(), SWEEP["loss_fresh"])
    assert fresh_line.get_xdata()[-1] == 64 * 4  # drawn one step past the largest pool, not at 512,000
    assert any("transition" in t.get_text() for t in ax.get_legend().get_texts())


def test_task_diversity_curves_draws_the_bayes_yardsticks():
    num_tasks = [1, 4, 64, 512_000]
    dmmse = [3.8, 1.9, 1.5, None]  # no pool for the fresh-task run
    fig = plots.task_diversity_curves(
        num_tasks, SWEEP["loss_fresh"], SWEEP["loss_pool"], 0.81, dmmse_fresh=dmmse, ridge_loss=0.005
    )
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("dMMSE" in t for t in texts) and any("ridge" in t for t in texts)
    dmmse_line = next(l for l in ax.get_lines() if l.get_label().startswith("dMMSE"))
    assert np.allclose(dmmse_line.get_ydata()[:3], dmmse[:3]) and np.isnan(dmmse_line.get_ydata()[3])
    assert any(np.allclose(l.get_ydata(), 0.005) for l in ax.get_lines())


def test_task_diversity_curves_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        plots.task_diversity_curves([1, 2], [1.0], [1.0, 2.0], 0.8)
    with pytest.raises(ValueError, match="one entry per pool size"):
        plots.task_diversity_curves([1, 2], [1.0, 0.8], [0.1, 0.8], 0.8, dmmse_fresh=[1.0])
    with pytest.raises(ValueError, match="ridge_loss must be > 0"):
        plots.task_diversity_curves([1, 2], [1.0, 0.8], [0.1, 0.8], 0.8, ridge_loss=0.0)
    with pytest.raises(ValueError, match="not one of the pool sizes"):
        plots.task_diversity_curves([1, 2], [1.0, 0.8], [0.1, 0.8], 0.8, transition=3)
    with pytest.raises(ValueError, match="band must be > 0"):
        plots.task_diversity_curves([1, 2], [1.0, 0.8], [0.1, 0.8], 0.8, band=0.0)
    with pytest.raises(ValueError, match="zoom must be between 0 and 1"):
        plots.task_diversity_curves([1, 2], [1.0, 0.8], [0.1, 0.8], 0.8, zoom=1.5)


def test_task_diversity_curves_shades_the_band_without_marking_a_transition():
    num_tasks = [1, 4, 64, 512_000]
    fig = plots.task_diversity_curves(num_tasks, SWEEP["loss_fresh"], SWEEP["loss_pool"], 0.81, band=0.1)
    (ax,) = fig.axes
    (band,) = ax.patches
    ys = band.get_transform().transform(band.get_path().vertices)[:, 1]  # display coordinates
    low, high = ax.transData.transform([[1, 0.81], [1, 0.891]])[:, 1]
    assert np.isclose(ys.min(), low) and np.isclose(ys.max(), high)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("within 10%" in t for t in texts) and not any("transition" in t for t in texts)


def test_task_diversity_curves_zoom_is_linear_around_gd():
    fig = plots.task_diversity_curves(
        [1, 4, 64, 512_000], SWEEP["loss_fresh"], SWEEP["loss_pool"], 0.8, band=0.1, zoom=0.5
    )
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear" and np.allclose(ax.get_ylim(), (0.4, 1.2))


def test_solution_bars():
    fig = plots.solution_bars("4", 2.0, 0.01, 0.81, 0.2, 1.3, "memorizer")
    a, b = fig.axes
    assert "memorizer" in a.get_title() and a.get_ylabel() and b.get_ylabel()
    assert [round(p.get_height(), 3) for p in a.patches] == [0.01, 2.0]
    assert [round(p.get_height(), 3) for p in b.patches] == [0.2, 1.3]


@pytest.mark.parametrize(
    "fresh, pool, expected",
    [(0.85, 0.8, "in-context optimizer"), (3.0, 0.01, "memorizer"), (1.2, 0.6, "in between")],
)
def test_verdict(fresh, pool, expected):
    assert widgets.verdict(fresh, pool, 0.81) == expected


def test_diversity_frame_is_pure_and_checks_its_index():
    fig = widgets.diversity_frame(SWEEP, 0)
    assert "M = 1: memorizer" in fig.axes[0].get_title()
    assert "M = fresh: in-context optimizer" in widgets.diversity_frame(SWEEP, 3).axes[0].get_title()
    with pytest.raises(ValueError, match="index"):
        widgets.diversity_frame(SWEEP, 4)


def test_pool_size_explorer_redraws_headless():
    box = widgets.pool_size_explorer(SWEEP)
    assert "M = 1:" in box.last_figure.axes[0].get_title()
    box.controls["index"].value = 2
    assert "M = 64: in-context optimizer" in box.last_figure.axes[0].get_title()
