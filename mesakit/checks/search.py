"""Checks of lesson 05 (internal search), sections 1 and 2: the BFS ground truth (``bfs_distance``)
and the planner's iteration loop (``run_planner``).

Each check runs the learner's function on fixed-seed mazes, compares it with mesakit's own
implementation (``mazes.distance_map``, ``RecurrentPlanner``) and, when they differ, names the
likely mistake by matching the output against known wrong implementations. The solve-rate
measurements (the thinking-time curve, the feed-forward baseline) are checked in
:mod:`mesakit.checks.search_rates`; the probe in :mod:`mesakit.checks.search_probe` and
:mod:`mesakit.checks.search_control`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import torch

from ..core.seeding import seeded
from ..moved import moved_name
from ..search.mazes import GOAL, MOVES, START, WALL, MazeConfig, distance_map, generate_mazes
from ..search.planner import PlannerConfig, RecurrentPlanner
from .core import call, expect_close, expect_tensor, is_close, passed

__all__ = ["check_bfs_distance", "check_run_planner"]


def _bfs(maze: torch.Tensor, source: int = GOAL, diagonal: bool = False, wall_value: float = -1.0, first: int = 0):
    """A plain BFS with knobs that reproduce the usual mistakes (wrong source, diagonals, ...)."""
    walls = maze[WALL]
    H, W = walls.shape
    dist = torch.full((H, W), float("inf"), dtype=torch.float64)
    r, c = (int(i) for i in torch.nonzero(maze[source])[0])
    dist[r, c] = first
    queue = deque([(r, c)])
    moves = list(MOVES) + ([(-1, -1), (-1, 1), (1, -1), (1, 1)] if diagonal else [])
    while queue:
        r, c = queue.popleft()
        for dr, dc in moves:
            nr, nc = r + dr, c + dc
            if 0 <= nr < H and 0 <= nc < W and walls[nr, nc] == 0 and dist[nr, nc] == float("inf"):
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return torch.where(torch.isinf(dist), torch.tensor(wall_value, dtype=torch.float64), dist)


# ---------------------------------------------------------------------------------------------
# 1. Ground truth: breadth-first search


NOT_SQUARE = """\
###########
#G........#
#.###.###.#
#...#...#.#
#.#.#.#.#.#
#.#...#..S#
###########"""  # 7×11 squares with loops: a depth-first search reaches some squares the long way round


def _maze_from_text(text: str) -> torch.Tensor:
    rows = text.splitlines()
    maze = torch.zeros(3, len(rows), len(rows[0]), dtype=torch.float64)
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            maze[WALL, r, c] = ch == "#"
            maze[START, r, c] = ch == "S"
            maze[GOAL, r, c] = ch == "G"
    return maze


def _bfs_cases() -> list[torch.Tensor]:
    """Perfect mazes (float32), a maze with loops (float64) and a non-square maze with loops."""
    perfect = [generate_mazes(4, size, seed).inputs[index] for size, seed, index in ((5, 0, 0), (5, 1, 3), (7, 2, 1))]
    loops = generate_mazes(3, MazeConfig(size=6, loops=10), 5).inputs[2].double()
    return perfect + [loops, _maze_from_text(NOT_SQUARE)]


def check_bfs_distance(bfs_distance_fn: Callable) -> None:
    """``bfs_distance(maze (3, H, W)) -> (H, W)``: steps to the goal, -1 on walls."""
    for maze in _bfs_cases():
        H, W = maze.shape[1:]
        truth = distance_map(maze)[0].double()
        try:
            out = call(bfs_distance_fn, maze.clone(), name="bfs_distance")
        except AssertionError as err:
            if H != W and isinstance(err.__cause__, IndexError):
                raise AssertionError(
                    f"{err}\n(this maze is {H}×{W} squares, height ≠ width, and the mazes before it were "
                    "square: are height and width swapped somewhere? maze.shape is (3, H, W))"
                ) from err.__cause__
            raise
        if isinstance(out, torch.Tensor) and H != W and tuple(out.shape) == (W, H):
            raise AssertionError(
                f"bfs_distance returned shape {(W, H)} for a maze of {H}×{W} squares: height and "
                "width are swapped (maze.shape is (3, H, W))"
            )
        expect_tensor(out, (H, W), "bfs_distance", "one distance per square of the maze")
        open_ = maze[WALL] == 0
        got = out.double()
        goal = maze[GOAL] > 0
        if (
            is_close(got[~open_], truth[~open_])
            and (got[goal] == 0).all()
            and (got[open_] >= truth[open_] - 1e-9).all()
            and (got[open_] > truth[open_] + 0.5).any()
        ):
            where = tuple(int(i) for i in torch.nonzero(got - truth == (got - truth).max())[0])
            raise AssertionError(
                f"bfs_distance: some squares got a longer distance than the shortest route (square {where}: "
                f"{got[where].item():g} steps, the shortest is {truth[where].item():g}). In a maze with loops the first "
                "route found must be the shortest: serve the squares first-in, first-out (a queue, deque.popleft), "
                "not last-in, first-out (a stack, or pop() from the end), which is depth-first search"
            )
        expect_close(
            out,
            truth,
            "bfs_distance",
            diagnoses=[
                (
                    _bfs(maze, source=START),
                    "these are distances from the START; the value map counts steps to the GOAL",
                ),
                (_bfs(maze, diagonal=True), "you allowed diagonal moves; only up, down, left and right are moves"),
                (_bfs(maze, wall_value=0.0), "walls should hold -1 (no distance), not 0"),
                (
                    _bfs(maze, wall_value=float("inf")).clamp(max=1e9),
                    "walls should hold -1 (no distance), not infinity",
                ),
                (_bfs(maze, first=1), "off by one: the goal itself is 0 steps from the goal"),
            ],
            atol=1e-9,
        )
    passed(
        "bfs_distance matches mesakit.search.mazes.distance_map on perfect mazes, mazes with loops and a non-square maze"
    )


# ---------------------------------------------------------------------------------------------
# 2. The planner's iteration loop


def _untrained_planner(seed: int = 0) -> RecurrentPlanner:
    with seeded(seed):  # the random weights, leaving the learner's generator as it was
        model = RecurrentPlanner(PlannerConfig(channels=8, iterations=5)).double().eval()
    with torch.no_grad():  # larger weights than the default init, so each iteration visibly changes the output
        for p in model.parameters():
            p.mul_(3.0)
    return model


def check_run_planner(run_planner_fn: Callable) -> None:
    """``run_planner(model, mazes (B, 3, H, W), iterations) -> logits (B, H, W)``; iterations < 1 refused."""
    # First two planners (float32, like the notebook's): code that reads the notebook's `planner`
    # instead of its `model` argument gives the same logits for both.
    small = generate_mazes(6, 5, 8).inputs
    others = [_untrained_planner(seed).float() for seed in (1, 2)]
    outs = []
    for other in others:
        out = call(run_planner_fn, other, small.clone(), 4, name="run_planner")
        outs.append(
            expect_tensor(out, small.shape[:1] + small.shape[2:], "run_planner", "one logit per square, (B, H, W)")
        )
    with torch.no_grad():
        refs = [other(small, iterations=4) for other in others]
    if is_close(outs[0], outs[1], atol=1e-5) and not is_close(refs[0], refs[1], atol=1e-5):
        raise AssertionError(
            "run_planner gives the same logits for two different planners: it ignores its `model` "
            "argument (the notebook's `planner`?); use the `model` you are passed"
        )
    model = _untrained_planner()
    mazes = generate_mazes(6, 5, 3).inputs.double()
    with torch.no_grad():
        states = [model.initial_state(mazes)]
        for _ in range(8):
            states.append(model.step(states[-1], mazes))
        for k in (3, 6, 1):
            out = call(run_planner_fn, model, mazes.clone(), k, name="run_planner")
            expect_close(
                out,
                model(mazes, iterations=k),
                f"run_planner(..., iterations={k})",
                diagnoses=[
                    (
                        model.readout(states[k - 1], mazes),
                        f"you ran {k - 1} iterations instead of {k} (off by one: range(iterations) runs exactly `iterations` steps)",
                    ),
                    (model.readout(states[k + 1], mazes), f"you ran {k + 1} iterations instead of {k} (off by one)"),
                    (
                        model.readout(states[0], mazes),
                        "the output ignores the iterations: read out the state after the loop, not the initial one",
                    ),
                ],
                atol=1e-8,
            )
    # A different maze size must work too (the network is fully convolutional).
    big = generate_mazes(2, 7, 4).inputs.double()
    with torch.no_grad():
        expect_close(
            call(run_planner_fn, model, big, 2, name="run_planner"),
            model(big, iterations=2),
            "run_planner on 7×7-cell mazes",
            atol=1e-8,
        )
    for bad in (0, -1):
        try:
            run_planner_fn(model, mazes, bad)
        except ValueError:
            continue
        except NotImplementedError:
            raise AssertionError(
                "run_planner is not implemented yet: replace `raise NotImplementedError()` with your code"
            ) from None
        except Exception as err:
            raise AssertionError(
                f"run_planner(..., iterations={bad}) raised {type(err).__name__}; raise a ValueError instead"
            ) from None
        raise AssertionError(
            f"run_planner(..., iterations={bad}) should refuse with a ValueError: a planner needs at least one iteration"
        )
    for out, ref in zip(outs, refs):  # compared last: a mistake above gets its name first
        expect_close(out, ref, "run_planner (a float32 planner)", atol=1e-5)
    passed("run_planner matches RecurrentPlanner for 1, 3 and 6 iterations and refuses iterations < 1")


def __getattr__(name: str) -> object:  # 0.1's checks.lesson05 held the probe and solve-rate checks too
    return moved_name(__name__, name)
