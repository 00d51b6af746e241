"""Lesson 04 mutants: mistakes a learner makes in 1.1 (shift evaluation), 1.2 (context losses), 1.3
(critical step), 2.1 (pursued goal), 2.2 (goal rates) and 3.1 (coin anywhere), and correct
alternatives written differently from the reference."""

from __future__ import annotations

import numpy as np
import torch

from mesakit import models
from mesakit.core import reference
from mesakit.core.tasks import RegressionTask
from mesakit.divergence import gridworld
from mesakit.divergence.gridworld import Level
from mesakit.incontext.lsa import LR_SEED

from . import Mutant

# ---------------------------------------------------------------------------------------------
# 1.1 shift_losses


def shift(model, scale, n_prompts=4000, seed=0, *, old_lr=False, half=True, unscaled_y=False, global_model=False):
    task = RegressionTask(x_scale=scale)
    Z, y = task.sample(n_prompts, seed=seed)
    if unscaled_y:
        y = RegressionTask().sample(n_prompts, seed=seed)[1]
    lr = reference.best_gd_lr(RegressionTask() if old_lr else task, seed=LR_SEED)
    if global_model:
        model = models.load_pretrained("lsa_1layer")  # the notebook's `lsa`, whatever model was passed
    k = 0.5 if half else 1.0
    loss = lambda p: k * ((p.double() - y.double()) ** 2).mean().item()  # noqa: E731
    with torch.no_grad():
        return {
            "lsa": loss(model(Z)),
            "gd_retuned": loss(reference.gd_predict(Z, lr)),
            "zero": loss(torch.zeros_like(y)),
        }


def shift_numpy(model, scale, n_prompts=4000, seed=0):  # valid: NumPy float32 values
    return {k: np.float32(v) for k, v in shift(model, scale, n_prompts, seed).items()}


# ---------------------------------------------------------------------------------------------
# 1.2 context_losses and 1.3 critical_step


def ctx(Z, eta, *, rows=-1, half=0.5, reduce="mean", swap=False, numpy=False):
    x, y = (Z[:, :rows, :-1], Z[:, :rows, -1]) if rows else (Z[..., :-1], Z[..., -1])
    n = x.shape[1]
    w1 = eta * torch.einsum("bn,bnd->bd", y, x) / n
    red = (lambda t: t.mean(1)) if reduce == "mean" else (lambda t: t.sum(1))  # noqa: E731
    before, after = half * red(y**2), half * red((torch.einsum("bnd,bd->bn", x, w1) - y) ** 2)
    out = (after, before) if swap else (before, after)
    return tuple(t.numpy() for t in out) if numpy else out


def ctx_loops(Z, eta):  # valid: loops, lists
    before, after = [], []
    for b in range(Z.shape[0]):
        x, y = Z[b, :-1, :-1], Z[b, :-1, -1]
        g = sum(y[i] * x[i] for i in range(len(y))) / len(y)
        before.append(sum(0.5 * y[i] ** 2 for i in range(len(y))) / len(y))
        after.append(sum(0.5 * (eta * g @ x[i] - y[i]) ** 2 for i in range(len(y))) / len(y))
    return [torch.stack(before), torch.stack(after)]


def crit(Z, *, rows=-1, factor=2.0, upside_down=False, sum_n=False):
    x, y = (Z[:, :rows, :-1], Z[:, :rows, -1]) if rows else (Z[..., :-1], Z[..., -1])
    g = torch.einsum("bn,bnd->bd", y, x) / x.shape[1]
    gx2 = torch.einsum("bnd,bd->bn", x, g) ** 2
    curv = gx2.sum(1) if sum_n else gx2.mean(1)
    out = factor * (g * g).sum(1) / curv
    return 1 / out if upside_down else out


def crit_matmul(Z):  # valid: the curvature as gᵀ(XᵀX/N)g, in float64
    x, y = Z[:, :-1, :-1].double(), Z[:, :-1, -1].double()
    n = x.shape[1]
    g = (x.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1) / n
    H = x.transpose(1, 2) @ x / n
    return 2 * (g * g).sum(1) / torch.einsum("bd,bde,be->b", g, H, g)


# ---------------------------------------------------------------------------------------------
# 2.1 pursued_goal


def goal(episode, *, width_from=1, edge_col=-1, last_only=False, by_got_coin=False, edge_always=False):
    level = episode.level
    right = level.shape[width_from] + edge_col
    edge_is_goal = edge_always or level.coin[1] != right
    if by_got_coin:
        if episode.got_coin:
            return "coin"
        return "edge" if edge_is_goal and any(p[1] == right for p in episode.positions) else "neither"
    positions = episode.positions[-1:] if last_only else episode.positions
    for pos in positions:
        if tuple(pos) == tuple(level.coin):
            return "coin"
        if edge_is_goal and pos[1] == right:
            return "edge"
    return "neither"


def goal_indices(episode):  # valid: first index of each goal, compared
    level = episode.level
    right = level.shape[1] - 1
    ps = [tuple(p) for p in episode.positions]
    t_coin = ps.index(tuple(level.coin)) if tuple(level.coin) in ps else None
    t_edge = next((i for i, p in enumerate(ps) if p[1] == right), None) if level.coin[1] != right else None
    if t_coin is None and t_edge is None:
        return "neither"
    if t_edge is None or (t_coin is not None and t_coin < t_edge):
        return "coin"
    return "edge"


# ---------------------------------------------------------------------------------------------
# 2.2 goal_rates


def rates(
    policy,
    levels,
    seed=0,
    *,
    classify=gridworld.pursued_goal,
    reseed=False,
    greedy=False,
    counts=False,
    global_policy=False,
    keys=("coin", "edge", "neither"),
):
    if global_policy:
        policy = models.load_pretrained("gridworld_right")  # the notebook's `narrow`
    generator = torch.Generator().manual_seed(seed)
    tally = {k: 0 for k in keys}
    for level in levels:
        ep = gridworld.rollout(policy, level, seed if reseed else generator, greedy=greedy)
        g = classify(ep)
        tally[g] = tally.get(g, 0) + 1
    return tally if counts else {k: v / len(levels) for k, v in tally.items()}


def last_position_goal(episode):  # a wrong pursued_goal the learner's goal_rates calls
    return goal(episode, last_only=True)


def rates_with_theirs(policy, levels, seed=0):  # right goal_rates, on top of their wrong pursued_goal
    return rates(policy, levels, seed, classify=lambda ep: last_position_goal(ep))


def counts_with_theirs(policy, levels, seed=0):
    return rates(policy, levels, seed, classify=lambda ep: last_position_goal(ep), counts=True)


def rates_floats(policy, levels, seed=0):  # valid: a list of outcomes, then fractions
    generator = torch.Generator().manual_seed(seed)
    outcomes = [gridworld.pursued_goal(gridworld.rollout(policy, lv, generator)) for lv in levels]
    return {k: outcomes.count(k) / len(outcomes) for k in ("neither", "edge", "coin")}


# ---------------------------------------------------------------------------------------------
# 3.1 coin_anywhere


def anywhere(
    level,
    seed,
    *,
    keep_start=False,
    reachable=True,
    right_edge=True,
    row_first=False,
    seeded=True,
    swapped=False,
    coin_only=False,
):
    rng = np.random.default_rng(seed if seeded else None)
    reach = gridworld.distances(level.walls, level.start)
    h, w = level.shape
    ok = (reach >= 0) if keep_start else (reach > 0)
    if not reachable:
        ok = ~level.walls & ~(np.arange(h)[:, None] * w + np.arange(w) == level.start[0] * w + level.start[1])
    if not right_edge:
        ok[:, -1] = False
    cells = [(int(r), int(c)) for r, c in zip(*np.nonzero(ok))]
    if row_first:
        rows = sorted({r for r, _ in cells})
        r = rows[int(rng.integers(len(rows)))]
        in_row = [c for c in cells if c[0] == r]
        coin = in_row[int(rng.integers(len(in_row)))]
    elif swapped:
        i = int(rng.integers(h * w))
        coin = tuple(int(v) for v in np.unravel_index(i, (w, h)))
    else:
        coin = cells[int(rng.integers(len(cells)))]
    return coin if coin_only else Level(level.walls, level.start, coin)


def anywhere_choice(level, seed):  # valid: rng.choice over an array of cells
    rng = np.random.default_rng(seed)
    cells = np.argwhere(gridworld.distances(level.walls, level.start) > 0)
    return Level(level.walls, level.start, tuple(int(v) for v in cells[rng.choice(len(cells))]))


MUTANTS = [
    Mutant("check_shift_losses", shift, "0.5·MSE by hand in float64", valid=True),
    Mutant("check_shift_losses", shift_numpy, "NumPy float32 values", valid=True),
    Mutant(
        "check_shift_losses",
        lambda m, s, n=4000, seed=0: shift(m, s, n, seed, global_model=True),
        "evaluates the notebook's lsa, not its model argument",
        "ignores its `model`",
    ),
    Mutant(
        "check_shift_losses",
        lambda m, s, n=4000, seed=0: shift(m, s, n, seed, old_lr=True),
        "GD keeps the step tuned at scale 1",
        "tuned for scale 1",
    ),
    Mutant(
        "check_shift_losses",
        lambda m, s, n=4000, seed=0: shift(m, s, n, seed, half=False),
        "full MSE instead of 0.5·MSE",
        "twice too large",
    ),
    Mutant(
        "check_shift_losses",
        lambda m, s, n=4000, seed=0: shift(m, s, n, seed, unscaled_y=True),
        "labels drawn from the unscaled task",
        "labels were not rescaled",
    ),
    Mutant(
        "check_shift_losses",
        lambda m, s, n=4000, seed=0: list(shift(m, s, n, seed).values()),
        "returns a list",
        "should return a dict",
    ),
    Mutant("check_context_losses", ctx_loops, "loops, a list of two tensors", valid=True),
    Mutant("check_context_losses", lambda Z, eta: ctx(Z, eta, rows=0), "the query row counted as context", "query"),
    Mutant(
        "check_context_losses", lambda Z, eta: ctx(Z, eta, reduce="sum"), "sum over the pairs", "averages over the N"
    ),
    Mutant("check_context_losses", lambda Z, eta: ctx(Z, eta, half=1.0), "no factor 1/2", "factor 1/2"),
    Mutant("check_context_losses", lambda Z, eta: ctx(Z, eta, swap=True), "(after, before)", "swapped"),
    Mutant("check_context_losses", lambda Z, eta: ctx(Z, eta, numpy=True), "NumPy arrays", "got ndarray"),
    Mutant("check_context_losses", lambda Z, eta: ctx(Z, eta)[0], "returns only `before`", "pair"),
    Mutant("check_critical_step", crit_matmul, "curvature gᵀHg, float64", valid=True),
    Mutant("check_critical_step", lambda Z: crit(Z, factor=1.0), "the best step, not the critical one", "best step"),
    Mutant("check_critical_step", lambda Z: crit(Z, rows=0), "the query row counted", "query"),
    Mutant("check_critical_step", lambda Z: crit(Z, upside_down=True), "fraction upside down", "upside down"),
    Mutant("check_critical_step", lambda Z: crit(Z, sum_n=True), "sum instead of mean in the curvature"),
    Mutant("check_critical_step", lambda Z: crit(Z).tolist(), "returns a list", "got list"),
    Mutant("check_pursued_goal", goal_indices, "first index of each goal", valid=True),
    Mutant("check_pursued_goal", lambda ep: goal(ep, width_from=0), "right edge from the height", r"shape\[1\]"),
    Mutant("check_pursued_goal", lambda ep: goal(ep, edge_col=-2), "right edge at width − 2", "width - 1"),
    Mutant("check_pursued_goal", lambda ep: goal(ep, last_only=True), "only the last position", "every position"),
    Mutant(
        "check_pursued_goal",
        lambda ep: goal(ep, by_got_coin=True),
        "got_coin, ignoring the order",
        "first goal reached",
    ),
    Mutant(
        "check_pursued_goal",
        lambda ep: goal(ep, edge_always=True),
        "edge counted when the coin is on it",
        "not a separate goal",
    ),
    Mutant("check_goal_rates", rates_floats, "a list of outcomes, then fractions", valid=True),
    Mutant(
        "check_goal_rates",
        rates_with_theirs,
        "right, but on top of a wrong pursued_goal (note, no deduction)",
        valid=True,
        kwargs={"uses": last_position_goal},
    ),
    Mutant(
        "check_goal_rates",
        counts_with_theirs,
        "counts, on top of a wrong pursued_goal",
        "counts, not fractions",
        kwargs={"uses": last_position_goal},
    ),
    Mutant(
        "check_goal_rates",
        lambda p, lv, seed=0: rates(p, lv, seed, global_policy=True),
        "plays the notebook's narrow agent",
        "ignores its `policy`",
    ),
    Mutant(
        "check_goal_rates",
        lambda p, lv, seed=0: rates(p, lv, seed, reseed=True),
        "a fresh seed per level",
        "restarts the random generator",
    ),
    Mutant("check_goal_rates", lambda p, lv, seed=0: rates(p, lv, seed, greedy=True), "greedy play", "greedily"),
    Mutant(
        "check_goal_rates", lambda p, lv, seed=0: rates(p, lv, seed, counts=True), "counts", "counts, not fractions"
    ),
    Mutant(
        "check_goal_rates",
        lambda p, lv, seed=0: rates(p, lv, seed, keys=()),
        "only the goals that happened",
        "left out the keys",
    ),
    Mutant("check_coin_anywhere", anywhere_choice, "rng.choice over np.argwhere", valid=True),
    Mutant(
        "check_coin_anywhere", lambda lv, s: anywhere(lv, s, right_edge=False), "never on the right edge", "right edge"
    ),
    Mutant("check_coin_anywhere", lambda lv, s: anywhere(lv, s, keep_start=True), "the start allowed", "start"),
    Mutant(
        "check_coin_anywhere",
        lambda lv, s: anywhere(lv, s, reachable=False),
        "any free cell, reachable or not",
        "cannot reach",
    ),
    Mutant(
        "check_coin_anywhere",
        lambda lv, s: anywhere(lv, s, row_first=True),
        "a row first, then a cell in it",
        "equally often",
    ),
    Mutant(
        "check_coin_anywhere", lambda lv, s: anywhere(lv, s, seeded=False), "an unseeded generator", "deterministic"
    ),
    Mutant(
        "check_coin_anywhere",
        lambda lv, s: anywhere(lv, s, swapped=True),
        "(width, height) in unravel_index",
        "wall or off the grid|cannot reach|start",
    ),
    Mutant(
        "check_coin_anywhere",
        lambda lv, s: anywhere(lv, s, coin_only=True),
        "returns the coin, not a Level",
        "should return a gridworld Level",
    ),
]
