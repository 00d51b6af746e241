"""The neural agent of the coin gridworld (:mod:`mesakit.divergence.gridworld`) and how it is trained.

* :class:`GridPolicy` — a small MLP from the agent's view of the level to four action logits
  (moves into a wall masked out: :func:`blocked_moves`).
* :class:`LevelBatch` / :func:`play_batch` — many levels played in parallel, as tensors.
* :func:`train_policy` — policy gradient (REINFORCE) from the coin's reward, with the course's one
  loop (:func:`mesakit.core.train.train`).
* :func:`goal_rates` — play a policy on many levels and count which goal it reaches first.

The reward is the coin and nothing else. The training levels decide what the agent learns: with the
coin always on the right edge, "go to the coin" and "go to the right edge" earn the same reward on
every training level, and nothing in training tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core import models
from ..core.seeding import seeded
from ..core.train import TrainConfig, train
from .gridworld import ACTIONS, GridConfig, Level, make_level, pursued_goal, rollout


@dataclass(frozen=True)
class GridPolicyConfig:
    height: int = 7  # grid rows the policy is built for (it sees the whole level)
    width: int = 7  # grid columns
    hidden: int = 128  # units in each of the two hidden layers

    def __post_init__(self) -> None:
        if self.height < 3 or self.width < 3 or self.hidden < 1:
            raise ValueError(f"need height, width >= 3 and hidden >= 1, got {self.height}, {self.width}, {self.hidden}")


@models.register
class GridPolicy(nn.Module):
    """``policy(views) -> logits``: views ``(B, 3, h, w)`` -> logits ``(B, 4)`` (up, down, left, right)."""

    Config = GridPolicyConfig

    def __init__(self, config: GridPolicyConfig = GridPolicyConfig()):
        super().__init__()
        self.config = config
        size = 3 * config.height * config.width
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(size, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, len(ACTIONS)),
        )

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        shape = (3, self.config.height, self.config.width)
        if views.dim() != 4 or tuple(views.shape[1:]) != shape:
            raise ValueError(f"views must have shape (B, {', '.join(map(str, shape))}), got {tuple(views.shape)}")
        # Moves into a wall or off the grid are not offered (an action mask, as in board games):
        # without it a near-deterministic policy can push against a wall for the rest of an episode.
        return self.net(views).masked_fill(blocked_moves(views), -1e9)


def blocked_moves(views: torch.Tensor) -> torch.Tensor:
    """Views ``(B, 3, h, w)`` -> bool ``(B, 4)``: which moves (up, down, left, right) would bump into
    a wall or the border from the agent's cell."""
    h, w = views.shape[-2:]
    walls = nn.functional.pad(views[:, 0], (1, 1, 1, 1), value=1.0)
    agent = views[:, 2]
    ahead = [walls[:, 1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w] for dr, dc in ACTIONS]
    return torch.stack([(a * agent).sum(dim=(1, 2)) > 0.5 for a in ahead], dim=1)


def make_levels(config: GridConfig, n: int, seed: int) -> list[Level]:
    """``n`` levels from one seeded generator (the same seed gives the same levels)."""
    rng = np.random.default_rng(seed)
    return [make_level(config, rng) for _ in range(n)]


@dataclass(frozen=True)
class ReinforceConfig:
    """Policy-gradient training (REINFORCE with a batch baseline) on a fixed pool of training levels."""

    n_levels: int = 3000  # training levels (drawn once from the run's seed)
    updates: int = 1000  # policy-gradient updates, one batch of fresh episodes each
    episodes: int = 256  # episodes per update
    horizon: int = 40  # moves per training episode before it is cut off (evaluation allows 147)
    discount: float = 0.9  # the coin is worth discount**(moves - 1): shorter paths earn more
    entropy: float = 0.01  # weight of the entropy bonus that keeps early exploration going
    lr: float = 1e-3  # Adam's learning rate

    def __post_init__(self) -> None:
        if min(self.n_levels, self.updates, self.episodes, self.horizon) < 1:
            raise ValueError("n_levels, updates, episodes and horizon must all be >= 1")
        if not 0 < self.discount <= 1 or self.entropy < 0 or not self.lr > 0:
            raise ValueError(
                f"need 0 < discount <= 1, entropy >= 0 and lr > 0, got {self.discount}, {self.entropy}, {self.lr}"
            )


class LevelBatch:
    """Many levels as tensors, played in parallel: ``walls (L, h, w)`` bool, ``starts``/``coins`` ``(L, 2)``.

    :meth:`views` gives the same views as :func:`~mesakit.divergence.gridworld.observe`, for a whole batch of
    positions at once; :meth:`step` moves a batch of agents as :func:`~mesakit.divergence.gridworld.move` does.
    """

    def __init__(self, levels: list[Level]):
        if not levels:
            raise ValueError("LevelBatch needs at least one level")
        self.h, self.w = levels[0].shape
        if any(level.shape != (self.h, self.w) for level in levels):
            raise ValueError("all levels of a batch must have the same shape")
        self.walls = torch.from_numpy(np.stack([level.walls for level in levels]))
        self.starts = torch.tensor([level.start for level in levels])
        self.coins = torch.tensor([level.coin for level in levels])
        self._moves = torch.tensor(ACTIONS)
        self._size = torch.tensor([self.h - 1, self.w - 1])

    def views(self, idx: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Views ``(B, 3, h, w)`` of levels ``idx (B,)`` with agents at ``pos (B, 2)``."""
        rows = torch.arange(len(idx))
        view = torch.zeros(len(idx), 3, self.h, self.w)
        view[:, 0] = self.walls[idx].float()
        view[rows, 1, self.coins[idx, 0], self.coins[idx, 1]] = 1.0
        view[rows, 2, pos[:, 0], pos[:, 1]] = 1.0
        return view

    def step(self, idx: torch.Tensor, pos: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Positions ``(B, 2)`` after ``actions (B,)``; walls and the border block a move."""
        nxt = pos + self._moves[actions]
        inside = ((nxt >= 0) & (nxt <= self._size)).all(dim=1)
        clipped = nxt.clamp(min=0).minimum(self._size)
        free = inside & ~self.walls[idx, clipped[:, 0], clipped[:, 1]]
        return torch.where(free[:, None], nxt, pos)


def play_batch(policy, batch: LevelBatch, idx: torch.Tensor, horizon: int, generator: torch.Generator):
    """Play ``policy`` on levels ``idx (B,)`` for up to ``horizon`` sampled moves each.

    Returns views ``(M, 3, h, w)``, actions ``(M,)``, each move's episode ``(M,)`` and time
    ``(M,)`` for the M moves made, and the move count ``(B,)`` at which each episode reached its coin
    (``-1`` if it did not)."""
    pos = batch.starts[idx].clone()
    alive = torch.ones(len(idx), dtype=torch.bool)
    reached = torch.full((len(idx),), -1, dtype=torch.int64)
    views, actions, episode, time = [], [], [], []
    with torch.no_grad():
        for t in range(horizon):
            live = alive.nonzero().squeeze(1)
            if len(live) == 0:
                break
            v = batch.views(idx[live], pos[live])
            a = torch.multinomial(torch.softmax(policy(v), dim=-1), 1, generator=generator).squeeze(1)
            pos[live] = batch.step(idx[live], pos[live], a)
            views.append(v), actions.append(a), episode.append(live), time.append(torch.full_like(live, t))
            got = (pos[live] == batch.coins[idx[live]]).all(dim=1)
            reached[live[got]] = t + 1
            alive[live[got]] = False
    return torch.cat(views), torch.cat(actions), torch.cat(episode), torch.cat(time), reached


def reinforce_loss(entropy: float):
    """``loss(logits (M, 4), targets (M, 2))``, targets = (action, advantage): the REINFORCE
    surrogate ``-mean(advantage · log π(action))`` minus ``entropy`` × the mean entropy."""

    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(logits, dim=-1)
        chosen = logp.gather(1, targets[:, 0:1].long()).squeeze(1)
        bonus = -(logp.exp() * logp).sum(dim=-1).mean()
        return -(targets[:, 1] * chosen).mean() - entropy * bonus

    return loss


def train_policy(
    coin: str = "right",
    seed: int = 0,
    progress: bool = True,
    grid: GridConfig = GridConfig(),
    config: ReinforceConfig = ReinforceConfig(),
):
    """Train a :class:`GridPolicy` **from reward** on ``config.n_levels`` training levels with the
    coin placed by ``coin`` ("right" or "anywhere"); returns ``(policy, history)``.

    The reward is the coin alone (``discount ** (moves - 1)`` when the agent steps on it, else 0):
    nothing tells the agent about the right edge, except that in "right" levels the coin is always
    there. Each update plays ``config.episodes`` fresh episodes on random training levels with the
    current policy; the course's loop (:func:`mesakit.core.train.train`) then takes one Adam step on
    the REINFORCE loss, the return-to-go minus the batch's mean return being the advantage.
    """
    levels = make_levels(GridConfig(grid.height, grid.width, grid.wall_density, coin), config.n_levels, seed)
    batch = LevelBatch(levels)
    with seeded(seed):  # the initial weights
        policy = GridPolicy(GridPolicyConfig(grid.height, grid.width))
    discount = config.discount

    def sample(episodes: int, generator: torch.Generator):
        idx = torch.randint(len(levels), (episodes,), generator=generator)
        views, actions, episode, t, reached = play_batch(policy, batch, idx, config.horizon, generator)
        hit = reached[episode]
        returns = torch.where(
            hit > 0, discount ** (hit - 1 - t).clamp(min=0).double(), torch.zeros((), dtype=torch.float64)
        )
        advantage = (returns - returns.mean()) / (returns.std() + 1e-6) if len(returns) > 1 else returns * 0
        return views, torch.stack([actions.double(), advantage], dim=1).float()

    history = train(
        policy,
        sample,
        TrainConfig(steps=config.updates, batch_size=config.episodes, lr=config.lr, seed=seed, progress=progress),
        loss_fn=reinforce_loss(config.entropy),
    )
    return policy, history


def goal_rates(policy, levels: list[Level], seed: int = 0, max_steps: int | None = None) -> dict[str, float]:
    """Fraction of ``levels`` on which the policy (sampling its moves, one seeded generator for all
    levels) goes for each goal (:func:`~mesakit.divergence.gridworld.pursued_goal`, which it reaches first):
    keys ``coin``, ``edge`` (the right edge before the coin), ``neither``."""
    if not levels:
        raise ValueError("goal_rates needs at least one level")
    generator = torch.Generator().manual_seed(seed)
    counts = {"coin": 0, "edge": 0, "neither": 0}
    for level in levels:
        counts[pursued_goal(rollout(policy, level, generator, max_steps))] += 1
    return {k: v / len(levels) for k, v in counts.items()}
