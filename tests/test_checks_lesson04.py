"""Lesson 04's checks, both ways: the reference passes; realistic mistakes fail with a message
that names the mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesakit import checks
from mesakit.core import metrics, reference
from mesakit.core.tasks import RegressionTask
from mesakit.divergence import gridworld
from mesakit.divergence.gridworld import Level
from mesakit.incontext.lsa import LR_SEED

# --- references (what the solution notebook holds) -------------------------------------------


def shift_losses(model, scale, n_prompts=4000, seed=0, *, old_lr=False, x_only=False, full=False):
    task = RegressionTask(x_scale=scale)
    if x_only:
        Z, y = RegressionTask().sample(n_prompts, seed=seed)
        Z = Z.clone()
        Z[..., :-1] *= scale
    else:
        Z, y = task.sample(n_prompts, seed=seed)
    lr = reference.best_gd_lr(RegressionTask() if old_lr else task, seed=LR_SEED)
    k = 2.0 if full else 1.0
    with torch.no_grad():
        lsa = metrics.loss(model(Z), y).item()
    return {
        "lsa": k * lsa,
        "gd_retuned": k * metrics.loss(reference.gd_predict(Z, lr), y).item(),
        "zero": k * metrics.loss(torch.zeros_like(y), y).item(),
    }


def pursued_goal(episode, *, last_only=False, coin_any_time=False, edge_always=False, edge_col=None):
    """The reference (goal reached first) and, through the flags, realistic mistakes."""
    level = episode.level
    edge = level.shape[1] - 1 if edge_col is None else edge_col
    if coin_any_time and episode.got_coin:
        return "coin"
    edge_is_a_goal = edge_always or level.coin[1] != level.shape[1] - 1
    for pos in episode.positions[-1:] if last_only else episode.positions:
        if pos == level.coin:
            return "coin"
        if edge_is_a_goal and pos[1] >= edge:
            return "edge"
    return "neither"


def goal_rates(policy, levels, seed=0, *, per_level=False, counts=False, greedy=False):
    generator = torch.Generator().manual_seed(seed)
    out = {"coin": 0, "edge": 0, "neither": 0}
    for level in levels:
        g = seed if per_level else generator
        out[gridworld.pursued_goal(gridworld.rollout(policy, level, g, greedy=greedy))] += 1
    return out if counts else {k: v / len(levels) for k, v in out.items()}


def coin_anywhere(level, seed, *, skip_edge=False, ignore_reach=False, allow_start=False):
    rng = np.random.default_rng(seed)
    h, w = level.shape
    reach = gridworld.distances(level.walls, level.start)
    ok = (reach >= 0) if allow_start else (reach > 0)
    if ignore_reach:
        ok = ~level.walls
        ok[level.start] = False
    if skip_edge:
        ok[:, w - 1] = False
    cells = [(int(r), int(c)) for r, c in zip(*np.nonzero(ok))]
    return Level(level.walls, level.start, cells[int(rng.integers(len(cells)))])


# --- shift_losses ------------------------------------------------------------------------------


@pytest.mark.slow
def test_shift_losses_passes_the_reference(capsys):
    checks.check_shift_losses(shift_losses)
    assert "✔" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda m, s, n, seed: shift_losses(m, s, n, seed, old_lr=True), "step size tuned for scale 1"),
        (lambda m, s, n, seed: shift_losses(m, s, n, seed, x_only=True), "labels were not rescaled"),
        (lambda m, s, n, seed: shift_losses(m, s, n, seed, full=True), "0.5·MSE"),
        (
            lambda m, s, n, seed: {**shift_losses(m, s, n, seed), "lsa": shift_losses(m, 1.0, n, seed)["lsa"]},
            "evaluated on unscaled prompts",
        ),
        (lambda m, s, n, seed: {"lsa": 1.0, "gd_retuned": 1.0}, "left out the keys"),
        (lambda m, s, n, seed: [1.0, 2.0, 3.0], "should return a dict"),
    ],
)
def test_shift_losses_names_the_mistake(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_shift_losses(wrong)


def test_shift_losses_stub_fails():
    def stub(model, scale, n_prompts=4000, seed=0):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_shift_losses(stub)


# --- context_losses and critical_step (the context's own loss under the LSA's step) -----------


def context_losses(Z, eta, *, with_query=False, k=0.5, total=False, sum_step=False, means=False):
    rows = Z if with_query else Z[:, :-1]
    x, y = rows[..., :-1], rows[..., -1]
    n = x.shape[1]
    w1 = eta * torch.einsum("bn,bnd->bd", y, x) / (1 if sum_step else n)
    r = (lambda t: t.sum(dim=1)) if total else (lambda t: t.mean(dim=1))
    before, after = k * r(y**2), k * r((torch.einsum("bnd,bd->bn", x, w1) - y) ** 2)
    return (before.mean(), after.mean()) if means else (before, after)


def critical_step(Z, *, with_query=False, factor=2.0, inverted=False):
    rows = Z if with_query else Z[:, :-1]
    x, y = rows[..., :-1], rows[..., -1]
    g = torch.einsum("bn,bnd->bd", y, x) / x.shape[1]
    out = factor * (g * g).sum(dim=1) / (torch.einsum("bnd,bd->bn", x, g) ** 2).mean(dim=1)
    return 1 / out if inverted else out


def test_context_checks_pass_the_reference(capsys):
    checks.check_context_losses(context_losses)
    checks.check_critical_step(critical_step)
    assert capsys.readouterr().out.count("✔") == 2


def test_critical_step_is_where_the_context_loss_turns_worse():
    Z, _ = RegressionTask(x_scale=1.5).sample(50, seed=1)
    eta = critical_step(Z)
    before, at = (
        context_losses(Z, 0, means=False)[0],
        torch.stack([context_losses(Z[i : i + 1], float(eta[i]))[1][0] for i in range(50)]),
    )
    assert torch.allclose(before, at, rtol=1e-3)  # back exactly at L(0)
    for i in range(5):
        below = context_losses(Z[i : i + 1], 0.9 * float(eta[i]))
        above = context_losses(Z[i : i + 1], 1.1 * float(eta[i]))
        assert below[1] < below[0] and above[1] > above[0]


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda Z, eta: context_losses(Z, eta, with_query=True), "the query"),
        (lambda Z, eta: context_losses(Z, eta, total=True), "does not sum"),
        (lambda Z, eta: context_losses(Z, eta, k=1.0), "factor 1/2 is missing"),
        (lambda Z, eta: context_losses(Z, eta, sum_step=True), "divide the sum by N"),
        (lambda Z, eta: context_losses(Z, eta)[::-1], "swapped"),
        (lambda Z, eta: context_losses(Z, eta, means=True), "one loss per prompt"),
        (lambda Z, eta: context_losses(Z, eta)[0], "a pair"),
    ],
)
def test_context_losses_names_the_mistake(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_context_losses(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda Z: critical_step(Z, factor=1.0), "best step"),
        (lambda Z: critical_step(Z, with_query=True), "the query"),
        (lambda Z: critical_step(Z, inverted=True), "upside down"),
        (lambda Z: critical_step(Z).mean(), "one step size per prompt"),
        (lambda Z: critical_step(Z) * 1.3, "differs from the reference"),
    ],
)
def test_critical_step_names_the_mistake(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_critical_step(wrong)


def test_context_stubs_fail():
    def stub(*args):
        raise NotImplementedError()

    for check in (checks.check_context_losses, checks.check_critical_step):
        with pytest.raises(AssertionError, match="not implemented yet"):
            check(stub)


# --- pursued_goal --------------------------------------------------------------------------------


def test_pursued_goal_passes_the_reference(capsys):
    checks.check_pursued_goal(pursued_goal)
    checks.check_pursued_goal(gridworld.pursued_goal)
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda e: pursued_goal(e, last_only=True), "look at every position"),
        (lambda e: pursued_goal(e, coin_any_time=True), "before the coin, so it went for the edge"),
        (
            lambda e: (
                "coin" if e.got_coin else "edge" if any(e.level.on_right_edge(p) for p in e.positions) else "neither"
            ),
            "episode.got_coin ignores the order",
        ),
        (lambda e: pursued_goal(e, edge_always=True), "count the edge only if the coin is off it"),
        (lambda e: pursued_goal(e, edge_col=e.level.shape[1] - 2), "column width - 1"),
        (lambda e: "edge", "expected 'coin'"),
    ],
)
def test_pursued_goal_names_the_mistake(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_pursued_goal(wrong)


# --- goal_rates --------------------------------------------------------------------------------


@pytest.mark.slow
def test_goal_rates_passes_the_reference(capsys):
    checks.check_goal_rates(goal_rates)
    assert "✔" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda p, lv, seed: goal_rates(p, lv, seed, per_level=True), "restarts the random generator"),
        (lambda p, lv, seed: goal_rates(p, lv, seed, counts=True), "counts, not fractions"),
        (lambda p, lv, seed: goal_rates(p, lv, seed, greedy=True), "plays greedily"),
        (lambda p, lv, seed: {"coin": 1.0, "edge": 0.0}, "left out the keys"),
    ],
)
def test_goal_rates_names_the_mistake(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_goal_rates(wrong)


# --- coin_anywhere -----------------------------------------------------------------------------


def test_coin_anywhere_passes_the_reference(capsys):
    checks.check_coin_anywhere(coin_anywhere)
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda lv, s: coin_anywhere(lv, s, skip_edge=True), "never puts the coin on the right edge"),
        (lambda lv, s: coin_anywhere(lv, s, ignore_reach=True), "cannot reach"),
        (lambda lv, s: coin_anywhere(lv, s, allow_start=True), "on the agent's start"),
        (lambda lv, s: coin_anywhere(lv, 0), "never used the reachable cells"),
        (lambda lv, s: Level(np.zeros_like(lv.walls), lv.start, coin_anywhere(lv, s).coin), "changed the walls"),
        (lambda lv, s: coin_anywhere(lv, s).coin, "should return a gridworld Level"),
    ],
)
def test_coin_anywhere_names_the_mistake(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_coin_anywhere(wrong)


def test_the_split_checks_keep_their_0_1_path():
    """checks/lesson04.py became checks/divergence.py + checks/divergence_goals.py (one idea each)."""
    from mesakit.checks import divergence, divergence_goals
    from mesakit.moved import MovedWarning

    with pytest.warns(MovedWarning, match="mesakit.checks.divergence_goals.check_goal_rates"):
        assert divergence.check_goal_rates is divergence_goals.check_goal_rates
    assert checks.check_goal_rates.__wrapped__ is divergence_goals.check_goal_rates
    assert checks.check_shift_losses.__wrapped__ is divergence.check_shift_losses
