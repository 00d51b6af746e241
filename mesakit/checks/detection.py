"""Checks of lesson 06 (detecting mesa optimizers), sections 1 and 2: one ``check_<exercise>(fn)`` per exercise.

The learner builds two signals (``context_gain``, ``gd_alignment``) and the score and verdict
(``combine_signals``). Each check compares with ``mesakit.detection.detector`` on fixed-seed inputs
and small hand-made models, and names the likely mistake by matching the output against known
wrong implementations. The detector's own score (``auroc``, ``choose_threshold``) is checked in
:mod:`mesakit.checks.detection_scoring`; the capstone's (a third signal, the learner's own
detector) in :mod:`mesakit.checks.detection_capstone`; its hidden test scores the learner's
detector on held-out models (:mod:`mesakit.checks.detection_heldout`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..core import metrics, reference
from ..core.seeding import seeded
from ..core.tasks import RegressionTask
from ..detection import detector as detect
from ..detection import zoo
from ..moved import moved_name
from .core import call, expect_close, expect_number, passed

__all__ = ["check_context_gain", "check_gd_alignment", "check_combine_signals"]


def expect_scalar(
    out: float, expected: float, name: str, diagnoses: list[tuple[float, str]], tol: float = 1e-4
) -> None:
    """:func:`expect_close` for one float: ``diagnoses`` are (what a known mistake gives, its message)."""
    expect_close(
        torch.tensor([out], dtype=torch.float64),
        torch.tensor([expected], dtype=torch.float64),
        name,
        diagnoses=[(torch.tensor([v], dtype=torch.float64), m) for v, m in diagnoses],
        rtol=tol,
        atol=tol,
    )


def prompt_batch(seed: int, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` float64 prompts ``(Z (B, N+1, d+1), y (B,))`` of the default task, from ``seed``."""
    return RegressionTask().sample(batch, seed=seed, dtype=torch.float64)


class _Flipped(torch.nn.Module):
    """A GD step with the wrong sign: it uses its context, but to move *away* from the answer."""

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        return -reference.gd_predict(Z, 0.5)


def gain_models() -> dict[str, Callable]:
    """Context users to measure gains on: a GD step, neighbours, a label average, a sign-flipped GD step."""
    return {
        "one GD step": lambda Z: reference.gd_predict(Z, 0.8),
        "nearest neighbour": zoo.NearestNeighbour(),
        "label average": zoo.LabelAverage(),
        "a sign-flipped GD step": _Flipped(),
    }


# ---------------------------------------------------------------------------------------------
# 1. Signals


def check_context_gain(context_gain: Callable) -> None:
    """``context_gain(predict, Z (B, N+1, d+1), y (B,)) -> float``."""
    for seed in (0, 1):
        Z, y = prompt_batch(600 + seed)
        for label, model in gain_models().items():
            out = expect_number(call(context_gain, model, Z.clone(), y.clone(), name="context_gain"), "context_gain")
            expected = detect.context_gain(model, Z, y)
            with torch.no_grad():
                true, shuffled = model(Z), model(metrics.shuffle_labels(Z))
                within = Z.clone()
                within[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=1)
                within_pred = model(within)
                whole = model(Z.roll(1, dims=0))
            cos = lambda p: (p @ y / (p.norm() * y.norm())).item()  # noqa: E731, B023
            diagnoses = [
                (
                    0.0,
                    "the gain is 0: your shuffled prompts equal the originals (torch.roll returns a NEW tensor; "
                    "assign it back into the clone's label column)",
                ),
                (
                    detect.explained(true, y) - detect.explained(whole, y),
                    "you moved whole prompts (inputs and query "
                    "too); only the context LABELS move to another prompt, the inputs and the query stay",
                ),
                (
                    cos(true) ** 2 - cos(shuffled) ** 2,
                    "a prediction pointing AWAY from the target (negative cosine) must "
                    "explain nothing: clip the cosine at 0 before squaring",
                ),
                (
                    detect.explained(true, y) - detect.explained(within_pred, y),
                    "shuffle labels ACROSS prompts (roll along dim 0), not among the examples of the same prompt",
                ),
                (cos(true) - cos(shuffled), "the explained share is the cosine SQUARED (clipped at 0)"),
                (detect.explained(true, y), "subtract what the predictions explain with the shuffled labels"),
                (
                    0.5 * ((shuffled - y) ** 2).mean().item() - 0.5 * ((true - y) ** 2).mean().item(),
                    "this is the loss difference; the signal compares explained shares (cosine², clipped at 0), which "
                    "do not depend on the scale of the predictions",
                ),
            ]
            if abs(expected) < 1e-9:
                diagnoses = diagnoses[1:]
            expect_scalar(out, expected, f"context_gain for {label}", diagnoses)
    passed("context_gain: what the true context explains beyond shuffled labels (GD step, neighbours, averages)")


def check_gd_alignment(gd_alignment: Callable) -> None:
    """``gd_alignment(model, Z (B, N+1, d+1)) -> float``: mean cosine of ∂ŷ/∂x_q with Xᵀy."""
    with seeded(0):  # the MLP's random weights, leaving the learner's generator as it was
        cases = {
            "the GD construction": reference.gd_construction(lr=0.9).double(),
            "a sign-flipped GD step": _Flipped(),
            "three tied GD steps": reference.gd_construction(lr=0.6, iterations=3).double(),
            "a query-only MLP": zoo.QueryMLP().double(),
        }
    for seed in (0, 1):
        Z, _ = prompt_batch(700 + seed, batch=32)
        for label, model in cases.items():
            out = expect_number(call(gd_alignment, model, Z.clone(), name="gd_alignment"), "gd_alignment")
            s = detect.input_sensitivity(model, Z).double()
            x, ys = Z[:, :-1, :-1], Z[:, :-1, -1]
            w = torch.einsum("bn,bnd->bd", ys, x)
            cos = torch.nn.functional.cosine_similarity(s, w, dim=-1)
            expected = cos.mean().item()
            Zg = Z.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(model(Zg).sum(), Zg)
            last = g[:, -2, :-1]
            diagnoses = [
                (
                    cos.abs().mean().item(),
                    "keep the cosine's sign: a model that moves away from GD's answer is anti-aligned, not aligned",
                ),
                (
                    torch.nn.functional.cosine_similarity(s.flatten(), w.flatten(), dim=0).item(),
                    "take one cosine PER PROMPT (dim=-1) and average them, not one cosine of the flattened batch",
                ),
                (
                    torch.nn.functional.cosine_similarity(last, w, dim=-1).mean().item(),
                    "the sensitivity is the gradient with respect to the QUERY's inputs, Z[:, -1, :-1] (the last row)",
                ),
                (
                    torch.nn.functional.cosine_similarity(s, x.sum(1), dim=-1).mean().item(),
                    "GD's first step from w = 0 is Xᵀy = Σ_i y_i x_i (weight each input by its label)",
                ),
            ]
            expect_scalar(out, expected, f"gd_alignment for {label}", diagnoses, tol=1e-3)
    passed("gd_alignment: the model's sensitivity ∂ŷ/∂x_q points along GD's step Xᵀy (sign kept)")


# ---------------------------------------------------------------------------------------------
# 2. Score and verdict


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def _clip(v: float) -> float:
    return min(max(v, 0.0), 1.0)


def _geo(values) -> float:
    values = list(values)
    return math.prod(values) ** (1 / len(values)) if all(v >= 0 for v in values) else float("nan")


COMBINE_CASES = [
    ({"x": 0.3, "y": 0.9, "z": 0.2}, {"thinking": ("x", "y"), "other": ("z",)}),  # questions of unequal size
    ({"a": 1.0, "b": 1.0, "c": 0.9, "d": 0.8}, {"context": ("a", "b"), "gd": ("c", "d")}),
    ({"a": 1.8, "b": 0.4, "c": 0.0, "d": 0.0}, {"context": ("a", "b"), "gd": ("c", "d")}),  # one question fails
    ({"a": -0.6, "b": 0.9, "c": 1.0, "d": 0.9}, {"context": ("a", "b"), "gd": ("c", "d")}),  # a negative signal
    ({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}, {"context": ("a", "b"), "gd": ("c", "d")}),  # exactly the threshold
    ({"a": 2.5, "b": 0.9, "c": 0.3, "d": 0.7}, {"context": ("a", "b"), "gd": ("c", "d")}),
    ({"x": 0.8, "y": 0.6}, {"thinking": ("x", "y")}),  # a single question: just its mean
]


def check_combine_signals(combine_signals: Callable) -> None:
    """``combine_signals(signals: dict[str, float], groups: dict[str, tuple[str, ...]]) -> (score, verdict)``."""
    for signals, groups in COMBINE_CASES:
        out = call(combine_signals, dict(signals), dict(groups), name="combine_signals")
        if not isinstance(out, tuple) or len(out) != 2:
            raise AssertionError(f"combine_signals should return a pair (score, verdict), got {type(out).__name__}")
        if isinstance(out[0], complex) or (isinstance(out[0], float) and math.isnan(out[0])):
            raise AssertionError(
                "combine_signals gave a complex or NaN score: a negative value went into the geometric "
                "mean; clip each signal to [0, 1] first"
            )
        if isinstance(out[0], str):
            raise AssertionError(
                f"combine_signals returned ({out[0]!r}, {out[1]!r}): return the score first, then the verdict"
            )
        score, text = expect_number(out[0], "the score"), out[1]
        expected = detect.combine_signals(signals, groups)
        answers = [_mean(_clip(signals[n]) for n in names) for names in groups.values()]
        diagnoses = [
            (
                _mean(answers),
                "combine the questions' answers by the GEOMETRIC mean (product ** (1/number of questions)): "
                "a model must pass every question, one strong answer cannot carry a failed one",
            ),
            (
                math.prod(answers),
                "take the n-th root of the product (n = number of questions), so the score stays on the signals' scale",
            ),
            (
                _mean(_clip(v) for v in signals.values()),
                "average the signals WITHIN each question, then take the geometric mean ACROSS questions",
            ),
            (
                _geo([_clip(v) for v in signals.values()]),
                "average the signals WITHIN each question first; the geometric mean is taken across questions",
            ),
            (
                _geo([_clip(_mean(signals[n] for n in names)) for names in groups.values()]),
                "clip each SIGNAL to [0, 1] before averaging (clipping the question's mean is not the same)",
            ),
            (
                _geo([_mean(signals[n] for n in names) for names in groups.values()]),
                "clip each signal to [0, 1] before averaging: one huge or negative signal must not decide alone",
            ),
        ]
        expect_scalar(
            score,
            expected,
            f"the score of {signals} with questions {groups}",
            [(v, m) for v, m in diagnoses if math.isfinite(v)],
        )
        want = detect.verdict(expected)
        if text not in (detect.DETECTED, detect.STANDARD):
            raise AssertionError(
                f"the verdict must be exactly {detect.DETECTED!r} or {detect.STANDARD!r}, got {text!r}"
            )
        if text != want:
            at = (
                " (a score exactly at the threshold counts as detected: use >=)"
                if abs(expected - detect.THRESHOLD) < 1e-12
                else ""
            )
            raise AssertionError(f"score {expected:.2f} should give {want!r}, got {text!r}{at}")
    passed("combine_signals: clip, average within each question, geometric mean across questions, verdict at 0.5")


def __getattr__(name: str) -> object:  # the capstone's and the scoring checks moved out
    return moved_name(__name__, name)
