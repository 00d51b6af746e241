"""Maze generator and BFS ground truth: shapes, determinism, perfect mazes, bad input."""

from __future__ import annotations

import pytest
import torch

from mesakit.search.mazes import (
    GOAL,
    MOVES,
    START,
    WALL,
    MazeConfig,
    Mazes,
    check_mazes,
    distance_map,
    generate_mazes,
    next_move_map,
    path_lengths,
    shortest_path,
)

torch.set_num_threads(1)


def test_shapes_and_channels():
    m = generate_mazes(8, 5, seed=0)
    assert isinstance(m, Mazes) and len(m) == 8
    assert m.inputs.shape == (8, 3, 11, 11) and m.inputs.dtype == torch.float32
    assert m.paths.shape == m.distances.shape == (8, 11, 11)
    assert (m.inputs[:, START].sum((1, 2)) == 1).all() and (m.inputs[:, GOAL].sum((1, 2)) == 1).all()
    assert (m.inputs[:, WALL, 0] == 1).all() and (m.inputs[:, WALL, :, -1] == 1).all()  # border is wall
    assert m[2:4].inputs.shape == (2, 3, 11, 11) and m[0].inputs.shape == (1, 3, 11, 11)


def test_deterministic_and_seeded():
    a, b, c = generate_mazes(5, 5, 3), generate_mazes(5, 5, 3), generate_mazes(5, 5, 4)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.paths, b.paths)
    assert not torch.equal(a.inputs, c.inputs)


def test_mazes_are_perfect_trees():
    m = generate_mazes(20, 5, 1)
    open_ = (m.inputs[:, WALL] == 0).sum((1, 2))
    # A perfect maze of 25 cells is a spanning tree: 25 cell squares + 24 passages.
    assert (open_ == 25 + 24).all()
    assert (m.distances[m.inputs[:, WALL] == 0] >= 0).all()  # every square reachable


def test_path_and_distances_agree():
    m = generate_mazes(30, 5, 2)
    lengths = path_lengths(m)
    assert torch.equal(m.paths.sum((1, 2)), lengths + 1)  # start and goal included
    assert (m.paths * m.inputs[:, START]).sum() == 30 and (m.paths * m.inputs[:, GOAL]).sum() == 30
    assert (m.distances[m.inputs[:, WALL] == 1] == -1).all()
    assert (m.distances * m.inputs[:, GOAL]).sum() == 0
    # Along the path, distances to the goal take every value 0..length exactly once.
    for b in range(5):
        on = m.distances[b][m.paths[b] > 0].sort().values
        assert torch.equal(on, torch.arange(int(lengths[b]) + 1, dtype=on.dtype))


def test_hand_made_maze():
    x = torch.zeros(3, 3, 5)
    x[WALL] = torch.tensor([[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], dtype=torch.float32)
    x[START, 1, 1] = 1
    x[GOAL, 1, 3] = 1
    assert distance_map(x)[0, 1].tolist() == [-1, 2, 1, 0, -1]
    assert shortest_path(x)[0, 1].tolist() == [0, 1, 1, 1, 0]
    assert distance_map(x, source="start")[0, 1, 3] == 2


def test_mazes_use_the_gridworlds_moves_and_bfs():
    """One set of moves and one breadth-first search for lessons 04 and 05 (issue 16)."""
    from mesakit.divergence import gridworld

    assert MOVES is gridworld.ACTIONS
    m = generate_mazes(6, MazeConfig(size=5, loops=4, min_distance=3), seed=7)  # loops: several routes
    for source, channel in (("goal", GOAL), ("start", START)):
        dist = distance_map(m.inputs.double(), source=source)
        assert dist.dtype == torch.float32
        for b in range(len(m)):
            origin = tuple(int(i) for i in torch.nonzero(m.inputs[b, channel])[0])
            expected = gridworld.distances(m.inputs[b, WALL].numpy() > 0, origin)
            assert torch.equal(dist[b], torch.from_numpy(expected).float())


def test_larger_and_loopy_mazes():
    m = generate_mazes(4, 7, 0)
    assert m.inputs.shape == (4, 3, 15, 15)
    loopy = generate_mazes(10, MazeConfig(5, loops=3), 0)
    assert ((loopy.inputs[:, WALL] == 0).sum((1, 2)) == 49 + 3).all()
    assert torch.equal(loopy.paths.sum((1, 2)), path_lengths(loopy) + 1)  # still a unique shortest path
    far = generate_mazes(10, MazeConfig(5, min_distance=6), 0)
    assert (path_lengths(far) >= 12).all()


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(2, 11, 11), r"\(B, 3, H, W\)"),
        (torch.zeros(1, 4, 11, 11), r"\(B, 3, H, W\)"),
        (torch.zeros(1, 3, 2, 2), "at least 3×3"),
        ("maze", "torch.Tensor"),
    ],
)
def test_bad_shapes_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        check_mazes(bad)


def test_bad_contents_raise():
    x = generate_mazes(2, 5, 0).inputs.clone()
    y = x.clone()
    y[0, START] = 0
    with pytest.raises(ValueError, match="0 start squares"):
        distance_map(y)
    y = x.clone()
    y[1, GOAL, 0, 0] = 1
    with pytest.raises(ValueError, match="2 goal squares"):
        distance_map(y)
    y = x.clone() * 0.5
    with pytest.raises(ValueError, match="binary"):
        distance_map(y)
    y = x.clone()
    y[0, WALL] = 1 - y[0, START] - y[0, GOAL]  # walls everywhere except start and goal
    with pytest.raises(ValueError, match="no path from start to goal"):
        distance_map(y)
    with pytest.raises(ValueError, match="source"):
        distance_map(x, source="middle")


@pytest.mark.parametrize("kwargs", [dict(size=1), dict(size=5, min_distance=0), dict(size=3, loops=10)])
def test_bad_config_raises(kwargs):
    with pytest.raises(ValueError):
        MazeConfig(**kwargs)


def test_bad_count_raises():
    with pytest.raises(ValueError, match="n"):
        generate_mazes(0, 5, 0)


def test_next_move_map_steps_one_closer_to_the_goal():
    m = generate_mazes(10, 6, seed=4)
    moves = next_move_map(m.distances)
    assert moves.shape == m.distances.shape and moves.dtype == torch.long
    assert (moves[m.inputs[:, WALL] > 0] == -1).all() and (moves[m.inputs[:, GOAL] > 0] == -1).all()
    b, r, c = torch.nonzero(moves >= 0, as_tuple=True)
    dr = torch.tensor([d[0] for d in MOVES])[moves[b, r, c]]
    dc = torch.tensor([d[1] for d in MOVES])[moves[b, r, c]]
    assert torch.equal(m.distances[b, r + dr, c + dc], m.distances[b, r, c] - 1)
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        next_move_map(m.distances[0])
