"""Lesson 05's figures and widget: each returns a labelled Figure; the widget is driven headless."""

from __future__ import annotations

import matplotlib
import pytest
import torch
from matplotlib.figure import Figure

from mesakit.plots import search
from mesakit.search.mazes import generate_mazes
from mesakit.search.planner import PlannerConfig, RecurrentPlanner
from mesakit.search.probe import probe_value_map
from mesakit.widgets.search import thinking_frame, thinking_stepper

matplotlib.use("Agg")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = RecurrentPlanner(PlannerConfig(channels=6, iterations=4)).eval()
    mazes = generate_mazes(6, 5, seed=0)
    probe, _ = probe_value_map(model, mazes[:3], mazes[3:], 4)
    return model, probe, mazes


def _labelled(fig: Figure, images: bool = False):
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        if not images:
            assert ax.get_xlabel() and ax.get_ylabel()


def test_maze_figure(setup):
    _, _, mazes = setup
    fig = search.maze(mazes.inputs[0], path=mazes.paths[0], values=mazes.distances[0], title="t")
    _labelled(fig, images=True)
    assert any(
        c.get_label() == "steps to the goal" or "steps" in c.get_ylabel() for c in fig.axes if c is not fig.axes[0]
    )
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        search.maze(mazes.inputs)


def test_thinking_curve():
    fig = search.thinking_curve([1, 2, 4], {"a": [0.0, 0.5, 0.9], "b": [0.0, 0.1, 0.4]}, 2, baselines={"ff": 0.1})
    _labelled(fig)
    ax = fig.axes[0]
    assert "iterations" in ax.get_xlabel() and "solve rate" in ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 3
    with pytest.raises(ValueError, match="values"):
        search.thinking_curve([1, 2], {"a": [0.1]})
    with pytest.raises(ValueError, match="at least one"):
        search.thinking_curve([1, 2], {})


def test_solve_by_length_and_probe_scatter():
    fig = search.solve_by_length([2, 6, 10], {"ff": [0.5, float("nan")], "rec": [1.0, 0.8]})
    _labelled(fig)
    assert "path length" in fig.axes[0].get_xlabel()
    fig = search.probe_scatter(torch.arange(10.0) + 0.1, torch.arange(10.0), r2=0.99)
    _labelled(fig)
    assert "0.99" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="same size"):
        search.probe_scatter(torch.zeros(3), torch.zeros(4))


def test_widget_update_is_pure_and_headless(setup):
    model, probe, mazes = setup
    fig = thinking_frame(model, probe, mazes, iteration=2, index=1)
    assert isinstance(fig, Figure) and len([a for a in fig.axes if a.get_label() != "<colorbar>"]) >= 3
    assert "iteration 2" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="iterations"):
        thinking_frame(model, probe, mazes, iteration=0)
    with pytest.raises(ValueError, match="index"):
        thinking_frame(model, probe, mazes, iteration=1, index=99)


def test_widget_drives_headless(setup):
    model, probe, mazes = setup
    box = thinking_stepper(model, probe, mazes)
    first = box.last_figure
    assert box.controls["iteration"].max == 8
    box.controls["iteration"].value = 3
    assert box.last_figure is not first and "iteration 3" in box.last_figure.axes[0].get_title()
    box.controls["index"].value = 2
    assert isinstance(box.last_figure, Figure)
