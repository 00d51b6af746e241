"""Lesson 01's hand-built mesa optimizer: gradient descent as the *base* optimizer and as a model's
*forward pass*.

* :func:`least_squares_loss`, :func:`least_squares_gradient`, :func:`gradient_descent` — plain
  gradient descent on ``L(w) = 1/(2N) Σ_i (w·x_i - y_i)^2``, written from scratch (the references
  for the lesson's first exercises; they agree with :func:`mesakit.core.reference.gd_weights`).
* :class:`HandBuiltMesaOptimizer` — a model whose forward pass runs K GD steps on the prompt's
  context and predicts the query; its one parameter is the inner step size.
* :func:`learn_step_size` — the base optimizer (SGD, via :func:`mesakit.core.train.train`) tuning that
  step size through the unrolled inner loop; :func:`best_step_size` is the yardstick it is compared
  with (:func:`mesakit.core.reference.best_gd_lr`, cached).
* :func:`inner_run`, :func:`query_loss_curve`, :func:`context_loss_curve` — what the lesson's
  plots and widget show: the inner loop step by step, and the base and mesa objectives as functions
  of the inner step size (their minima differ: the two objectives are not the same function).

Training a *learned* in-context model (linear self-attention) is lesson 02's job, not this file's.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import nn

from ..core import metrics, models, reference
from ..core.tasks import RegressionTask, check_prompts, split_prompt
from ..core.train import TrainConfig, train


def _check_regression(w: torch.Tensor | None, x: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        raise ValueError(f"x must be a tensor of shape (B, N, d), got {getattr(x, 'shape', type(x).__name__)}")
    B, N, d = x.shape
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (B, N):
        raise ValueError(
            f"y must have shape (B, N) = ({B}, {N}) to match x, got {getattr(y, 'shape', type(y).__name__)}"
        )
    if w is not None and (not isinstance(w, torch.Tensor) or tuple(w.shape) != (B, d)):
        raise ValueError(
            f"w must have shape (B, d) = ({B}, {d}) to match x, got {getattr(w, 'shape', type(w).__name__)}"
        )


def least_squares_loss(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Shapes: ``w (B, d)``, ``x (B, N, d)``, ``y (B, N)`` -> ``(B,)``: ``1/(2N) Σ_i (w·x_i - y_i)^2``
    for each of the B regression problems."""
    _check_regression(w, x, y)
    residual = torch.einsum("bnd,bd->bn", x, w) - y
    return 0.5 * (residual**2).mean(dim=1)


def least_squares_gradient(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Shapes: ``w (B, d)``, ``x (B, N, d)``, ``y (B, N)`` -> ``(B, d)``: ``∇L(w) = 1/N Σ_i (w·x_i - y_i) x_i``."""
    _check_regression(w, x, y)
    residual = torch.einsum("bnd,bd->bn", x, w) - y
    return torch.einsum("bn,bnd->bd", residual, x) / x.shape[1]


def gradient_descent(x: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    """Shapes: ``x (B, N, d)``, ``y (B, N)`` -> ``w (B, d)`` after ``steps`` GD steps of size ``lr`` from ``w = 0``."""
    _check_regression(None, x, y)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    w = torch.zeros(x.shape[0], x.shape[2], dtype=x.dtype)
    for _ in range(steps):
        w = w - lr * least_squares_gradient(w, x, y)
    return w


@dataclass(frozen=True)
class HandBuiltConfig:
    d: int = 10  # input dimension of the regression task
    steps: int = 1  # K: inner gradient-descent steps run by every forward pass
    init_lr: float = 0.1  # initial inner step size (the model's one learnable parameter)

    def __post_init__(self) -> None:
        if self.d < 1:
            raise ValueError(f"d must be >= 1, got {self.d}")
        if self.steps < 0:
            raise ValueError(f"steps (K, the inner GD steps) must be >= 0, got {self.steps}")
        if not math.isfinite(self.init_lr):
            raise ValueError(f"init_lr must be a finite number, got {self.init_lr!r}")


@models.register
class HandBuiltMesaOptimizer(nn.Module):
    """An in-context model whose forward pass *is* an optimizer: K steps of gradient descent from
    ``w = 0`` on the prompt's context examples, then ``ŷ = w·x_q``. ``model(Z) -> (B,)``.

    Its objective inside the forward pass (the *mesa objective*) is the context's least-squares
    loss; the base optimizer only ever sees the loss on the query (the *base objective*).
    """

    Config = HandBuiltConfig

    def __init__(self, config: HandBuiltConfig = HandBuiltConfig()):
        super().__init__()
        self.config = config
        self.lr = nn.Parameter(torch.tensor(float(config.init_lr)))

    def forward(self, Z: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """Shapes: ``Z (B, N+1, d+1)`` -> ``ŷ (B,)``; ``steps`` overrides the configured K."""
        check_prompts(Z, self.config.d)
        K = self.config.steps if steps is None else steps
        # gd_predict's update is differentiable in lr, so SGD can tune it through the unrolled loop.
        return reference.gd_predict(Z.to(self.lr.dtype), self.lr, K)


def learn_step_size(
    K: int = 1,
    init_lr: float = 0.1,
    steps: int = 300,
    base_lr: float = 0.2,
    seed: int = 0,
    batch_size: int = 256,
    task: RegressionTask = RegressionTask(),
    optimizer: str = "sgd",
    progress: bool = False,
) -> tuple[HandBuiltMesaOptimizer, list[float]]:
    """Let the base optimizer tune the mesa optimizer: train the inner step size of a
    :class:`HandBuiltMesaOptimizer` with ``K`` inner steps by SGD (learning rate ``base_lr``,
    ``steps`` base steps on fresh batches of ``task``), differentiating through the K inner steps.

    Returns the trained model and the inner step size before training and after every base step
    (a list of ``steps + 1`` floats).
    """
    model = HandBuiltMesaOptimizer(HandBuiltConfig(d=task.d, steps=K, init_lr=init_lr))
    config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        lr=base_lr,
        optimizer=optimizer,
        seed=seed,
        snapshot_every=1,
        progress=progress,
    )
    history = train(model, task.sample, config)
    return model, [init_lr] + [state["lr"].item() for _, state in history.snapshots]


@functools.lru_cache(maxsize=32)
def best_step_size(K: int = 1, n_prompts: int = 4000, seed: int = 1234) -> float:
    """The line-searched best inner step size for K steps on the default task
    (:func:`mesakit.core.reference.best_gd_lr` on ``n_prompts`` prompts), cached: the lesson and its
    checks ask for the same value several times and each search takes about a second."""
    return reference.best_gd_lr(RegressionTask(), steps=K, n_prompts=n_prompts, seed=seed)


def inner_run(Z: torch.Tensor, lr: float, K: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What the mesa optimizer does inside one forward pass, step by step.

    Shapes: ``Z (B, N+1, d+1)`` -> ``inner_loss (K+1, B)`` (the context's least-squares loss after
    k = 0..K inner steps) and ``prediction (K+1, B)`` (the query's prediction ``w_k·x_q``).
    """
    check_prompts(Z)
    if K < 0:
        raise ValueError(f"K must be >= 0, got {K}")
    x, y, x_q = split_prompt(Z)
    losses, predictions = [], []
    for k in range(K + 1):
        w = reference.gd_weights(Z, lr, k)
        losses.append(least_squares_loss(w, x, y))
        predictions.append(torch.einsum("bd,bd->b", w, x_q))
    return torch.stack(losses), torch.stack(predictions)


def query_loss_curve(lrs: torch.Tensor, K: int, Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The base objective as a function of the inner step size: shapes ``lrs (L,)``, ``Z (B, N+1, d+1)``,
    ``y (B,)`` -> ``(L,)``, the 0.5·MSE on the query of K GD steps with each step size."""
    check_prompts(Z)
    if y.shape != (Z.shape[0],):
        raise ValueError(f"y must have shape (B,) = ({Z.shape[0]},), got {tuple(y.shape)}")
    with torch.no_grad():
        return torch.stack([metrics.loss(reference.gd_predict(Z, float(lr), K), y) for lr in lrs])


def context_loss_curve(lrs: torch.Tensor, K: int, Z: torch.Tensor) -> torch.Tensor:
    """The mesa objective after the inner loop as a function of the inner step size: shapes
    ``lrs (L,)``, ``Z (B, N+1, d+1)`` -> ``(L,)``, the context's least-squares loss after K GD steps
    with each step size, averaged over prompts."""
    check_prompts(Z)
    x, y, _ = split_prompt(Z)
    with torch.no_grad():
        return torch.stack([least_squares_loss(reference.gd_weights(Z, float(lr), K), x, y).mean() for lr in lrs])
