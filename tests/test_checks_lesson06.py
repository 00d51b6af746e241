"""Lesson 06's checks pass the reference solutions and fail realistic mistakes with the right words."""

from __future__ import annotations

import math

import pytest
import torch

from mesakit import checks, detect


# ----------------------------------------------------------------------------- references (as in the lesson)
def _explained(pred, target, clip=True, square=True):
    cos = (pred.double() @ target.double() / (pred.double().norm() * target.double().norm())).item()
    cos = max(cos, 0.0) if clip else cos
    return cos**2 if square else cos


def context_gain(predict, Z, y):
    shuffled = Z.clone()
    shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
    with torch.no_grad():
        return _explained(predict(Z), y) - _explained(predict(shuffled), y)


def gd_alignment(model, Z):
    Z = Z.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(Z).sum(), Z)
    s = grad[:, -1, :-1]
    w = torch.einsum("bn,bnd->bd", Z[:, :-1, -1], Z[:, :-1, :-1]).detach()
    return torch.nn.functional.cosine_similarity(s, w, dim=-1).mean().item()


def combine_signals(signals, groups):
    answers = [sum(min(max(signals[n], 0.0), 1.0) for n in names) / len(names) for names in groups.values()]
    score = math.prod(answers) ** (1 / len(answers))
    return score, "Potential mesa optimizer detected" if score >= 0.5 else "Standard model behavior"


def auroc(scores, labels):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def test_references_pass(capsys):
    checks.check_context_gain(context_gain)
    checks.check_gd_alignment(gd_alignment)
    checks.check_combine_signals(combine_signals)
    checks.check_auroc(auroc)
    assert capsys.readouterr().out.count("✔") == 4


def test_library_versions_pass():
    checks.check_context_gain(detect.context_gain)
    checks.check_combine_signals(
        lambda s, g: (detect.combine_signals(s, g), detect.verdict(detect.combine_signals(s, g)))
    )
    checks.check_auroc(detect.auroc)


def test_unimplemented_fails_with_a_pointer():
    def stub(*args):
        raise NotImplementedError()

    for check in (
        checks.check_context_gain,
        checks.check_gd_alignment,
        checks.check_combine_signals,
        checks.check_auroc,
    ):
        with pytest.raises(AssertionError, match="not implemented yet"):
            check(stub)


# ----------------------------------------------------------------------------- context_gain mistakes
def test_context_gain_roll_not_assigned():
    def wrong(predict, Z, y):
        shuffled = Z.clone()
        shuffled[:, :-1, -1].roll(1, dims=0)  # the result is thrown away
        with torch.no_grad():
            return _explained(predict(Z), y) - _explained(predict(shuffled), y)

    with pytest.raises(AssertionError, match="torch.roll returns a NEW tensor"):
        checks.check_context_gain(wrong)


def test_context_gain_whole_prompts_moved():
    def wrong(predict, Z, y):
        with torch.no_grad():
            return _explained(predict(Z), y) - _explained(predict(Z.roll(1, dims=0)), y)

    with pytest.raises(AssertionError, match="moved whole prompts"):
        checks.check_context_gain(wrong)


def test_context_gain_unclipped_cosine():
    def wrong(predict, Z, y):
        shuffled = Z.clone()
        shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
        with torch.no_grad():
            return _explained(predict(Z), y, clip=False) - _explained(predict(shuffled), y, clip=False)

    with pytest.raises(AssertionError, match="clip the cosine at 0"):
        checks.check_context_gain(wrong)


def test_context_gain_shuffled_within_a_prompt():
    def wrong(predict, Z, y):
        shuffled = Z.clone()
        shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=1)
        with torch.no_grad():
            return _explained(predict(Z), y) - _explained(predict(shuffled), y)

    with pytest.raises(AssertionError, match="ACROSS prompts"):
        checks.check_context_gain(wrong)


def test_context_gain_loss_difference():
    def wrong(predict, Z, y):
        shuffled = Z.clone()
        shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
        with torch.no_grad():
            return (0.5 * ((predict(shuffled) - y) ** 2).mean() - 0.5 * ((predict(Z) - y) ** 2).mean()).item()

    with pytest.raises(AssertionError, match="loss difference"):
        checks.check_context_gain(wrong)


# ----------------------------------------------------------------------------- gd_alignment mistakes
def test_gd_alignment_abs_cosine():
    def wrong(model, Z):
        Z = Z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Z).sum(), Z)
        w = torch.einsum("bn,bnd->bd", Z[:, :-1, -1], Z[:, :-1, :-1]).detach()
        return torch.nn.functional.cosine_similarity(grad[:, -1, :-1], w, dim=-1).abs().mean().item()

    with pytest.raises(AssertionError, match="keep the cosine's sign"):
        checks.check_gd_alignment(wrong)


def test_gd_alignment_flattened_cosine():
    def wrong(model, Z):
        Z = Z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Z).sum(), Z)
        w = torch.einsum("bn,bnd->bd", Z[:, :-1, -1], Z[:, :-1, :-1]).detach()
        return torch.nn.functional.cosine_similarity(grad[:, -1, :-1].flatten(), w.flatten(), dim=0).item()

    with pytest.raises(AssertionError, match="PER PROMPT"):
        checks.check_gd_alignment(wrong)


def test_gd_alignment_wrong_row():
    def wrong(model, Z):
        Z = Z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Z).sum(), Z)
        w = torch.einsum("bn,bnd->bd", Z[:, :-1, -1], Z[:, :-1, :-1]).detach()
        return torch.nn.functional.cosine_similarity(grad[:, -2, :-1], w, dim=-1).mean().item()

    with pytest.raises(AssertionError, match="QUERY's inputs"):
        checks.check_gd_alignment(wrong)


def test_gd_alignment_unweighted_inputs():
    def wrong(model, Z):
        Z = Z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Z).sum(), Z)
        w = Z[:, :-1, :-1].sum(1).detach()
        return torch.nn.functional.cosine_similarity(grad[:, -1, :-1], w, dim=-1).mean().item()

    with pytest.raises(AssertionError, match="weight each input by its label"):
        checks.check_gd_alignment(wrong)


# ----------------------------------------------------------------------------- combine_signals mistakes
def _verdict(score):
    return detect.verdict(score)


def test_combine_arithmetic_mean_of_answers():
    def wrong(signals, groups):
        answers = [sum(min(max(signals[n], 0.0), 1.0) for n in names) / len(names) for names in groups.values()]
        score = sum(answers) / len(answers)
        return score, _verdict(score)

    with pytest.raises(AssertionError, match="GEOMETRIC mean"):
        checks.check_combine_signals(wrong)


def test_combine_ignores_the_questions():
    def wrong(signals, groups):
        score = sum(min(max(v, 0.0), 1.0) for v in signals.values()) / len(signals)
        return score, _verdict(score)

    with pytest.raises(AssertionError, match="WITHIN each question"):
        checks.check_combine_signals(wrong)


def test_combine_without_clipping():
    def wrong(signals, groups):
        answers = [sum(signals[n] for n in names) / len(names) for names in groups.values()]
        score = math.prod(answers) ** (1 / len(answers))
        return score, _verdict(score)

    with pytest.raises(AssertionError, match="(?i)clip each signal"):
        checks.check_combine_signals(wrong)


def test_combine_product_without_root():
    def wrong(signals, groups):
        answers = [sum(min(max(signals[n], 0.0), 1.0) for n in names) / len(names) for names in groups.values()]
        score = math.prod(answers)
        return score, _verdict(score)

    with pytest.raises(AssertionError, match="n-th root"):
        checks.check_combine_signals(wrong)


def test_combine_strict_threshold():
    def wrong(signals, groups):
        score = combine_signals(signals, groups)[0]
        return score, "Potential mesa optimizer detected" if score > 0.5 else "Standard model behavior"

    with pytest.raises(AssertionError, match="use >="):
        checks.check_combine_signals(wrong)


def test_combine_wrong_verdict_text():
    def wrong(signals, groups):
        score = combine_signals(signals, groups)[0]
        return score, "Mesa optimizer detected" if score >= 0.5 else "Standard model behavior"

    with pytest.raises(AssertionError, match="must be exactly"):
        checks.check_combine_signals(wrong)


# ----------------------------------------------------------------------------- auroc mistakes
def test_auroc_ties_as_losses():
    def wrong(scores, labels):
        pos = [s for s, l in zip(scores, labels) if l]
        neg = [s for s, l in zip(scores, labels) if not l]
        return sum(p > n for p in pos for n in neg) / (len(pos) * len(neg))

    with pytest.raises(AssertionError, match="counted it as a loss"):
        checks.check_auroc(wrong)


def test_auroc_backwards():
    def wrong(scores, labels):
        return 1 - auroc(scores, labels)

    with pytest.raises(AssertionError, match="POSITIVE outscores"):
        checks.check_auroc(wrong)


def test_auroc_is_not_accuracy():
    def wrong(scores, labels):
        return sum((s >= 0.5) == l for s, l in zip(scores, labels)) / len(scores)

    with pytest.raises(AssertionError, match="accuracy at threshold"):
        checks.check_auroc(wrong)


# ----------------------------------------------------------------------------- 3.2 choose_threshold (issue 15)
def choose_threshold(rows, rate):
    val = [r for r in rows if r["half"] == "design"]
    negatives = [r["score"] for r in val if not r["positive"]]
    allowed = int(rate * len(negatives) + 1e-9)
    best = max(r["score"] for r in val) + 1e-9
    for t in sorted({r["score"] for r in val}, reverse=True):
        if sum(s >= t for s in negatives) > allowed:
            break
        best = t
    return best


def test_choose_threshold_reference_and_library_pass(capsys):
    checks.check_choose_threshold(choose_threshold)
    checks.check_choose_threshold(
        lambda rows, rate: detect.threshold_for(
            [r["score"] for r in rows if r["half"] == "design"],
            [r["positive"] for r in rows if r["half"] == "design"],
            rate,
        )
    )
    assert capsys.readouterr().out.count("✔") == 2


def test_choose_threshold_on_the_test_rows_is_named():
    on_all = lambda rows, rate: choose_threshold([dict(r, half="design") for r in rows], rate)  # noqa: E731
    with pytest.raises(AssertionError, match="holdout \\(test\\) rows"):
        checks.check_choose_threshold(on_all)


def test_choose_threshold_equal_to_a_negative_is_named():
    def strict(rows, rate):  # counts alarms with >, but the lesson flags with >=
        val = [r for r in rows if r["half"] == "design"]
        neg = sorted((r["score"] for r in val if not r["positive"]), reverse=True)
        k = int(rate * len(neg) + 1e-9)
        return neg[k] if k < len(neg) else min(r["score"] for r in val)

    with pytest.raises(AssertionError, match="EQUAL to a non-optimizer's score"):
        checks.check_choose_threshold(strict)


def test_choose_threshold_odd_return_types_fail_cleanly():
    for answer, word in ((None, "NoneType"), ([0.5], "list"), ({"t": 0.5}, "dict")):
        with pytest.raises(AssertionError, match=word):
            checks.check_choose_threshold(lambda rows, rate, a=answer: a)


def test_checks_leave_the_learners_random_generator_alone(capsys):
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    checks.check_gd_alignment(gd_alignment)
    with pytest.raises(AssertionError):  # a constant detector fails; the generator must still be untouched
        checks.check_analyze_model_behavior(
            lambda m, Z: {"score": 0.0, "verdict": detect.STANDARD, "signals": {"a": 0.0, "b": 0.0, "c": 0.0}}
        )
    assert torch.equal(torch.rand(3), expected)


def test_learning_curve_right_on_top_of_a_wrong_context_gain_passes_with_a_note(capsys):
    wrong_gain = lambda p, Z, y: context_gain(p, Z, y) * 2  # noqa: E731

    def curve(p, Z, y, m):
        return wrong_gain(p, Z, y) - wrong_gain(p, torch.cat([Z[:, :m], Z[:, -1:]], dim=1), y)

    checks.check_learning_curve(curve, uses=wrong_gain)
    assert "uses your context_gain, which fails its check" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="uses your context_gain, which fails its own check"):
        checks.check_learning_curve(lambda p, Z, y, m: curve(p, Z, y, m) + 1.0, uses=wrong_gain)


def test_the_split_checks_keep_their_0_1_path():
    """checks/lesson06.py became checks/detection.py + checks/detection_scoring.py (one idea each)."""
    from mesakit.checks import detection, detection_scoring
    from mesakit.moved import MovedWarning

    with pytest.warns(MovedWarning, match="mesakit.checks.detection_scoring.check_auroc"):
        assert detection.check_auroc is detection_scoring.check_auroc
    assert checks.check_choose_threshold.__wrapped__ is detection_scoring.check_choose_threshold
    assert checks.check_combine_signals.__wrapped__ is detection.check_combine_signals
