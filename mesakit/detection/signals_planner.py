"""The signals the mesa-optimizer detector (``mesakit.detection.detector``) measures on a recurrent planner.

Planners take mazes ``(B, 3, H, W)`` (lesson 05's contract ``model(mazes, iterations=k) -> logits
(B, H, W)``); the question is whether they get better when they may think longer:

* ``thinking_time`` — how much the solve rate rises when the planner gets more iterations; a model
  that takes no ``iterations`` argument cannot think longer and scores 0.
* ``cell_accuracy_gain`` — the same for the share of path cells predicted right (a smoother view).

Every call to the planner goes through :func:`call_planner`, which checks the contract and turns
any failure into a :class:`~mesakit.detection.signals.ContractError`. The in-context signals are in
:mod:`mesakit.detection.signals`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import nn

from .signals import ContractError, ratio

PLANNER_SIGNALS = ("thinking_time", "cell_accuracy_gain")
PLANNER_ITERATIONS = (1, 4, 16, 32)  # thinking budgets tried on a planner
MAX_MAZES = 128  # a planner is analysed on at most this many mazes (the first ones)
PLANNER_CONTRACT = "a planner maps mazes of shape (B, 3, H, W) to path logits of shape (B, H, W), optionally with model(mazes, iterations=k)"


def takes_iterations(model: Callable) -> bool:
    """Whether ``model`` accepts an ``iterations`` keyword (a way to think longer)."""
    target = model.forward if isinstance(model, nn.Module) else model
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "iterations" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def call_planner(model: Callable, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
    """``model(mazes[, iterations=k])`` checked against the planner contract."""
    try:
        with torch.no_grad():
            out = model(mazes.clone()) if iterations is None else model(mazes.clone(), iterations=iterations)
    except Exception as err:
        how = "model(mazes)" if iterations is None else f"model(mazes, iterations={iterations})"
        raise ContractError(
            f"the planner raised {type(err).__name__}: {err} when called as {how} with mazes of shape {tuple(mazes.shape)}. Contract: {PLANNER_CONTRACT}."
        ) from err
    B, _, H, W = mazes.shape
    if not isinstance(out, torch.Tensor) or out.shape != (B, H, W):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ContractError(
            f"the planner returned {got} for mazes of shape {tuple(mazes.shape)}; expected ({B}, {H}, {W}). Contract: {PLANNER_CONTRACT}."
        )
    return out


def planner_signals(model: Callable, mazes: torch.Tensor) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """Does the planner get better when it may think longer? Its solve rate and path-cell accuracy
    against the shortest path (BFS) at each budget in :data:`PLANNER_ITERATIONS`."""
    from ..search import mazes as maze_lib

    mazes = mazes[:MAX_MAZES]
    try:
        target = maze_lib.shortest_path(mazes).bool()
    except ValueError as err:
        raise ContractError(f"these are not valid mazes: {err}. Contract: {PLANNER_CONTRACT}.") from err
    budgets = PLANNER_ITERATIONS if takes_iterations(model) else (None,)
    solve, accuracy = [], []
    for k in budgets:
        correct = (call_planner(model, mazes, k) > 0) == target
        solve.append(correct.flatten(1).all(1).double().mean().item())
        accuracy.append(correct.double().mean().item())
    signals = {
        "thinking_time": max(solve) - solve[0],
        "cell_accuracy_gain": ratio(max(accuracy) - accuracy[0], 1 - accuracy[0]),
    }
    details = {"takes_iterations": float(budgets[0] is not None)}
    for k, s, a in zip(budgets, solve, accuracy):
        suffix = "" if k is None else f"_at_{k}"
        details[f"solve_rate{suffix}"], details[f"cell_accuracy{suffix}"] = s, a
    return signals, details, {}
