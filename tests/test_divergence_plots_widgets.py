"""Lesson 04's figures and the episode widget, headless."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from mesakit import models, plots
from mesakit.divergence import goals as gm
from mesakit.divergence.gridworld import Level
from mesakit.widgets.divergence import episode_frame, episode_pairs, episode_viewer

SHIFT = {
    "scales": [1.0, 2.0, 3.0],
    "lsa_loss": [0.82, 32.0, 470.0],
    "gd_retuned_loss": [0.82, 3.3, 7.4],
    "gd_fixed_loss": [0.82, 31.0, 459.0],
    "zero_loss": [1.64, 6.6, 14.8],
    "gd_lr": [1.5, 0.38, 0.17],
    "lsa_step_size": 1.52,
}


def labelled(fig: Figure) -> bool:
    return all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)


def test_scale_shift_plot():
    fig = plots.scale_shift(SHIFT)
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and labelled(fig)
    assert fig.axes[0].get_yscale() == "log"
    minimal = {k: SHIFT[k] for k in ("scales", "lsa_loss", "gd_retuned_loss", "zero_loss")}
    assert len(plots.scale_shift(minimal).axes) == 1


@pytest.fixture(scope="module")
def pairs():
    policy = models.load_pretrained("gridworld_right")
    return episode_pairs(policy, gm.test_levels(3), gm.test_levels(3, shifted=True), seed=0)


def test_episodes_and_goal_bars(pairs):
    fig = plots.episodes(list(pairs[0]), titles=["a", "b"])
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and labelled(fig)
    assert "move" in fig.axes[0].get_title()
    fig = plots.episodes([pairs[1][0]], step=0)
    assert "move 0/" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="at least one"):
        plots.episodes([])
    bars = plots.goal_bars({"train": {"coin": 0.9, "edge": 0.05, "neither": 0.05}, "shift": {"coin": 0.3, "edge": 0.7}})
    assert isinstance(bars, Figure) and labelled(bars) and bars.axes[0].get_ylim() == (0, 1)
    with pytest.raises(ValueError, match="at least one condition"):
        plots.goal_bars({})


def test_draw_level_on_a_plain_level():
    fig, ax = plots.figure()
    level = Level(np.zeros((4, 5), dtype=bool), (1, 0), (2, 4))
    plots.draw_level(ax, level, [(1, 0), (1, 1)], title="t")
    assert ax.get_title() == "t" and ax.get_xlabel()


def test_episode_frame_is_pure_and_checks_its_input(pairs):
    fig = episode_frame(pairs, level=1, step=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ep = pairs[1][0]
    assert f"move {min(2, ep.steps)}/{ep.steps}" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="level must be"):
        episode_frame(pairs, level=5, step=0)
    with pytest.raises(ValueError, match="step must be"):
        episode_frame(pairs, level=0, step=-1)
    with pytest.raises(ValueError, match="same, non-zero number"):
        episode_pairs(None, [], [])


def test_episode_viewer_headless(pairs):
    box = episode_viewer(pairs)
    first = box.last_figure
    box.controls["step"].value = 1
    assert box.last_figure is not first and "move 1/" in box.last_figure.axes[0].get_title()
    box.controls["level"].value = 2
    ep = pairs[2][0]
    assert f"move {min(1, ep.steps)}/{ep.steps}" in box.last_figure.axes[0].get_title()
    assert box.play.max == box.controls["step"].max


def test_episode_viewer_move_slider_spans_the_shown_level(pairs):
    # Past the longer of a level's two episodes every frame is the same picture: the slider stops there.
    box = episode_viewer(pairs)
    for level in range(len(pairs)):
        box.controls["level"].value = level
        moves = max(pairs[level][0].steps, pairs[level][1].steps)
        assert box.controls["step"].max == box.play.max == moves
