"""The inner-loop explorer of lesson 01: sliders for the number of inner steps K, the inner step size
η and the prompt; the figure shows the hand-built mesa optimizer's context loss falling step by step
inside one forward pass, and its prediction of the query moving towards the answer (or diverging).

:func:`inner_loop_frame` is the pure update (tested headless); :func:`inner_loop_explorer` wraps it
with :func:`mesakit.widgets.base.interactive_figure`.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..core.tasks import RegressionTask, check_prompts
from ..plots.inner import inner_loop


def inner_loop_frame(Z: torch.Tensor, y_q: torch.Tensor, K: int, lr: float, prompt: int = 0) -> Figure:
    """The figure for ``K`` inner steps of size ``lr`` on prompt ``prompt`` of ``Z (B, N+1, d+1)``."""
    return inner_loop(Z, y_q, lr, K, index=prompt)


def inner_loop_explorer(
    Z: torch.Tensor | None = None,
    y_q: torch.Tensor | None = None,
    K: int = 5,
    lr: float = 0.5,
    prompt: int = 0,
    max_K: int = 30,
    seed: int = 4,
):
    """Sliders for K (0..``max_K``), η and the prompt above :func:`inner_loop_frame`. Without
    ``Z``/``y_q``, five prompts of the default task are drawn with ``seed`` (the default seed's first
    prompt shows the prediction travelling a long way towards its target)."""
    import ipywidgets as w

    from .base import interactive_figure

    if Z is None or y_q is None:
        Z, y_q = RegressionTask().sample(5, seed=seed, dtype=torch.float64)
    check_prompts(Z)
    if not 0 <= prompt < Z.shape[0]:
        raise ValueError(f"prompt must be in [0, {Z.shape[0]}), got {prompt}")
    if y_q.shape != (Z.shape[0],):
        raise ValueError(f"y_q must have shape (B,) = ({Z.shape[0]},), got {tuple(y_q.shape)}")
    style = {"description_width": "initial"}
    controls = {
        "K": w.IntSlider(value=K, min=0, max=max_K, description="inner steps K", continuous_update=False, style=style),
        "lr": w.FloatSlider(
            value=lr, min=0.05, max=3.0, step=0.05, description="step size η", continuous_update=False, style=style
        ),
        "prompt": w.IntSlider(
            value=prompt, min=0, max=Z.shape[0] - 1, description="prompt", continuous_update=False, style=style
        ),
    }

    def update(K: int, lr: float, prompt: int) -> Figure:
        return inner_loop_frame(Z, y_q, K, lr, prompt)

    return interactive_figure(update, controls, title="Inside one forward pass: the mesa optimizer's inner loop")
