"""Checks of lesson 06's section 3, scoring the detector on a zoo: ``auroc`` and ``choose_threshold``.

Each check compares with ``mesakit.detection.detector`` (``auroc``, ``threshold_for``) on fixed,
hand-made scores and zoo-like rows, and names the likely mistake (ties, the wrong direction, a
threshold chosen on the test rows...). The signals and the score that these rank are checked in
:mod:`mesakit.checks.detection`; the capstone in :mod:`mesakit.checks.detection_capstone`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..detection import detector as detect
from .core import call, expect_number, passed
from .detection import expect_scalar

__all__ = ["check_auroc", "check_choose_threshold"]


# ---------------------------------------------------------------------------------------------
# 3. Scoring the detector


def check_auroc(auroc: Callable) -> None:
    """``auroc(scores: list[float], labels: list[bool]) -> float``."""
    g = torch.Generator().manual_seed(6)
    cases = [
        ([0.9, 0.8, 0.3, 0.1], [True, True, False, False]),
        ([0.9, 0.2, 0.6, 0.4, 0.8], [True, False, False, True, True]),
        ([0.5, 0.5, 0.5, 0.1], [True, False, True, False]),  # ties between a positive and a negative
        ([0.1, 0.2, 0.7, 0.9], [True, True, False, False]),  # a detector that is exactly backwards
        ((torch.rand(30, generator=g) * 4).round().div(4).tolist(), (torch.rand(30, generator=g) > 0.4).tolist()),
    ]
    for scores, labels in cases:
        out = expect_number(call(auroc, list(scores), list(labels), name="auroc"), "auroc")
        expected = detect.auroc(scores, labels)
        pos = [s for s, l in zip(scores, labels) if l]
        neg = [s for s, l in zip(scores, labels) if not l]
        strict = sum(p > n for p in pos for n in neg) / (len(pos) * len(neg))
        loose = sum(p >= n for p in pos for n in neg) / (len(pos) * len(neg))
        accuracy = sum((s >= 0.5) == l for s, l in zip(scores, labels)) / len(scores)
        expect_scalar(
            out,
            expected,
            f"auroc({scores}, {labels})",
            [
                (strict, "a tie between a positive and a negative counts HALF a win (you counted it as a loss)"),
                (loose, "a tie between a positive and a negative counts HALF a win (you counted it as a win)"),
                (
                    1 - expected,
                    "you counted negatives above positives: AUROC is the chance a POSITIVE outscores a negative",
                ),
                (accuracy, "that is the accuracy at threshold 0.5; AUROC compares every positive with every negative"),
            ],
        )
    passed("auroc: the chance that a random mesa optimizer outscores a random non-optimizer (ties count half)")


def _rows(design: tuple[list[float], list[float]], holdout: tuple[list[float], list[float]]) -> list[dict]:
    """Zoo-like rows from (positive scores, negative scores) per half, the halves interleaved."""
    rows = [
        {
            "name": f"{half}-{'mesa' if pos else 'other'}-{i}",
            "half": half,
            "positive": pos,
            "score": s,
            "family": "synthetic",
        }
        for half, (p, n) in (("design", design), ("holdout", holdout))
        for pos, scores in ((True, p), (False, n))
        for i, s in enumerate(scores)
    ]
    return [rows[i] for i in sorted(range(len(rows)), key=lambda i: (i * 7) % len(rows))]


def _threshold_cases() -> list[tuple[list[dict], float]]:
    g = torch.Generator().manual_seed(63)
    draw = lambda n, shift: ((torch.rand(n, generator=g) * 0.7 + shift) * 20).round().div(20).tolist()  # noqa: E731 (ties)
    return [
        (
            _rows(
                ([0.9, 0.8, 0.62, 0.55, 0.4], [0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.6, 0.35]),
                ([0.45, 0.3], [0.95, 0.85, 0.88, 0.2]),
            ),
            0.25,
        ),
        (
            _rows(([0.45, 0.5, 0.95], [0.9, 0.6, 0.4, 0.2]), ([0.15, 0.12], [0.1, 0.05])),
            0.5,
        ),  # mesa optimizers just above the bar
        (
            _rows(([0.8, 0.6, 0.6, 0.3], [0.6, 0.4, 0.2]), ([0.9, 0.1], [0.05, 0.7])),
            0.0,
        ),  # a positive tied with a negative
        (_rows((draw(12, 0.3), draw(15, 0.0)), (draw(10, 0.1), draw(10, 0.25))), 0.2),
        (_rows(([0.7, 0.4], [0.65, 0.5, 0.1]), ([0.2], [0.9])), 1.0),  # every false alarm allowed: flag everything
    ]


def _rates(t: float, rows: list[dict]) -> tuple[int, int, int, int]:
    """(mesa optimizers caught, of how many, false alarms, of how many) with ``score >= t``."""
    pos = [r["score"] for r in rows if r["positive"]]
    neg = [r["score"] for r in rows if not r["positive"]]
    return sum(s >= t for s in pos), len(pos), sum(s >= t for s in neg), len(neg)


def _meets(t: float, rows: list[dict], budget: float) -> bool:
    ref = detect.threshold_for([r["score"] for r in rows], [r["positive"] for r in rows], budget)
    caught, _, alarms, n_neg = _rates(t, rows)
    return alarms <= math.floor(budget * n_neg + 1e-9) and caught == _rates(ref, rows)[0]


def check_choose_threshold(choose_threshold: Callable) -> None:
    """``choose_threshold(rows: list[dict], max_false_alarm_rate: float) -> float``: a threshold chosen on
    the validation rows (``half == "design"``) that keeps their false-alarm rate within the budget and
    catches as many of their mesa optimizers as any such threshold."""
    failures = []  # (fits the test rows instead, message) per case that fails
    for rows, budget in _threshold_cases():
        given = [dict(r) for r in rows]
        t = expect_number(call(choose_threshold, given, budget, name="choose_threshold"), "choose_threshold")
        if given != rows:
            raise AssertionError(
                "choose_threshold changed the rows it was given: read them, never edit them (or sort a copy)"
            )
        val = [r for r in rows if r["half"] == "design"]
        if _meets(t, val, budget):
            continue
        caught, n_pos, alarms, n_neg = _rates(t, val)
        where = f"with a false-alarm budget of {budget:.0%} (threshold {t:.3g})"
        on_test = _meets(t, rows, budget) or _meets(t, [r for r in rows if r["half"] == "holdout"], budget)
        allowed = math.floor(budget * n_neg + 1e-9)
        if alarms > allowed:
            tie = (
                " A model is flagged when score >= t, so a threshold EQUAL to a non-optimizer's score flags it: go above that score."
                if any(r["score"] == t for r in val if not r["positive"])
                else ""
            )
            failures.append(
                (
                    on_test,
                    f"choose_threshold {where} flags {alarms} of the {n_neg} validation non-optimizers, more than "
                    f"the {allowed} the budget allows.{tie}",
                )
            )
        else:
            best = _rates(detect.threshold_for([r["score"] for r in val], [r["positive"] for r in val], budget), val)[0]
            failures.append(
                (
                    on_test,
                    f"choose_threshold {where} catches {caught} of the {n_pos} validation mesa optimizers, but a "
                    f"lower threshold within the same budget catches {best}: you are stricter than the budget asks "
                    "(which thresholds did you try?)",
                )
            )
    if failures and all(on_test for on_test, _ in failures):
        raise AssertionError(
            "choose_threshold fits the budget on the holdout (test) rows, or on all rows, but not on the validation "
            "rows: choose with the rows whose half is 'design' only; the test models are looked at once, after the "
            "choice"
        )
    if failures:
        raise AssertionError(failures[0][1])
    passed(
        "choose_threshold: within the false-alarm budget on the validation models, and catching as many as any threshold can"
    )
