"""Checks of lesson 05's solve-rate measurements: the thinking-time curve (``solve_rates``, section 3)
and the feed-forward baseline's solve rate by path length (``solve_rate_by_length``, section 5).

Each check runs the learner's function on fixed-seed mazes with the pretrained planners (and a
stand-in planner that marks extra squares), compares it with ``mesakit.search.planner``
(``solve_rate``, ``solve_rate_by_length``) and names the likely mistake by matching the output
against known wrong implementations. The ground truth (BFS) and the planner's iteration loop are
checked in :mod:`mesakit.checks.search`; the probe in :mod:`mesakit.checks.search_probe` and
:mod:`mesakit.checks.search_control`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core import models
from ..search.mazes import WALL, Mazes, generate_mazes, shortest_path
from ..search.planner import solve_rate, solve_rate_by_length, solved
from .core import call, expect_close, expect_tensor, passed

__all__ = ["check_solve_rates", "check_solve_rate_by_length"]


# ---------------------------------------------------------------------------------------------
# 3. The thinking-time curve


def _solved_wrong(model, mazes: Mazes, k: int) -> dict[str, float]:
    with torch.no_grad():
        logits = model(mazes.inputs, iterations=k)
    pred = (logits > 0).float()
    truth = mazes.paths
    return {
        "at_zero": (((logits >= 0).float() == truth).flatten(1).all(1)).float().mean().item(),
        "per_square": (pred == truth).float().mean().item(),
        "half": ((logits > 0.5).float() == truth).flatten(1).all(1).float().mean().item(),
        "recall": ((pred >= truth).flatten(1).all(1)).float().mean().item(),
    }


class _PathWithExtras(torch.nn.Module):
    """A stand-in planner: the true path (logits +1), plus one extra square marked as path (logit
    +0.75) on every maze whose index ``i`` has ``(i + iterations) % 3 == 0``. A traced path cannot
    hold extra squares once it reaches the goal, so this is what catches a solve rate that ignores them.
    On mazes with ``(i + iterations) % 3 == 1`` one square off the path has a logit of exactly 0: not
    path (the threshold is ``logits > 0``)."""

    def forward(self, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        x = mazes.float()
        paths = shortest_path(x)
        logits = paths * 2 - 1
        spare = ((x[:, WALL] == 0) & (paths == 0)).flatten(1).float().argmax(dim=1)
        for i in range(len(x)):
            if (i + (iterations or 1)) % 3 == 0:
                logits[i].view(-1)[spare[i]] = 0.75
            elif (i + (iterations or 1)) % 3 == 1:
                logits[i].view(-1)[spare[i]] = 0.0
        return logits


def check_solve_rates(solve_rates_fn: Callable) -> None:
    """``solve_rates(model, mazes, iterations: list[int]) -> (len(iterations),)`` fraction solved exactly."""
    mazes = generate_mazes(200, 5, 11)
    ks = [1, 4, 8, 16]
    planner, stand_in = models.load_pretrained("planner_recurrent"), _PathWithExtras()
    for model, twin in ((planner, stand_in), (stand_in, planner)):
        out = call(solve_rates_fn, model, mazes, ks, name="solve_rates")
        expected = torch.tensor([solve_rate(model, mazes, k) for k in ks], dtype=torch.float64)
        wrong = [_solved_wrong(model, mazes, k) for k in ks]
        other = torch.tensor([solve_rate(twin, mazes, k) for k in ks], dtype=torch.float64)
        expect_close(
            out,
            expected,
            "solve_rates",
            diagnoses=[
                (
                    other,
                    "solve_rates ignores its `model` argument (the notebook's `planner`?): given one model it "
                    "measured another; run the `model` you are passed",
                ),
                (
                    torch.tensor([w["at_zero"] for w in wrong]),
                    "a logit of exactly 0 counts as path in your code "
                    "(logits >= 0); the predicted path is where logits > 0",
                ),
                (
                    torch.tensor([w["per_square"] for w in wrong]),
                    "that is the fraction of correct SQUARES; a maze counts as solved only if every square is right",
                ),
                (
                    torch.tensor([w["half"] for w in wrong]),
                    "the model returns logits: threshold them at 0 (logits > 0), not at 0.5",
                ),
                (
                    torch.tensor([w["recall"] for w in wrong]),
                    "you only checked that the path's squares are predicted; extra squares marked as path must also count as a failure",
                ),
            ],
            atol=1e-6,
        )
    passed(
        "solve_rates matches mesakit.search.planner.solve_rate for 1, 4, 8 and 16 iterations (the planner and a planner marking extra squares)"
    )


# ---------------------------------------------------------------------------------------------
# 4. The feed-forward baseline


def _close_nan(out: torch.Tensor, ref: torch.Tensor) -> bool:
    return out.shape == ref.shape and torch.allclose(out.double(), ref.double(), atol=1e-6, equal_nan=True)


def check_solve_rate_by_length(solve_rate_by_length_fn: Callable) -> None:
    """``solve_rate_by_length(model, mazes, edges, iterations=None) -> (len(edges) - 1,)``.

    Two models (the recurrent planner at 4 iterations and the feed-forward one), a length equal to
    an edge, and an empty last bin (NaN)."""
    mazes = generate_mazes(300, 5, 13)
    edges = [2, 5, 10, 14, 21, 50, 60]  # few iterations: short paths solved, long ones not; no path is 50 long
    recurrent, feedforward = models.load_pretrained("planner_recurrent"), models.load_pretrained("planner_feedforward")
    for model, twin, k, twin_k in ((recurrent, feedforward, 4, None), (feedforward, recurrent, None, 4)):
        out = call(solve_rate_by_length_fn, model, mazes, edges, k, name="solve_rate_by_length")
        expected = solve_rate_by_length(model, mazes, edges, k)
        out = (
            expect_tensor(out, expected.shape, "solve_rate_by_length", "one rate per bin, len(edges) - 1")
            if not (isinstance(out, torch.Tensor) and out.shape == expected.shape)
            else out
        )
        if _close_nan(out, expected):
            continue
        ok = solved(model, mazes, k).float()
        squares = mazes.paths.flatten(1).sum(1)

        def binned(lengths, closed=False, empty=float("nan"), ok=ok):
            rates = []
            for lo, hi in zip(edges, edges[1:]):
                inside = (lengths >= lo) & ((lengths <= hi) if closed else (lengths < hi))
                rates.append(ok[inside].mean() if inside.any() else torch.tensor(empty))
            return torch.stack(rates)

        diagnoses = [
            (
                solve_rate_by_length(twin, mazes, edges, twin_k),
                "solve_rate_by_length ignores its `model` argument "
                "(the notebook's `planner`?): given one model it measured another; run the `model` you are passed",
            ),
            (
                binned(squares - 1, empty=0.0),
                "an empty bin has no solve rate: give NaN there (torch.tensor(float('nan'))), not 0",
            ),
            (
                binned(squares),
                "off by one: a path's LENGTH is its number of steps, one less than its number of squares",
            ),
            (
                binned(squares - 1, closed=True),
                "bins are half-open: edges[i] <= length < edges[i+1], so a length equal to the upper edge goes to the next bin",
            ),
        ]
        for wrong, message in diagnoses:
            if _close_nan(out, wrong):
                raise AssertionError(f"solve_rate_by_length: {message}")
        full = ~expected.isnan()
        if torch.allclose(
            out.double()[full], torch.full((int(full.sum()),), ok.mean().item(), dtype=torch.float64), atol=1e-6
        ):
            raise AssertionError(
                "solve_rate_by_length: every bin holds the overall solve rate; select the mazes whose "
                "length falls in each bin"
            )
        if torch.isnan(out).any() != torch.isnan(expected).any() or (torch.isnan(out) != torch.isnan(expected)).any():
            raise AssertionError(
                f"solve_rate_by_length returned {out.tolist()}, expected {expected.tolist()}: only an empty bin is NaN"
            )
        expect_close(out.nan_to_num(-1.0), expected.nan_to_num(-1.0), "solve_rate_by_length", atol=1e-6)
    passed("solve_rate_by_length matches mesakit.search.planner.solve_rate_by_length (two planners, an empty bin)")
