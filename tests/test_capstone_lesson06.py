"""Lesson 06's capstone: the learner's own detector. Its checks pass the reference and a valid
alternative and fail realistic mistakes with the right words; the hidden test on held-out models
(``mesakit.checks.detection_heldout``) gives the reference full marks and a constant detector, a class-name
reader and a zoo-label peeker nothing."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from mesakit import checks, detect
from mesakit.checks import detection_heldout as heldout
from mesakit.detection import zoo


# ----------------------------------------------------------------------------- the reference (as in the lesson)
def context_gain(predict, Z, y):
    def explained(pred):
        cos = pred.double() @ y.double() / (pred.double().norm() * y.double().norm())
        return max(0.0, cos.item()) ** 2

    shuffled = Z.clone()
    shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
    with torch.no_grad():
        return explained(predict(Z)) - explained(predict(shuffled))


def gd_alignment(model, Z):
    Z = Z.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(Z).sum(), Z)
    g = torch.einsum("bn,bnd->bd", Z[:, :-1, -1], Z[:, :-1, :-1]).detach()
    return torch.nn.functional.cosine_similarity(grad[:, -1, :-1], g, dim=-1).mean().item()


def combine_signals(signals, groups):
    answers = [sum(min(max(signals[n], 0.0), 1.0) for n in names) / len(names) for names in groups.values()]
    score = math.prod(answers) ** (1 / len(answers))
    return score, detect.verdict(score)


def learning_curve(predict, Z, y, m):
    return context_gain(predict, Z, y) - context_gain(predict, torch.cat([Z[:, :m], Z[:, -1:]], dim=1), y)


QUESTIONS = {
    "learns from its context": ("explained_gain", "learning_curve"),
    "learns the way gradient descent does": ("gd_alignment",),
}


def analyze_model_behavior(model, inputs):
    fresh, y = detect.fresh_task_prompts(inputs, torch.Generator().manual_seed(0))
    gd = detect.tuned_gd_step(fresh, y)
    m = max(1, (inputs.shape[1] - 1) // 4)
    signals = {
        "explained_gain": context_gain(model, fresh, y) / context_gain(gd, fresh, y),
        "learning_curve": learning_curve(model, fresh, y, m) / learning_curve(gd, fresh, y, m),
        "gd_alignment": gd_alignment(model, fresh),
    }
    score, verdict = combine_signals(signals, QUESTIONS)
    return {"score": score, "verdict": verdict, "signals": signals}


def test_reference_passes(capsys):
    checks.check_learning_curve(learning_curve)
    checks.check_analyze_model_behavior(analyze_model_behavior)
    assert capsys.readouterr().out.count("✔") == 2


def test_valid_alternatives_pass():
    def curve_by_index(predict, Z, y, m):  # another way to cut the context
        keep = list(range(m)) + [Z.shape[1] - 1]
        return context_gain(predict, Z, y) - context_gain(predict, Z[:, keep], y)

    checks.check_learning_curve(curve_by_index)

    def library_based(model, inputs):  # a detector built on the library's signals and a fourth signal
        report = detect.analyze_model_behavior(model, inputs)
        return {"score": report.score, "verdict": report.verdict, "signals": dict(report.signals)}

    checks.check_analyze_model_behavior(library_based)


def test_stub_fails_with_a_pointer():
    def stub(*args):
        raise NotImplementedError()

    for check in (checks.check_learning_curve, checks.check_analyze_model_behavior):
        with pytest.raises(AssertionError, match="not implemented"):
            check(stub)


@pytest.mark.parametrize(
    "wrong,words",
    [
        (lambda p, Z, y, m: context_gain(p, Z, y) - context_gain(p, Z[:, : m + 1].clone(), y), "keep the QUERY"),
        (
            lambda p, Z, y, m: context_gain(p, torch.cat([Z[:, :m], Z[:, -1:]], 1), y) - context_gain(p, Z, y),
            "not the reverse",
        ),
        (
            lambda p, Z, y, m: context_gain(p, Z, y) - context_gain(p, torch.cat([Z[:, -m - 1 : -1], Z[:, -1:]], 1), y),
            "FIRST m",
        ),
        (lambda p, Z, y, m: context_gain(p, Z, y), "subtract the gain"),
    ],
)
def test_learning_curve_mistakes(wrong, words):
    with pytest.raises(AssertionError, match=words):
        checks.check_learning_curve(wrong)


def test_learning_curve_in_place():
    def scribbler(predict, Z, y, m):
        value = learning_curve(predict, Z, y, m)
        Z[:, m:-1] = 0
        return value

    with pytest.raises(AssertionError, match="in place"):
        checks.check_learning_curve(scribbler)


def _returns(**changes):
    def detector(model, inputs):
        out = analyze_model_behavior(model, inputs)
        return changes["fn"](out) if "fn" in changes else out

    return detector


@pytest.mark.parametrize(
    "wrong,words",
    [
        (lambda m, Z: analyze_model_behavior(m, Z)["verdict"], "should return a dict"),
        (_returns(fn=lambda o: {"score": o["score"], "verdict": o["verdict"]}), r"no \['signals'\]"),
        (_returns(fn=lambda o: {**o, "verdict": "Mesa optimizer" if o["score"] >= 0.5 else "Standard"}), "exactly"),
        (_returns(fn=lambda o: {**o, "verdict": detect.verdict(o["score"] - 0.6)}), "should give"),
        (_returns(fn=lambda o: {**o, "signals": {"gain": 1.0}}), "at least three"),
    ],
)
def test_detector_report_mistakes(wrong, words):
    with pytest.raises(AssertionError, match=words):
        checks.check_analyze_model_behavior(wrong)


def test_detector_unclipped_score():
    def unclipped(model, inputs):
        out = analyze_model_behavior(model, inputs)
        raw = out["signals"]
        score = (
            ((raw["explained_gain"] + raw["learning_curve"]) / 2 * raw["gd_alignment"]) ** 0.5
            if raw["gd_alignment"] > 0
            else 0.0
        )
        return {**out, "score": score, "verdict": detect.verdict(score)}

    with pytest.raises(AssertionError, match="outside"):
        checks.check_analyze_model_behavior(unclipped)


def test_detector_without_alignment_flags_nearest_neighbour():
    def gain_only(model, inputs):
        out = analyze_model_behavior(model, inputs)
        s = out["signals"]
        score, verdict = combine_signals(s, {"context": ("explained_gain", "learning_curve")})
        return {**out, "score": score, "verdict": verdict}

    with pytest.raises(AssertionError, match="nearest-neighbour rule.*EVERY question"):
        checks.check_analyze_model_behavior(gain_only)


def test_detector_modifying_inputs():
    def scribbler(model, inputs):
        out = analyze_model_behavior(model, inputs)
        inputs[:, -1, -1] = 1.0
        return out

    with pytest.raises(AssertionError, match="in place"):
        checks.check_analyze_model_behavior(scribbler)


# ----------------------------------------------------------------------------- the hidden test on held-out models
def test_heldout_models_are_neutral_and_deterministic():
    a, b = heldout.heldout_models(3), heldout.heldout_models(3)
    assert [l for *_, l in a] == [l for *_, l in b] and all(torch.equal(x[1], y[1]) for x, y in zip(a, b))
    assert {type(m).__name__ for m, *_ in a} == {"Model"}
    assert {repr(m) for m, *_ in a} == {"Model()"}
    assert not any(list(m.named_modules())[1:] or list(m.parameters()) for m, *_ in a)
    labels = [l for *_, l in a]
    assert 6 <= sum(labels) <= len(labels) - 6
    assert [l for *_, l in heldout.heldout_models(4)] != labels  # the order changes with the seed
    for model, Z, _ in a:
        assert model(Z).shape == (Z.shape[0],)


def test_hidden_test_leaves_the_learners_generator_alone_and_is_repeatable():
    def noisy(model, inputs):  # a detector that draws from torch's global generator
        score = torch.rand(()).item()
        return {"score": score, "verdict": detect.verdict(score), "signals": {}}

    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = heldout.heldout_auroc(noisy, 0)
    assert torch.equal(torch.get_rng_state(), before), "the hidden test moved the learner's random generator"
    torch.rand(5)  # whatever the learner's kernel drew before, the grade is the same
    assert heldout.heldout_auroc(noisy, 0) == first


@pytest.mark.parametrize("seed", range(8))
def test_reference_earns_full_points_on_every_seed(seed):
    auroc = heldout.heldout_auroc(analyze_model_behavior, seed)
    assert auroc >= 0.9
    assert heldout.points(auroc, 6.0) == 6.0


def test_points_are_proportional_to_auroc_above_chance():
    assert heldout.points(0.5, 6.0) == 0.0 and heldout.points(0.3, 6.0) == 0.0
    assert heldout.points(0.7, 6.0) == 3.0 and heldout.points(0.95, 6.0) == 6.0


def test_a_weaker_detector_earns_part_of_the_points():
    def alignment_only(model, inputs):  # points where GD points on its own prompts; never asks whether it learns
        score = min(max(gd_alignment(model, inputs), 0.0), 1.0)
        return {"score": score, "verdict": detect.verdict(score), "signals": {"gd_alignment": score}}

    full = heldout.points(heldout.heldout_auroc(analyze_model_behavior, 0), 6.0)
    weak = heldout.points(heldout.heldout_auroc(alignment_only, 0), 6.0)
    assert 0 < weak < full


def test_constant_detector_earns_nothing():
    constant = lambda model, inputs: {
        "score": 0.7,
        "verdict": detect.DETECTED,
        "signals": {"a": 1.0, "b": 1.0, "c": 1.0},
    }  # noqa: E731
    assert heldout.points(heldout.heldout_auroc(constant, 0), 6.0) == 0.0


POSITIVE_CLASSES = {"LinearSelfAttention", "RidgeSolver", "ConjugateGradient", "NewtonSolver", "ICLTransformer"}


def test_class_name_reader_earns_nothing():
    def by_name(model, inputs):
        score = (
            1.0 if type(model).__name__ in POSITIVE_CLASSES or any(n in repr(model) for n in POSITIVE_CLASSES) else 0.0
        )
        return {"score": score, "verdict": detect.verdict(score), "signals": {"a": score, "b": score, "c": score}}

    # it would look perfect on the lesson's zoo of named classes ...
    design = [
        e
        for e in zoo.ZOO
        if e.name in ("lsa_trained", "gd_construction", "nearest_neighbour", "label_average", "query_mlp")
    ]
    assert detect.auroc([by_name(zoo.load(e.name), None)["score"] for e in design], [e.positive for e in design]) == 1.0
    # ... and earns nothing on the held-out models
    assert heldout.points(heldout.heldout_auroc(by_name, 0), 6.0) == 0.0


@functools.cache
def _zoo_fingerprints():
    probe = torch.Generator().manual_seed(0)
    out = []
    for e in zoo.ZOO:
        if e.task.d != 10:
            continue
        Z, _ = e.task.sample(16, probe)
        with torch.no_grad():
            out.append((Z, zoo.load(e.name)(Z), e.positive))
    return out


def test_zoo_label_peeker_earns_nothing():
    def peeker(model, inputs):  # find the model in the zoo by its outputs and read the zoo's label
        score = 0.5
        for Z, outputs, positive in _zoo_fingerprints():
            try:
                with torch.no_grad():
                    same = torch.allclose(model(Z), outputs, atol=1e-5)
            except Exception:  # noqa: BLE001
                same = False
            if same:
                score = 1.0 if positive else 0.0
                break
        return {"score": score, "verdict": detect.verdict(score), "signals": {"a": score, "b": score, "c": score}}

    assert peeker(zoo.load("lsa_trained"), None)["score"] == 1.0  # it does recognise zoo models
    assert heldout.points(heldout.heldout_auroc(peeker, 0), 6.0) == 0.0
