"""The coin gridworld (mesakit.divergence.gridworld) and its policy (mesakit.divergence.gridpolicy): levels, BFS,
views, rollouts, the behavioural test, the batched environment, training from reward and evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesakit import models
from mesakit.divergence import gridworld as gw
from mesakit.divergence.gridpolicy import (
    GridPolicy,
    GridPolicyConfig,
    LevelBatch,
    ReinforceConfig,
    blocked_moves,
    goal_rates,
    make_levels,
    play_batch,
    reinforce_loss,
    train_policy,
)


def open_level(coin=(2, 4), start=(2, 0)) -> gw.Level:
    return gw.Level(np.zeros((5, 5), dtype=bool), start, coin)


def test_config_rejects_bad_values_with_a_fix():
    with pytest.raises(ValueError, match="at least 3"):
        gw.GridConfig(height=2)
    with pytest.raises(ValueError, match="wall_density"):
        gw.GridConfig(wall_density=0.7)
    with pytest.raises(ValueError, match="coin must be one of"):
        gw.GridConfig(coin="left")
    with pytest.raises(ValueError, match="hidden"):
        GridPolicyConfig(hidden=0)


@pytest.mark.parametrize("coin", ["right", "anywhere"])
def test_levels_are_seeded_and_solvable(coin):
    config = gw.GridConfig(coin=coin)
    a, b = gw.make_level(config, 3), gw.make_level(config, 3)
    assert np.array_equal(a.walls, b.walls) and a.start == b.start and a.coin == b.coin
    levels = make_levels(config, 50, seed=1)
    assert len({lv.walls.tobytes() for lv in levels}) > 40
    for lv in levels:
        assert not lv.on_right_edge(lv.start) and lv.coin != lv.start
        assert gw.distances(lv.walls, lv.coin)[lv.start] > 0
        if coin == "right":
            assert lv.on_right_edge(lv.coin)
    if coin == "anywhere":
        assert any(not lv.on_right_edge(lv.coin) for lv in levels)
    with pytest.raises(TypeError, match="seed"):
        gw.make_level(config, None)


def test_shift_coin_moves_the_coin_off_the_edge_only():
    rng = np.random.default_rng(0)
    for lv in make_levels(gw.GridConfig(), 30, seed=2):
        moved = gw.shift_coin(lv, rng)
        assert np.array_equal(moved.walls, lv.walls) and moved.start == lv.start
        assert not moved.on_right_edge(moved.coin) and moved.coin != lv.start
        assert gw.distances(lv.walls, lv.start)[moved.coin] > 0
    boxed = gw.Level(np.ones((3, 3), dtype=bool), (1, 0), (1, 2))
    boxed.walls[1, 0] = boxed.walls[1, 2] = False
    with pytest.raises(ValueError, match="no free cell"):
        gw.shift_coin(boxed, 0)


def test_distances_is_breadth_first_search():
    walls = np.zeros((3, 4), dtype=bool)
    walls[0:2, 1] = True  # a wall to go around at the bottom
    dist = gw.distances(walls, (0, 0))
    assert dist[0, 0] == 0 and dist[2, 0] == 2 and dist[0, 2] == 6 and dist[0, 1] == -1
    assert (gw.distances(walls, (0, 1)) == -1).all()  # a target inside a wall reaches nothing


def test_moves_are_blocked_by_walls_and_border():
    lv = open_level()
    lv.walls[1, 0] = True
    assert gw.move(lv, (2, 0), 2) == (2, 0)  # left of the grid
    assert gw.move(lv, (2, 0), 0) == (2, 0)  # up into the wall
    assert gw.move(lv, (2, 0), 1) == (3, 0)


def test_view_is_the_whole_level_as_three_maps():
    lv = open_level(coin=(2, 4), start=(2, 0))
    lv.walls[0, 1] = True
    view = gw.observe(lv, (3, 1))
    assert view.shape == (3, 5, 5)
    assert view[0].sum() == 1 and view[0, 0, 1] == 1  # walls
    assert view[1].sum() == 1 and view[1, 2, 4] == 1  # the coin
    assert view[2].sum() == 1 and view[2, 3, 1] == 1  # the agent


def test_level_batch_matches_observe_and_move():
    levels = make_levels(gw.GridConfig(coin="anywhere"), 12, seed=5)
    batch = LevelBatch(levels)
    for i, lv in enumerate(levels):
        cells = [(r, c) for r in range(7) for c in range(7) if not lv.walls[r, c]]
        idx, pos = torch.full((len(cells),), i), torch.tensor(cells)
        assert torch.equal(batch.views(idx, pos), torch.stack([gw.observe(lv, p) for p in cells]))
        for a in range(4):
            moved = batch.step(idx, pos, torch.full((len(cells),), a))
            assert [tuple(p) for p in moved.tolist()] == [gw.move(lv, p, a) for p in cells]
    with pytest.raises(ValueError, match="at least one level"):
        LevelBatch([])
    with pytest.raises(ValueError, match="same shape"):
        LevelBatch([levels[0], open_level()])


def test_moves_into_walls_are_masked():
    lv = open_level(start=(2, 0))
    lv.walls[1, 0] = True
    views = torch.stack([gw.observe(lv, (2, 0)), gw.observe(lv, (2, 2)), gw.observe(lv, (4, 4))])
    assert blocked_moves(views).tolist() == [[True, False, True, False], [False] * 4, [False, True, False, True]]
    policy = GridPolicy(GridPolicyConfig(height=5, width=5, hidden=8))
    logits = policy(views)
    assert (logits[0, [0, 2]] < -1e8).all() and (logits[0, [1, 3]] > -1e8).all()
    for a in range(4):  # a policy never bumps: every move it makes changes its cell
        ep = gw.rollout(policy, lv, seed=a, max_steps=30)
        assert all(p != q for p, q in zip(ep.positions, ep.positions[1:]))


def test_play_batch_records_every_move_and_the_coin():
    levels = [open_level(coin=(2, 3), start=(2, 0)), open_level(coin=(0, 0), start=(4, 4))]
    views, actions, episode, t, reached = play_batch(
        GoRight(), LevelBatch(levels), torch.tensor([0, 1]), 6, torch.Generator().manual_seed(0)
    )
    assert reached.tolist() == [3, -1]  # three moves right reach the first coin; the second is never reached
    assert episode.tolist().count(0) == 3 and episode.tolist().count(1) == 6
    assert views.shape == (9, 3, 5, 5) and (actions == gw.RIGHT).all()
    assert t[episode == 0].tolist() == [0, 1, 2]


def test_reinforce_loss_pushes_up_the_advantaged_action():
    logits = torch.zeros(2, 4, requires_grad=True)
    targets = torch.tensor([[3.0, 1.0], [0.0, -1.0]])  # action 3 was good, action 0 bad
    reinforce_loss(0.0)(logits, targets).backward()
    assert logits.grad[0, 3] < 0 and logits.grad[1, 0] > 0  # descent raises 3's logit, lowers 0's
    with pytest.raises(ValueError, match="discount"):
        ReinforceConfig(discount=0)


class GoRight(torch.nn.Module):
    def forward(self, views):
        return torch.tensor([[0.0, 0.0, 0.0, 10.0]]).expand(views.shape[0], 4)


def test_rollout_and_pursued_goal():
    lv = open_level(coin=(1, 2), start=(2, 0))
    ep = gw.rollout(GoRight(), lv, greedy=True)
    assert ep.positions[:5] == [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4)]
    assert ep.steps == gw.default_max_steps(lv) and not ep.got_coin
    assert gw.pursued_goal(ep) == "edge"
    on_path = gw.rollout(GoRight(), open_level(coin=(2, 3)), greedy=True)
    assert on_path.got_coin and on_path.steps == 3 and gw.pursued_goal(on_path) == "coin"
    stuck = gw.rollout(GoRight(), open_level(coin=(0, 0), start=(2, 0)), max_steps=0)
    assert gw.pursued_goal(stuck) == "neither"
    # The goal reached first counts: edge, then the coin is still "edge"; on a training level (coin on
    # the edge) the edge is no separate goal, so walking along it to the coin is "coin".
    late = gw.Episode(lv, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (1, 4), (1, 3), (1, 2)], [0] * 7, True)
    assert gw.pursued_goal(late) == "edge"
    train = open_level(coin=(0, 4), start=(2, 0))
    along = gw.Episode(train, [(2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (1, 4), (0, 4)], [0] * 6, True)
    assert gw.pursued_goal(along) == "coin"
    # Sampled rollouts are reproducible from the seed.
    policy = models.load_pretrained("gridworld_right")
    level = make_levels(gw.GridConfig(), 1, seed=9)[0]
    assert gw.rollout(policy, level, 5).positions == gw.rollout(policy, level, 5).positions
    with pytest.raises(ValueError, match="logits"):
        gw.rollout(lambda v: torch.zeros(1, 3), lv)
    assert "A" in gw.render(lv) and "C" in gw.render(lv)


def test_policy_shapes_and_checkpoints():
    policy = GridPolicy()
    views = torch.stack([gw.observe(open_level(), (2, 0))] * 3)
    with pytest.raises(ValueError, match="views must have shape"):
        policy(views)  # a 5×5 level's views do not fit a 7×7 policy
    small = GridPolicy(GridPolicyConfig(height=5, width=5, hidden=8))
    assert small(views).shape == (3, 4)
    for name in ("gridworld_right", "gridworld_anywhere"):
        loaded = models.load_pretrained(name)
        assert isinstance(loaded, GridPolicy) and not loaded.training


@pytest.mark.slow
def test_training_is_deterministic_and_learns():
    config = ReinforceConfig(n_levels=200, updates=120, episodes=64)
    a, history = train_policy(seed=1, progress=False, config=config)
    b, _ = train_policy(seed=1, progress=False, config=config)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert len(history.loss) == 120
    # From reward alone it learns to collect the coin far more often than at its random start.
    levels = make_levels(gw.GridConfig(), 100, seed=99)
    untrained = GridPolicy()
    assert goal_rates(a, levels, 0, max_steps=20)["coin"] > goal_rates(untrained, levels, 0, max_steps=20)["coin"] + 0.1


def test_training_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train_policy(seed=4, progress=False, config=ReinforceConfig(n_levels=4, updates=1, episodes=2, horizon=3))
    assert torch.equal(torch.get_rng_state(), before)


def test_experiments_keep_0_1_names_with_a_warning():
    from mesakit.divergence import goals, shift
    from mesakit.experiments import goal_misgeneralization, scale_shift
    from mesakit.moved import MovedWarning

    with pytest.warns(MovedWarning, match="mesakit.divergence.goals.test_levels"):
        assert goal_misgeneralization.test_levels is goals.test_levels
    with pytest.warns(MovedWarning):
        assert goal_misgeneralization.ROLLOUT_SEED == goals.ROLLOUT_SEED and scale_shift.evaluate is shift.evaluate
    assert sorted(goals.PRETRAINED) == ["gridworld_anywhere", "gridworld_right"]


def test_goal_rates_are_fractions():
    policy = models.load_pretrained("gridworld_right")
    levels = make_levels(gw.GridConfig(), 10, seed=3)
    rates = goal_rates(policy, levels, seed=0)
    assert set(rates) == {"coin", "edge", "neither"} and abs(sum(rates.values()) - 1) < 1e-12
    assert rates == goal_rates(policy, levels, seed=0)
    with pytest.raises(ValueError, match="at least one level"):
        goal_rates(policy, [])
