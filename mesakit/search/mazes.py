"""Mazes for lesson 05 (internal search): a seeded generator and the BFS ground truth.

A maze of ``size × size`` cells lives on a grid of ``(2·size+1) × (2·size+1)`` squares: cells sit at
odd coordinates, the squares between them are walls or open passages, and the border is wall. The
mazes are *perfect* (exactly one path between any two cells; randomised depth-first search), with a
start cell and a goal cell drawn at random.

A batch given to a model is a float tensor ``(B, 3, H, W)``: channel 0 walls (1 = wall), channel 1
the start square, channel 2 the goal square. Targets are ``(B, H, W)``: the shortest path (1 on
its squares, start and goal included) and the BFS distance map (steps to the goal; -1 on walls).

This file covers mazes and breadth-first search only; the planners that solve them are in
``mesakit.search.planner`` and the probe that reads their hidden state is in ``mesakit.search.probe``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..divergence.gridworld import ACTIONS, distances

WALL, START, GOAL = 0, 1, 2  # channels of a maze tensor
MOVES = ACTIONS  # up, down, left, right: the 4 moves of a next-move map, the gridworld's (lesson 04) moves


@dataclass(frozen=True)
class MazeConfig:
    size: int = 5  # cells per side; the grid has 2·size+1 squares per side (5 -> 11×11)
    min_distance: int = 1  # fewest cell-to-cell moves between start and goal (1 = any two distinct cells)
    loops: int = 0  # extra passages knocked through after carving (0 = a perfect maze); the
    #                 shortest path is kept unique by redrawing start and goal when it is not

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 2:
            raise ValueError(f"size must be an integer >= 2 (cells per side), got {self.size!r}")
        if not 1 <= self.min_distance <= self.size * self.size - 1:
            raise ValueError(
                f"min_distance must be between 1 and size²-1 = {self.size**2 - 1}, got {self.min_distance}"
            )
        if not 0 <= self.loops <= (self.size - 1) ** 2:
            raise ValueError(f"loops must be between 0 and (size-1)² = {(self.size - 1) ** 2}, got {self.loops}")

    @property
    def grid(self) -> int:
        """Squares per side of the grid: ``2·size + 1``."""
        return 2 * self.size + 1


@dataclass(frozen=True)
class Mazes:
    """A batch of mazes with their ground truth (all tensors share the batch dimension ``B``)."""

    inputs: torch.Tensor  # (B, 3, H, W) float: walls, start, goal
    paths: torch.Tensor  # (B, H, W) float: 1 on the shortest path's squares (start and goal included)
    distances: torch.Tensor  # (B, H, W) float: BFS steps to the goal, -1 on walls
    config: MazeConfig

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __getitem__(self, index) -> Mazes:
        """``mazes[i:j]`` (or any tensor index) keeps the batch dimension."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Mazes(self.inputs[index], self.paths[index], self.distances[index], self.config)


def generate_mazes(n: int, size: int | MazeConfig = 5, seed: int = 0) -> Mazes:
    """``n`` random perfect mazes of ``size × size`` cells (or a :class:`MazeConfig`), seeded:
    same ``(n, size, seed)``, same mazes."""
    config = size if isinstance(size, MazeConfig) else MazeConfig(size=size)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of mazes) must be an integer >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    G, cells = config.grid, config.size * config.size
    walls = np.stack([_carve(config.size, rng) for _ in range(n)])
    if config.loops:
        for w in walls:
            _knock_through(w, config.loops, rng)
    x = torch.zeros(n, 3, G, G)
    x[:, WALL] = torch.from_numpy(walls)
    pending = torch.arange(n)
    for _ in range(1000):  # draw start and goal; redraw where they are too close or the path is not unique
        pair = np.stack([rng.choice(cells, size=2, replace=False) for _ in range(len(pending))])
        x[pending, START:] = 0
        for i, (a, b) in zip(pending.tolist(), pair):
            x[i, START, 2 * (a // config.size) + 1, 2 * (a % config.size) + 1] = 1
            x[i, GOAL, 2 * (b // config.size) + 1, 2 * (b % config.size) + 1] = 1
        if config.min_distance == 1 and not config.loops:
            break
        sub = x[pending]
        dist = distance_map(sub)
        length = (dist * sub[:, START]).sum(dim=(1, 2))
        unique = shortest_path(sub, dist).sum(dim=(1, 2)) == length + 1
        pending = pending[~((length >= 2 * config.min_distance) & unique)]
        if len(pending) == 0:
            break
    else:
        raise ValueError(
            "could not place start and goal far enough apart with a unique shortest path; lower min_distance or loops"
        )
    dist = distance_map(x)
    return Mazes(inputs=x, paths=shortest_path(x, goal_distances=dist), distances=dist, config=config)


def _carve(size: int, rng: np.random.Generator) -> np.ndarray:
    """Walls of one perfect maze (randomised depth-first search, the "recursive backtracker")."""
    G = 2 * size + 1
    walls = np.ones((G, G), dtype=np.float32)
    seen = np.zeros((size, size), dtype=bool)
    r, c = int(rng.integers(size)), int(rng.integers(size))
    stack = [(r, c)]
    seen[r, c] = True
    walls[2 * r + 1, 2 * c + 1] = 0
    while stack:
        r, c = stack[-1]
        options = [
            (r + dr, c + dc)
            for dr, dc in MOVES
            if 0 <= r + dr < size and 0 <= c + dc < size and not seen[r + dr, c + dc]
        ]
        if not options:
            stack.pop()
            continue
        nr, nc = options[int(rng.integers(len(options)))]
        walls[r + nr + 1, c + nc + 1] = 0  # the passage between the two cells
        walls[2 * nr + 1, 2 * nc + 1] = 0
        seen[nr, nc] = True
        stack.append((nr, nc))
    return walls


def _knock_through(walls: np.ndarray, loops: int, rng: np.random.Generator) -> None:
    """Open ``loops`` random interior walls between two cells (each makes one loop)."""
    G = walls.shape[0]
    closed = [(r, c) for r in range(1, G - 1) for c in range(1, G - 1) if walls[r, c] and (r + c) % 2 == 1]
    for i in rng.choice(len(closed), size=min(loops, len(closed)), replace=False):
        walls[closed[i]] = 0


def check_mazes(mazes: torch.Tensor, name: str = "mazes") -> torch.Tensor:
    """Validate a maze batch ``(B, 3, H, W)`` (a single ``(3, H, W)`` maze gets a batch axis).

    Raises ``ValueError`` saying what is wrong: shape, non-binary channels, not exactly one start and
    one goal per maze, start or goal inside a wall. Paths are checked by :func:`distance_map`.
    """
    if not isinstance(mazes, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (B, 3, H, W), got {type(mazes).__name__}")
    if mazes.dim() == 3:
        mazes = mazes.unsqueeze(0)
    if mazes.dim() != 4 or mazes.shape[1] != 3:
        raise ValueError(
            f"{name} must have shape (B, 3, H, W) (channels: walls, start, goal), got {tuple(mazes.shape)}"
        )
    if mazes.shape[0] < 1 or min(mazes.shape[2:]) < 3:
        raise ValueError(f"{name} must hold at least one maze of at least 3×3 squares, got {tuple(mazes.shape)}")
    if not torch.isin(mazes, torch.tensor([0.0, 1.0], dtype=mazes.dtype)).all():
        raise ValueError(f"{name} must be binary (0/1 in every channel); did you pass logits or distances?")
    for channel, what in ((START, "start"), (GOAL, "goal")):
        count = mazes[:, channel].sum(dim=(1, 2))
        if (count != 1).any():
            b = int(torch.nonzero(count != 1)[0])
            raise ValueError(f"{name}[{b}] has {int(count[b])} {what} squares; every maze needs exactly one")
        if (mazes[:, channel] * mazes[:, WALL]).any():
            raise ValueError(f"{name} has a {what} square inside a wall")
    return mazes.float()


def distance_map(mazes: torch.Tensor, source: str = "goal") -> torch.Tensor:
    """BFS distances ``(B, H, W)`` from the goal (or ``source="start"``) to every open square.

    Walls hold -1. Raises ``ValueError`` if the start cannot reach the goal. Each maze is searched
    by :func:`mesakit.divergence.gridworld.distances`, the course's one breadth-first search.
    """
    if source not in ("goal", "start"):
        raise ValueError(f"source must be 'goal' or 'start', got {source!r}")
    x = check_mazes(mazes)
    origin, other = (GOAL, START) if source == "goal" else (START, GOAL)
    walls = (x[:, WALL] > 0).numpy()
    origins = torch.nonzero(x[:, origin])[:, 1:].tolist()  # one square per maze (check_mazes), in batch order
    dist = torch.from_numpy(np.stack([distances(w, (r, c)) for w, (r, c) in zip(walls, origins)])).float()
    unreachable = ((dist < 0) & (x[:, other] > 0)).any(dim=2).any(dim=1)
    if unreachable.any():
        b = int(torch.nonzero(unreachable)[0])
        raise ValueError(f"maze {b} has no path from start to goal; every maze must be solvable")
    return dist


def shortest_path(mazes: torch.Tensor, goal_distances: torch.Tensor | None = None) -> torch.Tensor:
    """The squares on a shortest start-goal path, ``(B, H, W)`` float with 1 on the path.

    A square is on it when ``d_start + d_goal = d_start(goal)``; a perfect maze has exactly one such
    path (start and goal included). ``goal_distances`` may pass a precomputed :func:`distance_map`.
    """
    x = check_mazes(mazes)
    d_goal = distance_map(x) if goal_distances is None else goal_distances
    d_start = distance_map(x, source="start")
    length = (d_goal * x[:, START]).sum(dim=(1, 2)).view(-1, 1, 1)
    on_path = (d_goal >= 0) & (d_start >= 0) & (d_goal + d_start == length)
    return on_path.float()


def path_lengths(mazes: Mazes) -> torch.Tensor:
    """Steps from start to goal for each maze, ``(B,)``."""
    return (mazes.distances * mazes.inputs[:, START]).sum(dim=(1, 2))


def next_move_map(distances: torch.Tensor) -> torch.Tensor:
    """The next-move map ``(B, H, W)`` long: for every open square, the index in :data:`MOVES` of the
    move one step closer to the goal (the neighbour whose BFS distance is one less; the first such
    one if there are several); -1 on walls and on the goal itself. ``distances`` is a
    :func:`distance_map` ``(B, H, W)`` (-1 on walls)."""
    if distances.dim() != 3:
        raise ValueError(f"distances must be a distance map of shape (B, H, W), got {tuple(distances.shape)}")
    d = distances.float()
    padded = torch.nn.functional.pad(d, (1, 1, 1, 1), value=-1.0)
    H, W = d.shape[1:]
    moves = torch.full(d.shape, -1, dtype=torch.long)
    for i in reversed(range(len(MOVES))):  # reversed: the first matching move wins
        dr, dc = MOVES[i]
        neighbour = padded[:, 1 + dr : 1 + dr + H, 1 + dc : 1 + dc + W]
        closer = (d > 0) & (neighbour >= 0) & (neighbour == d - 1)
        moves = torch.where(closer, i, moves)
    return moves
