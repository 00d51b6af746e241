"""Every widget of the course, built and driven headless (no browser, no kernel).

Builders are discovered, not listed, so a new lesson's widgets are covered without editing this
file: in every module of ``mesakit/widgets/`` (but ``base``), each public function that calls
``interactive_figure(...)`` is a builder. Each must construct outside Jupyter, carry ``.controls``,
``.update`` and ``.last_figure`` (``widgets.base.interactive_figure`` sets them), and setting its
first slider to a neighbouring value must redraw: a new ``last_figure`` that looks different.

Arguments: a builder is called with its defaults. A required parameter is filled from
``EXAMPLE_ARGUMENTS`` below by its type (a training ``History``, a prompt batch ``Z``, a model);
anything else needs an entry in ``HEADLESS_EXAMPLES`` below (test data lives here, not in the
package): ``"mesakit.widgets.<module>": {"builder_name": lambda: {"param": value, ...}}``.

The per-lesson tests of each pure ``update`` function live with the lesson's own tests.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import io
import pkgutil
import re
from collections.abc import Callable
from types import ModuleType

import pytest
import torch
from matplotlib.figure import Figure

import mesakit.widgets

SKIP_MODULES = {"base"}


def widget_modules() -> list[str]:
    return sorted(
        f"mesakit.widgets.{m.name}"
        for m in pkgutil.iter_modules(mesakit.widgets.__path__)
        if not m.name.startswith("_") and m.name not in SKIP_MODULES
    )


def builders(module: ModuleType) -> list[tuple[str, Callable]]:
    """Public functions of ``module`` (defined there) whose body calls ``interactive_figure``."""
    found = []
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("_") or fn.__module__ != module.__name__:
            continue
        if re.search(r"\binteractive_figure\s*\(", inspect.getsource(fn)):
            found.append((name, fn))
    return found


def _all_builders() -> list[tuple[str, str]]:
    return [(mod, name) for mod in widget_modules() for name, _ in builders(importlib.import_module(mod))]


# ---- arguments for required parameters, by annotated type (small, fast, seeded) ----------------


@functools.cache
def _history():
    from mesakit.core.tasks import RegressionTask
    from mesakit.core.train import TrainConfig, train
    from mesakit.models import LinearSelfAttention, LSAConfig

    torch.manual_seed(0)
    torch.set_num_threads(1)
    task = RegressionTask()
    model = LinearSelfAttention(LSAConfig(d=task.d))
    sample = lambda b, g: task.sample(b, generator=g)  # noqa: E731
    return train(model, sample, TrainConfig(steps=40, batch_size=32, snapshot_every=20, progress=False, seed=0))


@functools.cache
def _prompts():
    from mesakit.core.tasks import RegressionTask

    return RegressionTask().sample(64, seed=0)[0]


@functools.cache
def _model():
    from mesakit.models import LinearSelfAttention, LSAConfig

    torch.manual_seed(0)
    return LinearSelfAttention(LSAConfig())


EXAMPLE_ARGUMENTS: dict[str, Callable[[], object]] = {  # annotation (class name) -> a value
    "History": _history,
    "Tensor": _prompts,
    "Module": _model,
    "LinearSelfAttention": _model,
}


# ---- arguments for builders whose parameters a type cannot tell (small, fast, seeded) -----------


def _zoo_rows() -> list[dict]:
    signals = lambda a, b: {"explained_gain": a, "learning_curve": a, "gd_alignment": b, "scale_consistency": b}  # noqa: E731
    return [
        {"name": "gd", "half": "design", "positive": True, "score": 0.95, "signals": signals(1.0, 0.9)},
        {"name": "nn", "half": "holdout", "positive": False, "score": 0.1, "signals": signals(0.5, 0.0)},
    ]


def _episode_pairs() -> dict:
    from mesakit.core import models
    from mesakit.divergence import goals
    from mesakit.widgets.divergence import episode_pairs

    policy = models.load_pretrained("gridworld_right")
    levels = goals.test_levels
    return {"pairs": episode_pairs(policy, levels(3), levels(3, shifted=True))}


def _thinking_example() -> dict:
    """A small planner, a probe fit on its hidden state and a few mazes."""
    from mesakit.core.seeding import seeded
    from mesakit.search.mazes import generate_mazes
    from mesakit.search.planner import PlannerConfig, RecurrentPlanner
    from mesakit.search.probe import probe_value_map

    with seeded(0):
        model = RecurrentPlanner(PlannerConfig(channels=4, iterations=3)).eval()
    probe, _ = probe_value_map(model, generate_mazes(8, 5, seed=0), generate_mazes(8, 5, seed=1))
    return {"model": model, "probe": probe, "mazes": generate_mazes(3, 5, seed=2)}


# widget module -> builder -> the keyword arguments to build it with
HEADLESS_EXAMPLES: dict[str, dict[str, Callable[[], dict]]] = {
    "mesakit.widgets.detection": {
        "leaderboard": lambda: {"rows": _zoo_rows()},
        "kernel_explorer": lambda: {"Z": _prompts()},
    },
    "mesakit.widgets.divergence": {"episode_viewer": _episode_pairs},
    "mesakit.widgets.emergence": {  # numbers shaped like the sweep's
        "pool_size_explorer": lambda: {
            "sweep": {
                "pool_sizes": [1, 16, None],
                "loss_fresh": [2.2, 1.3, 0.82],
                "loss_pool": [0.004, 0.3, 0.82],
                "gd_loss": 0.82,
                "lsa_rms": [0.15, 0.7, 1.05],
                "memory_rms": [1.75, 1.0, 0.45],
            },
        },
    },
    "mesakit.widgets.search": {"thinking_stepper": _thinking_example},
}


def example_kwargs(module: ModuleType, name: str, fn: Callable) -> tuple[dict, bool]:
    """The arguments to build ``fn`` with, and whether any of them were guessed from a type."""
    examples = HEADLESS_EXAMPLES.get(module.__name__, {})
    if name in examples:
        return dict(examples[name]()), False
    kwargs = {}
    for param in inspect.signature(fn).parameters.values():
        if param.default is not inspect.Parameter.empty or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = (
            param.annotation if isinstance(param.annotation, str) else getattr(param.annotation, "__name__", "")
        )
        maker = next(
            (make for type_name, make in EXAMPLE_ARGUMENTS.items() if re.search(rf"\b{type_name}\b", annotation)), None
        )
        if maker is None:
            pytest.fail(
                f"{module.__name__}.{name}: cannot build it headless, its parameter {param.name!r} "
                f"({annotation or 'no annotation'}) has no default; give it one, or add to tests/test_widgets_headless.py "
                f"HEADLESS_EXAMPLES[{module.__name__!r}] = {{{name!r}: lambda: {{{param.name!r}: ...}}}}",
                pytrace=False,
            )
        kwargs[param.name] = maker()
    return kwargs, bool(kwargs)


# ---- the check ----------------------------------------------------------------------------------


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    return buffer.getvalue()


def first_control(controls: dict):
    """The first slider among the controls (else the first control), with its name."""
    sliders = [(n, c) for n, c in controls.items() if type(c).__name__.endswith("Slider")]
    return (sliders or list(controls.items()) or [(None, None)])[0]


def neighbour(control):
    """A valid value one step away from the control's current value."""
    options = getattr(control, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in options]
        i = values.index(control.value) if control.value in values else 0
        return values[i - 1] if i == len(values) - 1 else values[i + 1]
    if isinstance(control.value, bool):
        return not control.value
    step = getattr(control, "step", None) or 1
    up = control.value + step
    return up if getattr(control, "max", None) is None or up <= control.max else control.value - step


def problems_driving(box, label: str) -> list[str]:
    """What is wrong with ``box`` (an ``interactive_figure``) when its first slider moves."""
    missing = [attr for attr in ("controls", "update", "last_figure") if not hasattr(box, attr)]
    if missing:
        return [
            f"{label} returned {type(box).__name__} without {missing}: build it with widgets.base.interactive_figure"
        ]
    if not isinstance(box.last_figure, Figure):
        return [f"{label}: its first frame is {type(box.last_figure).__name__}, not a matplotlib Figure"]
    name, control = first_control(box.controls)
    if control is None:
        return [f"{label} has no controls"]
    before_fig, before_png = box.last_figure, png(box.last_figure)
    old, new = control.value, neighbour(control)
    if new == old:
        return [f"{label}: its control {name!r} has only one value ({old!r})"]
    control.value = new
    if box.last_figure is before_fig:
        return [f"{label}: setting {name!r} from {old!r} to {new!r} did not redraw (last_figure unchanged)"]
    if png(box.last_figure) == before_png:
        return [f"{label}: setting {name!r} from {old!r} to {new!r} redrew the very same picture"]
    return []


def unlabelled_axes(fig: Figure) -> list[str]:
    """Axes (not colour bars, not hidden) without an x or y label."""
    found = []
    for i, ax in enumerate(fig.axes):
        if not ax.axison or hasattr(ax, "_colorbar") or ax.get_label() == "<colorbar>":
            continue
        title = ax.get_title() or f"axes {i + 1}"
        for axis, text in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if not text.strip() and not _shared_label(fig, ax, axis):
                found.append(f"{title!r} has no {axis} label")
    return found


def _shared_label(fig: Figure, ax, axis: str) -> bool:
    """A panel in a row/column of subplots may rely on its neighbour's or the figure's label."""
    if fig.get_supxlabel() if axis == "x" else fig.get_supylabel():
        return True
    group = ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()
    siblings = [a for a in group.get_siblings(ax) if a is not ax]
    return any((a.get_xlabel() if axis == "x" else a.get_ylabel()).strip() for a in siblings)


# ---- the tests ----------------------------------------------------------------------------------

BUILDERS = _all_builders()


def test_widget_modules_are_found():
    assert "mesakit.widgets.base" not in widget_modules()
    for module in widget_modules():
        importlib.import_module(module)  # every widget module imports cleanly


def test_examples_name_real_builders_and_live_in_the_tests():
    for module in widget_modules():  # the package ships no test data
        assert not hasattr(importlib.import_module(module), "HEADLESS_EXAMPLES"), (
            f"{module}: move HEADLESS_EXAMPLES to this file"
        )
    stale = {(m, n) for m, examples in HEADLESS_EXAMPLES.items() for n in examples} - set(BUILDERS)
    assert not stale, f"HEADLESS_EXAMPLES for builders that do not exist: {sorted(stale)}"


def build(module_name: str, name: str):
    module = importlib.import_module(module_name)
    fn = getattr(module, name)
    kwargs, guessed = example_kwargs(module, name, fn)
    if not guessed:
        return fn(**kwargs)
    try:
        return fn(**kwargs)
    except Exception as err:
        shown = {k: type(v).__name__ + (f" {tuple(v.shape)}" if hasattr(v, "shape") else "") for k, v in kwargs.items()}
        pytest.fail(
            f"{module_name}.{name} raised {type(err).__name__}: {err}\nwhen built with arguments guessed from "
            f"their types {shown}; say how to build it headless in tests/test_widgets_headless.py: "
            f"HEADLESS_EXAMPLES[{module_name!r}] = {{{name!r}: lambda: {{...}}}}",
            pytrace=False,
        )


@pytest.mark.parametrize("module_name, name", BUILDERS, ids=[f"{m.rsplit('.', 1)[1]}.{n}" for m, n in BUILDERS])
def test_widget_builds_headless_and_redraws(module_name, name):
    problems = problems_driving(build(module_name, name), f"{module_name}.{name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module_name, name", BUILDERS, ids=[f"{m.rsplit('.', 1)[1]}.{n}" for m, n in BUILDERS])
def test_widget_figure_has_labelled_axes(module_name, name):
    missing = unlabelled_axes(build(module_name, name).last_figure)
    assert not missing, f"{module_name}.{name}: " + "; ".join(missing) + " (label axes with units)"


# ---- the checker checked ------------------------------------------------------------------------


def _toy_widget(responsive: bool):
    import ipywidgets as w

    from mesakit.plots.style import figure
    from mesakit.widgets.base import interactive_figure

    def update(k: int) -> Figure:
        fig, ax = figure()
        ax.plot([0, 1], [0, k if responsive else 1])
        ax.set(xlabel="x (a.u.)", ylabel="y (a.u.)")
        return fig

    return interactive_figure(update, {"k": w.IntSlider(value=1, min=0, max=3)})


def test_check_passes_a_widget_that_redraws():
    assert problems_driving(_toy_widget(responsive=True), "toy") == []


def test_check_fails_a_slider_that_changes_nothing():
    (problem,) = problems_driving(_toy_widget(responsive=False), "toy")
    assert "redrew the very same picture" in problem and "'k' from 1 to 2" in problem


def test_check_fails_a_box_not_built_by_interactive_figure():
    import ipywidgets as w

    (problem,) = problems_driving(w.VBox([w.IntSlider()]), "plain box")
    assert "interactive_figure" in problem


def test_neighbour_stays_in_range():
    import ipywidgets as w

    assert neighbour(w.IntSlider(value=3, min=0, max=3)) == 2
    assert neighbour(w.FloatSlider(value=0.5, min=0, max=1, step=0.25)) == 0.75
    assert neighbour(w.SelectionSlider(options=[10, 20, 30], value=30)) == 20
    assert neighbour(w.Dropdown(options=[("a", 1), ("b", 2)], value=1)) == 2


def test_unlabelled_axes_are_reported():
    from mesakit.plots.style import figure

    fig, (left, right) = figure(ncols=2)
    left.set(xlabel="x (a.u.)", ylabel="y (a.u.)", title="left")
    right.set(title="right")
    assert unlabelled_axes(fig) == ["'right' has no x label", "'right' has no y label"]
