"""Maze planners, the probe and the thinking-time experiment's pieces: shapes, contracts, bad input."""

from __future__ import annotations

import pytest
import torch

from mesakit import models
from mesakit.experiments import EXPERIMENTS
from mesakit.moved import MovedWarning
from mesakit.search import thinking as tt
from mesakit.search.mazes import MazeConfig, generate_mazes, next_move_map
from mesakit.search.planner import (
    BLOCKED,
    FeedForwardConfig,
    FeedForwardPlanner,
    PlannerConfig,
    RecurrentPlanner,
    neighbour_logits,
    predict_paths,
    solve_rate,
    solve_rate_by_length,
    solved,
    trace_paths,
)
from mesakit.search.probe import RidgeProbe, fit_ridge, open_square_features, probe_value_map, r2_score

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def mazes():
    return generate_mazes(12, 5, seed=0)


def test_recurrent_shapes_and_iterations(mazes):
    torch.manual_seed(0)
    model = RecurrentPlanner(PlannerConfig(channels=8, iterations=3))
    out = model(mazes.inputs)
    assert out.shape == (12, 11, 11)
    states = model.hidden_states(mazes.inputs, 5)
    assert len(states) == 5 and all(h.shape == (12, 8, 11, 11) for h in states)
    assert torch.allclose(model(mazes.inputs, iterations=5), model.readout(states[-1], mazes.inputs))
    # the default count is the config's, and different counts give different outputs
    assert torch.equal(model(mazes.inputs), model(mazes.inputs, iterations=3))
    assert not torch.allclose(model(mazes.inputs, iterations=1), model(mazes.inputs, iterations=5))
    # walls hold no hidden state: signals travel along corridors only
    walls = mazes.inputs[:, 0:1].expand_as(states[-1]) > 0
    assert (states[-1][walls] == 0).all()


def test_any_grid_size():
    torch.manual_seed(0)
    model = RecurrentPlanner(PlannerConfig(channels=4, iterations=2))
    big = generate_mazes(2, 9, seed=1)
    assert model(big.inputs).shape == (2, 19, 19)
    assert FeedForwardPlanner(FeedForwardConfig(channels=4)).forward(big.inputs).shape == (2, 19, 19)


def test_feedforward_ignores_iterations(mazes):
    torch.manual_seed(0)
    ff = FeedForwardPlanner(FeedForwardConfig(channels=8, depth=2))
    assert torch.equal(ff(mazes.inputs), ff(mazes.inputs, iterations=7))
    with pytest.raises(ValueError, match="iterations"):
        ff(mazes.inputs, iterations=0)


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_bad_iterations_refused(mazes, bad):
    model = RecurrentPlanner(PlannerConfig(channels=4, iterations=2))
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"):
        model(mazes.inputs, iterations=bad)
    with pytest.raises(ValueError, match="iterations"):
        model.hidden_states(mazes.inputs, bad)


def test_bad_mazes_refused(mazes):
    model = RecurrentPlanner(PlannerConfig(channels=4, iterations=2))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.zeros(2, 1, 11, 11))
    no_goal = mazes.inputs.clone()
    no_goal[:, 2] = 0
    with pytest.raises(ValueError, match="goal"):
        model(no_goal)
    with pytest.raises(ValueError, match="Mazes batch"):
        solve_rate(model, mazes.inputs)
    with pytest.raises(ValueError):
        PlannerConfig(iterations=0)
    with pytest.raises(ValueError):
        FeedForwardConfig(depth=0)


def test_solve_rate_counts_exact_matches(mazes):
    class Oracle(torch.nn.Module):
        """Returns the true path's logits for the first 9 mazes and one wrong square for the rest."""

        def forward(self, x, iterations=None):
            logits = mazes.paths[: len(x)] * 20 - 10
            logits[9:, 0, 0] = 10.0  # one extra square marked as path
            return logits

    oracle = Oracle()
    assert solve_rate(oracle, mazes) == pytest.approx(9 / 12)
    assert solved(oracle, mazes).tolist() == [True] * 9 + [False] * 3
    assert torch.equal(predict_paths(oracle, mazes)[:9], mazes.paths[:9])
    lengths = mazes.paths.sum((1, 2)) - 1
    rates = solve_rate_by_length(oracle, mazes, [0, 100])
    assert rates.shape == (1,) and rates[0] == pytest.approx(9 / 12)
    assert torch.isnan(solve_rate_by_length(oracle, mazes, [100, 200]))[0]
    assert int(lengths.min()) >= 1
    with pytest.raises(ValueError, match="edges"):
        solve_rate_by_length(oracle, mazes, [5])


def test_save_load_roundtrip(tmp_path, mazes):
    torch.manual_seed(1)
    model = RecurrentPlanner(PlannerConfig(channels=6, iterations=4))
    loaded = models.load(models.save(model, tmp_path / "p.pt"))
    assert isinstance(loaded, RecurrentPlanner) and loaded.config == model.config
    assert torch.allclose(loaded(mazes.inputs, 3), model(mazes.inputs, 3))
    # the checkpoint names its class's module, so loading it needs no lesson list in the core
    assert torch.load(tmp_path / "p.pt", weights_only=True)["module"] == "mesakit.search.planner"


def test_shipped_checkpoints_load(mazes):
    planner = models.load_pretrained("planner_recurrent")
    feedforward = models.load_pretrained("planner_feedforward")
    assert isinstance(planner, RecurrentPlanner) and isinstance(feedforward, FeedForwardPlanner)
    assert planner(mazes.inputs).shape == feedforward(mazes.inputs).shape == (12, 11, 11)


def test_ridge_probe_recovers_a_linear_map():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(500, 5, generator=g, dtype=torch.float64)
    w = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    y = X @ w + 7.0
    probe = fit_ridge(X, y, alpha=1e-6)
    assert torch.allclose(probe.weight, w, atol=1e-5) and probe.bias == pytest.approx(7.0, abs=1e-5)
    assert r2_score(probe.predict(X), y) == pytest.approx(1.0)
    assert r2_score(torch.full_like(y, y.mean().item()), y) == pytest.approx(0.0, abs=1e-12)
    shrunk = fit_ridge(X, y, alpha=1e4)
    assert shrunk.weight.norm() < probe.weight.norm()
    with pytest.raises(ValueError, match="alpha"):
        fit_ridge(X, y, alpha=-1)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        fit_ridge(X, y[:-1])
    with pytest.raises(ValueError, match="constant"):
        r2_score(y, torch.ones_like(y))


def test_probe_on_a_planner(mazes):
    torch.manual_seed(0)
    model = RecurrentPlanner(PlannerConfig(channels=6, iterations=3))
    probe, r2 = probe_value_map(model, mazes[:6], mazes[6:], 3)
    assert isinstance(probe, RidgeProbe) and probe.weight.shape == (6,) and r2 <= 1.0
    X, y = open_square_features(model.hidden_states(mazes.inputs, 2)[-1].detach(), mazes)
    assert X.shape == (12 * 49, 6) and y.shape == (12 * 49,)
    values = probe.value_map(model.hidden_states(mazes.inputs, 2)[-1].detach(), mazes.inputs)
    assert values.shape == (12, 11, 11) and torch.isnan(values[mazes.inputs[:, 0] > 0]).all()


def test_experiment_pieces():
    assert "thinking-time" in EXPERIMENTS
    grid = tt.iteration_grid(16)
    assert grid[0] == 1 and grid[-1] == 32 and grid == sorted(grid) and 16 in grid
    sample = tt.maze_sampler(MazeConfig(5))
    x, y = sample(4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 3, 11, 11) and y.shape == (4, 11, 11)
    model = RecurrentPlanner(PlannerConfig(channels=4, iterations=4))
    assert y.dtype == torch.long and int(y.min()) == -1 and int(y.max()) <= 3
    logits, goal_score = tt.thinking_forward(4)(model, x, torch.Generator().manual_seed(0))
    assert logits.shape == (4, 4, 11, 11) and goal_score.shape == (4,)
    assert tt.thinking_loss((logits, goal_score), y).ndim == 0
    # the loss sees outputs after 2..8 iterations for a planner trained with 4, never more
    assert tt.max_supervised_iterations(4) == 8 and tt.max_supervised_iterations(16) == 32
    ff = FeedForwardPlanner(FeedForwardConfig(channels=4, depth=2))
    assert tt.feedforward_forward(ff, x, torch.Generator()).shape == (4, 4, 11, 11)


def test_tracing_the_true_next_moves_solves_every_maze():
    big = generate_mazes(20, 7, seed=3)
    true_moves = torch.nn.functional.one_hot(next_move_map(big.distances).clamp(min=0), 4).permute(0, 3, 1, 2).float()
    logits = trace_paths(5 * true_moves, big.inputs)
    assert ((logits > 0).float() == big.paths).all()
    assert float(logits.max()) <= 0.5  # traced squares carry half the chosen move's probability
    # a move into a wall stops the trace: only the start is marked
    blocked = trace_paths(torch.zeros(20, 4, 15, 15).index_fill_(1, torch.tensor([0]), 5.0), big.inputs)
    assert ((blocked > 0).sum((1, 2)) >= 1).all()
    assert ((blocked > 0).float() * big.inputs[:, 1]).sum() == 20


def test_stepping_uphill_on_minus_the_distance_solves_every_maze():
    big = generate_mazes(20, 7, seed=4)
    logits = neighbour_logits(-big.distances, big.inputs)
    assert logits.shape == (20, 4, 15, 15)
    # the best neighbour is the BFS next move on every open square but the goal
    target = next_move_map(big.distances)
    has_move = target >= 0
    assert torch.equal(logits.argmax(dim=1)[has_move], target[has_move])
    assert ((trace_paths(logits, big.inputs) > 0).float() == big.paths).all()
    # moves into walls (and off the grid) are blocked; the border is wall, so the top row's "up" is blocked
    walls_above = torch.nn.functional.pad(big.inputs[:, 0], (0, 0, 1, 0), value=1.0)[:, :-1] > 0
    assert (logits[:, 0][walls_above] == BLOCKED).all() and (logits[:, 0][~walls_above] > BLOCKED).all()


def test_move_loss_smoothing_caps_the_score_gap():
    # one square with two open moves (the other two blocked); the right move is 0
    def loss(gap, smoothing):
        logits = torch.tensor([gap, 0.0, BLOCKED, BLOCKED]).view(1, 4, 1, 1)
        return tt.move_loss(logits, torch.zeros(1, 1, 1, dtype=torch.long), smoothing).item()

    gaps = torch.linspace(0, 10, 201).tolist()
    best = min(gaps, key=lambda g: loss(g, 0.1))
    assert abs(best - torch.log(torch.tensor(9.0)).item()) < 0.06  # the optimum gap is log(0.9 / 0.1)
    assert loss(10.0, 0.0) < loss(5.0, 0.0)  # without smoothing, a larger gap is always better
    # without smoothing it is the plain cross-entropy; squares with no target (-1) are ignored
    logits = torch.randn(2, 4, 3, 3)
    moves = torch.randint(-1, 4, (2, 3, 3))
    assert torch.allclose(
        tt.move_loss(logits, moves, 0.0), torch.nn.functional.cross_entropy(logits, moves, ignore_index=-1)
    )
    with pytest.raises(ValueError, match="smoothing"):
        tt.move_loss(logits, moves, 1.0)


def test_thinking_time_keeps_0_1_names_with_a_warning():
    from mesakit.experiments import thinking_time

    with pytest.warns(MovedWarning, match="mesakit.search.thinking.move_loss"):
        assert thinking_time.move_loss is tt.move_loss
    with pytest.warns(MovedWarning):
        assert thinking_time.train_planner is tt.train_planner and thinking_time.TRAIN_ITERATIONS == tt.TRAIN_ITERATIONS
    with pytest.raises(AttributeError):
        thinking_time.write_pretrained  # noqa: B018 — replaced by thinking.PRETRAINED (make pretrained)


def test_short_training_run_learns_something():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    model, history = tt.train_planner(seed=0, steps=3, progress=False)
    assert isinstance(model, RecurrentPlanner) and len(history.loss) == 3
    assert torch.equal(torch.get_rng_state(), before)  # seeded(seed): the caller's generator is left alone


def test_thinking_loss_pins_the_offset_the_moves_cannot_see():
    torch.manual_seed(0)
    scores = torch.randn(3, 7, 7)
    walls = torch.zeros(3, 7, 7)
    walls[:, 3, 1:6] = 1.0
    x = torch.stack([walls, torch.zeros(3, 7, 7), torch.zeros(3, 7, 7)], dim=1)
    x[:, 2, 0, 0] = 1.0  # the goal in a corner
    moves = torch.randint(0, 4, (3, 7, 7))

    def outputs(values):
        return neighbour_logits(values, x), (values * x[:, 2]).sum(dim=(1, 2))

    # a uniform shift of the map changes no move: the move loss alone cannot see it...
    plain, shifted = outputs(scores), outputs(scores + 5.0)
    assert torch.allclose(tt.move_loss(plain[0], moves), tt.move_loss(shifted[0], moves), atol=1e-5)
    assert torch.allclose(tt.thinking_loss(plain, moves, 0.0), tt.move_loss(plain[0], moves))
    # ...the offset penalty does: it adds penalty · mean(goal score²)
    penalty = tt.thinking_loss(shifted, moves, 0.1) - tt.thinking_loss(shifted, moves, 0.0)
    assert torch.allclose(penalty, 0.1 * (scores[:, 0, 0] + 5.0).pow(2).mean(), atol=1e-5)
    with pytest.raises(ValueError, match="offset_penalty"):
        tt.thinking_loss(plain, moves, -1.0)


class _DriftingMap(torch.nn.Module):
    """A fake planner whose score map is ``-2 · distance + drift · k`` after ``k`` iterations."""

    def __init__(self, mazes, drift):
        super().__init__()
        self.base, self.drift = -2.0 * mazes.distances.float(), drift

    def hidden_states(self, inputs, iterations):
        return [(self.base + self.drift * k)[:, None] for k in range(1, iterations + 1)]

    def final_state(self, inputs, iterations):
        return self.hidden_states(inputs, iterations)[-1]

    def value_readout(self, h):
        return h[:, 0]


def test_score_drift_is_measured_in_steps_of_distance():
    mazes = generate_mazes(5, 5, seed=8)
    assert tt.score_drift(_DriftingMap(mazes, 3.0), mazes, 4, 20) == pytest.approx(1.5)
    assert tt.score_drift(_DriftingMap(mazes, 0.0), mazes, 4, 20) == pytest.approx(0.0, abs=1e-9)


def test_lesson_05_states_what_the_loss_supervised():
    """The lesson quotes the training recipe; it must match the code that made the shipped planner."""
    import nbformat
    from conftest import ROOT

    nb = nbformat.read(ROOT / "solutions" / "05_internal_search" / "05_internal_search.ipynb", as_version=4)
    text = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    T = models.load_pretrained("planner_recurrent").config.iterations
    assert T == tt.TRAIN_ITERATIONS
    warmup, window = tt._warmup_and_window(T)
    supervised = tt.max_supervised_iterations(T)
    assert f"0 to {warmup}, **without** gradients, then {window} more with gradients" in text
    assert (
        f"output after **{window} to {supervised} iterations**" in text
        and f"never after more than {supervised}" in text
    )
    assert f"{tt.OFFSET_PENALTY} × the goal square's score" in text
    assert f"at {4 * supervised} iterations" in text  # the long runs: 4× the most supervised count
    assert f"0.{int(round(10 * (1 - tt.SMOOTHING)))} on the right move" in text


def test_final_state_is_the_last_hidden_state(mazes):
    torch.manual_seed(0)
    model = RecurrentPlanner(PlannerConfig(channels=4, iterations=3)).eval()
    with torch.no_grad():
        assert torch.equal(model.final_state(mazes.inputs, 5), model.hidden_states(mazes.inputs, 5)[-1])
        assert torch.equal(model.final_state(mazes.inputs), model.hidden_states(mazes.inputs)[-1])
    with pytest.raises(ValueError, match="iterations"):
        model.final_state(mazes.inputs, 0)
