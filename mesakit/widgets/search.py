"""The thinking-steps widget of lesson 05: step through the planner's iterations on one maze and
watch the predicted path and the probe's value map (distance to the goal read linearly from the
hidden state) take shape.

:func:`thinking_frame` is the pure update (tested headless); :func:`thinking_stepper` wraps it in
two sliders (iteration, maze) with :func:`mesakit.widgets.base.interactive_figure`.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import nn

from ..plots.search import value_map_frame
from ..search.mazes import Mazes
from ..search.planner import check_iterations
from ..search.probe import RidgeProbe


def thinking_frame(model: nn.Module, probe: RidgeProbe, mazes: Mazes, iteration: int, index: int = 0) -> Figure:
    """The frame after ``iteration`` thinking steps on maze ``index`` of ``mazes``."""
    check_iterations(iteration)
    if not 0 <= index < len(mazes):
        raise ValueError(f"index must be between 0 and {len(mazes) - 1}, got {index}")
    one = mazes[index]
    with torch.no_grad():
        hidden = model.hidden_states(one.inputs, iteration)[-1]
        path = (model.readout(hidden, one.inputs)[0] > 0).float()
    values = probe.value_map(hidden, one.inputs)[0]
    return value_map_frame(one.inputs[0], path, values, one.distances[0], iteration)


def thinking_stepper(model: nn.Module, probe: RidgeProbe, mazes: Mazes, max_iterations: int | None = None):
    """Sliders over iterations (1..``max_iterations``, default 2× the trained count) and mazes."""
    import ipywidgets as w

    from .base import interactive_figure

    top = max_iterations or 2 * model.config.iterations
    controls = {
        "iteration": w.IntSlider(value=1, min=1, max=top, description="iteration", continuous_update=False),
        "index": w.IntSlider(value=0, min=0, max=len(mazes) - 1, description="maze", continuous_update=False),
    }

    def update(iteration: int, index: int) -> Figure:
        return thinking_frame(model, probe, mazes, iteration, index)

    return interactive_figure(update, controls, title="Thinking steps: the path and the value map in the hidden state")
