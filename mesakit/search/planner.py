"""Maze planners for lesson 05: a weight-shared recurrent network that searches, and a feed-forward
baseline of similar size that cannot.

``RecurrentPlanner`` (after Schwarzschild et al. 2021 and Bansal et al. 2022, "deep thinking"
networks) embeds the maze, then applies **the same** convolutional block ``iterations`` times, the
number chosen at call time. Each iteration sees the maze again ("recall", input injection), and its
hidden state is zeroed on wall squares, so information can only travel along corridors, one square
per convolution. A 1×1 head reads one **score** per square from the hidden state (``value_readout``),
and the next move from a square is a softmax over the scores of its open neighbours
(:func:`neighbour_logits`): the network acts by stepping uphill on a map it computes itself, as in
Value Iteration Networks (Tamar et al. 2016). Training asks for the right move on *every* open
square (:func:`mesakit.search.mazes.next_move_map`) and never says what the score should be; whether it
becomes the distance to the goal is what lesson 05's probe tests. The path is traced from the start
by following the most likely move (:func:`trace_paths`); a maze is solved when the trace reaches the
goal along the shortest path. Because each step is local, solving a maze takes as many iterations
as the information needs to cross it: more iterations at test time let the same weights solve
larger mazes.

``FeedForwardPlanner`` has the same parts but distinct weights per layer and a fixed depth: its
reach is bounded by its receptive field, whatever ``iterations`` it is given.

Both map mazes ``(B, 3, H, W)`` (walls, start, goal; see ``mesakit.search.mazes``) to path logits
``(B, H, W)``, positive exactly on the traced path (there the logit is half the probability of the
chosen move, so it lies in (0, 0.5]; -0.5 elsewhere), and work for any grid size. ``moves(...)``
gives the next-move logits ``(B, 4, H, W)`` that training uses. Training lives in
``mesakit.search.thinking``; probes in ``mesakit.search.probe``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..core import models
from .mazes import GOAL, MOVES, START, WALL, Mazes, check_mazes


def check_iterations(iterations: int) -> int:
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1 (the number of thinking steps), got {iterations!r}")
    return iterations


BLOCKED = -1e4  # the logit of a move into a wall or off the grid: never chosen, finite so losses stay finite


def neighbour_logits(values: torch.Tensor, mazes: torch.Tensor) -> torch.Tensor:
    """Next-move logits from a score map. Shapes: ``values (B, H, W)``, ``mazes (B, 3, H, W)`` ->
    ``(B, 4, H, W)``.

    The logit of moving up, down, left or right (the order of :data:`mesakit.search.mazes.MOVES`) from a
    square is the score of the square it moves to, or :data:`BLOCKED` where that square is a wall
    or off the grid. So the most likely move is the step to the open neighbour with the highest score.
    """
    B, H, W = values.shape
    padded = F.pad(values, (1, 1, 1, 1), value=0.0)
    walls = F.pad(mazes[:, WALL], (1, 1, 1, 1), value=1.0) > 0
    logits = []
    for dr, dc in MOVES:
        window = (slice(None), slice(1 + dr, 1 + dr + H), slice(1 + dc, 1 + dc + W))
        logits.append(padded[window].masked_fill(walls[window], BLOCKED))
    return torch.stack(logits, dim=1)


def trace_paths(move_logits: torch.Tensor, mazes: torch.Tensor) -> torch.Tensor:
    """Follow the most likely move from the start. Shapes: ``move_logits (B, 4, H, W)``, ``mazes
    (B, 3, H, W)`` -> path logits ``(B, H, W)``.

    The trace stops at the goal, or before stepping into a wall, off the grid or onto a square it
    already visited. Traced squares get ``0.5 · p`` (``p`` the probability of the move chosen there,
    so in (0, 0.5]); every other square -0.5. Not differentiable: train on the move logits.
    """
    B, _, H, W = mazes.shape
    probs = move_logits.detach().float().softmax(dim=1)
    confidence, direction = probs.max(dim=1)  # (B, H, W) each
    walls, goal = mazes[:, WALL] > 0, mazes[:, GOAL] > 0
    start = mazes[:, START].flatten(1).argmax(dim=1)
    r, c = start // W, start % W
    rows = torch.arange(B)
    dr = torch.tensor([m[0] for m in MOVES])
    dc = torch.tensor([m[1] for m in MOVES])
    path = torch.zeros(B, H, W, dtype=torch.bool)
    active = torch.ones(B, dtype=torch.bool)
    for _ in range(H * W):
        path[rows, r, c] = True
        active &= ~goal[rows, r, c]
        d = direction[rows, r, c]
        nr, nc = r + dr[d], c + dc[d]
        inside = (nr >= 0) & (nr < H) & (nc >= 0) & (nc < W)
        nr, nc = nr.clamp(0, H - 1), nc.clamp(0, W - 1)
        active &= inside & ~walls[rows, nr, nc] & ~path[rows, nr, nc]
        if not active.any():
            break
        r, c = torch.where(active, nr, r), torch.where(active, nc, c)
    return torch.where(path, 0.5 * confidence, torch.tensor(-0.5)).to(move_logits.dtype)


@dataclass(frozen=True)
class PlannerConfig:
    channels: int = 24  # width C of the hidden state (B, C, H, W)
    iterations: int = 20  # default number of iterations (the count used in training)

    def __post_init__(self) -> None:
        if self.channels < 1:
            raise ValueError(f"channels must be >= 1, got {self.channels}")
        check_iterations(self.iterations)


def _init_weights(model: nn.Module) -> None:
    """He (Kaiming) initialisation for the ReLU convolutions, zero biases: signals neither die nor
    explode across the iterations at the start of training, which makes training faster and steadier."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)


class _Block(nn.Module):
    """One thinking step: ``h <- open · relu(conv2(relu(conv1([h, maze]))))``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels + 3, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, h: torch.Tensor, x: torch.Tensor, open_: torch.Tensor) -> torch.Tensor:
        z = F.relu(self.conv1(torch.cat([h, x], dim=1)))  # recall: the maze is injected every step
        return F.relu(self.conv2(z)) * open_  # walls hold nothing, so signals travel along corridors


@models.register
class RecurrentPlanner(nn.Module):
    """The same block applied ``iterations`` times. ``model(mazes, iterations) -> logits (B, H, W)``."""

    Config = PlannerConfig

    def __init__(self, config: PlannerConfig = PlannerConfig()):
        super().__init__()
        self.config = config
        C = config.channels
        self.embed = nn.Conv2d(3, C, 3, padding=1)
        self.block = _Block(C)
        self.head = nn.Conv2d(C, 1, 1)  # one score per square
        _init_weights(self)

    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden state before the first iteration, ``(B, C, H, W)``."""
        return F.relu(self.embed(x)) * (1 - x[:, WALL : WALL + 1])

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One iteration of the shared block: ``(B, C, H, W) -> (B, C, H, W)``."""
        return self.block(h, x, 1 - x[:, WALL : WALL + 1])

    def value_readout(self, h: torch.Tensor) -> torch.Tensor:
        """The score map ``(B, H, W)`` from a hidden state ``(B, C, H, W)``: a linear function of ``h``
        at each square (a 1×1 convolution)."""
        return self.head(h)[:, 0]

    def move_readout(self, h: torch.Tensor, mazes: torch.Tensor) -> torch.Tensor:
        """Next-move logits ``(B, 4, H, W)`` (up, down, left, right) from a hidden state ``(B, C, H, W)``
        and its mazes ``(B, 3, H, W)``: the scores of the neighbours (:func:`neighbour_logits`)."""
        return neighbour_logits(self.value_readout(h), mazes.to(h.dtype))

    def readout(self, h: torch.Tensor, mazes: torch.Tensor) -> torch.Tensor:
        """Path logits ``(B, H, W)`` from a hidden state ``(B, C, H, W)`` and its mazes ``(B, 3, H, W)``:
        the next-move map traced from the start (:func:`trace_paths`)."""
        mazes = check_mazes(mazes).to(h.dtype)
        return trace_paths(self.move_readout(h, mazes), mazes)

    def moves(self, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """Shapes: ``mazes (B, 3, H, W)`` -> next-move logits ``(B, 4, H, W)`` (what training fits)."""
        x = check_mazes(mazes).to(self.embed.weight.dtype)
        return self.move_readout(self.final_state(x, iterations), x)

    def forward(self, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """Shapes: ``mazes (B, 3, H, W)`` -> path logits ``(B, H, W)``; ``iterations`` defaults to the config's."""
        return self.readout(self.final_state(mazes, iterations), mazes)

    def final_state(self, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """The hidden state after the last iteration, ``(B, C, H, W)``: ``hidden_states(...)[-1]``
        without keeping the earlier ones (long runs would hold every state in memory)."""
        x = check_mazes(mazes).to(self.embed.weight.dtype)
        h = self.initial_state(x)
        for _ in range(check_iterations(self.config.iterations if iterations is None else iterations)):
            h = self.step(h, x)
        return h

    def hidden_states(self, mazes: torch.Tensor, iterations: int | None = None) -> list[torch.Tensor]:
        """The hidden state after each iteration: a list of ``iterations`` tensors ``(B, C, H, W)``."""
        x = check_mazes(mazes).to(self.embed.weight.dtype)
        K = check_iterations(self.config.iterations if iterations is None else iterations)
        h = self.initial_state(x)
        states = []
        for _ in range(K):
            h = self.step(h, x)
            states.append(h)
        return states


@dataclass(frozen=True)
class FeedForwardConfig:
    channels: int = 24  # width of every layer
    depth: int = 3  # distinct blocks applied once each (no weight sharing, no iteration)

    def __post_init__(self) -> None:
        if self.channels < 1 or self.depth < 1:
            raise ValueError(f"channels and depth must be >= 1, got {self.channels} and {self.depth}")


@models.register
class FeedForwardPlanner(nn.Module):
    """The no-search baseline: ``depth`` distinct blocks, each applied once; ``iterations`` is ignored."""

    Config = FeedForwardConfig

    def __init__(self, config: FeedForwardConfig = FeedForwardConfig()):
        super().__init__()
        self.config = config
        C = config.channels
        self.embed = nn.Conv2d(3, C, 3, padding=1)
        self.blocks = nn.ModuleList(_Block(C) for _ in range(config.depth))
        self.head = nn.Conv2d(C, 1, 1)  # one score per square, as in the recurrent planner
        _init_weights(self)

    def moves(self, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """Shapes: ``mazes (B, 3, H, W)`` -> next-move logits ``(B, 4, H, W)``. ``iterations`` is ignored."""
        if iterations is not None:
            check_iterations(iterations)
        x = check_mazes(mazes).to(self.embed.weight.dtype)
        open_ = 1 - x[:, WALL : WALL + 1]
        h = F.relu(self.embed(x)) * open_
        for block in self.blocks:
            h = block(h, x, open_)
        return neighbour_logits(self.head(h)[:, 0], x)

    def forward(self, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """Shapes: ``mazes (B, 3, H, W)`` -> path logits ``(B, H, W)``. ``iterations`` is accepted and ignored."""
        moves = self.moves(mazes, iterations)
        return trace_paths(moves, check_mazes(mazes).to(moves.dtype))


def predict_paths(
    model: nn.Module, mazes: torch.Tensor | Mazes, iterations: int | None = None, batch_size: int = 500
) -> torch.Tensor:
    """The predicted path ``(B, H, W)`` (1 where ``logits > 0``), computed in batches without gradients."""
    x = mazes.inputs if isinstance(mazes, Mazes) else check_mazes(mazes)
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            outs.append((model(x[i : i + batch_size], iterations=iterations) > 0).float())
    return torch.cat(outs)


def solved(model: nn.Module, mazes: Mazes, iterations: int | None = None) -> torch.Tensor:
    """Which mazes the model solves, ``(B,)`` bool: the predicted path equals the true one on every square."""
    if not isinstance(mazes, Mazes):
        raise ValueError("needs a Mazes batch (from mesakit.search.mazes.generate_mazes) with its true paths")
    if iterations is not None:
        check_iterations(iterations)
    predicted = predict_paths(model, mazes, iterations)
    return (predicted == mazes.paths).flatten(1).all(dim=1)


def solve_rate(model: nn.Module, mazes: Mazes, iterations: int | None = None) -> float:
    """Fraction of ``mazes`` whose predicted path (``logits > 0``) equals the true path on every square."""
    return solved(model, mazes, iterations).float().mean().item()


def solve_rate_by_length(
    model: nn.Module, mazes: Mazes, edges: list[int], iterations: int | None = None
) -> torch.Tensor:
    """Solve rate per bin of path length (steps from start to goal), ``(len(edges) - 1,)``.

    Bin ``i`` holds the mazes with ``edges[i] <= length < edges[i+1]``; an empty bin gives NaN.
    """
    if len(edges) < 2 or any(a >= b for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be at least two increasing numbers, got {edges}")
    ok = solved(model, mazes, iterations).float()
    lengths = mazes.paths.flatten(1).sum(dim=1) - 1
    rates = []
    for lo, hi in zip(edges, edges[1:]):
        inside = (lengths >= lo) & (lengths < hi)
        rates.append(ok[inside].mean() if inside.any() else torch.tensor(float("nan")))
    return torch.stack(rates)
