"""Lesson 06's hidden test: the learner's detector on models the notebook never shows.

:func:`heldout_models` builds, in well under a second, a labelled set of in-context models from a
``seed``: optimizers that are not the lesson's (ridge with a random λ, conjugate gradient, a damped
Newton step, momentum GD, preconditioned GD, two GD steps at a random step size, least squares on
another task size) and non-optimizers (k-NN, a label median, two wide kernel smoothers, a random LSA, a
fixed-task model, a lookup into a small pool of stored tasks, a random query-only MLP, a model that
weights the context's labels along a fixed random direction). Each is wrapped in the same neutral
:class:`Model`, so neither its class name nor its ``repr`` tells what it is, and its label lives
only here, never on the model. :func:`heldout_auroc` runs the learner's
``analyze_model_behavior(model, inputs)`` on each model's own prompts and scores the ranking;
:func:`points` turns the AUROC into partial credit (nbgrader reads a graded cell's numeric value
as its score), so a better detector earns more and a constant one earns nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..core import reference
from ..core.models import LinearSelfAttention, LSAConfig
from ..core.seeding import seeded
from ..core.tasks import RegressionTask, check_prompts
from ..detection import detector as detect
from ..detection import solvers, zoo

BATCH = 128  # prompts per held-out model


class Model(nn.Module):
    """A neutral wrapper: ``model(Z) -> (B,)`` and nothing else to read (the implementation is not a
    registered submodule, so ``repr`` and ``named_modules`` show nothing)."""

    def __init__(self, impl: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.__dict__["_impl"] = impl

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        return self.__dict__["_impl"](Z)


class _Momentum(nn.Module):
    """``steps`` heavy-ball GD steps on the context's least-squares loss from 0."""

    def __init__(self, lr: float, beta: float, steps: int):
        super().__init__()
        self.lr, self.beta, self.steps = lr, beta, steps

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        H, b, x_q = solvers.normal_equations(Z)
        w, v = torch.zeros_like(b), torch.zeros_like(b)
        for _ in range(self.steps):
            v = self.beta * v + b - torch.einsum("bde,be->bd", H, w)
            w = w + self.lr * v
        return (w * x_q).sum(-1)


class _Preconditioned(nn.Module):
    """One GD step under a fixed diagonal metric: ``w = η D Xᵀy / N``."""

    def __init__(self, diag: torch.Tensor, lr: float):
        super().__init__()
        self.diag, self.lr = diag, lr

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        _, b, x_q = solvers.normal_equations(Z)
        return self.lr * (self.diag * b * x_q).sum(-1)


class _LabelMedian(nn.Module):
    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_prompts(Z)
        return Z[:, :-1, -1].median(dim=1).values


class _FixedLinear(nn.Module):
    """``w0·x_q`` for one stored ``w0``: a model of one fixed task, context ignored."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = w

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        return Z[:, -1, :-1] @ self.w.to(Z.dtype)


class _PoolLookup(nn.Module):
    """A memorizer by construction: pick the stored task that fits the context best, predict with it."""

    def __init__(self, pool: torch.Tensor):
        super().__init__()
        self.pool = pool  # (M, d)

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]
        fits = ((torch.einsum("bnd,md->bmn", x, self.pool.to(Z.dtype)) - y.unsqueeze(1)) ** 2).sum(-1)  # (B, M)
        return (self.pool.to(Z.dtype)[fits.argmin(1)] * x_q).sum(-1)


class _LabelDirection(nn.Module):
    """Mean context label times ``r·x_q`` for a fixed random ``r``: odd in the query, uses the labels,
    learns nothing about the task."""

    def __init__(self, r: torch.Tensor):
        super().__init__()
        self.r = r

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        return Z[:, :-1, -1].mean(1) * (Z[:, -1, :-1] @ self.r.to(Z.dtype))


def heldout_models(seed: int) -> list[tuple[Model, torch.Tensor, bool]]:
    """``(model, prompts (B, N+1, d+1), is_mesa_optimizer)`` for the held-out set drawn with ``seed``,
    in a shuffled order."""
    g = torch.Generator().manual_seed(seed)
    u = lambda lo, hi: lo + (hi - lo) * torch.rand((), generator=g).item()  # noqa: E731
    task, other = RegressionTask(), RegressionTask(d=6, n_context=16)
    d = task.d
    with seeded(seed):  # the random LSA and MLP below, leaving the learner's generator as it was
        positives = [
            (solvers.RidgeSolver(solvers.SolverConfig(ridge=u(0.02, 0.5))), task),
            (solvers.ConjugateGradient(solvers.SolverConfig(steps=2)), task),
            (solvers.NewtonSolver(solvers.SolverConfig(ridge=u(0.05, 0.2), steps=1, damping=u(0.3, 0.9))), task),
            (_Momentum(lr=u(0.2, 0.5), beta=0.5, steps=3), task),
            (_Preconditioned(0.5 + torch.rand(d, generator=g), lr=u(0.5, 1.5)), task),
            (reference.gd_construction(lr=u(0.4, 1.0), iterations=2), task),
            (solvers.RidgeSolver(solvers.SolverConfig(d=other.d)), other),
        ]
        pool = task.sample_w(3, g)
        fixed = task.sample_w(1, g)[0]
        negatives = [
            (zoo.NearestNeighbour(zoo.NearestNeighbourConfig(k=2)), task),
            (_LabelMedian(), task),
            (zoo.KernelSmoother(zoo.KernelConfig(bandwidth=u(2.5, 4.0))), task),
            (zoo.KernelSmoother(zoo.KernelConfig(bandwidth=u(1.5, 2.5))), task),
            (LinearSelfAttention(LSAConfig(init_std=u(0.05, 0.2))), task),
            (_FixedLinear(fixed), ("fixed", fixed)),
            (_PoolLookup(pool), ("pool", pool)),
            (zoo.QueryMLP(zoo.MLPConfig(d=d, hidden=16)), task),
            (_LabelDirection(torch.randn(d, generator=g)), task),
        ]
    out = []
    for label, group in ((True, positives), (False, negatives)):
        for impl, source in group:
            if isinstance(source, RegressionTask):
                Z, _ = source.sample(BATCH, g)
            elif source[0] == "fixed":
                Z, _ = task.sample(BATCH, g, w=source[1].expand(BATCH, -1).contiguous())
            else:
                Z, _ = task.sample(BATCH, g, w=source[1][torch.randint(len(source[1]), (BATCH,), generator=g)])
            out.append((Model(impl.eval() if isinstance(impl, nn.Module) else impl), Z, label))
    order = torch.randperm(len(out), generator=g).tolist()
    return [out[i] for i in order]


def _score(report) -> float:
    value = report.get("score") if isinstance(report, dict) else getattr(report, "score", None)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AssertionError(
            f"analyze_model_behavior should return a dict with a finite number under 'score'; got {value!r}"
        )
    return float(value)


def heldout_auroc(analyze: Callable, seed: int) -> float:
    """AUROC of ``analyze(model, inputs)["score"]`` over :func:`heldout_models` ``(seed)``. The
    detector runs with torch's generator seeded by ``seed`` (one that draws from it gets the same
    grade on every run) and the learner's generator is left as it was."""
    scores, labels = [], []
    with seeded(seed):
        for model, Z, label in heldout_models(seed):
            scores.append(_score(analyze(model, Z.clone())))
            labels.append(label)
    return detect.auroc(scores, labels)


def points(auroc: float, max_points: float) -> float:
    """Partial credit for a held-out AUROC: ``max_points × clip((auroc − 0.5) / 0.4, 0, 1)``, so
    chance (0.5) earns 0 and 0.9 or better earns everything; rounded to 0.01."""
    return round(max_points * min(max((auroc - 0.5) / 0.4, 0.0), 1.0), 2)
