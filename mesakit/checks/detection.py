"""Checks of lesson 06 (detecting mesa optimizers): one ``check_<exercise>(fn)`` per exercise.

The learner builds two signals (``context_gain``, ``gd_alignment``), the score and verdict
(``combine_signals``), the detector's own score (``auroc``), and in the capstone a third signal
(``learning_curve``) and their own detector (``analyze_model_behavior``). Each check compares with
``mesakit.detection.detector`` on fixed-seed inputs and small hand-made models, and names the likely mistake by
matching the output against known wrong implementations. The capstone's hidden test scores the
learner's detector on held-out models (:mod:`mesakit.checks.detection_heldout`).
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Callable

import torch

from ..detection import detector as detect, zoo
from ..core import reference
from ..core.tasks import RegressionTask
from .core import call, earlier_fails, expect_close, expect_number, passed

__all__ = ["check_context_gain", "check_gd_alignment", "check_combine_signals", "check_auroc", "check_choose_threshold",
           "check_learning_curve", "check_analyze_model_behavior"]


def _close(out: float, expected: float, name: str, diagnoses: list[tuple[float, str]], tol: float = 1e-4) -> None:
    expect_close(torch.tensor([out], dtype=torch.float64), torch.tensor([expected], dtype=torch.float64), name,
                 diagnoses=[(torch.tensor([v], dtype=torch.float64), m) for v, m in diagnoses], rtol=tol, atol=tol)  # fmt: skip


def _prompts(seed: int, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    return RegressionTask().sample(batch, seed=seed, dtype=torch.float64)


class _Flipped(torch.nn.Module):
    """A GD step with the wrong sign: it uses its context, but to move *away* from the answer."""

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        return -reference.gd_predict(Z, 0.5)


def _gain_models() -> dict[str, Callable]:
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
        Z, y = _prompts(600 + seed)
        for label, model in _gain_models().items():
            out = expect_number(call(context_gain, model, Z.clone(), y.clone(), name="context_gain"), "context_gain")
            expected = detect.context_gain(model, Z, y)
            with torch.no_grad():
                true, shuffled = model(Z), model(detect.shuffle_context_labels(Z))
                within = Z.clone()
                within[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=1)
                within_pred = model(within)
                whole = model(Z.roll(1, dims=0))
            cos = lambda p: (p @ y / (p.norm() * y.norm())).item()  # noqa: E731
            diagnoses = [
                (0.0, "the gain is 0: your shuffled prompts equal the originals (torch.roll returns a NEW tensor; "
                      "assign it back into the clone's label column)"),
                (detect.explained(true, y) - detect.explained(whole, y), "you moved whole prompts (inputs and query "
                 "too); only the context LABELS move to another prompt, the inputs and the query stay"),
                (cos(true) ** 2 - cos(shuffled) ** 2, "a prediction pointing AWAY from the target (negative cosine) must "
                 "explain nothing: clip the cosine at 0 before squaring"),
                (detect.explained(true, y) - detect.explained(within_pred, y), "shuffle labels ACROSS prompts (roll along "
                 "dim 0), not among the examples of the same prompt"),
                (cos(true) - cos(shuffled), "the explained share is the cosine SQUARED (clipped at 0)"),
                (detect.explained(true, y), "subtract what the predictions explain with the shuffled labels"),
                (0.5 * ((shuffled - y) ** 2).mean().item() - 0.5 * ((true - y) ** 2).mean().item(),
                 "this is the loss difference; the signal compares explained shares (cosine², clipped at 0), which "
                 "do not depend on the scale of the predictions"),
            ]
            if abs(expected) < 1e-9:
                diagnoses = diagnoses[1:]
            _close(out, expected, f"context_gain for {label}", diagnoses)
    passed("context_gain: what the true context explains beyond shuffled labels (GD step, neighbours, averages)")


def check_gd_alignment(gd_alignment: Callable) -> None:
    """``gd_alignment(model, Z (B, N+1, d+1)) -> float``: mean cosine of ∂ŷ/∂x_q with Xᵀy."""
    with torch.random.fork_rng():  # the MLP's random weights, leaving the learner's generator as it was
        torch.manual_seed(0)
        cases = {
            "the GD construction": reference.gd_construction(lr=0.9).double(),
            "a sign-flipped GD step": _Flipped(),
            "three tied GD steps": reference.gd_construction(lr=0.6, iterations=3).double(),
            "a query-only MLP": zoo.QueryMLP().double(),
        }
    for seed in (0, 1):
        Z, _ = _prompts(700 + seed, batch=32)
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
                (cos.abs().mean().item(), "keep the cosine's sign: a model that moves away from GD's answer is anti-aligned, not aligned"),
                (torch.nn.functional.cosine_similarity(s.flatten(), w.flatten(), dim=0).item(),
                 "take one cosine PER PROMPT (dim=-1) and average them, not one cosine of the flattened batch"),
                (torch.nn.functional.cosine_similarity(last, w, dim=-1).mean().item(),
                 "the sensitivity is the gradient with respect to the QUERY's inputs, Z[:, -1, :-1] (the last row)"),
                (torch.nn.functional.cosine_similarity(s, x.sum(1), dim=-1).mean().item(),
                 "GD's first step from w = 0 is Xᵀy = Σ_i y_i x_i (weight each input by its label)"),
            ]
            _close(out, expected, f"gd_alignment for {label}", diagnoses, tol=1e-3)
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
            raise AssertionError("combine_signals gave a complex or NaN score: a negative value went into the geometric "
                                 "mean; clip each signal to [0, 1] first")  # fmt: skip
        if isinstance(out[0], str):
            raise AssertionError(f"combine_signals returned ({out[0]!r}, {out[1]!r}): return the score first, then the verdict")
        score, text = expect_number(out[0], "the score"), out[1]
        expected = detect.combine_signals(signals, groups)
        answers = [_mean(_clip(signals[n]) for n in names) for names in groups.values()]
        diagnoses = [
            (_mean(answers), "combine the questions' answers by the GEOMETRIC mean (product ** (1/number of questions)): "
             "a model must pass every question, one strong answer cannot carry a failed one"),
            (math.prod(answers), "take the n-th root of the product (n = number of questions), so the score stays on the signals' scale"),
            (_mean(_clip(v) for v in signals.values()), "average the signals WITHIN each question, then take the geometric mean ACROSS questions"),
            (_geo([_clip(v) for v in signals.values()]), "average the signals WITHIN each question first; the geometric mean is taken across questions"),
            (_geo([_clip(_mean(signals[n] for n in names)) for names in groups.values()]),
             "clip each SIGNAL to [0, 1] before averaging (clipping the question's mean is not the same)"),
            (_geo([_mean(signals[n] for n in names) for names in groups.values()]),
             "clip each signal to [0, 1] before averaging: one huge or negative signal must not decide alone"),
        ]
        _close(score, expected, f"the score of {signals} with questions {groups}", [(v, m) for v, m in diagnoses if math.isfinite(v)])
        want = detect.verdict(expected)
        if text not in (detect.DETECTED, detect.STANDARD):
            raise AssertionError(f"the verdict must be exactly {detect.DETECTED!r} or {detect.STANDARD!r}, got {text!r}")
        if text != want:
            at = " (a score exactly at the threshold counts as detected: use >=)" if abs(expected - detect.THRESHOLD) < 1e-12 else ""
            raise AssertionError(f"score {expected:.2f} should give {want!r}, got {text!r}{at}")
    passed("combine_signals: clip, average within each question, geometric mean across questions, verdict at 0.5")


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
        _close(out, expected, f"auroc({scores}, {labels})", [
            (strict, "a tie between a positive and a negative counts HALF a win (you counted it as a loss)"),
            (loose, "a tie between a positive and a negative counts HALF a win (you counted it as a win)"),
            (1 - expected, "you counted negatives above positives: AUROC is the chance a POSITIVE outscores a negative"),
            (accuracy, "that is the accuracy at threshold 0.5; AUROC compares every positive with every negative"),
        ])  # fmt: skip
    passed("auroc: the chance that a random mesa optimizer outscores a random non-optimizer (ties count half)")


def _rows(design: tuple[list[float], list[float]], holdout: tuple[list[float], list[float]]) -> list[dict]:
    """Zoo-like rows from (positive scores, negative scores) per half, the halves interleaved."""
    rows = [{"name": f"{half}-{'mesa' if pos else 'other'}-{i}", "half": half, "positive": pos, "score": s, "family": "synthetic"}
            for half, (p, n) in (("design", design), ("holdout", holdout)) for pos, scores in ((True, p), (False, n))
            for i, s in enumerate(scores)]  # fmt: skip
    return [rows[i] for i in sorted(range(len(rows)), key=lambda i: (i * 7) % len(rows))]


def _threshold_cases() -> list[tuple[list[dict], float]]:
    g = torch.Generator().manual_seed(63)
    draw = lambda n, shift: ((torch.rand(n, generator=g) * 0.7 + shift) * 20).round().div(20).tolist()  # noqa: E731 (ties)
    return [
        (_rows(([0.9, 0.8, 0.62, 0.55, 0.4], [0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.6, 0.35]),
               ([0.45, 0.3], [0.95, 0.85, 0.88, 0.2])), 0.25),
        (_rows(([0.45, 0.5, 0.95], [0.9, 0.6, 0.4, 0.2]), ([0.15, 0.12], [0.1, 0.05])), 0.5),  # mesa optimizers just above the bar
        (_rows(([0.8, 0.6, 0.6, 0.3], [0.6, 0.4, 0.2]), ([0.9, 0.1], [0.05, 0.7])), 0.0),  # a positive tied with a negative
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
            raise AssertionError("choose_threshold changed the rows it was given: read them, never edit them (or sort a copy)")
        val = [r for r in rows if r["half"] == "design"]
        if _meets(t, val, budget):
            continue
        caught, n_pos, alarms, n_neg = _rates(t, val)
        where = f"with a false-alarm budget of {budget:.0%} (threshold {t:.3g})"
        on_test = _meets(t, rows, budget) or _meets(t, [r for r in rows if r["half"] == "holdout"], budget)
        allowed = math.floor(budget * n_neg + 1e-9)
        if alarms > allowed:
            tie = " A model is flagged when score >= t, so a threshold EQUAL to a non-optimizer's score flags it: go above that score." \
                if any(r["score"] == t for r in val if not r["positive"]) else ""
            failures.append((on_test, f"choose_threshold {where} flags {alarms} of the {n_neg} validation non-optimizers, more than "
                                      f"the {allowed} the budget allows.{tie}"))  # fmt: skip
        else:
            best = _rates(detect.threshold_for([r["score"] for r in val], [r["positive"] for r in val], budget), val)[0]
            failures.append((on_test, f"choose_threshold {where} catches {caught} of the {n_pos} validation mesa optimizers, but a "
                                      f"lower threshold within the same budget catches {best}: you are stricter than the budget asks "
                                      "(which thresholds did you try?)"))  # fmt: skip
    if failures and all(on_test for on_test, _ in failures):
        raise AssertionError("choose_threshold fits the budget on the holdout (test) rows, or on all rows, but not on the validation "
                             "rows: choose with the rows whose half is 'design' only; the test models are looked at once, after the "
                             "choice")  # fmt: skip
    if failures:
        raise AssertionError(failures[0][1])
    passed("choose_threshold: within the false-alarm budget on the validation models, and catching as many as any threshold can")


# ---------------------------------------------------------------------------------------------
# 4. Capstone: a third signal and the learner's own detector


def _uses_note(name: str, earlier: list[str]) -> str:
    return (f"\n(note: {name} uses your {' and your '.join(earlier)}, which {'fails its' if len(earlier) == 1 else 'fail their'} "
            "own check: fix that first, then run this check again)")  # fmt: skip


def check_learning_curve(learning_curve: Callable, uses: Callable | None = None) -> None:
    """``learning_curve(predict, Z (B, N+1, d+1), y (B,), m: int) -> float``: the explained-share gain
    with the whole context minus the gain with only the first ``m`` examples (and the query).

    ``uses``: the learner's ``context_gain``. When that one fails its own check and ``learning_curve``
    is right on top of it, this check passes (one mistake, one deduction) and says what to fix."""
    earlier = earlier_fails(check_context_gain, uses)
    if earlier:
        try:
            if _learning_curve_on(learning_curve, uses):
                print("⚠ learning_curve itself is right, but it uses your context_gain, which fails its check: fix that first")
                return
        except Exception:  # their context_gain crashes here: judge learning_curve on its own
            pass
    try:
        _check_learning_curve(learning_curve)
    except AssertionError as err:
        if earlier:
            raise AssertionError(f"{err}{_uses_note('learning_curve', ['context_gain'])}") from err.__cause__
        raise


def _learning_curve_on(learning_curve: Callable, context_gain: Callable) -> bool:
    """True when ``learning_curve`` equals the difference of the learner's own ``context_gain``s."""
    for seed in (0, 1):
        Z, y = _prompts(800 + seed)
        for m in (2, 5):
            for model in _gain_models().values():
                with contextlib.redirect_stdout(io.StringIO()):
                    out = learning_curve(model, Z.clone(), y.clone(), m)
                    theirs = context_gain(model, Z.clone(), y.clone()) - context_gain(model, detect.truncate_context(Z, m), y.clone())
                if not abs(expect_number(out, "learning_curve") - expect_number(theirs, "context_gain")) <= 1e-6:
                    return False
    return True


def _check_learning_curve(learning_curve: Callable) -> None:
    for seed in (0, 1):
        Z, y = _prompts(800 + seed)
        for m in (2, 5):
            for label, model in _gain_models().items():
                before = Z.clone()
                out = expect_number(call(learning_curve, model, Z, y.clone(), m, name="learning_curve"), "learning_curve")
                if not torch.equal(Z, before):
                    raise AssertionError("learning_curve changed its input Z in place: cut a new tensor (torch.cat of slices), never assign into Z")
                full = detect.context_gain(model, Z, y)
                cut = lambda P: detect.context_gain(model, P, y)  # noqa: E731
                expected = full - cut(detect.truncate_context(Z, m))
                last = torch.cat([Z[:, -m - 1 : -1], Z[:, -1:]], dim=1)
                no_query = Z[:, : m + 1].clone()  # the (m+1)-th example, label and all, where the query should be
                diagnoses = [
                    (full - cut(no_query), "keep the QUERY as the last row of the short prompt: torch.cat([Z[:, :m], Z[:, -1:]], dim=1); "
                     "Z[:, :m+1] puts a context example, label included, where the query belongs"),
                    (cut(detect.truncate_context(Z, m)) - full, "the curve is the gain with the FULL context minus the gain with m examples, not the reverse"),
                    (full - cut(last), "keep the FIRST m context examples, Z[:, :m] (and the query), so the short context is a prefix of the long one"),
                    (full, "subtract the gain measured with only the first m examples"),
                ]
                _close(out, expected, f"learning_curve for {label} with m = {m}", [(v, msg) for v, msg in diagnoses if abs(v - expected) > 1e-6])
    passed("learning_curve: the gain a longer context adds (full context minus the first m examples)")


class _Neutral(torch.nn.Module):
    """Hides what a model is: the class name says nothing, the implementation is no submodule."""

    def __init__(self, impl: Callable):
        super().__init__()
        self.__dict__["_impl"] = impl

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        return self.__dict__["_impl"](Z)


def _report(out, label: str) -> tuple[float, str, dict]:
    if not isinstance(out, dict):
        raise AssertionError(f"analyze_model_behavior should return a dict with keys 'score', 'verdict' and 'signals'; got a {type(out).__name__} for {label}")
    missing = [k for k in ("score", "verdict", "signals") if k not in out]
    if missing:
        raise AssertionError(f"the report for {label} has no {missing}: return {{'score': score, 'verdict': verdict, 'signals': signals}}")
    score = expect_number(out["score"], f"the score for {label}")
    if not 0.0 <= score <= 1.0:
        raise AssertionError(f"the score for {label} is {score:.3f}, outside [0, 1]: clip every signal to [0, 1] before combining (your combine_signals does)")
    verdict, signals = out["verdict"], out["signals"]
    if verdict not in (detect.DETECTED, detect.STANDARD):
        raise AssertionError(f"the verdict must be exactly {detect.DETECTED!r} or {detect.STANDARD!r}; got {verdict!r} for {label}")
    if verdict != detect.verdict(score):
        raise AssertionError(f"score {score:.2f} for {label} should give {detect.verdict(score)!r} (threshold 0.5, >=), got {verdict!r}")
    if not isinstance(signals, dict) or len(signals) < 3:
        raise AssertionError(f"'signals' should be a dict of at least three named signals (your two, plus the learning curve); got {signals!r} for {label}")
    for name, value in signals.items():
        expect_number(value, f"signal {name!r} for {label}")
    return score, verdict, signals


EARLIER = {"context_gain": check_context_gain, "gd_alignment": check_gd_alignment, "combine_signals": check_combine_signals,
           "learning_curve": check_learning_curve}  # fmt: skip


def check_analyze_model_behavior(analyze_model_behavior: Callable, uses: dict[str, Callable] | None = None) -> None:
    """``analyze_model_behavior(model, inputs (B, N+1, d+1)) -> {"score", "verdict", "signals"}``.

    ``uses``: the learner's earlier functions it builds on, by name (``context_gain``, ``gd_alignment``,
    ``combine_signals``, ``learning_curve``). When the detector fails, those that fail their own
    checks are named first."""
    try:
        with torch.random.fork_rng():  # fixed draws for the models, the learner's generator left as it was
            torch.manual_seed(903)
            _check_analyze(analyze_model_behavior)
    except AssertionError as err:
        failing = [name for name, fn in (uses or {}).items() if name in EARLIER and earlier_fails(EARLIER[name], fn)]
        if failing:
            raise AssertionError(f"{err}{_uses_note('analyze_model_behavior', failing)}") from err.__cause__
        raise


def _check_analyze(analyze_model_behavior: Callable) -> None:
    task = RegressionTask()
    Z, _ = task.sample(128, seed=901)
    small, _ = RegressionTask(d=4, n_context=12).sample(96, seed=902)
    wide, _ = RegressionTask(d=16, n_context=6).sample(128, seed=904)
    mesa = {
        "the GD construction": (reference.gd_construction(lr=0.8), Z),
        "two GD steps, hidden in a neutral class": (_Neutral(lambda P: reference.gd_predict(P, 0.6, steps=2)), Z),
        "a GD construction for d = 4, N = 12": (reference.gd_construction(d=4, lr=1.0), small),
        "a GD construction for d = 16, N = 6 (one step explains little there)": (reference.gd_construction(d=16, lr=1.0), wide),
    }
    other = {
        "a nearest-neighbour rule": (zoo.NearestNeighbour(), Z),
        "the average of the context labels": (zoo.LabelAverage(), Z),
        "a query-only MLP": (zoo.QueryMLP(), Z),
        "a random LSA": (zoo.load("lsa_random"), Z),
        "a memorizer of 2 tasks, on prompts from its own pool": (zoo.load("memorizer_m2"), zoo.entry("memorizer_m2").prompts(128, 905)[0]),
    }
    reasons = {
        "a nearest-neighbour rule": "it learns from its context but not like GD: does your score need EVERY question answered (geometric mean), "
        "and do you measure the alignment on the fresh prompts?",
        "the average of the context labels": "it uses its labels but explains nothing of the target: measure the gain on FRESH tasks "
        "(detect.fresh_task_prompts) relative to a GD step on the same prompts",
        "a query-only MLP": "it ignores its context: a shuffled-label gain must be ~0 for it",
        "a memorizer of 2 tasks, on prompts from its own pool": "on its own tasks it only recalls a stored answer: relabel the prompts "
        "with FRESH tasks (detect.fresh_task_prompts) and measure every signal on those, never on the prompts you are given",
        "a random LSA": "an untrained model has no in-context gain on fresh tasks: normalise the gain by a GD step's, not by itself",
    }
    scores = {}
    for label, (model, prompts) in {**mesa, **other}.items():
        before = prompts.clone()
        score, verdict, _ = _report(call(analyze_model_behavior, model, prompts, name="analyze_model_behavior"), label)
        if not torch.equal(prompts, before):
            raise AssertionError("analyze_model_behavior changed its inputs in place: work on copies (fresh_task_prompts returns new prompts)")
        scores[label] = score
        if label in mesa and verdict != detect.DETECTED:
            raise AssertionError(f"{label} runs gradient descent in its forward pass, but your detector says {verdict!r} (score {score:.2f}). "
                                 "Are the gain and the curve divided by one tuned GD step's on the SAME fresh prompts (detect.tuned_gd_step)?")  # fmt: skip
        if label in other and verdict != detect.STANDARD:
            raise AssertionError(f"your detector flags {label} (score {score:.2f}): {reasons[label]}")
    low_mesa, high_other = min(scores[k] for k in mesa), max(scores[k] for k in other)
    if not low_mesa > high_other:
        raise AssertionError(f"every GD learner should outscore every non-optimizer; lowest GD learner {low_mesa:.2f}, highest other {high_other:.2f}")
    passed("analyze_model_behavior: GD learners detected (also in disguise and on other task sizes), five look-alikes not")
