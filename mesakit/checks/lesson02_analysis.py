"""Checks of lesson 02 (training a toy mesa optimizer), second half: is the trained model doing GD?

* :func:`check_sensitivity`, :func:`check_compare_with_gd` — measuring a model against GD
  (``∂ŷ/∂x_q``, losses, sensitivity cosine, prediction difference), against ``mesakit.metrics``.
* :func:`check_gd_construction` — the hand-built weights whose forward pass is one GD step (and,
  iterated, K steps).
* :func:`check_learned_step_size` — reading η off trained weights, against
  ``experiments.lsa_gd.learned_step_size``.
* :func:`check_tied_lsa_forward` — one layer applied K times (weight tying).

Prompts, the LSA layer, the train step and the GD reference are checked in
:mod:`mesakit.checks.lesson02`, whose fixed-seed prompts (``_prompts``) and LSA builder (``_lsa``)
these checks reuse. Each check compares with mesakit's own implementation on fixed-seed float64
inputs and, when they differ, names the likely mistake by matching known wrong implementations.
"""

from __future__ import annotations

from typing import Callable

import torch

from .. import metrics, models, reference
from ..experiments.lsa_gd import learned_step_size
from .core import call, expect_close, expect_number, expect_tensor, passed
from .lesson02 import _lsa, _prompts

__all__ = [
    "check_sensitivity",
    "check_compare_with_gd",
    "check_gd_construction",
    "check_learned_step_size",
    "check_tied_lsa_forward",
]


# ---------------------------------------------------------------------------------------------
# 5. Measuring the trained model against GD


def _sens_model(seed: int = 600) -> models.LinearSelfAttention:
    g = torch.Generator().manual_seed(seed)
    return _lsa(torch.randn(11, 11, generator=g, dtype=torch.float64), torch.randn(11, 11, generator=g, dtype=torch.float64))


def check_sensitivity(sensitivity: Callable) -> None:
    """``sensitivity(model, Z (B, N+1, d+1)) -> ∂ŷ/∂x_q (B, d)``."""
    Z, _ = _prompts(16, seed=610)
    for model in (_sens_model(), lambda Z: reference.gd_predict(Z, 1.3)):
        out = call(sensitivity, model, Z.clone(), name="sensitivity")
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
                (grad[:, 0, :-1], "that is the gradient at row 0, the first context example; the query is the LAST row"),
                (grad[:, -2, :-1], "that is the gradient at row N-1, the last context example; the query is the LAST row (N)"),
                (expected / Z.shape[0], "divided by the batch size: differentiate model(Z).sum(), not .mean()"),
                (-expected, "wrong sign: return ∂ŷ/∂x_q as autograd gives it"),
            ],
            rtol=1e-6,
            atol=1e-9,
        )
    passed("sensitivity: ∂ŷ/∂x_q by autograd, one row per prompt")


COMPARE_KEYS = ("model_loss", "gd_loss", "sensitivity_cosine", "prediction_diff")


def check_compare_with_gd(compare_with_gd: Callable) -> None:
    """``compare_with_gd(model, gd, Z, y) -> dict`` with the keys ``COMPARE_KEYS``."""
    Z, y = _prompts(500, seed=620)
    model = _sens_model(621)
    with torch.no_grad():  # scale the random model so its predictions are in GD's range
        model.W_PV.mul_(0.1)
    gd = lambda Z: reference.gd_predict(Z, 1.5)  # noqa: E731
    out = call(compare_with_gd, model, gd, Z.clone(), y.clone(), name="compare_with_gd")
    if not isinstance(out, dict):
        raise AssertionError(f"compare_with_gd should return a dict, got {type(out).__name__}")
    missing = [k for k in COMPARE_KEYS if k not in out]
    if missing:
        raise AssertionError(f"compare_with_gd's dict lacks the keys {missing}; expected exactly {list(COMPARE_KEYS)}")
    with torch.no_grad():
        p_model, p_gd = model(Z), gd(Z)
    s_model, s_gd = metrics.sensitivity(model, Z), metrics.sensitivity(gd, Z)
    expected = {
        "model_loss": metrics.loss(p_model, y),
        "gd_loss": metrics.loss(p_gd, y),
        "sensitivity_cosine": torch.tensor(metrics.sensitivity_cosine(model, gd, Z)),
        "prediction_diff": torch.tensor(metrics.prediction_diff(model, gd, Z)),
    }
    flat_cos = torch.nn.functional.cosine_similarity(s_model.flatten(), s_gd.flatten(), dim=0)
    wrong = {
        "model_loss": [(2 * expected["model_loss"], "the loss is 0.5·MSE (mesakit.metrics.loss), not the plain MSE")],
        "gd_loss": [(2 * expected["gd_loss"], "the loss is 0.5·MSE (mesakit.metrics.loss), not the plain MSE")],
        "sensitivity_cosine": [
            (flat_cos, "that is one cosine of the whole flattened batch: take the cosine per prompt (dim=-1), then the mean"),
            ((s_model * s_gd).sum(-1).mean(), "that is a mean dot product: divide by both norms to get a cosine"),
        ],
        "prediction_diff": [
            (((p_model - p_gd) ** 2).mean(), "prediction_diff is the ROOT mean squared difference: take the sqrt"),
            ((p_model - p_gd).abs().mean(), "prediction_diff is the root mean SQUARED difference, not the mean absolute one"),
        ],
    }
    for key in COMPARE_KEYS:
        value = torch.tensor(expect_number(out[key], f"compare_with_gd()[{key!r}]"), dtype=torch.float64)
        expect_close(value, expected[key].double(), f"compare_with_gd()[{key!r}]", diagnoses=wrong[key], rtol=1e-4, atol=1e-7)
    passed("compare_with_gd: loss, sensitivity cosine and prediction difference as in von Oswald et al.")


# ---------------------------------------------------------------------------------------------
# 6. The hand construction


def check_gd_construction(gd_construction_weights: Callable) -> None:
    """``gd_construction_weights(d: int, lr: float) -> (W_KQ (d+1, d+1), W_PV (d+1, d+1))``."""
    for d, lr, seed in ((10, 1.5, 700), (3, 0.4, 701)):
        out = call(gd_construction_weights, d, lr, name="gd_construction_weights")
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise AssertionError("gd_construction_weights should return a pair (W_KQ, W_PV)")
        W_KQ = expect_tensor(out[0], (d + 1, d + 1), "W_KQ").double()
        W_PV = expect_tensor(out[1], (d + 1, d + 1), "W_PV").double()
        Z, _ = _prompts(64, seed=seed, d=d)
        with torch.no_grad():
            pred = _lsa(W_KQ, W_PV)(Z)
        expect_close(
            pred,
            reference.gd_predict(Z, lr),
            f"an LSA with your weights (d = {d}, lr = {lr})",
            diagnoses=[
                (-reference.gd_predict(Z, lr), "predicts -GD: W_PV[d, d] must be -lr (the model outputs MINUS the label slot)"),
                (reference.gd_predict(Z, 1.0), "ignores lr: the step size belongs in W_PV[d, d] = -lr"),
                (reference.gd_predict(Z, -1.0), "ignores lr: the step size belongs in W_PV[d, d] = -lr"),
            ],
            rtol=1e-6,
            atol=1e-9,
        )
        # Iterated, the same weights must run K steps: context labels have to become residuals.
        tied = _lsa(W_KQ, W_PV)
        with torch.no_grad():
            twice = tied(Z, iterations=2)
        if not torch.allclose(twice, reference.gd_predict(Z, lr, 2), rtol=1e-6, atol=1e-9):
            hint = (
                "W_KQ[d, d] must be 0 (identity on the x-block only)"
                if abs(W_KQ[d, d].item()) > 1e-12
                else "only W_KQ[:d, :d] (∝ I) and W_PV[d, d] should be non-zero"
            )
            raise AssertionError(
                "one layer matches one GD step, but applied twice your weights do not give two GD steps: the "
                f"context tokens' labels must turn into the residuals y_i - w·x_i. {hint}"
            )
    passed("gd_construction_weights: this LSA's forward pass IS one step of gradient descent")


# ---------------------------------------------------------------------------------------------
# 7. Reading the trained weights


def check_learned_step_size(step_size: Callable) -> None:
    """``learned_step_size(W_KQ (d+1, d+1), W_PV (d+1, d+1)) -> float``: η read off the weights."""
    g = torch.Generator().manual_seed(800)
    cases = []
    for d, scale, lr in ((10, 0.8, 1.5), (4, 2.5, 0.6)):
        W_KQ = 0.02 * torch.randn(d + 1, d + 1, generator=g)
        W_KQ[:d, :d] += scale * torch.eye(d) + 0.05 * torch.diag(torch.randn(d, generator=g))
        W_KQ[d, d] = 0.7  # a distractor: the label-label entry plays no part in the step size
        W_PV = 0.02 * torch.randn(d + 1, d + 1, generator=g)
        W_PV[d, d] = -lr / scale
        cases.append((W_KQ, W_PV))
    for W_KQ, W_PV in cases:
        d = W_KQ.shape[0] - 1
        out = expect_number(call(step_size, W_KQ.clone(), W_PV.clone(), name="learned_step_size"), "learned_step_size")
        expected = learned_step_size(W_KQ, W_PV)
        mean_diag = torch.diagonal(W_KQ[:d, :d]).mean().item()
        diagnoses = [
            (-expected, "wrong sign: the prediction is MINUS the label slot, so η = -W_PV[d, d] × (x-block scale of W_KQ)"),
            (expected * d, "that is the trace of W_KQ's x-block: use the MEAN of its diagonal (the scale a of a·I)"),
            (-W_PV[d, d].item() * W_KQ[d, d].item(), "W_KQ[d, d] is the label-label entry; the step size uses the x-block W_KQ[:d, :d]"),
            (-W_PV[d, d].item(), "W_PV[d, d] alone is not η: multiply by the scale of W_KQ's x-block"),
            (mean_diag, "W_KQ's scale alone is not η: multiply by -W_PV[d, d]"),
        ]
        expect_close(
            torch.tensor(out), torch.tensor(expected), "learned_step_size",
            diagnoses=[(torch.tensor(v), m) for v, m in diagnoses], rtol=1e-4,
        )  # fmt: skip
    passed("learned_step_size: η = -W_PV[d, d] × mean(diag W_KQ[:d, :d])")


# ---------------------------------------------------------------------------------------------
# 8. More steps: weight tying


def _tied_wrong(Z, W_KQ, W_PV, K, *, frozen_moment=False, residual=True):
    N = Z.shape[1] - 1
    first = Z[:, :N].transpose(1, 2) @ Z[:, :N] / N
    for _ in range(K):
        moment = first if frozen_moment else Z[:, :N].transpose(1, 2) @ Z[:, :N] / N
        update = Z @ W_KQ.T @ moment @ W_PV.T
        Z = Z + update if residual else update
    return -Z[:, N, -1]


def check_tied_lsa_forward(tied_lsa_forward: Callable) -> None:
    """``tied_lsa_forward(Z (B, N+1, d+1), W_KQ, W_PV (d+1, d+1), K: int) -> ŷ (B,)``: one layer, K times."""
    for seed, (d, K) in enumerate(((10, 3), (4, 2))):
        Z, _ = _prompts(32, seed=900 + seed, d=d)
        g = torch.Generator().manual_seed(910 + seed)
        W_KQ = 0.3 * torch.randn(d + 1, d + 1, generator=g, dtype=torch.float64)
        W_PV = 0.3 * torch.randn(d + 1, d + 1, generator=g, dtype=torch.float64)
        out = call(tied_lsa_forward, Z.clone(), W_KQ.clone(), W_PV.clone(), K, name="tied_lsa_forward")
        model = _lsa(W_KQ, W_PV)
        with torch.no_grad():
            expect_close(
                out,
                model(Z, iterations=K),
                f"tied_lsa_forward (K = {K})",
                diagnoses=[
                    (model(Z, iterations=1), "that is ONE application of the layer: apply it K times, feeding each output back in"),
                    (model(Z, iterations=K - 1), f"that is K-1 = {K - 1} applications: apply the layer exactly K times"),
                    (model(Z, iterations=K + 1), f"that is K+1 = {K + 1} applications: apply the layer exactly K times"),
                    (-model(Z, iterations=K), "wrong sign: the prediction is MINUS the query's label slot, ŷ = -Z[:, N, d]"),
                    (
                        _tied_wrong(Z, W_KQ, W_PV, K, frozen_moment=True),
                        "recompute Σ e_i e_iᵀ from the UPDATED context tokens at every pass: their labels change "
                        "(for the GD construction they become the residuals)",
                    ),
                    (
                        _tied_wrong(Z, W_KQ, W_PV, K, residual=False),
                        "keep the residual connection: Z <- Z + update at every pass, not Z <- update",
                    ),
                ],
                rtol=1e-6,
                atol=1e-9,
            )
    passed("tied_lsa_forward: the same layer applied K times (mesakit.models.LSAConfig(iterations=K))")
