"""The thinking-time recipe of lesson 05: train a weight-shared recurrent planner on small mazes so
that it shows the fingerprints of search (Schwarzschild et al. 2021; Bansal et al. 2022; Guez et
al. 2019), and measure them.

Training uses the course's one loop (``mesakit.core.train.train``) with a custom ``forward``: a
simplified version of Bansal et al.'s (2022) progressive loss. Each step first runs a random number
of iterations in ``[0, 3·TRAIN_ITERATIONS // 2]`` without gradients, then ``TRAIN_ITERATIONS // 2``
more with gradients, so each iteration learns to *improve* the current state rather than count
steps. The loss therefore sees outputs after ``T/2`` to ``2·T`` iterations
(:func:`max_supervised_iterations`) and never beyond. :func:`evaluate` measures, on held-out mazes:
the solve rate for 1..2× the trained iterations and at ``LONG_FACTOR`` times the largest supervised
count, the same on larger 7×7-cell mazes, how far the score map drifts per extra iteration
(:func:`score_drift`), a feed-forward baseline of similar size, and a ridge probe's R² for the BFS
distance to the goal read from the final hidden state and from the hidden states of all iterations
side by side, each next to an untrained control.

The planner is trained to output a next-move map (the BFS move towards the goal on every open
square) with label smoothing (:func:`move_loss`), plus a small penalty on the goal square's score
(:func:`thinking_loss`) that pins the map's offset, which the moves cannot see; the loss never
mentions distances, so what the probe finds is not trained into it.

:data:`PRETRAINED` says how the shipped ``planner_recurrent`` and ``planner_feedforward`` are made;
``mesakit reproduce thinking-time`` (:mod:`mesakit.experiments.thinking_time`) runs the recipe and
prints the figures.
"""

from __future__ import annotations

from functools import partial

import torch
from torch.nn import functional as F

from ..core.seeding import seeded
from ..core.train import History, TrainConfig, train
from .mazes import GOAL, MOVES, WALL, MazeConfig, generate_mazes, next_move_map
from .planner import (
    BLOCKED,
    FeedForwardConfig,
    FeedForwardPlanner,
    PlannerConfig,
    RecurrentPlanner,
    neighbour_logits,
    solve_rate,
)
from .probe import probe_value_map

TRAIN_SIZE = 5  # cells per side of the training mazes (11×11 grid)
LARGE_SIZE = 7  # cells per side of the "larger" test mazes (15×15 grid)
TRAIN_LOOPS = 0  # extra loops in the training mazes (0 = perfect mazes)
CHANNELS = 16
TRAIN_ITERATIONS = 16
STEPS = 800  # about 30 s of one quiet CPU core
FEEDFORWARD_STEPS = STEPS  # the baseline gets the same number of steps and batches
BATCH = 32
LR = 3e-3  # peak learning rate, cosine decay to 0
SMOOTHING = 0.1  # label smoothing of the next-move loss (see move_loss)
OFFSET_PENALTY = 0.1  # weight of the goal score's square in the loss (see thinking_loss)
FEEDFORWARD_DEPTH = 3  # distinct blocks of the baseline: three times the planner's block weights
EVAL_SEED = 50_021  # held-out mazes: seeds the training sampler never draws (it draws from 2**20 upwards)
N_EVAL, N_LARGE, N_PROBE = 1000, 500, 300
LONG_FACTOR = 4  # the long runs: this many times the largest iteration count the loss ever saw


def iteration_grid(trained: int = TRAIN_ITERATIONS) -> list[int]:
    """Iteration counts we evaluate: 1 to 2× the trained count, ascending."""
    step = max(trained // 4, 1)
    return sorted({1, 2, *range(step, 2 * trained + 1, step), 2 * trained})


def move_loss(move_logits: torch.Tensor, moves: torch.Tensor, smoothing: float = SMOOTHING) -> torch.Tensor:
    """Cross-entropy of the next move on every open square but the goal, with label smoothing over
    the open moves. Shapes: ``move_logits (B, 4, H, W)`` (blocked moves at ``planner.BLOCKED``),
    ``moves (B, H, W)`` long (-1 = no target, ignored).

    The target puts ``1 - smoothing`` on the right move and shares ``smoothing`` among the other
    open moves (squares with one open move keep the plain target). Plain cross-entropy keeps
    rewarding ever larger gaps between scores, and the planner learns to grow its state at every
    iteration until, run past its training, the state blows up; with a bounded target gap the
    state settles, and the score drops by about the same amount per step towards the goal.
    """
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    log_p = move_logits.log_softmax(dim=1)
    open_ = move_logits > BLOCKED / 2
    valid = moves >= 0
    right = F.one_hot(moves.clamp(min=0), len(MOVES)).permute(0, 3, 1, 2).bool()
    others = open_ & ~right
    n_others = others.sum(dim=1, keepdim=True)
    target = torch.where(right, torch.where(n_others > 0, 1 - smoothing, 1.0), 0.0)
    target = target + torch.where(others, smoothing / n_others.clamp(min=1), 0.0)
    per_square = -(target * log_p.masked_fill(~open_, 0.0)).sum(dim=1)
    return per_square[valid].mean()


def maze_sampler(config: MazeConfig):
    """``sample(batch, generator) -> (mazes, paths)`` drawing fresh mazes for :func:`mesakit.core.train.train`."""

    def sample(batch: int, generator: torch.Generator):
        seed = int(torch.randint(2**20, 2**40, (1,), generator=generator))
        m = generate_mazes(batch, config, seed)
        return m.inputs, next_move_map(m.distances)

    return sample


def _warmup_and_window(trained: int) -> tuple[int, int]:
    """The longest warm-up without gradients and the number of iterations with gradients."""
    window = max(trained // 2, 1)
    return 2 * trained - window, window


def max_supervised_iterations(trained: int = TRAIN_ITERATIONS) -> int:
    """The largest iteration count whose output the training loss ever sees (``2 · trained``): the
    longest warm-up plus the window with gradients (:func:`thinking_forward`)."""
    return sum(_warmup_and_window(trained))


def thinking_forward(trained: int = TRAIN_ITERATIONS):
    """A ``forward`` for :func:`mesakit.core.train.train`, a simplified progressive loss (after Bansal et
    al. 2022): a random number ``n`` in ``[0, 2·trained - trained // 2]`` of iterations without
    gradients, then ``trained // 2`` more with gradients. The state after ``n`` steps is treated as
    an input, so each iteration must *improve* whatever state it is given (and keep a solved one
    solved), not count steps. Returns ``(move_logits (B, 4, H, W), goal_score (B,))``, the score map
    read at each maze's goal square, for :func:`thinking_loss`."""
    longest_warmup, window = _warmup_and_window(trained)

    def forward(
        model: RecurrentPlanner, mazes: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        warmup = int(torch.randint(0, longest_warmup + 1, (1,), generator=generator))
        h = model.initial_state(mazes)
        with torch.no_grad():  # the first iterations only set up the state
            for _ in range(warmup):
                h = model.step(h, mazes)
        for _ in range(window):
            h = model.step(h, mazes)
        values = model.value_readout(h)
        return neighbour_logits(values, mazes), (values * mazes[:, GOAL]).sum(dim=(1, 2))

    return forward


def thinking_loss(
    outputs: tuple[torch.Tensor, torch.Tensor], moves: torch.Tensor, offset_penalty: float = OFFSET_PENALTY
) -> torch.Tensor:
    """:func:`move_loss` plus ``offset_penalty · mean(goal_score²)``. Shapes: ``outputs`` as from
    :func:`thinking_forward` (``(B, 4, H, W)`` and ``(B,)``), ``moves (B, H, W)``.

    Adding the same number to every square's score changes no move, so the move loss alone leaves
    the map's offset free, and the planner learns to raise the whole map a little at each
    iteration. Inside the trained range that costs nothing; far past it the growing state bends
    the map out of shape and the solve rate falls. Pinning the goal's score at 0 removes that free
    direction, and the map settles.
    """
    if offset_penalty < 0:
        raise ValueError(f"offset_penalty must be >= 0, got {offset_penalty}")
    move_logits, goal_score = outputs
    return move_loss(move_logits, moves) + offset_penalty * goal_score.pow(2).mean()


def feedforward_forward(model: FeedForwardPlanner, mazes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The baseline's ``forward`` for training: next-move logits ``(B, 4, H, W)``."""
    return model.moves(mazes)


def fit_on_mazes(model, seed: int, steps: int, progress: bool, loss_fn, forward) -> History:
    """Both planners' training: the course's loop on fresh training mazes, same optimizer settings."""
    config = TrainConfig(
        steps=steps, batch_size=BATCH, lr=LR, seed=seed, grad_clip=1.0, progress=progress, lr_schedule="cosine"
    )
    return train(
        model, maze_sampler(MazeConfig(TRAIN_SIZE, loops=TRAIN_LOOPS)), config, loss_fn=loss_fn, forward=forward
    )


def train_planner(seed: int = 0, steps: int = STEPS, progress: bool = True, offset_penalty: float = OFFSET_PENALTY):
    """Train a :class:`RecurrentPlanner`; returns ``(model, history)``. ``offset_penalty=0`` trains
    without the goal-score penalty (:func:`thinking_loss`), to watch the map drift."""
    with seeded(seed):  # the initial weights
        model = RecurrentPlanner(PlannerConfig(channels=CHANNELS, iterations=TRAIN_ITERATIONS))
    loss_fn = partial(thinking_loss, offset_penalty=offset_penalty)
    return model, fit_on_mazes(model, seed, steps, progress, loss_fn, thinking_forward(TRAIN_ITERATIONS))


def train_feedforward(seed: int = 0, steps: int = FEEDFORWARD_STEPS, progress: bool = True):
    """Train the :class:`FeedForwardPlanner` baseline on the same mazes; returns ``(model, history)``."""
    with seeded(seed):  # the initial weights
        model = FeedForwardPlanner(FeedForwardConfig(channels=CHANNELS, depth=FEEDFORWARD_DEPTH))
    return model, fit_on_mazes(model, seed, steps, progress, move_loss, feedforward_forward)


def score_drift(planner: RecurrentPlanner, mazes, start: int, end: int) -> float:
    """How far the whole score map moves per iteration between ``start`` and ``end`` iterations, in
    steps of distance to the goal: the change of the goal's score per iteration, divided by the
    score's fall per step away from the goal (a least-squares slope on the open squares at ``start``)."""
    with torch.no_grad():
        first = planner.value_readout(planner.final_state(mazes.inputs, start))
        last = planner.value_readout(planner.final_state(mazes.inputs, end))
    open_, goal = mazes.inputs[:, WALL] == 0, mazes.inputs[:, GOAL] > 0
    d, v = mazes.distances[open_].double(), first[open_].double()
    slope = -((d - d.mean()) * (v - v.mean())).sum() / ((d - d.mean()) ** 2).sum()
    return ((last[goal] - first[goal]).double().mean() / (end - start) / slope).item()


def evaluate(planner, feedforward, iterations: list[int] | None = None) -> dict:
    """Every figure of the experiment, on held-out mazes."""
    iterations = iterations or iteration_grid(planner.config.iterations)
    test = generate_mazes(N_EVAL, TRAIN_SIZE, EVAL_SEED)
    large = generate_mazes(N_LARGE, LARGE_SIZE, EVAL_SEED + 1)
    fit, held_out = (
        generate_mazes(N_PROBE, TRAIN_SIZE, EVAL_SEED + 2),
        generate_mazes(N_PROBE, TRAIN_SIZE, EVAL_SEED + 3),
    )
    T = planner.config.iterations
    _, r2 = probe_value_map(planner, fit, held_out, T)
    _, r2_history = probe_value_map(planner, fit, held_out, T, history=True)
    with seeded(0):
        control = RecurrentPlanner(planner.config).eval()  # same architecture, random weights
    _, r2_control = probe_value_map(control, fit, held_out, T)
    _, r2_history_control = probe_value_map(control, fit, held_out, T, history=True)
    supervised = max_supervised_iterations(T)
    long = [LONG_FACTOR * supervised]
    drift = score_drift(planner, held_out, T, long[-1])
    return {
        "iterations": iterations,
        "solve_rate": [solve_rate(planner, test, k) for k in iterations],
        "trained_iterations": planner.config.iterations,
        "larger_maze_solve_rate": [solve_rate(planner, large, k) for k in iterations],
        "feedforward_solve_rate": solve_rate(feedforward, test),
        "probe_r2": r2,  # final hidden state (after the trained count)
        "probe_r2_control": r2_control,  # the same probe on an untrained planner
        "probe_r2_history": r2_history,  # hidden states of all iterations 1..T side by side
        "probe_r2_history_control": r2_history_control,
        "max_supervised_iterations": supervised,  # no output past this count was ever in the loss
        "long_iterations": long,
        "long_solve_rate": [solve_rate(planner, test, k) for k in long],
        "long_larger_maze_solve_rate": [solve_rate(planner, large, k) for k in long],
        "score_drift_per_iteration": drift,  # in steps of distance to the goal, from T to the longest run
    }


def _pretrained_recurrent() -> RecurrentPlanner:
    return train_planner(0, STEPS, progress=False)[0]


def _pretrained_feedforward() -> FeedForwardPlanner:
    return train_feedforward(0, FEEDFORWARD_STEPS, progress=False)[0]


# Shipped checkpoints made here (name -> zero-argument builder), rebuilt by `make pretrained`.
PRETRAINED = {"planner_recurrent": _pretrained_recurrent, "planner_feedforward": _pretrained_feedforward}
