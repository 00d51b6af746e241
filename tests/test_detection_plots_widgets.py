"""Lesson 06's figures and widgets: labelled axes, headless updates, bad input."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from mesakit import detect
from mesakit.core.tasks import RegressionTask
from mesakit.detection import zoo
from mesakit.plots import detection as dplots
from mesakit.widgets import detection as dwidgets

ROWS = [
    {
        "name": "gd",
        "half": "design",
        "positive": True,
        "score": 0.95,
        "detected": True,
        "signals": {"a": 1.0, "b": 0.9},
    },
    {
        "name": "partial",
        "half": "holdout",
        "positive": True,
        "score": 0.45,
        "detected": False,
        "signals": {"a": 0.4, "b": 0.5},
    },
    {
        "name": "nn",
        "half": "design",
        "positive": False,
        "score": 0.1,
        "detected": False,
        "signals": {"a": 0.6, "b": 0.0},
    },
    {
        "name": "avg",
        "half": "holdout",
        "positive": False,
        "score": 0.0,
        "detected": False,
        "signals": {"a": -0.1, "b": 0.0},
    },
]


def _labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        if ax.get_visible() and ax.has_data():
            assert ax.get_xlabel() and ax.get_ylabel()


def test_roc_plot_per_half():
    fig = dplots.roc(ROWS)
    _labelled(fig)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("all models: AUROC 1.000" in t for t in legend)
    assert any("design half" in t for t in legend) and any("holdout half" in t for t in legend)
    assert any(
        "AUROC" in t
        for t in [t.get_text() for t in dplots.roc(ROWS, key="a", by_half=False).axes[0].get_legend().get_texts()]
    )


def test_signal_heatmap_orders_positives_first():
    fig = dplots.signal_heatmap(ROWS)
    _labelled(fig)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0].startswith("gd") and labels[1].startswith("partial")
    assert len(fig.axes[0].texts) == len(ROWS) * 3  # two signals + score, each annotated


def test_leaderboard_marks_mistakes_and_filters_halves():
    fig = dplots.leaderboard(ROWS)
    _labelled(fig)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "✗ partial" in labels and "gd" in labels
    fig = dplots.leaderboard(ROWS, key="a", half="design")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["✗ nn", "gd"]
    with pytest.raises(ValueError, match="half must be"):
        dplots.leaderboard(ROWS, half="train")


def test_other_plots():
    _labelled(
        dplots.gain_curves({"GD": ([1, 5, 10], [0.1, 0.3, 0.5]), "nn": ([1, 5, 10], [0.0, 0.1, 0.2])}, reference="GD")
    )
    _labelled(dplots.signal_bars({"a": 0.3, "b": 0.9}, title="x"))
    _labelled(dplots.score_sweep([1, 2, "fresh"], [0.1, 0.4, 0.9], "pool size"))
    _labelled(dplots.thinking_curves({"rec": ([1, 4, 16], [0.0, 0.3, 0.9])}))


def test_plots_reject_bad_input():
    with pytest.raises(ValueError, match="analyse_zoo"):
        dplots.roc([])
    with pytest.raises(ValueError, match="analyse_zoo"):
        dplots.signal_heatmap([{"name": "x"}])
    with pytest.raises(ValueError, match="as long as each other"):
        dplots.score_sweep([1, 2], [0.3], "x")
    for fn in (dplots.gain_curves, dplots.thinking_curves, dplots.signal_bars):
        with pytest.raises(ValueError):
            fn({})


def test_leaderboard_widget_headless():
    assert isinstance(dwidgets.leaderboard_frame(ROWS, "b", "holdout"), Figure)
    with pytest.raises(ValueError, match="rank_by must be one of"):
        dwidgets.leaderboard_frame(ROWS, "nope")
    box = dwidgets.leaderboard(ROWS)
    first = box.last_figure
    box.controls["rank_by"].value = "a"
    box.controls["half"].value = "design"
    assert box.last_figure is not first
    assert "ranked by a" in box.last_figure.axes[0].get_title() and "design" in box.last_figure.axes[0].get_title()


def test_kernel_widget_headless():
    Z = RegressionTask().sample(64, seed=0)[0]
    fig = dwidgets.kernel_frame(Z, 10.0)
    _labelled(fig)
    assert "Standard model behavior" in fig.axes[0].get_title()
    box = dwidgets.kernel_explorer(Z)
    box.controls["bandwidth"].value = 0.1
    assert "bandwidth 0.1" in box.last_figure.axes[0].get_title()


def test_plots_on_real_reports():
    Z = RegressionTask().sample(64, seed=0)[0]
    fresh, y = detect.fresh_task_prompts(Z, torch.Generator().manual_seed(0))
    curve = detect.gain_curve(zoo.NearestNeighbour(), fresh, y, [1, 5, 10])
    _labelled(dplots.gain_curves({"nn": curve}))
