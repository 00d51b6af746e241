"""Lesson 01's figures (mesakit.plots.inner) and the inner-loop explorer (mesakit.widgets.inner),
headless: every function returns a Figure with labelled axes, and bad input gets a clear error."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from mesakit.core.tasks import RegressionTask
from mesakit.inner import handbuilt
from mesakit.plots import inner
from mesakit.widgets.inner import inner_loop_explorer, inner_loop_frame


def _labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel(), f"unlabelled axes in {ax.get_title()!r}"


@pytest.fixture(scope="module")
def prompts():
    return RegressionTask().sample(5, seed=0, dtype=torch.float64)


def test_gd_path():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 2, generator=g, dtype=torch.float64) * 2 - 1
    y = x @ torch.tensor([1.0, -0.5], dtype=torch.float64)
    path = torch.cat([handbuilt.gradient_descent(x[None], y[None], 1.0, k) for k in range(11)])
    fig = inner.gd_path(x, y, path, lr=1.0)
    _labelled(fig)
    assert len(fig.axes) == 2 and "lr = 1" in fig.axes[1].get_title()


def test_gd_path_survives_a_diverging_path():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    path = torch.cat([handbuilt.gradient_descent(x[None], y[None], 5.0, k) for k in range(6)])
    _labelled(inner.gd_path(x, y, path))


@pytest.mark.parametrize(
    "x, y, path, message",
    [
        (torch.zeros(5, 3), torch.zeros(5), torch.zeros(2, 3), "2-D problem"),
        (torch.zeros(5, 2), torch.zeros(5), torch.zeros(2, 3), r"path must have shape \(steps\+1, 2\)"),
    ],
)
def test_gd_path_bad_input(x, y, path, message):
    with pytest.raises(ValueError, match=message):
        inner.gd_path(x, y, path)


def test_inner_loop_shows_loss_and_prediction(prompts):
    Z, y = prompts
    fig = inner.inner_loop(Z, y, 0.5, 6, index=2)
    _labelled(fig)
    left, right = fig.axes
    assert "falls" in left.get_title() and "K = 6" in right.get_title()
    assert len(left.lines[0].get_xdata()) == 7  # k = 0..K
    # the plotted prediction after K steps is the model's
    assert right.lines[0].get_ydata()[-1] == pytest.approx(handbuilt.inner_run(Z[2:3], 0.5, 6)[1][-1, 0].item())


def test_inner_loop_divergence_and_k_zero(prompts):
    Z, y = prompts
    assert "diverges" in inner.inner_loop(Z, y, 3.0, 30).axes[0].get_title()
    _labelled(inner.inner_loop(Z, y, 0.5, 0))
    with pytest.raises(ValueError, match="index must be in"):
        inner.inner_loop(Z, y, 0.5, 3, index=5)


def test_step_size_learning():
    fig = inner.step_size_learning({1: [0.1, 0.5, 1.0], 3: [0.1, 0.4, 0.9]}, {1: 1.5, 3: 1.45})
    _labelled(fig)
    assert len(fig.axes[0].lines) == 4
    with pytest.raises(ValueError, match="trajectories is empty"):
        inner.step_size_learning({}, {})


def test_two_objectives_marks_both_minima():
    lrs = torch.linspace(0.1, 2.0, 20)
    fig = inner.two_objectives(lrs, (lrs - 1.5) ** 2, (lrs - 1.2) ** 2, K=1, learned=1.48)
    _labelled(fig)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("base objective" in l for l in labels) and any("mesa objective" in l for l in labels)
    assert any("learned by SGD" in l for l in labels)
    with pytest.raises(ValueError, match="same length"):
        inner.two_objectives(lrs, lrs[:-1], lrs)


def test_context_shuffle():
    fig = inner.context_shuffle(["mesa", "zero"], [0.8, 1.7], [2.5, 1.7])
    _labelled(fig)
    assert len(fig.axes[0].patches) == 4
    with pytest.raises(ValueError, match="equal length"):
        inner.context_shuffle(["a"], [1.0, 2.0], [1.0])


# ---------------------------------------------------------------- the widget


def test_update_function_is_pure_and_headless(prompts):
    Z, y = prompts
    before = Z.clone()
    fig = inner_loop_frame(Z, y, K=4, lr=0.7, prompt=1)
    _labelled(fig)
    assert torch.equal(Z, before)
    assert "K = 4, η = 0.70" in fig.axes[1].get_title()


def test_widget_redraws_when_a_control_moves():
    box = inner_loop_explorer(K=3, lr=0.5)
    assert set(box.controls) == {"K", "lr", "prompt"}
    first = box.last_figure
    assert "K = 3" in first.axes[1].get_title()
    box.controls["K"].value = 12
    assert box.last_figure is not first and "K = 12" in box.last_figure.axes[1].get_title()
    box.controls["lr"].value = 1.0
    assert "η = 1.00" in box.last_figure.axes[1].get_title()
    box.controls["prompt"].value = 4


def test_widget_bad_input(prompts):
    Z, y = prompts
    with pytest.raises(ValueError, match=r"y_q must have shape \(B,\)"):
        inner_loop_explorer(Z, y[:-1])
    with pytest.raises(ValueError, match="prompt must be in"):
        inner_loop_explorer(Z, y, prompt=7)
