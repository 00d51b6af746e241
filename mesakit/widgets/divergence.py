"""Lesson 04's widget: step through the agent's episodes on a training level and on the same level
with the coin moved, side by side (a Play button animates the step slider).

:func:`episode_pairs` plays the policy (library code, seeded); :func:`episode_frame` is the pure
update; :func:`episode_viewer` wraps it in a level slider, a step slider and a Play button.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ..divergence.gridworld import Episode, Level, rollout
from ..plots.divergence import episodes
from .base import interactive_figure

TITLES = ("training level (coin on the edge)", "same level, coin moved")


def episode_pairs(
    policy, train_levels: list[Level], shifted_levels: list[Level], seed: int = 0
) -> list[tuple[Episode, Episode]]:
    """For each level index: the policy's episode on the training level and on its shifted twin."""
    if len(train_levels) != len(shifted_levels) or not train_levels:
        raise ValueError("need the same, non-zero number of training and shifted levels")
    return [(rollout(policy, a, seed), rollout(policy, b, seed)) for a, b in zip(train_levels, shifted_levels)]


def episode_frame(pairs: list[tuple[Episode, Episode]], level: int, step: int) -> Figure:
    """Both episodes of pair ``level``, drawn up to move ``step``."""
    if not 0 <= level < len(pairs):
        raise ValueError(f"level must be in 0..{len(pairs) - 1}, got {level}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return episodes(list(pairs[level]), step=step, titles=list(TITLES))


def episode_viewer(pairs: list[tuple[Episode, Episode]], level: int = 0):
    """Sliders for the level and the move, a Play button that animates the moves."""
    import ipywidgets as w

    def moves(i: int) -> int:  # past the longer of level i's two episodes, every frame is the same
        return max(pairs[i][0].steps, pairs[i][1].steps)

    level_slider = w.IntSlider(value=level, min=0, max=len(pairs) - 1, description="level")
    step_slider = w.IntSlider(value=moves(level), min=0, max=moves(level), description="move")
    box = interactive_figure(
        lambda level, step: episode_frame(pairs, level, step),
        {"level": level_slider, "step": step_slider},
        title="Where does the agent go? Training vs coin moved",
    )
    play = w.Play(value=moves(level), min=0, max=moves(level), interval=400, description="play")
    w.jslink((play, "value"), (step_slider, "value"))

    def fit_moves(change) -> None:  # each level's slider spans that level's own episodes
        step_slider.max = play.max = moves(change["new"])

    level_slider.observe(fit_moves, names="value")
    box.children = [*box.children[:-2], w.HBox([play, *box.children[-2].children]), box.children[-1]]
    box.play = play
    return box
