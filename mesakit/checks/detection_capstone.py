"""Checks of lesson 06's capstone: a third signal (``learning_curve``) and the learner's own detector
(``analyze_model_behavior``), built on the earlier exercises' functions (:mod:`mesakit.checks.detection`).

Each check compares with ``mesakit.detection.detector`` on fixed-seed inputs and small hand-made
models and names the likely mistake; when a learner's earlier function fails its own check, the
failure says so first. The capstone's hidden test scores the learner's detector on held-out models
(:mod:`mesakit.checks.detection_heldout`).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import torch

from ..core import reference
from ..core.seeding import seeded
from ..core.tasks import RegressionTask
from ..detection import detector as detect
from ..detection import zoo
from .core import call, earlier_fails, expect_number, passed
from .detection import (
    check_combine_signals,
    check_context_gain,
    check_gd_alignment,
    expect_scalar,
    gain_models,
    prompt_batch,
)

__all__ = ["check_learning_curve", "check_analyze_model_behavior"]


def _uses_note(name: str, earlier: list[str]) -> str:
    return (
        f"\n(note: {name} uses your {' and your '.join(earlier)}, which {'fails its' if len(earlier) == 1 else 'fail their'} "
        "own check: fix that first, then run this check again)"
    )


def check_learning_curve(learning_curve: Callable, uses: Callable | None = None) -> None:
    """``learning_curve(predict, Z (B, N+1, d+1), y (B,), m: int) -> float``: the explained-share gain
    with the whole context minus the gain with only the first ``m`` examples (and the query).

    ``uses``: the learner's ``context_gain``. When that one fails its own check and ``learning_curve``
    is right on top of it, this check passes (one mistake, one deduction) and says what to fix."""
    earlier = earlier_fails(check_context_gain, uses)
    if earlier:
        try:
            if _learning_curve_on(learning_curve, uses):
                print(
                    "⚠ learning_curve itself is right, but it uses your context_gain, which fails its check: fix that first"
                )
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
        Z, y = prompt_batch(800 + seed)
        for m in (2, 5):
            for model in gain_models().values():
                with contextlib.redirect_stdout(io.StringIO()):
                    out = learning_curve(model, Z.clone(), y.clone(), m)
                    theirs = context_gain(model, Z.clone(), y.clone()) - context_gain(
                        model, detect.truncate_context(Z, m), y.clone()
                    )
                if not abs(expect_number(out, "learning_curve") - expect_number(theirs, "context_gain")) <= 1e-6:
                    return False
    return True


def _check_learning_curve(learning_curve: Callable) -> None:
    for seed in (0, 1):
        Z, y = prompt_batch(800 + seed)
        for m in (2, 5):
            for label, model in gain_models().items():
                before = Z.clone()
                out = expect_number(
                    call(learning_curve, model, Z, y.clone(), m, name="learning_curve"), "learning_curve"
                )
                if not torch.equal(Z, before):
                    raise AssertionError(
                        "learning_curve changed its input Z in place: cut a new tensor (torch.cat of slices), never assign into Z"
                    )
                full = detect.context_gain(model, Z, y)
                cut = lambda P: detect.context_gain(model, P, y)  # noqa: E731, B023
                expected = full - cut(detect.truncate_context(Z, m))
                last = torch.cat([Z[:, -m - 1 : -1], Z[:, -1:]], dim=1)
                no_query = Z[:, : m + 1].clone()  # the (m+1)-th example, label and all, where the query should be
                diagnoses = [
                    (
                        full - cut(no_query),
                        "keep the QUERY as the last row of the short prompt: torch.cat([Z[:, :m], Z[:, -1:]], dim=1); "
                        "Z[:, :m+1] puts a context example, label included, where the query belongs",
                    ),
                    (
                        cut(detect.truncate_context(Z, m)) - full,
                        "the curve is the gain with the FULL context minus the gain with m examples, not the reverse",
                    ),
                    (
                        full - cut(last),
                        "keep the FIRST m context examples, Z[:, :m] (and the query), so the short context is a prefix of the long one",
                    ),
                    (full, "subtract the gain measured with only the first m examples"),
                ]
                expect_scalar(
                    out,
                    expected,
                    f"learning_curve for {label} with m = {m}",
                    [(v, msg) for v, msg in diagnoses if abs(v - expected) > 1e-6],
                )
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
        raise AssertionError(
            f"analyze_model_behavior should return a dict with keys 'score', 'verdict' and 'signals'; got a {type(out).__name__} for {label}"
        )
    missing = [k for k in ("score", "verdict", "signals") if k not in out]
    if missing:
        raise AssertionError(
            f"the report for {label} has no {missing}: return {{'score': score, 'verdict': verdict, 'signals': signals}}"
        )
    score = expect_number(out["score"], f"the score for {label}")
    if not 0.0 <= score <= 1.0:
        raise AssertionError(
            f"the score for {label} is {score:.3f}, outside [0, 1]: clip every signal to [0, 1] before combining (your combine_signals does)"
        )
    verdict, signals = out["verdict"], out["signals"]
    if verdict not in (detect.DETECTED, detect.STANDARD):
        raise AssertionError(
            f"the verdict must be exactly {detect.DETECTED!r} or {detect.STANDARD!r}; got {verdict!r} for {label}"
        )
    if verdict != detect.verdict(score):
        raise AssertionError(
            f"score {score:.2f} for {label} should give {detect.verdict(score)!r} (threshold 0.5, >=), got {verdict!r}"
        )
    if not isinstance(signals, dict) or len(signals) < 3:
        raise AssertionError(
            f"'signals' should be a dict of at least three named signals (your two, plus the learning curve); got {signals!r} for {label}"
        )
    for name, value in signals.items():
        expect_number(value, f"signal {name!r} for {label}")
    return score, verdict, signals


EARLIER = {
    "context_gain": check_context_gain,
    "gd_alignment": check_gd_alignment,
    "combine_signals": check_combine_signals,
    "learning_curve": check_learning_curve,
}


def check_analyze_model_behavior(analyze_model_behavior: Callable, uses: dict[str, Callable] | None = None) -> None:
    """``analyze_model_behavior(model, inputs (B, N+1, d+1)) -> {"score", "verdict", "signals"}``.

    ``uses``: the learner's earlier functions it builds on, by name (``context_gain``, ``gd_alignment``,
    ``combine_signals``, ``learning_curve``). When the detector fails, those that fail their own
    checks are named first."""
    try:
        with seeded(903):  # fixed draws for the models, the learner's generator left as it was
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
        "a GD construction for d = 16, N = 6 (one step explains little there)": (
            reference.gd_construction(d=16, lr=1.0),
            wide,
        ),
    }
    other = {
        "a nearest-neighbour rule": (zoo.NearestNeighbour(), Z),
        "the average of the context labels": (zoo.LabelAverage(), Z),
        "a query-only MLP": (zoo.QueryMLP(), Z),
        "a random LSA": (zoo.load("lsa_random"), Z),
        "a memorizer of 2 tasks, on prompts from its own pool": (
            zoo.load("memorizer_m2"),
            zoo.entry("memorizer_m2").prompts(128, 905)[0],
        ),
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
            raise AssertionError(
                "analyze_model_behavior changed its inputs in place: work on copies (fresh_task_prompts returns new prompts)"
            )
        scores[label] = score
        if label in mesa and verdict != detect.DETECTED:
            raise AssertionError(
                f"{label} runs gradient descent in its forward pass, but your detector says {verdict!r} (score {score:.2f}). "
                "Are the gain and the curve divided by one tuned GD step's on the SAME fresh prompts (detect.tuned_gd_step)?"
            )
        if label in other and verdict != detect.STANDARD:
            raise AssertionError(f"your detector flags {label} (score {score:.2f}): {reasons[label]}")
    low_mesa, high_other = min(scores[k] for k in mesa), max(scores[k] for k in other)
    if not low_mesa > high_other:
        raise AssertionError(
            f"every GD learner should outscore every non-optimizer; lowest GD learner {low_mesa:.2f}, highest other {high_other:.2f}"
        )
    passed(
        "analyze_model_behavior: GD learners detected (also in disguise and on other task sizes), five look-alikes not"
    )
