"""The neural agent of the coin gridworld (:mod:`mesakit.gridworld`) and how it is trained.

* :class:`GridPolicy` — a small MLP from the agent's egocentric view to four action logits.
* :func:`demonstrations` — imitation data: at every cell of every level, the shortest-path
  demonstrator's move (one BFS per level labels all cells, not just one path).
* :func:`train_policy` — behaviour cloning with the course's one loop (:func:`mesakit.train.train`).
* :func:`goal_rates` — play a policy on many levels and count which goal it reaches first.

The training levels decide what the agent learns: with the coin always on the right edge,
"go to the coin" and "go right" explain every demonstration equally well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import models
from .gridworld import ACTIONS, GridConfig, Level, distances, expert_action, make_level, observe, pursued_goal, rollout
from .train import TrainConfig, train


@dataclass(frozen=True)
class GridPolicyConfig:
    height: int = 7  # grid rows the policy is built for (its view is 2·height-1 tall)
    width: int = 7  # grid columns
    hidden: int = 128  # units in each of the two hidden layers

    def __post_init__(self) -> None:
        if self.height < 3 or self.width < 3 or self.hidden < 1:
            raise ValueError(f"need height, width >= 3 and hidden >= 1, got {self.height}, {self.width}, {self.hidden}")


@models.register
class GridPolicy(nn.Module):
    """``policy(views) -> logits``: views ``(B, 2, 2h-1, 2w-1)`` -> logits ``(B, 4)`` (up, down, left, right)."""

    Config = GridPolicyConfig

    def __init__(self, config: GridPolicyConfig = GridPolicyConfig()):
        super().__init__()
        self.config = config
        size = 2 * (2 * config.height - 1) * (2 * config.width - 1)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(size, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, len(ACTIONS)),
        )

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        shape = (2, 2 * self.config.height - 1, 2 * self.config.width - 1)
        if views.dim() != 4 or tuple(views.shape[1:]) != shape:
            raise ValueError(f"views must have shape (B, {', '.join(map(str, shape))}), got {tuple(views.shape)}")
        return self.net(views)


def make_levels(config: GridConfig, n: int, seed: int) -> list[Level]:
    """``n`` levels from one seeded generator (the same seed gives the same levels)."""
    rng = np.random.default_rng(seed)
    return [make_level(config, rng) for _ in range(n)]


def demonstrations(levels: list[Level]) -> tuple[torch.Tensor, torch.Tensor]:
    """Imitation data: views ``(M, 2, 2h-1, 2w-1)`` and expert actions ``(M,)`` (int64), one pair
    for every free cell (other than the coin) from which the coin can be reached."""
    views, actions = [], []
    for level in levels:
        dist = distances(level.walls, level.coin)
        for r, c in zip(*np.nonzero(dist > 0)):
            pos = (int(r), int(c))
            views.append(observe(level, pos))
            actions.append(expert_action(level, pos, dist))
    return torch.stack(views), torch.tensor(actions, dtype=torch.int64)


def train_policy(
    coin: str = "right",
    n_levels: int = 3000,
    steps: int = 3000,
    seed: int = 0,
    progress: bool = True,
    grid: GridConfig = GridConfig(),
):
    """Behaviour-clone the demonstrator on ``n_levels`` training levels with the coin placed by
    ``coin`` ("right" or "anywhere"); returns ``(policy, history)``."""
    config = GridConfig(grid.height, grid.width, grid.wall_density, coin)
    views, actions = demonstrations(make_levels(config, n_levels, seed))
    torch.manual_seed(seed)  # the initial weights
    policy = GridPolicy(GridPolicyConfig(grid.height, grid.width))

    def sample(batch: int, generator: torch.Generator):
        idx = torch.randint(len(actions), (batch,), generator=generator)
        return views[idx], actions[idx]

    history = train(
        policy, sample, TrainConfig(steps=steps, batch_size=256, lr=1e-3, seed=seed, progress=progress),
        loss_fn=nn.functional.cross_entropy,
    )  # fmt: skip
    return policy, history


def goal_rates(policy, levels: list[Level], seed: int = 0, max_steps: int | None = None) -> dict[str, float]:
    """Fraction of ``levels`` on which the policy (sampling its moves, one seeded generator for all
    levels) goes for each goal (:func:`~mesakit.gridworld.pursued_goal`, which it reaches first):
    keys ``coin``, ``edge`` (the right edge before the coin), ``neither``."""
    if not levels:
        raise ValueError("goal_rates needs at least one level")
    generator = torch.Generator().manual_seed(seed)
    counts = {"coin": 0, "edge": 0, "neither": 0}
    for level in levels:
        counts[pursued_goal(rollout(policy, level, generator, max_steps))] += 1
    return {k: v / len(levels) for k, v in counts.items()}
