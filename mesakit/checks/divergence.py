"""Checks of lesson 04 (objective divergence): one ``check_<exercise>(fn)`` per exercise.

* :func:`check_shift_losses` — the LSA, re-tuned GD and predicting 0 on rescaled inputs.
* :func:`check_context_losses` — the context's own least-squares loss before and after one GD step.
* :func:`check_critical_step` — the largest step that does not make the context's loss worse.
* :func:`check_pursued_goal` — the behavioural test "which goal did the agent reach first?".
* :func:`check_goal_rates` — the shift evaluation: play a policy on many levels, tally the goals.
* :func:`check_coin_anywhere` — the diverse-training fix: a coin that can sit on any reachable cell.

Each builds fixed-seed inputs, compares with mesakit's own implementation and, when they differ,
names the likely mistake by matching known wrong implementations.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import torch

from ..core import metrics, models, reference
from ..incontext.lsa import LR_SEED
from ..divergence.gridpolicy import goal_rates
from ..divergence.gridworld import Episode, GridConfig, Level, distances, make_level, pursued_goal, rollout, shift_coin
from ..core.tasks import RegressionTask
from .core import call, check_with_references, earlier_fails, expect_close, expect_number, expect_tensor, passed

__all__ = ["check_shift_losses", "check_context_losses", "check_critical_step", "check_pursued_goal", "check_goal_rates", "check_coin_anywhere"]

SHIFT_KEYS = ("lsa", "gd_retuned", "zero")
GOALS = ("coin", "edge", "neither")


def _as_dict(out, keys, name: str) -> dict[str, float]:
    if not isinstance(out, dict):
        raise AssertionError(f"{name} should return a dict with keys {list(keys)}, got {type(out).__name__}")
    if set(out) < set(keys):
        missing = sorted(set(keys) - set(out))
        raise AssertionError(f"{name} left out the keys {missing}: every key needs a value, even when it is 0")
    if set(out) != set(keys):
        raise AssertionError(f"{name} should return exactly the keys {list(keys)}, got {sorted(map(str, out))}")
    return {k: expect_number(out[k], f"{name}()[{k!r}]") for k in keys}


def _close(a: float, b: float, rtol: float = 1e-4) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-6)


# ---------------------------------------------------------------------------------------------
# 1. A built-in proxy: the step size


@functools.lru_cache(maxsize=8)
def _best_lr(scale: float) -> float:
    return reference.best_gd_lr(RegressionTask(x_scale=scale), seed=LR_SEED)


def _shift_reference(model, scale: float, n_prompts: int, seed: int) -> dict[str, float]:
    task = RegressionTask(x_scale=scale)
    Z, y = task.sample(n_prompts, seed=seed)
    lr = _best_lr(scale)
    with torch.no_grad():
        lsa = metrics.loss(model(Z), y).item()
    return {"lsa": lsa, "gd_retuned": metrics.loss(reference.gd_predict(Z, lr), y).item(),
            "zero": metrics.loss(torch.zeros_like(y), y).item()}  # fmt: skip


def _shift_mistakes(model, scale: float, n_prompts: int, seed: int) -> list[tuple[str, float, str]]:
    """Known mistakes as (key, the value it produces, message)."""
    Z, y = RegressionTask(x_scale=scale).sample(n_prompts, seed=seed)
    Z1, y1 = RegressionTask().sample(n_prompts, seed=seed)
    old_lr = _best_lr(1.0)
    with torch.no_grad():
        unscaled_lsa = metrics.loss(model(Z1), y1).item()
        lsa_wrong_target = metrics.loss(model(Z), y1).item()
    return [
        ("gd_retuned", metrics.loss(reference.gd_predict(Z, old_lr), y).item(),
         "gd_retuned uses the step size tuned for scale 1: run best_gd_lr on the rescaled task "
         "(RegressionTask(x_scale=scale)) so GD gets a fair, re-tuned step"),
        ("zero", metrics.loss(torch.zeros_like(y1), y1).item(),
         "the labels were not rescaled with the inputs: sample from RegressionTask(x_scale=scale) so that "
         "y = w·x is computed from the scaled inputs"),
        ("lsa", unscaled_lsa, "the LSA was evaluated on unscaled prompts: feed it the same rescaled prompts as GD"),
        ("lsa", lsa_wrong_target, "the LSA's predictions were compared with unscaled targets: use the y that "
         "came with the rescaled prompts"),
        ("zero", 2 * metrics.loss(torch.zeros_like(y), y).item(),
         "the losses are twice too large: the course's loss is 0.5·MSE (mesakit.core.metrics.loss)"),
    ]  # fmt: skip


def check_shift_losses(shift_losses_fn: Callable) -> None:
    """``shift_losses(model, scale, n_prompts, seed) -> {"lsa", "gd_retuned", "zero"}``.

    Two different models (the lesson's LSA and one trained with another seed), so code that reads
    the notebook's ``lsa`` instead of its ``model`` argument fails."""
    lsa, other = models.load_pretrained("lsa_1layer"), models.load_pretrained("zoo_lsa_trained_seed1")
    for model, twin, scale, n, seed in ((lsa, other, 2.5, 2000, 0), (other, lsa, 1.7, 1500, 7)):
        out = _as_dict(call(shift_losses_fn, model, scale, n, seed, name="shift_losses"), SHIFT_KEYS, "shift_losses")
        expected = _shift_reference(model, scale, n, seed)
        if all(_close(out[k], expected[k]) for k in SHIFT_KEYS):
            continue
        if not _close(out["lsa"], expected["lsa"]) and _close(out["lsa"], _shift_reference(twin, scale, n, seed)["lsa"]):
            raise AssertionError("shift_losses ignores its `model` argument: it scored another model (the notebook's "
                                 "`lsa`?) when given a different one; evaluate the `model` you are passed")
        for key, value, message in _shift_mistakes(model, scale, n, seed):
            if not _close(out[key], expected[key]) and _close(out[key], value):
                raise AssertionError(f"shift_losses at scale {scale}: {message}")
        key = next(k for k in SHIFT_KEYS if not _close(out[k], expected[k]))
        raise AssertionError(
            f"shift_losses at scale {scale}, n_prompts={n}, seed={seed}: {key!r} is {out[key]:.6g}, expected "
            f"{expected[key]:.6g}. Draw the prompts with RegressionTask(x_scale=scale).sample(n_prompts, seed=seed) "
            f"and the step size with reference.best_gd_lr(task, seed=LR_SEED)"
        )
    passed("shift_losses: at scale 2.5 the LSA's frozen step is far worse than predicting 0, re-tuned GD is not")


def _context(Z: torch.Tensor, with_query: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    rows = Z if with_query else Z[:, :-1]
    return rows[..., :-1].double(), rows[..., -1].double()


def _context_losses(Z: torch.Tensor, eta: float, with_query=False, k=0.5, mean=True, grad_mean=True):
    """The reference (defaults) and, through the flags, realistic mistakes."""
    x, y = _context(Z, with_query)
    g = torch.einsum("bn,bnd->bd", y, x) / (x.shape[1] if grad_mean else 1)
    reduce = (lambda t: t.mean(dim=1)) if mean else (lambda t: t.sum(dim=1))
    after = k * reduce((torch.einsum("bnd,bd->bn", x, eta * g) - y) ** 2)
    return k * reduce(y**2), after


def _critical_step(Z: torch.Tensor, with_query=False, factor=2.0) -> torch.Tensor:
    x, y = _context(Z, with_query)
    g = torch.einsum("bn,bnd->bd", y, x) / x.shape[1]
    return factor * (g * g).sum(dim=1) / (torch.einsum("bnd,bd->bn", x, g) ** 2).mean(dim=1)


def _context_prompts() -> list[tuple[torch.Tensor, float]]:
    """float32 and float64 prompts, two context lengths."""
    return [(RegressionTask(x_scale=2.0).sample(64, seed=3)[0], 1.5),
            (RegressionTask(n_context=7).sample(32, seed=8)[0], 0.7),
            (RegressionTask(n_context=13, x_scale=1.3).sample(16, seed=9)[0].double(), 1.1)]  # fmt: skip


def check_context_losses(context_losses_fn: Callable) -> None:
    """``context_losses(Z, eta) -> (before (B,), after (B,))``: the context's loss at 0 and after one step."""
    for Z, eta in _context_prompts():
        out = call(context_losses_fn, Z, eta, name="context_losses")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            what = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list)) else type(out).__name__
            raise AssertionError(f"context_losses should return a pair (before, after), got {what}")
        before, after = _context_losses(Z, eta)
        wrong = [
            (_context_losses(Z, eta, with_query=True), "the last row of Z is the query (its label is a 0 placeholder): "
             "the context is Z[:, :-1], N pairs"),
            (_context_losses(Z, eta, mean=False), "L averages over the N context pairs (1/(2N)·Σ), it does not sum"),
            (_context_losses(Z, eta, k=1.0), "the loss is 1/(2N)·Σ (w·x_i − y_i)²: the factor 1/2 is missing"),
            (_context_losses(Z, eta, grad_mean=False), "the step is w1 = eta·(1/N)·Σ y_i x_i: divide the sum by N"),
            ((after, before), "before and after are swapped: return (L at w = 0, L at w1)"),
        ]  # fmt: skip
        for i, (name, ref) in enumerate((("before", before), ("after", after))):
            got = expect_tensor(out[i], ref.shape, f"context_losses()[{i}] ({name})", "one loss per prompt, shape (B,)")
            expect_close(got, ref, f"context_losses()[{i}] ({name})",
                         [(w[i], message) for w, message in wrong], rtol=1e-4)  # fmt: skip
    passed("context_losses: at scale 2 the LSA's step makes the context's own loss worse on most prompts")


def check_critical_step(critical_step_fn: Callable) -> None:
    """``critical_step(Z) -> (B,)``: the step size at which one GD step brings L back to L(0)."""
    for Z, _ in _context_prompts():
        out = call(critical_step_fn, Z, name="critical_step")
        ref = _critical_step(Z)
        expect_close(expect_tensor(out, ref.shape, "critical_step", "one step size per prompt, shape (B,)"), ref,
                     "critical_step", [
                         (_critical_step(Z, factor=1.0), "this is the best step along g (where L is lowest); "
                          "L(η·g) − L(0) is a parabola in η that is back at 0 at twice that step"),
                         (_critical_step(Z, with_query=True), "the last row of Z is the query: use only the N "
                          "context pairs Z[:, :-1]"),
                         (1 / _critical_step(Z), "the fraction is upside down: η_c = 2‖g‖² / ((1/N)·Σ (g·x_i)²)"),
                     ], rtol=1e-4)  # fmt: skip
    passed("critical_step: the largest step that does not make the context's loss worse")


# ---------------------------------------------------------------------------------------------
# 2. Goal misgeneralization


def _corridor(coin: tuple[int, int]) -> Level:
    walls = np.zeros((5, 5), dtype=bool)
    walls[0, 1:4] = True
    return Level(walls, (2, 0), coin)


def _episode(level: Level, positions: list[tuple[int, int]]) -> Episode:
    return Episode(level, positions, [0] * (len(positions) - 1), got_coin=positions[-1] == level.coin)


def _goal_cases() -> list[tuple[Episode, str, str]]:
    """(episode, expected answer, what the case is about)."""
    coin_mid = _corridor((3, 2))
    coin_edge = _corridor((4, 4))  # a training level: the coin on the right edge
    wide = Level(np.zeros((4, 7), dtype=bool), (2, 0), (0, 5))  # 4 rows, 7 columns
    tall = Level(np.zeros((7, 4), dtype=bool), (3, 0), (5, 1))  # 7 rows, 4 columns
    return [
        (_episode(coin_mid, [(2, 0), (2, 1), (3, 1), (3, 2)]), "coin", "collected the coin"),
        (_episode(coin_mid, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4)]), "edge", "ran to the right edge past the coin"),
        (_episode(coin_mid, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 3)]), "edge",
         "touched the right edge and stepped back left"),
        (_episode(coin_mid, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (3, 4), (3, 3), (3, 2)]), "edge",
         "touched the edge first, then wandered onto the coin"),
        (_episode(coin_mid, [(2, 0), (2, 1), (2, 2), (2, 3)]), "neither", "stopped one column short of the edge"),
        # after the case above, so a wrong edge column is named before this case can blame the coin
        (_episode(coin_edge, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (3, 4), (4, 4)]), "coin",
         "reached the right edge and walked along it to the coin, which sits on the edge (a training level)"),
        (_episode(coin_mid, [(2, 0), (1, 0), (2, 0), (1, 0)]), "neither", "wandered without reaching either"),
        (_episode(coin_mid, [(2, 0)]), "neither", "made no move at all"),
        # Non-square levels: code that takes the right edge from the height fails here.
        (_episode(wide, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (1, 4), (1, 5), (0, 5)]), "coin",
         "crossed column 3 of a 4×7 level on its way to the coin (the right edge is column 6)"),
        (_episode(tall, [(3, 0), (3, 1), (3, 2), (3, 3)]), "edge", "reached column 3, the right edge of a 7×4 level"),
    ]  # fmt: skip


def check_pursued_goal(pursued_goal_fn: Callable) -> None:
    """``pursued_goal(episode) -> "coin" | "edge" | "neither"``: the goal reached first."""
    for episode, expected, about in _goal_cases():
        assert pursued_goal(episode) == expected  # the library agrees with the table
        out = call(pursued_goal_fn, episode, name="pursued_goal")
        if out == expected:
            continue
        path = " -> ".join(map(str, episode.positions))
        if "×" in about:
            hint = ("the right edge is column width - 1, and level.shape is (height, width): take the width from "
                    "level.shape[1] (this level is not square)")
        elif about.startswith("touched the right edge and stepped back"):
            hint = "the agent reached the right edge at some point: look at every position, not only the last"
        elif about.startswith("touched the edge first"):
            hint = ("the agent reached the right edge before the coin, so it went for the edge: walk through the "
                    "positions in order and return the first goal reached (episode.got_coin ignores the order)")
        elif about.startswith("reached the right edge and walked"):
            hint = ("when the coin is on the right edge the edge is not a separate goal (both point the same way): "
                    "count the edge only if the coin is off it")
        elif about.startswith("stopped one column short"):
            hint = "the right edge is column width - 1 (level.shape[1] - 1), not width - 2"
        else:
            hint = ("walk through episode.positions in order: 'coin' at the coin, 'edge' at the first right-edge "
                    "cell (only when the coin is off the edge), 'neither' if the walk ends first")
        raise AssertionError(
            f"pursued_goal returned {out!r} for an agent that {about} (path {path}, coin at "
            f"{episode.level.coin}); expected {expected!r}: {hint}"
        )
    passed("pursued_goal tells coin-seekers from edge-runners by the goal they reach first")


def _check_levels() -> list[Level]:
    """Shifted levels (coin off the edge): the narrow policy's outcomes vary there, so sampling
    mistakes show."""
    rng = np.random.default_rng(405)  # a draw where per-level seeding and greedy play both change the tally
    return [shift_coin(make_level(GridConfig(), rng), rng) for _ in range(30)]


def check_goal_rates(goal_rates_fn: Callable, uses: Callable | None = None) -> None:
    """``goal_rates(policy, levels, seed) -> {"coin", "edge", "neither"}`` (fractions).

    Two policies (the lesson's narrow one and the diversely trained one), so code that reads the
    notebook's ``narrow`` fails. ``uses``: the learner's ``pursued_goal``, if their ``goal_rates``
    calls it; when that fails its own check, ``goal_rates`` is tested with the reference in its place.
    """
    earlier = earlier_fails(check_pursued_goal, uses)
    if earlier is not None:
        check_with_references(check_goal_rates, goal_rates_fn, [(uses, pursued_goal)], "goal_rates", "pursued_goal")
        return
    narrow, diverse = models.load_pretrained("gridworld_right"), models.load_pretrained("gridworld_anywhere")
    levels = _check_levels()
    for policy, twin, seed in ((narrow, diverse, 0), (diverse, narrow, 5)):
        out = _as_dict(call(goal_rates_fn, policy, levels, seed, name="goal_rates"), GOALS, "goal_rates")
        expected = goal_rates(policy, levels, seed=seed)
        if all(_close(out[k], expected[k]) for k in GOALS):
            continue
        other = goal_rates(twin, levels, seed=seed)
        if all(_close(out[k], other[k]) for k in GOALS):
            raise AssertionError("goal_rates ignores its `policy` argument: given one agent it played another (the "
                                 "notebook's `narrow`?); play the `policy` you are passed")
        n = len(levels)
        if all(_close(out[k], expected[k] * n) for k in GOALS):
            raise AssertionError("goal_rates returned counts, not fractions: divide by the number of levels")
        per_level = {k: 0 for k in GOALS}
        greedy = {k: 0 for k in GOALS}
        for level in levels:
            per_level[pursued_goal(rollout(policy, level, seed))] += 1 / n
            greedy[pursued_goal(rollout(policy, level, greedy=True))] += 1 / n
        if all(_close(out[k], per_level[k]) for k in GOALS):
            raise AssertionError(
                "goal_rates restarts the random generator for every level (rollout(policy, level, seed)): make one "
                "torch.Generator().manual_seed(seed) before the loop and pass it to every rollout"
            )
        if all(_close(out[k], greedy[k]) for k in GOALS):
            raise AssertionError("goal_rates plays greedily (argmax); the agent samples its moves: keep greedy=False")
        if not _close(sum(out.values()), 1.0):
            raise AssertionError(f"the three rates should sum to 1, they sum to {sum(out.values()):.4g}")
        raise AssertionError(
            f"goal_rates(seed={seed}) gave {out}, expected {expected}: play every level in order with "
            "rollout(policy, level, generator), one generator for all, and classify each with pursued_goal"
        )
    passed("goal_rates: the shift evaluation matches the reference on 30 levels, two agents and two seeds")


def _eligible(level: Level) -> set[tuple[int, int]]:
    reach = distances(level.walls, level.start)
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(reach > 0))}


def check_coin_anywhere(coin_anywhere_fn: Callable) -> None:
    """``coin_anywhere(level, seed) -> Level``: same walls and start, coin on a random reachable cell."""
    rng = np.random.default_rng(4)
    levels = [make_level(GridConfig(), rng) for _ in range(3)]
    walled = np.zeros((5, 5), dtype=bool)
    walled[0, 3] = walled[1, 4] = True  # (0, 4) is free but walled in: never a valid coin cell
    cut_off = Level(walled, (2, 0), (4, 4))
    wide = make_level(GridConfig(height=4, width=9, wall_density=0.2), np.random.default_rng(11))  # not square
    for level in levels + [cut_off, wide]:
        eligible = _eligible(level)
        seen = set()
        for seed in range(400):
            out = call(coin_anywhere_fn, level, seed, name="coin_anywhere")
            if not isinstance(out, Level):
                raise AssertionError(f"coin_anywhere should return a gridworld Level, got {type(out).__name__}")
            if not np.array_equal(out.walls, level.walls) or out.start != level.start:
                raise AssertionError("coin_anywhere changed the walls or the start: move only the coin")
            coin = tuple(int(v) for v in out.coin)
            if coin == level.start:
                raise AssertionError("coin_anywhere put the coin on the agent's start: exclude the start cell")
            if not level.free(coin):
                raise AssertionError(f"coin_anywhere put the coin on a wall or off the grid at {coin}")
            if coin not in eligible:
                raise AssertionError(
                    f"coin_anywhere put the coin at {coin}, which the agent cannot reach: keep only cells with "
                    "distances(level.walls, level.start) > 0"
                )
            seen.add(coin)
        again = call(coin_anywhere_fn, level, 7, name="coin_anywhere").coin
        if tuple(again) != tuple(call(coin_anywhere_fn, level, 7, name="coin_anywhere").coin):
            raise AssertionError("coin_anywhere is not deterministic: draw from np.random.default_rng(seed)")
        missing = eligible - seen
        if missing:
            edge = [c for c in missing if level.on_right_edge(c)]
            if edge and len(edge) == len(missing):
                raise AssertionError(
                    "coin_anywhere never puts the coin on the right edge: 'anywhere' includes the old place too, "
                    "otherwise the agent never learns to fetch it there"
                )
            raise AssertionError(
                f"in 400 draws coin_anywhere never used the reachable cells {sorted(missing)[:5]}: every reachable "
                "cell other than the start should be possible (draw uniformly from them)"
            )
    _check_uniform(coin_anywhere_fn)
    passed("coin_anywhere covers every reachable cell, equally often, never the start, never a wall")


def _check_uniform(coin_anywhere_fn: Callable, draws: int = 1200) -> None:
    """A chi-squared test that every reachable cell is equally likely (a sampler that reaches every
    cell can still favour some: e.g. a row first, then a cell in it)."""
    walls = np.zeros((4, 6), dtype=bool)
    walls[0, :5] = walls[1, 1:5] = walls[2, 2:5] = True  # rows with 1, 2, 3 and 6 free cells
    level = Level(walls, (3, 0), (3, 5))
    eligible = sorted(_eligible(level))
    counts = {cell: 0 for cell in eligible}
    for seed in range(draws):
        counts[tuple(int(v) for v in call(coin_anywhere_fn, level, seed, name="coin_anywhere").coin)] += 1
    expected = draws / len(eligible)
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    if chi2 > 35.0:  # 10 degrees of freedom: p < 0.0002 for a uniform sampler
        top = max(counts, key=counts.get)
        raise AssertionError(
            f"coin_anywhere does not pick the cells equally often: in {draws} draws on a level with "
            f"{len(eligible)} reachable cells, {top} came up {counts[top]} times (about {expected:.0f} each expected). "
            "Draw one index uniformly from the list of all reachable cells"
        )
