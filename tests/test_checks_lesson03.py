"""Every lesson-03 check passes the reference solution and fails realistic mistakes with a message
that names them."""

from __future__ import annotations

import pytest
import torch

from mesakit import checks, metrics
from mesakit.diversity import locate_transition, sample_from_pool


# ----------------------------------------------------------------------------- in-context gain
def reference_gain(model, Z, y):
    with torch.no_grad():
        true = metrics.loss(model(Z), y)
        shuffled = Z.clone()
        shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
        return (metrics.loss(model(shuffled), y) - true).item()


def _gain(shuffle, loss=metrics.loss, combine=lambda s, t: s - t):
    def fn(model, Z, y):
        with torch.no_grad():
            return combine(loss(model(shuffle(Z)), y), loss(model(Z), y)).item()

    return fn


def _labels(Z, shifts=1, dims=0):
    out = Z.clone()
    out[:, :-1, -1] = Z[:, :-1, -1].roll(shifts, dims=dims)
    return out


def _inputs(Z):
    out = Z.clone()
    out[:, :-1, :-1] = Z[:, :-1, :-1].roll(1, dims=0)
    return out


def _in_place(model, Z, y):
    true = metrics.loss(model(Z), y)
    Z[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
    return (metrics.loss(model(Z), y) - true).item()


@pytest.mark.parametrize("fn", [reference_gain, metrics.in_context_gain])
@pytest.mark.parametrize("seed", [0, 1])
def test_gain_check_passes_the_reference(fn, seed, capsys):
    checks.check_in_context_gain(fn, seed=seed)
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_gain(_labels, combine=lambda s, t: t - s), "wrong sign"),
        (_gain(lambda Z: Z.roll(1, dims=0)), "whole prompts"),
        (_gain(lambda Z: _labels(Z, dims=1)), "within each prompt"),
        (_gain(lambda Z: _inputs(Z)), "inputs x"),
        (_gain(_labels, loss=lambda p, t: ((p - t) ** 2).mean()), "0.5·MSE"),
        (_gain(_labels, combine=lambda s, t: s / t), "not a ratio"),
        (_gain(lambda Z: _labels(Z, shifts=-1)), "roll by \\+1"),
        (_in_place, "in place"),
    ],
)
def test_gain_check_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_in_context_gain(wrong)


def test_gain_check_reports_a_stub():
    def stub(model, Z, y):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented"):
        checks.check_in_context_gain(stub)


def test_gain_check_wants_a_number():
    with pytest.raises(AssertionError, match="a number"):
        checks.check_in_context_gain(lambda model, Z, y: [0.0])


# ----------------------------------------------------------------------------- pool sampler
def reference_sampler(pool_w, task, batch, generator):
    pick = torch.randint(len(pool_w), (batch,), generator=generator)
    return task.sample(batch, generator, w=pool_w[pick])


def other_order_sampler(pool_w, task, batch, generator):
    # draws the inputs first and the task indices second: a different but correct sampler
    x = task.sample_x((batch, task.n_context + 1), generator)
    pick = torch.randint(len(pool_w), (batch,), generator=generator)
    from mesakit.tasks import build_prompt

    y = torch.einsum("bnd,bd->bn", x, pool_w[pick])
    return build_prompt(x[:, :-1], y[:, :-1], x[:, -1]), y[:, -1]


@pytest.mark.parametrize("fn", [reference_sampler, sample_from_pool, other_order_sampler])
def test_sampler_check_passes_correct_samplers(fn, capsys):
    checks.check_sample_from_pool(fn)
    checks.check_sample_from_pool(fn, seed=3)
    assert "✔" in capsys.readouterr().out


def _fresh(pool_w, task, batch, generator):
    return task.sample(batch, generator)


def _one_task(pool_w, task, batch, generator):
    k = int(torch.randint(len(pool_w), (1,), generator=generator))
    return task.sample(batch, generator, w=pool_w[k].expand(batch, -1).contiguous())


def _unseeded(pool_w, task, batch, generator):
    pick = torch.randint(len(pool_w), (batch,))
    return task.sample(batch, generator, w=pool_w[pick])


def _in_turn(pool_w, task, batch, generator):
    pick = torch.arange(batch) % len(pool_w)
    return task.sample(batch, generator, w=pool_w[pick])


def _first_two(pool_w, task, batch, generator):
    pick = torch.randint(min(2, len(pool_w)), (batch,), generator=generator)  # off by... most of the pool
    return task.sample(batch, generator, w=pool_w[pick])


def _query_target_wrong(pool_w, task, batch, generator):
    Z, y = reference_sampler(pool_w, task, batch, generator)
    return Z, Z[:, 0, -1]  # the first context label instead of the query's target


def _hardcoded_d(pool_w, task, batch, generator):
    from mesakit.tasks import RegressionTask

    return reference_sampler(torch.randn(len(pool_w), 10, generator=generator), RegressionTask(), batch, generator)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_fresh, "fit none of the pool's tasks"),
        (_one_task, "same task"),
        (_unseeded, "not reproducible"),
        (_in_turn, "in turn"),
        (_first_two, "not used uniformly"),
        (_query_target_wrong, "targets y"),
        (_hardcoded_d, "shape"),
        (lambda pool_w, task, batch, generator: reference_sampler(pool_w, task, batch, generator)[0], "pair"),
    ],
)
def test_sampler_check_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_sample_from_pool(wrong)


# ----------------------------------------------------------------------------- the transition
def reference_transition(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    found = None
    for m, v in zip(num_tasks[::-1], loss_fresh[::-1]):
        if v > (1 + tolerance) * gd_loss:
            break
        found = m
    return found


@pytest.mark.parametrize("fn", [reference_transition, locate_transition])
def test_transition_check_passes_the_reference(fn, capsys):
    checks.check_locate_transition(fn)
    assert "✔" in capsys.readouterr().out


def _first_below(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    return next((m for m, v in zip(num_tasks, loss_fresh) if v <= (1 + tolerance) * gd_loss), None)


def _index(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    found = None
    for i in range(len(num_tasks) - 1, -1, -1):
        if loss_fresh[i] > (1 + tolerance) * gd_loss:
            break
        found = i
    return found


def _absolute(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    found = None
    for m, v in zip(num_tasks[::-1], loss_fresh[::-1]):
        if v > gd_loss + tolerance:
            break
        found = m
    return found


def _last_outside(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    outside = [m for m, v in zip(num_tasks, loss_fresh) if v > (1 + tolerance) * gd_loss]
    return outside[-1] if outside else None


def _fixed_tolerance(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    return reference_transition(num_tasks, loss_fresh, gd_loss)


def _never_none(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    found = reference_transition(num_tasks, loss_fresh, gd_loss, tolerance)
    return num_tasks[-1] if found is None else found


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_first_below, "STAYS within tolerance"),
        (_index, "not its position"),
        (_absolute, "relative"),
        (_last_outside, "off by one"),
        (_fixed_tolerance, "`tolerance` argument"),
        (_never_none, "return None"),
        (lambda *a: "16", "expected"),
    ],
)
def test_transition_check_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_locate_transition(wrong)


# ----------------------------------------------------------------------------- the plot
def reference_plot(ax, num_tasks, loss_fresh, loss_pool, gd_loss):
    ax.plot(num_tasks, loss_fresh, "o-", label="new tasks")
    ax.plot(num_tasks, loss_pool, "s-", label="pool tasks")
    ax.axhline(gd_loss, ls="--", label="one GD step")
    ax.set_xscale("log")
    ax.set_xlabel("number of pretraining tasks M")
    ax.set_ylabel("loss (0.5·MSE)")
    ax.legend()


@pytest.mark.parametrize("seed", [0, 2])
def test_plot_check_passes_the_reference(seed, capsys):
    checks.check_plot_sweep(reference_plot, seed=seed)
    assert "✔" in capsys.readouterr().out


def _variant(**change):
    def fn(ax, num_tasks, loss_fresh, loss_pool, gd_loss):
        x = list(range(len(num_tasks))) if change.get("index") else num_tasks
        labels = ("pool tasks", "new tasks") if change.get("swap") else ("new tasks", "pool tasks")
        ax.plot(x, loss_fresh, label=labels[0])
        if not change.get("no_pool"):
            ax.plot(x, loss_pool, label=labels[1])
        if not change.get("no_gd"):
            ax.axhline(gd_loss, label="GD")
        if not change.get("linear"):
            ax.set_xscale("log")
        if not change.get("no_labels"):
            ax.set_xlabel("M")
            ax.set_ylabel("loss")
        if not change.get("no_legend"):
            ax.legend()

    return fn


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_variant(index=True), "list index"),
        (_variant(no_pool=True), "no line shows loss_pool"),
        (_variant(no_gd=True), "axhline"),
        (_variant(linear=True), "log x-axis"),
        (_variant(no_labels=True), "label both axes"),
        (_variant(no_legend=True), "legend"),
        (_variant(swap=True), "swap"),
    ],
)
def test_plot_check_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_plot_sweep(wrong)
