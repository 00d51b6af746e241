"""Checks of lesson 02 (training a toy mesa optimizer), part 3: is the trained model doing GD?

* :func:`check_sensitivity` — ``∂ŷ/∂x_q`` by autograd, against ``mesakit.core.metrics.sensitivity``.
* :func:`check_compare_with_gd` — measuring a model against GD (losses, sensitivity cosine,
  prediction difference; the keys ``COMPARE_KEYS``), against ``mesakit.core.metrics``.

The prompt and the LSA layer are checked in :mod:`mesakit.checks.incontext`, whose fixed-seed
prompts (``fixed_prompts``) and LSA builder (``lsa_from_weights``) these checks reuse; the hand
construction, reading the trained weights and weight tying in :mod:`mesakit.checks.incontext_weights`.
Each check compares with mesakit's own implementation on fixed-seed float64 inputs and, when they
differ, names the likely mistake by matching known wrong implementations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core import metrics, models, reference
from ..moved import moved_name
from .core import call, expect_close, expect_number, passed
from .incontext import fixed_prompts, lsa_from_weights

__all__ = ["check_sensitivity", "check_compare_with_gd"]


# ---------------------------------------------------------------------------------------------
# 5. Measuring the trained model against GD


def _sens_model(seed: int = 600) -> models.LinearSelfAttention:
    g = torch.Generator().manual_seed(seed)
    return lsa_from_weights(
        torch.randn(11, 11, generator=g, dtype=torch.float64), torch.randn(11, 11, generator=g, dtype=torch.float64)
    )


def _same_for_two_models(outs: list, name: str, fix: str) -> None:
    """Two different models gave the very same answer: the code ignores its ``model`` argument."""
    a, b = outs[0], outs[1]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b):
        raise AssertionError(
            f"{name} gave the same result for two different models: {fix}, not a model from your "
            "notebook (a global such as `lsa`)"
        )
    if isinstance(a, dict) and isinstance(b, dict) and a and a == b:
        raise AssertionError(
            f"{name} gave the same result for two different models: {fix}, not a model from your "
            "notebook (a global such as `lsa`)"
        )


def check_sensitivity(sensitivity: Callable) -> None:
    """``sensitivity(model, Z (B, N+1, d+1)) -> ∂ŷ/∂x_q (B, d)``."""
    Z, _ = fixed_prompts(16, seed=610)
    models_ = (_sens_model(), lambda Z: reference.gd_predict(Z, 1.3))
    outs = [call(sensitivity, model, Z.clone(), name="sensitivity") for model in models_]
    _same_for_two_models(outs, "sensitivity", "differentiate the `model` you are given")
    for model, out in zip(models_, outs):
        if isinstance(out, torch.Tensor) and tuple(out.shape) == (Z.shape[0], Z.shape[2]):
            raise AssertionError(
                f"sensitivity returned shape {tuple(out.shape)}, expected {(Z.shape[0], Z.shape[2] - 1)}: keep only "
                "the x_q part of the query row (drop the label slot, Z[:, -1, :-1])"
            )
        expected = metrics.sensitivity(model, Z)
        Zg = Z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Zg).sum(), Zg)
        expect_close(
            out,
            expected,
            "sensitivity",
            diagnoses=[
                (
                    grad[:, 0, :-1],
                    "that is the gradient at row 0, the first context example; the query is the LAST row",
                ),
                (
                    grad[:, -2, :-1],
                    "that is the gradient at row N-1, the last context example; the query is the LAST row (N)",
                ),
                (expected / Z.shape[0], "divided by the batch size: differentiate model(Z).sum(), not .mean()"),
                (-expected, "wrong sign: return ∂ŷ/∂x_q as autograd gives it"),
            ],
            rtol=1e-6,
            atol=1e-9,
        )
    passed("sensitivity: ∂ŷ/∂x_q by autograd, one row per prompt")


COMPARE_KEYS = ("model_loss", "gd_loss", "sensitivity_cosine", "prediction_diff")


def _compare_case(compare_with_gd: Callable, model_seed: int, gd_lr: float, prompt_seed: int, uses: Callable | None):
    Z, y = fixed_prompts(500, seed=prompt_seed)
    model = _sens_model(model_seed)
    with torch.no_grad():  # scale the random model so its predictions are in GD's range
        model.W_PV.mul_(0.1)
    gd = lambda Z: reference.gd_predict(Z, gd_lr)  # noqa: E731
    out = call(compare_with_gd, model, gd, Z.clone(), y.clone(), name="compare_with_gd")
    return out, (model, gd, Z, y)


def _compare_expected(model, gd, Z, y, sens: Callable = metrics.sensitivity) -> dict:
    with torch.no_grad():
        p_model, p_gd = model(Z), gd(Z)
    s_model, s_gd = sens(model, Z.clone()).double(), sens(gd, Z.clone()).double()
    return {
        "model_loss": metrics.loss(p_model, y),
        "gd_loss": metrics.loss(p_gd, y),
        "sensitivity_cosine": torch.nn.functional.cosine_similarity(s_model, s_gd, dim=-1).mean(),
        "prediction_diff": ((p_model - p_gd) ** 2).mean().sqrt(),
    }


def check_compare_with_gd(compare_with_gd: Callable, uses: Callable | None = None) -> None:
    """``compare_with_gd(model, gd, Z, y) -> dict`` with the keys ``COMPARE_KEYS``; run on two different
    (model, GD) pairs.

    ``uses``: the learner's ``sensitivity``, if their ``compare_with_gd`` calls it: when that one fails
    its own check and the comparison is right on top of it, this check passes and says what to fix."""
    from .core import blame_earlier, earlier_fails

    earlier = earlier_fails(check_sensitivity, uses)
    runs = [
        _compare_case(compare_with_gd, 621, 1.5, 620, uses),
        _compare_case(compare_with_gd, 622, 1.5, 620, uses),
    ]  # only the model differs
    for out, _ in runs:
        if not isinstance(out, dict):
            raise AssertionError(f"compare_with_gd should return a dict, got {type(out).__name__}")
        missing = [k for k in COMPARE_KEYS if k not in out]
        if missing:
            raise AssertionError(
                f"compare_with_gd's dict lacks the keys {missing}; expected exactly {list(COMPARE_KEYS)}"
            )
    values = [{k: expect_number(out[k], f"compare_with_gd()[{k!r}]") for k in COMPARE_KEYS} for out, _ in runs]
    _same_for_two_models(values, "compare_with_gd", "measure the `model` and `gd` you are given")
    for value, (_, case) in zip(values, runs):
        try:
            _expect_compare(value, *case)
        except AssertionError as err:
            if not earlier:
                raise
            try:
                theirs = _compare_expected(*case, sens=uses)
                ok = all(abs(value[k] - theirs[k].item()) <= 1e-4 * abs(theirs[k].item()) + 1e-7 for k in COMPARE_KEYS)
            except Exception:  # their sensitivity crashes here: nothing to compare with
                ok = False
            if not ok:
                raise blame_earlier(err, "sensitivity", "compare_with_gd") from None
            print(
                "⚠ compare_with_gd itself is right, but it uses your sensitivity, which fails its check: fix that first"
            )
            return
    passed("compare_with_gd: loss, sensitivity cosine and prediction difference as in von Oswald et al.")


def _expect_compare(value: dict, model, gd, Z, y) -> None:
    expected = _compare_expected(model, gd, Z, y)
    with torch.no_grad():
        p_model, p_gd = model(Z), gd(Z)
    s_model, s_gd = metrics.sensitivity(model, Z), metrics.sensitivity(gd, Z)
    flat_cos = torch.nn.functional.cosine_similarity(s_model.flatten(), s_gd.flatten(), dim=0)
    wrong = {
        "model_loss": [
            (2 * expected["model_loss"], "the loss is 0.5·MSE (mesakit.core.metrics.loss), not the plain MSE"),
            (expected["gd_loss"], "model_loss is the loss of GD's predictions: use the model's"),
        ],
        "gd_loss": [
            (2 * expected["gd_loss"], "the loss is 0.5·MSE (mesakit.core.metrics.loss), not the plain MSE"),
            (expected["model_loss"], "gd_loss is the loss of the model's predictions: use GD's"),
        ],
        "sensitivity_cosine": [
            (
                flat_cos,
                "that is one cosine of the whole flattened batch: take the cosine per prompt (dim=-1), then the mean",
            ),
            ((s_model * s_gd).sum(-1).mean(), "that is a mean dot product: divide by both norms to get a cosine"),
            (
                torch.nn.functional.cosine_similarity(s_model, s_gd, dim=0).mean(),
                "that cosine runs over the batch "
                "(dim=0): take it per prompt, over the d input directions (dim=-1), then the mean",
            ),
        ],
        "prediction_diff": [
            (((p_model - p_gd) ** 2).mean(), "prediction_diff is the ROOT mean squared difference: take the sqrt"),
            (
                (p_model - p_gd).abs().mean(),
                "prediction_diff is the root mean SQUARED difference, not the mean absolute one",
            ),
        ],
    }
    for key in COMPARE_KEYS:
        got = torch.tensor(value[key], dtype=torch.float64)
        expect_close(
            got, expected[key].double(), f"compare_with_gd()[{key!r}]", diagnoses=wrong[key], rtol=1e-4, atol=1e-7
        )


def __getattr__(name: str) -> object:  # 0.1's checks.lesson02_analysis held the weight checks too
    return moved_name(__name__, name)
