"""Every lesson-03 check passes the reference solution and fails realistic mistakes with a message
that names them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesakit import checks
from mesakit.core import metrics
from mesakit.emergence.diversity import locate_transition, sample_from_pool


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
    from mesakit.core.tasks import build_prompt

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
    from mesakit.core.tasks import RegressionTask

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
        (lambda *a: "16", "returned str"),
    ],
)
def test_transition_check_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_locate_transition(wrong)


# ----------------------------------------------------------------------------- reading the transition
# The shipped sweep's figures, rounded (transition 128: 64 is the last pool outside 1.1 × GD).
SHIPPED = {
    "pool_sizes": [1, 2, 4, 8, 16, 32, 64, 128, 256, None],
    "loss_fresh": [2.185, 2.056, 2.012, 1.714, 1.347, 1.039, 0.927, 0.860, 0.835, 0.821],
    "loss_pool": [0.004, 0.008, 0.005, 0.013, 0.293, 0.596, 0.754, 0.806, 0.817, 0.821],
    "gd_loss": 0.8165,
}
DIP = {  # dips into the band at 4, leaves it at 8, stays in from 16; the pool curve meets GD at 32
    "pool_sizes": [1, 2, 4, 8, 16, 32, None],
    "loss_fresh": [2.0, 1.5, 0.85, 1.2, 0.86, 0.84, 0.82],
    "loss_pool": [0.0, 0.0, 0.1, 0.3, 0.6, 0.78, 0.82],
    "gd_loss": 0.8,
}


@pytest.mark.parametrize("answer", [128, 90, 65, 192, 128.0, torch.tensor(128), np.int64(128)])
def test_reading_accepts_the_transition_within_the_tolerance(answer, capsys):
    checks.check_transition_reading(answer, SHIPPED)
    assert "✔" in capsys.readouterr().out


def test_reading_is_graded_on_the_learners_own_sweep(capsys):
    checks.check_transition_reading(16, DIP)
    with pytest.raises(AssertionError, match="too early"):
        checks.check_transition_reading(16, SHIPPED)
    never = dict(SHIPPED, loss_fresh=[v + 0.5 for v in SHIPPED["loss_fresh"]])
    checks.check_transition_reading(None, never)
    with pytest.raises(AssertionError, match="no transition to read: answer None"):
        checks.check_transition_reading(128, never)


@pytest.mark.parametrize(
    "answer, sweep, message",
    [
        (64, SHIPPED, "0.927, above the band .*OWN POOL.*last pool still outside"),  # both readings give 64 here
        (32, DIP, "OWN POOL"),
        (4, DIP, "dips into the band there but leaves it again at M = 8"),
        (8, DIP, "last pool still outside"),
        (7, SHIPPED, "position on the log axis"),
        (256, SHIPPED, "FIRST pool"),
        (512_000, SHIPPED, "fresh-task run saw"),
        (None, SHIPPED, "there is a transition"),
        ("128", SHIPPED, "without quotes"),
        ([128], SHIPPED, "got list"),
        ({"M": 128}, SHIPPED, "got dict"),
        (np.array([64, 128]), SHIPPED, "got ndarray"),
        (0, SHIPPED, "not a pool size"),
    ],
)
def test_reading_names_the_misreading(answer, sweep, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_transition_reading(answer, sweep)


def test_reading_wants_the_sweep_dict():
    with pytest.raises(AssertionError, match="sweep dict"):
        checks.check_transition_reading(128, [1, 2, 4])
