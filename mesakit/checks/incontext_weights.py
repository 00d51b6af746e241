"""Checks of lesson 02 (training a toy mesa optimizer), part 4: the weights that do GD.

* :func:`check_gd_construction` — the hand-built weights whose forward pass is one GD step (and,
  iterated, K steps).
* :func:`check_learned_step_size` — reading η off trained weights, against
  ``mesakit.incontext.lsa.learned_step_size``.
* :func:`check_tied_lsa_forward` — one layer applied K times (weight tying).

The prompt and the LSA layer are checked in :mod:`mesakit.checks.incontext`, whose fixed-seed
prompts (``fixed_prompts``) and LSA builder (``lsa_from_weights``) these checks reuse; measuring a
trained model against GD in :mod:`mesakit.checks.incontext_analysis`. Each check compares with
mesakit's own implementation on fixed-seed float64 inputs and, when they differ, names the likely
mistake by matching known wrong implementations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core import reference
from ..incontext.lsa import learned_step_size
from .core import call, expect_close, expect_number, expect_tensor, passed
from .incontext import fixed_prompts, lsa_from_weights

__all__ = ["check_gd_construction", "check_learned_step_size", "check_tied_lsa_forward"]


# ---------------------------------------------------------------------------------------------
# 6. The hand construction


def check_gd_construction(gd_construction_weights: Callable) -> None:
    """``gd_construction_weights(d: int, lr: float) -> (W_KQ (d+1, d+1), W_PV (d+1, d+1))``.

    The messages describe what the learner's layer computes (a step of the wrong size or sign, a
    score that reads the labels), never the weights themselves: 6.1 is a derivation."""
    for d, lr, seed in ((10, 1.5, 700), (3, 0.4, 701)):
        out = call(gd_construction_weights, d, lr, name="gd_construction_weights")
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise AssertionError(f"gd_construction_weights should return a pair (W_KQ, W_PV), got {type(out).__name__}")
        W_KQ = expect_tensor(out[0], (d + 1, d + 1), "W_KQ", f"d = {d} inputs plus the label: (d+1, d+1)").double()
        W_PV = expect_tensor(out[1], (d + 1, d + 1), "W_PV", f"d = {d} inputs plus the label: (d+1, d+1)").double()
        Z, _ = fixed_prompts(64, seed=seed, d=d)
        with torch.no_grad():
            pred = lsa_from_weights(W_KQ, W_PV)(Z)
        expected = reference.gd_predict(Z, lr)
        name = f"an LSA with your weights (d = {d}, lr = {lr})"
        if not torch.allclose(pred, expected, rtol=1e-6, atol=1e-9):
            expect_tensor(pred, expected.shape, name)
            ratio = ((pred * expected).sum() / (expected * expected).sum()).item()
            if torch.allclose(pred, ratio * expected, rtol=1e-6, atol=1e-9):
                if abs(ratio + 1) < 1e-6:
                    raise AssertionError(
                        f"{name} predicts MINUS the GD step: the model's prediction is minus the query's "
                        "label slot, so the entry that writes into that slot needs the opposite sign"
                    )
                if abs(ratio * lr - 1) < 1e-6 or abs(ratio * lr + 1) < 1e-6:
                    raise AssertionError(
                        f"{name} takes a step of size {abs(ratio * lr):.3g} whatever lr is: the step "
                        "size lr has to appear in your weights"
                    )
                raise AssertionError(
                    f"{name} computes a GD step, but of size {ratio * lr:.4g} instead of lr = {lr} "
                    f"({ratio:.4g} × lr): find the factor (the 1/N is already inside M)"
                )
            expect_close(pred, expected, name, rtol=1e-6, atol=1e-9)
        # Iterated, the same weights must run K steps: context labels have to become residuals.
        with torch.no_grad():
            twice = lsa_from_weights(W_KQ, W_PV)(Z, iterations=2)
        if not torch.allclose(twice, reference.gd_predict(Z, lr, 2), rtol=1e-6, atol=1e-9):
            label_score = W_KQ[d].abs().max().item() > 1e-12 or W_KQ[:, d].abs().max().item() > 1e-12
            hint = (
                "your W_KQ gives the label a part in the attention score, so once the first pass has changed the context "
                "labels the score is no longer x_i·x_j"
                if label_score
                else "your W_PV also writes into the inputs x, so the second pass no longer sees the same x_i"
            )
            raise AssertionError(
                "one layer matches one GD step, but applied twice your weights do not give two GD steps: the "
                f"context tokens' labels must turn into the residuals y_i - w·x_i and nothing else may change; {hint}"
            )
    passed("gd_construction_weights: this LSA's forward pass IS one step of gradient descent")


# ---------------------------------------------------------------------------------------------
# 7. Reading the trained weights


def check_learned_step_size(step_size: Callable) -> None:
    """``learned_step_size(W_KQ (d+1, d+1), W_PV (d+1, d+1)) -> float``: η read off the weights."""
    g = torch.Generator().manual_seed(800)
    cases = []
    for d, scale, lr, dtype in (
        (10, 0.8, 1.5, torch.float32),
        (4, 2.5, 0.6, torch.float32),
        (6, 1.3, 0.9, torch.float64),
    ):
        W_KQ = 0.02 * torch.randn(d + 1, d + 1, generator=g, dtype=dtype)
        W_KQ[:d, :d] += scale * torch.eye(d, dtype=dtype) + 0.05 * torch.diag(torch.randn(d, generator=g, dtype=dtype))
        W_KQ[d, d] = 0.7  # a distractor: the label-label entry plays no part in the step size
        W_PV = 0.02 * torch.randn(d + 1, d + 1, generator=g, dtype=dtype)
        W_PV[d, d] = -lr / scale
        cases.append((W_KQ, W_PV))
    for W_KQ, W_PV in cases:
        d = W_KQ.shape[0] - 1
        out = expect_number(call(step_size, W_KQ.clone(), W_PV.clone(), name="learned_step_size"), "learned_step_size")
        expected = learned_step_size(W_KQ, W_PV)
        mean_diag = torch.diagonal(W_KQ[:d, :d]).mean().item()
        diagnoses = [
            (
                -expected,
                "wrong sign: the prediction is MINUS the label slot, so η = -W_PV[d, d] × (x-block scale of W_KQ)",
            ),
            (expected * d, "that is the trace of W_KQ's x-block: use the MEAN of its diagonal (the scale a of a·I)"),
            (
                -W_PV[d, d].item() * W_KQ[d, d].item(),
                "W_KQ[d, d] is the label-label entry; the step size uses the x-block W_KQ[:d, :d]",
            ),
            (-W_PV[d, d].item(), "W_PV[d, d] alone is not η: multiply by the scale of W_KQ's x-block"),
            (mean_diag, "W_KQ's scale alone is not η: multiply by -W_PV[d, d]"),
            (
                -W_PV[d, d].item() * W_KQ[0, 0].item(),
                "you read the scale from ONE diagonal entry of W_KQ: the trained "
                "diagonal is noisy, so average the x-block's diagonal",
            ),
            (
                -W_PV[d, d].item() * torch.diagonal(W_KQ).mean().item(),
                "you averaged the whole diagonal of W_KQ, "
                "label-label entry included: only the x-block W_KQ[:d, :d] scales the step",
            ),
            (
                -W_PV[d, d].item() / mean_diag,
                "you divided by the x-block's scale: rescaling W_KQ by a divides W_PV by a, so η is their product",
            ),
            (
                -W_PV[d, d].item() * W_KQ[:d, :d].mean().item(),
                "you averaged ALL entries of the x-block: the scale a is on its diagonal",
            ),
        ]
        expect_close(
            torch.tensor(out, dtype=torch.float64),
            torch.tensor(expected, dtype=torch.float64),
            "learned_step_size",
            diagnoses=[(torch.tensor(v, dtype=torch.float64), m) for v, m in diagnoses],
            rtol=1e-4,
        )
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
    for seed, (d, K, dtype) in enumerate(((10, 3, torch.float64), (4, 2, torch.float64), (3, 4, torch.float32))):
        Z, _ = fixed_prompts(32, seed=900 + seed, d=d)
        g = torch.Generator().manual_seed(910 + seed)
        W_KQ = 0.3 * torch.randn(d + 1, d + 1, generator=g, dtype=torch.float64)
        W_PV = 0.3 * torch.randn(d + 1, d + 1, generator=g, dtype=torch.float64)
        Z, W_KQ, W_PV = (t.to(dtype).double() for t in (Z, W_KQ, W_PV))  # a float32 case holds float32 values
        Z_in = Z.to(dtype, copy=True)
        out = call(
            tied_lsa_forward, Z_in, W_KQ.to(dtype, copy=True), W_PV.to(dtype, copy=True), K, name="tied_lsa_forward"
        )
        if not torch.equal(Z_in.double(), Z):
            raise AssertionError(
                "tied_lsa_forward changed the Z it was given in place (Z += ... or Z[...] = ...): "
                "rebind a name instead (Z = Z + update), the caller's prompts must stay as they were"
            )
        model = lsa_from_weights(W_KQ, W_PV)
        with torch.no_grad():
            expect_close(
                out,
                model(Z, iterations=K),
                f"tied_lsa_forward (K = {K})",
                diagnoses=[
                    (
                        model(Z, iterations=1),
                        "that is ONE application of the layer: apply it K times, feeding each output back in",
                    ),
                    (
                        model(Z, iterations=K - 1),
                        f"that is K-1 = {K - 1} applications: apply the layer exactly K times",
                    ),
                    (
                        model(Z, iterations=K + 1),
                        f"that is K+1 = {K + 1} applications: apply the layer exactly K times",
                    ),
                    (
                        -model(Z, iterations=K),
                        "wrong sign: the prediction is MINUS the query's label slot, ŷ = -Z[:, N, d]",
                    ),
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
                rtol=1e-6 if dtype == torch.float64 else 1e-4,
                atol=1e-9 if dtype == torch.float64 else 1e-5,
            )
    passed("tied_lsa_forward: the same layer applied K times (mesakit.core.models.LSAConfig(iterations=K))")
