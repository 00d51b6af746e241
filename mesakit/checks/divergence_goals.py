"""Checks of lesson 04 (objective divergence), part 2, goal misgeneralization: one
``check_<exercise>(fn)`` per exercise.

* :func:`check_pursued_goal` — the behavioural test "which goal did the agent reach first?".
* :func:`check_goal_rates` — the shift evaluation: play a policy on many levels, tally the goals.
* :func:`check_coin_anywhere` — the diverse-training fix: a coin that can sit on any reachable cell.

Part 1, the step size as a built-in proxy, is :mod:`mesakit.checks.divergence`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core import models
from ..divergence.gridpolicy import goal_rates
from ..divergence.gridworld import Episode, GridConfig, Level, distances, make_level, pursued_goal, rollout, shift_coin
from .core import call, check_with_references, earlier_fails, passed
from .divergence import close, expect_dict

__all__ = ["check_pursued_goal", "check_goal_rates", "check_coin_anywhere"]

GOALS = ("coin", "edge", "neither")


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
        (
            _episode(coin_mid, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 3)]),
            "edge",
            "touched the right edge and stepped back left",
        ),
        (
            _episode(coin_mid, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (3, 4), (3, 3), (3, 2)]),
            "edge",
            "touched the edge first, then wandered onto the coin",
        ),
        (_episode(coin_mid, [(2, 0), (2, 1), (2, 2), (2, 3)]), "neither", "stopped one column short of the edge"),
        # after the case above, so a wrong edge column is named before this case can blame the coin
        (
            _episode(coin_edge, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (3, 4), (4, 4)]),
            "coin",
            "reached the right edge and walked along it to the coin, which sits on the edge (a training level)",
        ),
        (_episode(coin_mid, [(2, 0), (1, 0), (2, 0), (1, 0)]), "neither", "wandered without reaching either"),
        (_episode(coin_mid, [(2, 0)]), "neither", "made no move at all"),
        # Non-square levels: code that takes the right edge from the height fails here.
        (
            _episode(wide, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (1, 4), (1, 5), (0, 5)]),
            "coin",
            "crossed column 3 of a 4×7 level on its way to the coin (the right edge is column 6)",
        ),
        (_episode(tall, [(3, 0), (3, 1), (3, 2), (3, 3)]), "edge", "reached column 3, the right edge of a 7×4 level"),
    ]


def check_pursued_goal(pursued_goal_fn: Callable) -> None:
    """``pursued_goal(episode) -> "coin" | "edge" | "neither"``: the goal reached first."""
    for episode, expected, about in _goal_cases():
        assert pursued_goal(episode) == expected  # the library agrees with the table
        out = call(pursued_goal_fn, episode, name="pursued_goal")
        if out == expected:
            continue
        path = " -> ".join(map(str, episode.positions))
        if "×" in about:
            hint = (
                "the right edge is column width - 1, and level.shape is (height, width): take the width from "
                "level.shape[1] (this level is not square)"
            )
        elif about.startswith("touched the right edge and stepped back"):
            hint = "the agent reached the right edge at some point: look at every position, not only the last"
        elif about.startswith("touched the edge first"):
            hint = (
                "the agent reached the right edge before the coin, so it went for the edge: walk through the "
                "positions in order and return the first goal reached (episode.got_coin ignores the order)"
            )
        elif about.startswith("reached the right edge and walked"):
            hint = (
                "when the coin is on the right edge the edge is not a separate goal (both point the same way): "
                "count the edge only if the coin is off it"
            )
        elif about.startswith("stopped one column short"):
            hint = "the right edge is column width - 1 (level.shape[1] - 1), not width - 2"
        else:
            hint = (
                "walk through episode.positions in order: 'coin' at the coin, 'edge' at the first right-edge "
                "cell (only when the coin is off the edge), 'neither' if the walk ends first"
            )
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
        out = expect_dict(call(goal_rates_fn, policy, levels, seed, name="goal_rates"), GOALS, "goal_rates")
        expected = goal_rates(policy, levels, seed=seed)
        if all(close(out[k], expected[k]) for k in GOALS):
            continue
        other = goal_rates(twin, levels, seed=seed)
        if all(close(out[k], other[k]) for k in GOALS):
            raise AssertionError(
                "goal_rates ignores its `policy` argument: given one agent it played another (the "
                "notebook's `narrow`?); play the `policy` you are passed"
            )
        n = len(levels)
        if all(close(out[k], expected[k] * n) for k in GOALS):
            raise AssertionError("goal_rates returned counts, not fractions: divide by the number of levels")
        per_level = {k: 0 for k in GOALS}
        greedy = {k: 0 for k in GOALS}
        for level in levels:
            per_level[pursued_goal(rollout(policy, level, seed))] += 1 / n
            greedy[pursued_goal(rollout(policy, level, greedy=True))] += 1 / n
        if all(close(out[k], per_level[k]) for k in GOALS):
            raise AssertionError(
                "goal_rates restarts the random generator for every level (rollout(policy, level, seed)): make one "
                "torch.Generator().manual_seed(seed) before the loop and pass it to every rollout"
            )
        if all(close(out[k], greedy[k]) for k in GOALS):
            raise AssertionError("goal_rates plays greedily (argmax); the agent samples its moves: keep greedy=False")
        if not close(sum(out.values()), 1.0):
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
