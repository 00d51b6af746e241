"""Pretraining task diversity (lesson 03; Raventós et al. 2023): finite task pools, a model that
can either memorize its pool or learn in context, and training it on a pool.

* :class:`TaskPool` — ``num_tasks`` task vectors drawn once with a seed; every prompt picks one of
  them (``num_tasks=None``: a fresh task for every prompt, the "infinite" pool).
* :class:`LSAWithReadout` — one linear self-attention layer (the in-context optimizer of lesson 02)
  plus a *memory readout*: ``slots`` stored task vectors, mixed by how well each explains the
  context. That readout is a learnable version of the paper's dMMSE estimator (the Bayes-optimal
  predictor when tasks come from a finite pool), so both solutions are reachable by training.
* :func:`train_on_pool` — the course's one training loop (:func:`mesakit.core.train.train`) on a pool.
* :func:`locate_transition` — the smallest pool from which the model stays as good as one GD step.

The sweep over pool sizes and its shipped checkpoints live in
:mod:`mesakit.emergence.sweep`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..core import models
from ..core.seeding import seeded
from ..core.tasks import RegressionTask, check_prompts
from ..core.train import History, TrainConfig, train


def sample_from_pool(
    pool_w: torch.Tensor, task: RegressionTask, batch: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shapes: ``pool_w (M, d)`` -> ``Z (batch, N+1, d+1)``, ``y_q (batch,)``.

    Each prompt picks one task of the pool uniformly (``torch.randint``), then draws its inputs
    from ``task`` with that ``w``; every draw uses ``generator``.
    """
    if not isinstance(pool_w, torch.Tensor) or pool_w.dim() != 2 or pool_w.shape[1] != task.d or len(pool_w) < 1:
        shape = tuple(pool_w.shape) if isinstance(pool_w, torch.Tensor) else type(pool_w).__name__
        raise ValueError(f"pool_w must be a tensor of task vectors (M, d) = (M, {task.d}) with M >= 1, got {shape}")
    pick = torch.randint(len(pool_w), (batch,), generator=generator)
    return task.sample(batch, generator, w=pool_w[pick])


class TaskPool:
    """A finite pool of regression tasks, or fresh tasks every prompt (``num_tasks=None``).

    ``TaskPool(task, num_tasks, seed).sample(batch, generator) -> (Z, y_q)`` is a sampler for
    :func:`mesakit.core.train.train`. The pool's task vectors ``weights (num_tasks, d)`` are drawn once
    from ``seed``, so the same seed always gives the same pool (and lets us evaluate on it later).
    """

    def __init__(self, task: RegressionTask = RegressionTask(), num_tasks: int | None = None, seed: int = 0):
        if not isinstance(task, RegressionTask):
            raise TypeError(f"task must be a mesakit.core.tasks.RegressionTask, got {type(task).__name__}")
        if num_tasks is not None and (isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1):
            raise ValueError(
                f"num_tasks must be a whole number >= 1, or None for fresh tasks every prompt; got {num_tasks!r}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.task, self.num_tasks, self.seed = task, num_tasks, seed
        self.weights: torch.Tensor | None = None  # (num_tasks, d); None for fresh tasks
        if num_tasks is not None:
            self.weights = task.sample_w(num_tasks, torch.Generator().manual_seed(seed))

    @property
    def fresh(self) -> bool:
        """True when every prompt gets a new task (an effectively infinite pool)."""
        return self.weights is None

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` prompts ``(Z (batch, N+1, d+1), y_q (batch,))`` from the pool's tasks."""
        if self.weights is None:
            return self.task.sample(batch, generator)
        return sample_from_pool(self.weights, self.task, batch, generator)

    def __repr__(self) -> str:
        size = "fresh tasks" if self.fresh else f"num_tasks={self.num_tasks}"
        return f"TaskPool({size}, seed={self.seed}, d={self.task.d}, n_context={self.task.n_context})"


@dataclass(frozen=True)
class LSAWithReadoutConfig:
    d: int = 10  # input dimension of the regression task
    slots: int = 8  # task vectors the memory readout can store: its capacity to memorize
    init_std: float = 0.02  # std of the LSA's initial weights (as in lesson 02)
    memory_std: float = 1.0  # std of the stored vectors at initialisation (the task prior's scale)

    def __post_init__(self) -> None:
        if self.d < 1 or self.slots < 1:
            raise ValueError(f"d and slots must be >= 1, got d={self.d}, slots={self.slots}")
        if not (self.init_std >= 0 and self.memory_std >= 0):
            raise ValueError("init_std and memory_std must be >= 0")


@models.register
class LSAWithReadout(nn.Module):
    """Two paths summed: an LSA layer (can learn GD in context) and a memory readout (can store
    tasks). ``model(Z) -> (B,)``; :meth:`paths` returns each path's prediction.

    The readout scores stored vector ``v_k`` by its fit to the context,
    ``s_k = -β · 1/N Σ_i (v_k·x_i - y_i)^2``, and predicts ``Σ_k softmax(s)_k v_k·x_q``: with the
    pool's tasks stored and β large it picks the right one exactly, but it can only ever answer with
    (mixtures of) the vectors it stored.
    """

    Config = LSAWithReadoutConfig

    def __init__(self, config: LSAWithReadoutConfig = LSAWithReadoutConfig()):
        super().__init__()
        self.config = config
        self.lsa = models.LinearSelfAttention(models.LSAConfig(d=config.d, init_std=config.init_std))
        self.memory = nn.Parameter(torch.randn(config.slots, config.d) * config.memory_std)  # (slots, d)
        self.log_beta = nn.Parameter(torch.zeros(()))  # β = exp(log_beta) > 0, the readout's sharpness

    def paths(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shapes: ``Z (B, N+1, d+1)`` -> ``(ŷ_lsa (B,), ŷ_memory (B,))``; the model predicts their sum."""
        check_prompts(Z, self.config.d)
        Z = Z.to(self.memory.dtype)
        x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]
        fit = ((x @ self.memory.T - y.unsqueeze(-1)) ** 2).mean(1)  # (B, slots): each slot's error on the context
        attention = torch.softmax(-self.log_beta.exp() * fit, dim=-1)
        memory = torch.einsum("bs,sd,bd->b", attention, self.memory, x_q)
        return self.lsa(Z), memory

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        lsa, memory = self.paths(Z)
        return lsa + memory


def train_on_pool(
    pool: TaskPool,
    *,
    seed: int = 0,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 2e-3,
    slots: int = 8,
    snapshot_every: int = 0,
    progress: bool = True,
) -> tuple[LSAWithReadout, History]:
    """Train a fresh :class:`LSAWithReadout` on prompts from ``pool``; returns ``(model, history)``.

    ``seed`` fixes the initial weights and the training batches (the pool has its own seed).
    """
    if not isinstance(pool, TaskPool):
        raise TypeError(f"pool must be a TaskPool, got {type(pool).__name__}")
    with seeded(seed):  # the initial weights, without touching the caller's RNG
        model = LSAWithReadout(LSAWithReadoutConfig(d=pool.task.d, slots=slots))
    config = TrainConfig(
        steps=steps, batch_size=batch_size, lr=lr, seed=seed, snapshot_every=snapshot_every, progress=progress
    )
    history = train(model, pool.sample, config)
    return model, history


def locate_transition(
    num_tasks: Sequence[int], loss_fresh: Sequence[float], gd_loss: float, tolerance: float = 0.1
) -> int | None:
    """The smallest pool size from which on (it and every larger pool) the loss on new tasks is
    within ``tolerance`` of one GD step: ``loss_fresh <= (1 + tolerance) · gd_loss``.
    ``num_tasks`` is ascending; ``None`` when even the largest pool is not within."""
    if len(num_tasks) != len(loss_fresh) or not num_tasks:
        raise ValueError(
            f"num_tasks and loss_fresh must be non-empty and as long as each other, got {len(num_tasks)} and {len(loss_fresh)}"
        )
    if any(b <= a for a, b in zip(num_tasks, num_tasks[1:])):
        raise ValueError(f"num_tasks must be strictly ascending, got {list(num_tasks)}")
    if not (math.isfinite(gd_loss) and gd_loss > 0 and tolerance >= 0):
        raise ValueError(f"need gd_loss > 0 and tolerance >= 0, got {gd_loss}, {tolerance}")
    threshold = (1 + tolerance) * gd_loss
    transition = None
    for m, value in zip(reversed(num_tasks), reversed(loss_fresh)):
        if not value <= threshold:  # NaN counts as "not within"
            break
        transition = m
    return transition
