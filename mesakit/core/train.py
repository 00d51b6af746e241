"""The one training loop of the course: the *base optimizer* that every lesson reuses.

``train(model, sample, config)`` draws a fresh batch each step from ``sample(batch_size,
generator)``, takes an Adam (or SGD) step on ``loss_fn(forward(model, inputs, generator), targets)``
and returns a :class:`History` (loss per step, optional weight snapshots) that the plots consume.
Everything random draws from one seeded ``torch.Generator``, so a seed fixes the whole run.
Evaluation and the experiments built on this loop live in ``mesakit.experiments``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .metrics import loss as half_mse


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 3000  # optimizer steps, one fresh batch each
    batch_size: int = 512  # prompts (or examples) per step
    lr: float = 1e-3  # learning rate of the base optimizer
    optimizer: str = "adam"  # "adam" or "sgd"
    seed: int = 0  # seeds the data generator (weights are initialised by the caller)
    snapshot_every: int = 0  # keep a copy of the weights every this many steps (0 = never)
    grad_clip: float = 0.0  # clip the gradient norm to this value (0 = no clipping)
    progress: bool = True  # show a tqdm progress bar
    lr_schedule: str = "constant"  # "constant", or "cosine": decay lr to 0 over the run

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps} and {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.snapshot_every < 0 or self.grad_clip < 0:
            raise ValueError("snapshot_every and grad_clip must be >= 0 (0 turns them off)")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")


@dataclass
class History:
    """What a training run leaves behind: ``loss[i]`` is the batch loss before step ``i + 1``."""

    loss: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, torch.Tensor]]] = field(default_factory=list)  # (step, state_dict)
    seconds: float = 0.0  # wall time of the loop

    @property
    def steps(self) -> list[int]:
        return list(range(1, len(self.loss) + 1))


Sampler = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def default_forward(model: nn.Module, inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return model(inputs)


def train(
    model: nn.Module,
    sample: Sampler,
    config: TrainConfig = TrainConfig(),
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = half_mse,
    forward: Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor] = default_forward,
) -> History:
    """Train ``model`` in place and return its :class:`History`.

    ``sample(batch_size, generator) -> (inputs, targets)``; ``forward(model, inputs, generator)``
    lets a lesson vary the call (e.g. a random iteration count per step).
    """
    generator = torch.Generator().manual_seed(config.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if config.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=config.lr)
    else:
        opt = torch.optim.SGD(params, lr=config.lr)
    history = History()
    bar = _progress(config)
    model.train()
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        inputs, targets = sample(config.batch_size, generator)
        loss = loss_fn(forward(model, inputs, generator), targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training diverged at step {step} (loss = {loss.item()}); lower the learning rate "
                f"(now {config.lr}) or set grad_clip"
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        if config.lr_schedule == "cosine":
            for group in opt.param_groups:
                group["lr"] = 0.5 * config.lr * (1 + math.cos(math.pi * (step - 1) / config.steps))
        opt.step()
        history.loss.append(loss.item())
        if config.snapshot_every and step % config.snapshot_every == 0:
            history.snapshots.append((step, copy.deepcopy(model.state_dict())))
        if bar is not None:
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}")
    history.seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    model.eval()
    return history


def _progress(config: TrainConfig):
    if not config.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.steps, desc="training", unit="step", mininterval=0.5)
