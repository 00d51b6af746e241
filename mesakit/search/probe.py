"""Linear probes for lesson 05: does the planner's hidden state hold a value map?

A *probe* is ridge regression from the hidden state at one square (a vector of ``C`` channels) to
the BFS distance from that square to the goal (``mesakit.search.mazes.distance_map``). It is fit on the
open squares of one set of mazes and scored by R² on held-out mazes. A high R² means the distance
to the goal — the value map a search algorithm builds — can be read off the hidden state *linearly*;
it does not prove the network uses it (that needs interventions, Taufeeque et al. 2024).

The same probe applied to the hidden state after each iteration shows the value map spreading out
from the goal (``mesakit.widgets.search``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .mazes import WALL, Mazes


@dataclass(frozen=True)
class RidgeProbe:
    """``prediction = features @ weight + bias``, fit by :func:`fit_ridge`."""

    weight: torch.Tensor  # (C,) float64
    bias: float  # intercept (not regularised)
    alpha: float  # the ridge penalty it was fit with

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """Shapes: ``features (N, C)`` -> ``(N,)``."""
        if features.dim() != 2 or features.shape[1] != self.weight.shape[0]:
            raise ValueError(f"features must have shape (N, {self.weight.shape[0]}), got {tuple(features.shape)}")
        return features.double() @ self.weight + self.bias

    def value_map(self, hidden: torch.Tensor, mazes: torch.Tensor) -> torch.Tensor:
        """Shapes: ``hidden (B, C, H, W)``, ``mazes (B, 3, H, W)`` -> predicted distances ``(B, H, W)``
        (NaN on walls, where no distance is defined)."""
        B, C, H, W = hidden.shape
        values = self.predict(hidden.permute(0, 2, 3, 1).reshape(-1, C)).view(B, H, W)
        return values.masked_fill(mazes[:, WALL] > 0, float("nan"))


def fit_ridge(features: torch.Tensor, targets: torch.Tensor, alpha: float = 1.0) -> RidgeProbe:
    """Ridge regression with an unpenalised intercept. Shapes: ``features (N, C)``, ``targets (N,)``.

    Solves ``min_w,b ||X w + b - y||² + alpha·||w||²`` in float64 by centring X and y.
    """
    if features.dim() != 2 or targets.shape != (features.shape[0],):
        raise ValueError(
            f"features must be (N, C) and targets (N,), got {tuple(features.shape)} and {tuple(targets.shape)}"
        )
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    X, y = features.double(), targets.double()
    x_mean, y_mean = X.mean(dim=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    gram = Xc.T @ Xc + alpha * torch.eye(X.shape[1], dtype=torch.float64)
    weight = torch.linalg.lstsq(gram, Xc.T @ yc).solution  # lstsq: safe when channels are dead (all zero)
    return RidgeProbe(weight=weight, bias=(y_mean - x_mean @ weight).item(), alpha=alpha)


def r2_score(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``. Shapes: ``(N,)`` and ``(N,)``."""
    if predictions.shape != targets.shape or targets.numel() < 2:
        raise ValueError(
            f"need two tensors of the same shape with >= 2 entries, got {tuple(predictions.shape)} and {tuple(targets.shape)}"
        )
    p, t = predictions.double(), targets.double()
    ss_tot = ((t - t.mean()) ** 2).sum()
    if ss_tot == 0:
        raise ValueError("the targets are constant, so R² is undefined")
    return (1 - ((t - p) ** 2).sum() / ss_tot).item()


def open_square_features(hidden: torch.Tensor, mazes: Mazes) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden vectors and goal distances of every open square: ``(N, C)`` and ``(N,)``."""
    if hidden.dim() != 4 or hidden.shape[0] != len(mazes) or hidden.shape[2:] != mazes.inputs.shape[2:]:
        raise ValueError(
            f"hidden must be (B, C, H, W) matching the mazes {tuple(mazes.inputs.shape)}, got {tuple(hidden.shape)}"
        )
    open_ = mazes.inputs[:, WALL] == 0  # (B, H, W)
    return hidden.permute(0, 2, 3, 1)[open_], mazes.distances[open_]


def hidden_at(model: nn.Module, mazes: Mazes, iterations: int) -> list[torch.Tensor]:
    """``model.hidden_states`` without gradients, in float32."""
    with torch.no_grad():
        return [h.float() for h in model.hidden_states(mazes.inputs, iterations)]


def probe_value_map(
    model: nn.Module,
    fit_mazes: Mazes,
    test_mazes: Mazes,
    iterations: int | None = None,
    alpha: float = 1.0,
    history: bool = False,
) -> tuple[RidgeProbe, float]:
    """Fit a distance-to-goal probe on the hidden state after ``iterations`` steps (default: the
    model's configured count) of ``fit_mazes``; return it and its R² on ``test_mazes``.

    ``history=True`` probes the whole trajectory instead: the hidden states of every iteration
    1..``iterations`` side by side (``iterations · C`` features per square). It asks whether the
    distance can be read from *when* information reached a square, not only from the final state.
    """
    k = iterations or model.config.iterations

    def features(mazes: Mazes) -> tuple[torch.Tensor, torch.Tensor]:
        states = hidden_at(model, mazes, k)
        return open_square_features(torch.cat(states, dim=1) if history else states[-1], mazes)

    X, y = features(fit_mazes)
    probe = fit_ridge(X, y, alpha)
    X_test, y_test = features(test_mazes)
    return probe, r2_score(probe.predict(X_test), y_test)
