"""Lesson 01's checks, both ways: the reference solution passes, and realistic wrong solutions fail
with a message that names the mistake."""

from __future__ import annotations

import itertools

import pytest
import torch

from mesakit import checks
from mesakit.core.tasks import RegressionTask
from mesakit.core.train import TrainConfig, train
from mesakit.inner import handbuilt, scenarios
from mesakit.inner.handbuilt import HandBuiltConfig, HandBuiltMesaOptimizer

TASK = RegressionTask()

# ---------------------------------------------------------------- reference solutions (as in the lesson)


def least_squares_gradient(w, x, y):
    residual = torch.einsum("bnd,bd->bn", x, w) - y
    return torch.einsum("bn,bnd->bd", residual, x) / x.shape[1]


def gradient_descent(x, y, lr, steps, grad=least_squares_gradient, extra_steps=0):
    w = torch.zeros(x.shape[0], x.shape[2], dtype=x.dtype)
    for _ in range(steps + extra_steps):
        w = w - lr * grad(w, x, y)
    return w


def mesa_forward(Z, lr, K):
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]
    w = gradient_descent(x, y, lr, K)
    return (w * x_q).sum(dim=-1)


def learn_step_size(K, init_lr, steps, base_lr, seed, optimizer="sgd", batch_size=256, with_init=True, train_seed=None):
    model = HandBuiltMesaOptimizer(HandBuiltConfig(d=TASK.d, steps=K, init_lr=init_lr))
    config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        lr=base_lr,
        optimizer=optimizer,
        seed=seed if train_seed is None else train_seed,
        snapshot_every=1,
        progress=False,
    )
    history = train(model, TASK.sample, config)
    trajectory = [state["lr"].item() for _, state in history.snapshots]
    return model, ([init_lr] if with_init else []) + trajectory


def correct_answers() -> dict[str, dict[str, str]]:
    """Recover the key from the hashes (what a test may do; the package never stores it readably)."""
    answers = {}
    for s in scenarios.SCENARIOS:
        answers[s.key] = {}
        for field in scenarios.FIELDS:
            hits = [
                l
                for l in s.options[field]
                if scenarios.answer_hash(s.key, field, l) == scenarios.ANSWER_HASHES[s.key][field]
            ]
            assert len(hits) == 1, f"{s.key}/{field}: {len(hits)} options match the stored hash"
            answers[s.key][field] = hits[0]
    return answers


# ---------------------------------------------------------------- 2.1 least_squares_gradient


def test_gradient_reference_passes(capsys):
    checks.check_least_squares_gradient(least_squares_gradient)
    checks.check_least_squares_gradient(least_squares_gradient, seed=1)
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w, x, y: -least_squares_gradient(w, x, y), "wrong sign"),
        (lambda w, x, y: least_squares_gradient(w, x, y) * x.shape[1], "forgot the 1/N"),
        (lambda w, x, y: 2 * least_squares_gradient(w, x, y), "factor 2"),
        (lambda w, x, y: least_squares_gradient(torch.zeros_like(w), x, y), "does not depend on w"),
        (lambda w, x, y: least_squares_gradient(w, x, y) / x.shape[2], "d input dimensions"),
        (lambda w, x, y: torch.einsum("bd,bnd->bn", w, x), "shape"),
        (lambda w, x, y: (_ for _ in ()).throw(NotImplementedError()), "not implemented"),
    ],
)
def test_gradient_mistakes_are_named(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_least_squares_gradient(wrong)


# ---------------------------------------------------------------- 2.2 gradient_descent


def test_gradient_descent_reference_passes():
    checks.check_gradient_descent(gradient_descent)
    checks.check_gradient_descent(gradient_descent, seed=1)


def _ascent(w, x, y):
    return -least_squares_gradient(w, x, y)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, y, lr, steps: gradient_descent(x, y, lr, steps, grad=_ascent), "gradient ascent"),
        (lambda x, y, lr, steps: gradient_descent(x, y, lr, steps, extra_steps=-1), "off by one"),
        (lambda x, y, lr, steps: gradient_descent(x, y, lr, steps, extra_steps=1), "off by one"),
        (lambda x, y, lr, steps: gradient_descent(x, y, lr * x.shape[1], steps), "1/N"),
        (lambda x, y, lr, steps: torch.zeros(x.shape[0], x.shape[2], dtype=x.dtype), "still zero"),
        (lambda x, y, lr, steps: gradient_descent(x, y, lr, max(steps, 1)), "steps=0"),
    ],
)
def test_gradient_descent_mistakes_are_named(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_gradient_descent(wrong)


# ---------------------------------------------------------------- 3.1 mesa_forward


def test_mesa_forward_reference_passes():
    checks.check_mesa_forward(mesa_forward)
    checks.check_mesa_forward(mesa_forward, seed=1, d=10, n_context=10, K=1, lr=1.5)


def _all_rows(Z, lr, K):  # trains on the query row too, whose label slot is the placeholder 0
    w = gradient_descent(Z[:, :, :-1], Z[:, :, -1], lr, K)
    return (w * Z[:, -1, :-1]).sum(-1)


def _in_place(Z, lr, K):
    out = mesa_forward(Z, lr, K)
    Z[:, -1, -1] = out
    return out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_all_rows, "including the query row"),
        (lambda Z, lr, K: mesa_forward(Z, lr, K + 1), "off by one in K"),
        (lambda Z, lr, K: mesa_forward(Z, lr, max(K - 1, 0)) if K else mesa_forward(Z, lr, 0), "off by one in K"),
        (lambda Z, lr, K: mesa_forward(Z, -lr, K), "wrong sign"),
        (lambda Z, lr, K: mesa_forward(Z, lr * (Z.shape[1] - 1), K), "N times too large"),
        (lambda Z, lr, K: Z[:, -1, -1].clone(), "placeholder"),
        (lambda Z, lr, K: gradient_descent(Z[:, :-1, :-1], Z[:, :-1, -1], lr, K), "returned w itself"),
        (lambda Z, lr, K: (gradient_descent(Z[:, :-1, :-1], Z[:, :-1, -1], lr, K) * Z[:, 0, :-1]).sum(-1), "x_0"),
        (lambda Z, lr, K: mesa_forward(Z, lr, max(K, 1)), "K=0"),
        (_in_place, "in place"),
    ],
)
def test_mesa_forward_mistakes_are_named(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_mesa_forward(wrong)


# ---------------------------------------------------------------- 4.1 learn_step_size


def test_learn_step_size_reference_passes(capsys):
    checks.check_learn_step_size(learn_step_size)
    assert "moved the inner step size" in capsys.readouterr().out


@pytest.mark.slow
def test_learned_step_size_converges_to_best():
    checks.check_step_size_converges(learn_step_size)


def _untrained(K, init_lr, steps, base_lr, seed):
    model = HandBuiltMesaOptimizer(HandBuiltConfig(steps=K, init_lr=init_lr))
    return model, [init_lr] * (steps + 1)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: learn_step_size(*a, optimizer="adam"), "Adam"),
        (lambda *a: learn_step_size(*a, batch_size=512), "batch size 512"),
        (lambda *a: learn_step_size(*a, train_seed=0), "did not pass the seed"),
        (lambda K, *a: learn_step_size(K + 1, *a), "inner steps instead of K"),
        (lambda K, *a: learn_step_size(K - 1, *a), "inner steps instead of K"),
        (lambda *a: learn_step_size(*a, with_init=False), "initial step size first"),
        (_untrained, "never moved"),
        (lambda *a: (learn_step_size(*a)[1], learn_step_size(*a)[0]), "HandBuiltMesaOptimizer"),
        (lambda *a: learn_step_size(*a)[0], "tuple"),
    ],
)
def test_learn_step_size_mistakes_are_named(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_learn_step_size(wrong)


# ---------------------------------------------------------------- 5.1 concept check


def test_concept_key_has_one_correct_option_per_field():
    answers = correct_answers()  # asserts exactly one match per field
    assert set(answers) == {s.key for s in scenarios.SCENARIOS}
    letters = [l for a in answers.values() for l in a.values()]
    assert len(set(letters)) > 2, "the key should not be the same letter everywhere"


def test_concept_key_is_not_readable_from_the_package():
    source = open(scenarios.__file__, encoding="utf-8").read()
    assert "answers = {" not in source and "KEY" not in source
    for fields in correct_answers().values():
        for field, letter in fields.items():
            assert f'"{field}": "{letter}"' not in source


def test_concept_reference_passes(capsys):
    answers = correct_answers()
    checks.check_concept_answers(lambda: answers)
    # Upper case and stray spaces are accepted.
    checks.check_concept_answers(lambda: {k: {f: f" {l.upper()} " for f, l in v.items()} for k, v in answers.items()})
    assert "all 12 answers right" in capsys.readouterr().out


def _wrong_letter(scenario: str, field: str) -> str:
    good = correct_answers()[scenario][field]
    return next(l for l in scenarios.get(scenario).options[field] if l != good)


@pytest.mark.parametrize("scenario, field", list(itertools.product(["evolution", "spam"], scenarios.FIELDS)))
def test_concept_check_names_the_wrong_scenario_and_field(scenario, field):
    answers = correct_answers()
    answers[scenario][field] = _wrong_letter(scenario, field)
    with pytest.raises(AssertionError, match=rf"11 of 12 right(.|\n)*{scenario} → {field}"):
        checks.check_concept_answers(lambda: answers)
    # Grading only the other scenarios passes.
    others = [s.key for s in scenarios.SCENARIOS if s.key != scenario]
    checks.check_concept_answers(lambda: answers, only=others)


@pytest.mark.parametrize("answered", [s.key for s in scenarios.SCENARIOS])
def test_concept_check_grades_an_answered_scenario_when_the_others_are_blank(answered, capsys):
    # A learner who has filled in one scenario (the others still None or absent) gets that one graded.
    blank = scenarios.answer_template()
    blank[answered] = correct_answers()[answered]
    checks.check_concept_answers(lambda: blank, only=[answered])
    assert "all 3 answers right" in capsys.readouterr().out
    absent = {answered: correct_answers()[answered]}
    checks.check_concept_answers(lambda: absent, only=[answered])
    # ...but a blank scenario still fails its own cell, and a wrong letter is still caught.
    other = next(s.key for s in scenarios.SCENARIOS if s.key != answered)
    with pytest.raises(AssertionError, match=rf"{other} → base_optimizer: answer with one of the letters"):
        checks.check_concept_answers(lambda: blank, only=[other])
    blank[answered]["mesa_objective"] = _wrong_letter(answered, "mesa_objective")
    with pytest.raises(AssertionError, match=rf"2 of 3 right(.|\n)*{answered} → mesa_objective"):
        checks.check_concept_answers(lambda: blank, only=[answered])


def test_concept_check_only_rejects_an_unknown_scenario():
    with pytest.raises(KeyError, match="no scenario 'evolutoin'"):
        checks.check_concept_answers(lambda: correct_answers(), only=["evolutoin"])


def test_concept_check_reports_every_wrong_field():
    answers = correct_answers()
    answers["coinrun"]["mesa_objective"] = _wrong_letter("coinrun", "mesa_objective")
    answers["handbuilt"]["base_optimizer"] = _wrong_letter("handbuilt", "base_optimizer")
    with pytest.raises(AssertionError) as err:
        checks.check_concept_answers(lambda: answers)
    text = str(err.value)
    assert "10 of 12" in text and "handbuilt → base_optimizer" in text and "coinrun → mesa_objective" in text
    assert "what the trained system itself optimizes" in text  # the mesa-objective hint


@pytest.mark.parametrize(
    "answers, message",
    [
        (None, "must be a dict"),
        ({}, "scenario 'evolution' is missing"),
        ({"evolutoin": {}}, "unknown scenario"),
        (scenarios.answer_template(), "answer with one of the letters"),
    ],
)
def test_concept_check_explains_malformed_answers(answers, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_concept_answers(lambda: answers)


def test_concept_check_unknown_letter_and_field():
    answers = correct_answers()
    answers["spam"]["base_objective"] = "e"
    with pytest.raises(AssertionError, match=r"spam → base_objective: answer with one of the letters"):
        checks.check_concept_answers(lambda: answers)
    answers = correct_answers()
    answers["spam"]["mesa_goal"] = "a"
    with pytest.raises(AssertionError, match="unknown field"):
        checks.check_concept_answers(lambda: answers)


def test_concept_stub_fails():
    def stub():
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented"):
        checks.check_concept_answers(stub)


def test_scenarios_render_every_option():
    text = scenarios.as_markdown()
    for s in scenarios.SCENARIOS:
        assert s.title in text and f'"{s.key}"' in text
        for field in scenarios.FIELDS:
            for option in s.options[field].values():
                assert option in text


# ---------------------------------------------------------------- one mistake, one deduction


def _wrong_sign_gradient(w, x, y):
    return -handbuilt.least_squares_gradient(w, x, y)


def _gd_on(grad):
    def gradient_descent(x, y, lr, steps):
        w = torch.zeros(x.shape[0], x.shape[2], dtype=x.dtype)
        for _ in range(steps):
            w = w - lr * grad(w, x, y)
        return w

    return gradient_descent


def _mesa_forward_on(gd):
    def mesa_forward(Z, lr, K):
        w = gd(Z[:, :-1, :-1], Z[:, :-1, -1], lr, K)
        return (w * Z[:, -1, :-1]).sum(-1)

    return mesa_forward


def test_gradient_descent_is_not_blamed_for_the_gradient_it_uses(capsys):
    gd = _gd_on(_wrong_sign_gradient)
    # Without `uses` the check cannot tell, and names the symptom ...
    with pytest.raises(AssertionError, match="climb the loss"):
        checks.check_gradient_descent(gd)
    # ... with it, gradient_descent itself is right: it passes and points at the real mistake.
    checks.check_gradient_descent(gd, uses=_wrong_sign_gradient)
    assert "uses your least_squares_gradient, which fails its check: fix that first" in capsys.readouterr().out


def test_mesa_forward_is_not_blamed_for_the_gradient_descent_it_uses(capsys):
    gd = _gd_on(_wrong_sign_gradient)
    checks.check_mesa_forward(_mesa_forward_on(gd), uses=gd)
    assert "uses your gradient_descent, which fails its check" in capsys.readouterr().out
    # A right gradient_descent under `uses` changes nothing for a right mesa_forward.
    checks.check_mesa_forward(_mesa_forward_on(handbuilt.gradient_descent), uses=handbuilt.gradient_descent)
    assert "✔ mesa_forward runs" in capsys.readouterr().out


def test_a_second_mistake_is_still_caught_and_the_first_one_named():
    # gradient_descent off by one on top of a wrong-sign gradient: fails, and says what to fix first.
    grad = _wrong_sign_gradient

    def off_by_one(x, y, lr, steps):
        return _gd_on(grad)(x, y, lr, steps + 1)

    with pytest.raises(AssertionError, match=r"(?s)gradient_descent.*uses your least_squares_gradient, which fails"):
        checks.check_gradient_descent(off_by_one, uses=grad)
    # mesa_forward that predicts with x_0 on top of a broken gradient_descent: still fails.
    gd = _gd_on(grad)

    def first_row(Z, lr, K):
        w = gd(Z[:, :-1, :-1], Z[:, :-1, -1], lr, K)
        return (w * Z[:, 0, :-1]).sum(-1)

    with pytest.raises(AssertionError, match="uses your gradient_descent"):
        checks.check_mesa_forward(first_row, uses=gd)


def test_uses_with_a_right_earlier_function_keeps_the_usual_messages():
    with pytest.raises(AssertionError, match="climb the loss") as err:
        checks.check_gradient_descent(_gd_on(_wrong_sign_gradient), uses=handbuilt.least_squares_gradient)
    assert "uses your" not in str(err.value)


# ---------------------------------------------------------------- concept check feedback that teaches


@pytest.fixture()
def fresh_misses(monkeypatch):
    from mesakit.checks import inner as lesson01

    monkeypatch.setattr(lesson01, "_MISSES", {})


@pytest.mark.parametrize("scenario", [s.key for s in scenarios.SCENARIOS])
def test_each_wrong_option_gets_its_own_reason_without_the_answer(scenario, fresh_misses):
    right = correct_answers()
    for field in scenarios.FIELDS:
        reasons = set()
        good = right[scenario][field]
        for letter in scenarios.get(scenario).options[field]:
            if letter == good:
                continue
            from mesakit.checks import inner as lesson01

            lesson01._MISSES.clear()
            answers = correct_answers()
            answers[scenario][field] = letter
            with pytest.raises(AssertionError) as err:
                checks.check_concept_answers(lambda: answers, only=[scenario])  # noqa: B023
            text = str(err.value)
            reason = scenarios.explain(scenario, field, letter)
            assert reason in text and f"not ({letter})" in text
            assert scenarios.explain(scenario, field, good) not in text and "the answer" not in text
            reasons.add(reason)
        assert len(reasons) == 3, "every wrong option needs a reason of its own"


def test_the_answer_is_revealed_after_a_second_different_miss_only(fresh_misses):
    answers = correct_answers()
    wrong = [l for l in "abcd" if l != answers["spam"]["mesa_objective"]]
    for attempt, letter in enumerate([wrong[0], wrong[0], wrong[1]]):
        answers["spam"]["mesa_objective"] = letter
        with pytest.raises(AssertionError) as err:
            checks.check_concept_answers(lambda: answers, only=["spam"])
        revealed = "After two misses, the answer: (d)" in str(err.value)
        assert revealed == (attempt == 2), (attempt, str(err.value))


def test_feedback_texts_are_not_readable_from_the_package():
    from mesakit.inner import scenarios_feedback

    source = open(scenarios_feedback.__file__, encoding="utf-8").read()
    assert "natural selection" not in source and "policy gradient" not in source
    assert (
        scenarios.explain("coinrun", "base_optimizer", "d") == "the coin is part of the environment; it updates nothing"
    )
