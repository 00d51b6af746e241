"""Checks of lesson 01 (base and mesa optimizers): one ``check_<exercise>(fn)`` per exercise.

Each check runs the learner's function on fixed-seed inputs (float64), compares it with
``mesakit.inner.handbuilt`` / ``mesakit.core.reference`` and, when they differ, names the likely mistake by
matching the output against known wrong implementations (wrong sign of the gradient, forgotten 1/N,
off-by-one in K, the query row treated as a training example...). The concept check grades against
the salted answer hashes of ``mesakit.inner.scenarios``.

Part 3 of the lesson, the base optimizer (SGD) tuning the mesa optimizer's step size, is checked in
:mod:`mesakit.checks.inner_training`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core import reference
from ..core.tasks import RegressionTask
from ..inner import handbuilt, scenarios
from ..moved import moved_name
from .core import blame_earlier, call, earlier_fails, expect_close, expect_tensor, is_close, passed, with_theirs

__all__ = [
    "check_least_squares_gradient",
    "check_gradient_descent",
    "check_mesa_forward",
    "check_concept_answers",
]


def _regression(B: int, N: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random ``w (B, d)``, ``x (B, N, d)``, ``y (B, N)`` in float64 (y from a different true w)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, N, d, generator=g, dtype=torch.float64) * 2 - 1
    w_true = torch.randn(B, d, generator=g, dtype=torch.float64)
    y = torch.einsum("bnd,bd->bn", x, w_true) + 0.1 * torch.randn(B, N, generator=g, dtype=torch.float64)
    w = torch.randn(B, d, generator=g, dtype=torch.float64)
    return w, x, y


# ---------------------------------------------------------------------------------------------
# 1. The base optimizer: gradient descent on least squares


def check_least_squares_gradient(fn: Callable, seed: int = 0) -> None:
    """``least_squares_gradient(w (B, d), x (B, N, d), y (B, N)) -> (B, d)``."""
    B, N, d = 3, 7, 4  # N != d, so a transposed einsum shows up as a wrong shape
    w, x, y = _regression(B, N, d, seed)
    out = call(fn, w.clone(), x.clone(), y.clone(), name="least_squares_gradient")
    expected = handbuilt.least_squares_gradient(w, x, y)
    at_zero = handbuilt.least_squares_gradient(torch.zeros_like(w), x, y)
    plus_label = handbuilt.least_squares_gradient(w, x, -y)
    batch_mean = expected.mean(0, keepdim=True).expand_as(expected)
    expect_tensor(out, (B, d), "least_squares_gradient", "one gradient entry per weight, for each of the B problems")
    expect_close(
        out,
        expected,
        "least_squares_gradient",
        diagnoses=[
            (
                -expected,
                "wrong sign: the gradient is +1/N Σ (w·x_i - y_i) x_i (prediction minus label); you "
                "computed (y_i - w·x_i) x_i, which points downhill, so a GD step with it would climb the loss",
            ),
            (
                expected * N,
                "you forgot the 1/N: the loss is an average over the N examples, so its gradient "
                "is an average too (divide the sum by N, or use .mean over the examples)",
            ),
            (
                expected * 2,
                "factor 2 too large: the 1/2 in the loss cancels the 2 from differentiating the "
                "square, so the gradient has no factor 2",
            ),
            (expected / d, "you averaged over the d input dimensions as well: average over the N examples only"),
            (
                at_zero,
                "your gradient does not depend on w: it is the gradient at w = 0 (-1/N Σ y_i x_i). "
                "Use the residual w·x_i - y_i with the w you are given",
            ),
            (
                plus_label,
                "sign of the label in the residual: it is w·x_i - y_i (prediction minus label); you added the label",
            ),
            (
                batch_mean,
                "you averaged over the batch axis too: the B prompts are separate problems, each "
                "with its own gradient; average over the N examples only",
            ),
        ],
    )
    passed("least_squares_gradient matches ∇L(w) = 1/N Σ (w·x_i - y_i) x_i")


def _gd_with(grad: Callable, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    w = torch.zeros(x.shape[0], x.shape[2], dtype=x.dtype)
    for _ in range(steps):
        w = w - lr * grad(w, x.clone(), y.clone())
    return w


def check_gradient_descent(fn: Callable, seed: int = 0, uses: Callable | None = None) -> None:
    """``gradient_descent(x (B, N, d), y (B, N), lr, steps) -> w (B, d)``, starting from ``w = 0``.

    ``uses``: the learner's ``least_squares_gradient``, if their ``gradient_descent`` calls it. When that
    one fails its own check and ``fn`` is right on top of it, this check passes (one mistake, one
    deduction) and says what to fix."""
    B, N, d, lr, steps = 4, 8, 3, 0.3, 5
    _, x, y = _regression(B, N, d, seed)
    out = call(fn, x.clone(), y.clone(), lr, steps, name="gradient_descent")
    gd = handbuilt.gradient_descent
    expected = gd(x, y, lr, steps)
    expect_tensor(out, (B, d), "gradient_descent", "return the final weights w, one row per problem")
    earlier = earlier_fails(check_least_squares_gradient, uses)
    if earlier and not is_close(out, expected):
        if with_theirs(out, lambda: _gd_with(uses, x, y, lr, steps), "gradient_descent", "least_squares_gradient"):
            return
    try:
        _expect_gd(fn, out, expected, x, y, lr, steps)
    except AssertionError as err:
        raise blame_earlier(err, earlier and "least_squares_gradient", "gradient_descent") from None
    passed(f"gradient_descent matches {steps} steps of w ← w - lr·∇L(w) from w = 0")


def _expect_gd(fn: Callable, out: torch.Tensor, expected: torch.Tensor, x, y, lr: float, steps: int) -> None:
    B, N, d = x.shape
    gd = handbuilt.gradient_descent
    expect_close(
        out,
        expected,
        "gradient_descent",
        diagnoses=[
            (
                gd(x, y, -lr, steps),
                "your weights climb the loss (gradient ascent): the update is w ← w - lr·∇L(w), with a minus sign",
            ),
            (
                torch.zeros_like(expected),
                "your weights are still zero: update w inside the loop "
                "(w = w - lr * gradient) and return the updated w",
            ),
            (
                gd(x, y, lr, steps - 1),
                f"off by one: you took {steps - 1} steps instead of {steps} "
                "(`for _ in range(steps)` takes exactly `steps`)",
            ),
            (
                gd(x, y, lr, steps + 1),
                f"off by one: you took {steps + 1} steps instead of {steps} "
                "(`for _ in range(steps)` takes exactly `steps`)",
            ),
            (
                gd(x, y, lr * N, steps),
                "your steps are N times too large: the gradient needs the 1/N of "
                "the average loss (check least_squares_gradient)",
            ),
            (
                gd(x, y, 2 * lr, steps),
                "your steps are twice too large: the gradient has no factor 2 (the 1/2 in the loss cancels it)",
            ),
        ],
    )
    zero = call(fn, x.clone(), y.clone(), lr, 0, name="gradient_descent")
    expect_close(
        zero,
        torch.zeros(B, d, dtype=x.dtype),
        "gradient_descent(..., steps=0)",
        diagnoses=[
            (gd(x, y, lr, 1), "with steps=0 you still took one step: start from w = 0 and loop exactly `steps` times")
        ],
    )


# ---------------------------------------------------------------------------------------------
# 2. A hand-built mesa optimizer


def _gd_on_all_rows(Z: torch.Tensor, lr: float, K: int) -> torch.Tensor:
    """The classic mistake: GD on all N+1 rows, the query's placeholder label 0 included."""
    w = handbuilt.gradient_descent(Z[:, :, :-1], Z[:, :, -1], lr, K)
    return torch.einsum("bd,bd->b", w, Z[:, -1, :-1])


def check_mesa_forward(
    fn: Callable,
    seed: int = 0,
    d: int = 4,
    n_context: int = 6,
    K: int = 3,
    lr: float = 0.5,
    uses: Callable | None = None,
) -> None:
    """``mesa_forward(Z (B, N+1, d+1), lr, K) -> ŷ (B,)``: K GD steps on the context, then ``w·x_q``.

    ``uses``: the learner's ``gradient_descent``, if their ``mesa_forward`` calls it (see
    :func:`check_gradient_descent`: a mistake made there costs points there only)."""
    Z, _ = RegressionTask(d=d, n_context=n_context).sample(5, seed=seed, dtype=torch.float64)
    Z_before = Z.clone()
    out = call(fn, Z, lr, K, name="mesa_forward")
    if not torch.equal(Z, Z_before):
        raise AssertionError("mesa_forward changed the prompt Z in place: read from Z, never write into it")
    expected = reference.gd_predict(Z, lr, K)
    expect_tensor(
        out,
        (Z.shape[0],),
        "mesa_forward",
        "one prediction per prompt: ŷ = w·x_q (if you got (B, d), you returned w itself)",
    )
    earlier = earlier_fails(check_gradient_descent, uses)
    if earlier and not is_close(out, expected):

        def theirs() -> torch.Tensor:
            w = uses(Z[:, :-1, :-1].clone(), Z[:, :-1, -1].clone(), lr, K)
            return torch.einsum("bd,bd->b", w, Z[:, -1, :-1])

        if with_theirs(out, theirs, "mesa_forward", "gradient_descent"):
            return
    try:
        _expect_mesa_forward(fn, out, expected, Z, lr, K, n_context)
    except AssertionError as err:
        raise blame_earlier(err, earlier and "gradient_descent", "mesa_forward") from None
    passed(
        f"mesa_forward runs K = {K} inner gradient-descent step{'s' if K != 1 else ''} on the context and predicts the query"
    )


def _expect_mesa_forward(fn: Callable, out, expected, Z: torch.Tensor, lr: float, K: int, n_context: int) -> None:
    w = reference.gd_weights(Z, lr, K)
    diagnoses = [
        (
            _gd_on_all_rows(Z, lr, K),
            "you ran GD on all N+1 rows, including the query row, whose label slot "
            "holds a placeholder 0, not a label: the inner training set is the N context rows Z[:, :-1] only",
        ),
        (
            torch.zeros_like(expected),
            "your predictions are all 0: did you return the query's label slot "
            "Z[:, -1, -1]? It is a placeholder; the model must predict it, as w·x_q",
        ),
        (reference.gd_predict(Z, -lr, K), "wrong sign in the inner update: each step is w ← w - lr·∇L(w)"),
        (
            reference.gd_predict(Z, lr * n_context, K),
            "your inner steps are N times too large: the inner "
            "loss is an average over the N context examples, so its gradient has a 1/N",
        ),
        (
            torch.einsum("bd,bd->b", w, Z[:, 0, :-1]),
            "you predicted with the first context input x_0: predict the query, ŷ = w·x_q with x_q = Z[:, -1, :-1]",
        ),
    ]
    diagnoses += [
        (
            reference.gd_predict(Z, lr, k),
            f"off by one in K: your forward pass took {k} inner steps "
            f"instead of K = {K} (start from w = 0 and loop `for _ in range(K)`)",
        )
        for k in (K - 1, K + 1)
    ]
    expect_close(out, expected, "mesa_forward", diagnoses=diagnoses)
    zero = call(fn, Z, lr, 0, name="mesa_forward")
    expect_close(
        zero,
        torch.zeros_like(expected),
        "mesa_forward(Z, lr, K=0)",
        diagnoses=[
            (
                reference.gd_predict(Z, lr, 1),
                "with K=0 your model still took one inner step: K=0 means no step, so w stays 0 and ŷ = 0",
            )
        ],
    )


# ---------------------------------------------------------------------------------------------
# 4. Concept check


# Wrong letters already tried, per question, in this session: after a second different miss the
# check reveals the answer with its reason (blind guessing would otherwise take up to four tries).
_MISSES: dict[tuple[str, str], set[str]] = {}


def check_concept_answers(fn: Callable, only: list[str] | None = None) -> None:
    """``concept_check() -> {scenario: {field: letter}}``; ``only`` grades a subset of scenarios.

    Each wrong answer gets the reason *that* option is wrong (without naming the right one); after a
    second different wrong letter on the same question, the right answer and its reason."""
    answers = call(fn, name="concept_check")
    try:
        wrong = scenarios.grade(answers, only)
        clean = scenarios.validate(answers, only)
    except ValueError as err:
        raise AssertionError(f"concept_check: {err}") from None
    total = len(scenarios.selected(only)) * len(scenarios.FIELDS)
    if wrong:
        lines = [f"{total - len(wrong)} of {total} right. Not yet right:"]
        for scenario, field in wrong:
            letter = clean[scenario][field]
            option = scenarios.get(scenario).options[field][letter]
            lines.append(
                f"  • {scenario} → {field}: not ({letter}) “{option}”: {scenarios.explain(scenario, field, letter)}."
            )
            tried = _MISSES.setdefault((scenario, field), set())
            tried.add(letter)
            if len(tried) >= 2:
                right = scenarios.right_letter(scenario, field)
                lines.append(
                    f"    After two misses, the answer: ({right}), because {scenarios.explain(scenario, field, right)}."
                )
            else:
                lines.append(f"    ({scenarios.FIELD_HINTS[field]})")
        raise AssertionError("\n".join(lines))
    passed(f"all {total} answers right: you can tell base optimizer, base objective and mesa objective apart")


def __getattr__(name: str) -> object:  # 0.1's checks.lesson01 held the step-size checks too
    return moved_name(__name__, name)
