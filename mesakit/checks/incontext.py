"""Checks of lesson 02 (training a toy mesa optimizer), part 1: the model, a prompt and one LSA layer.

* :func:`check_build_prompt` — the prompt layout: context rows ``(x_i, y_i)``, then the query ``(x_q, 0)``.
* :func:`check_lsa_forward` — one linear self-attention layer, against ``models.LinearSelfAttention``.

This module also owns what every lesson-02 check builds on: the fixed-seed prompts
(``fixed_prompts``) and a float64 LSA with given weights (``lsa_from_weights``). The other parts:
training and the GD reference in :mod:`mesakit.checks.incontext_training`; measuring the trained
model against GD in :mod:`mesakit.checks.incontext_analysis`; the hand construction, reading the
trained weights and weight tying in :mod:`mesakit.checks.incontext_weights`.

Each check runs the learner's function on fixed-seed inputs (float64 where it matters), compares it
with mesakit's own implementation and, when they differ, names the likely mistake by matching the
output against known wrong implementations. Learning the material is the lesson's job; these
functions only say "right" or "here is what looks wrong".
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core import models
from ..core.seeding import seeded
from ..core.tasks import RegressionTask, build_prompt
from ..moved import moved_name
from .core import call, expect_close, passed

__all__ = ["check_build_prompt", "check_lsa_forward"]


def fixed_prompts(
    batch: int = 64, seed: int = 0, d: int = 10, n_context: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """The checks' fixed-seed float64 prompts: ``Z (batch, n_context+1, d+1)``, ``y (batch,)``."""
    return RegressionTask(d=d, n_context=n_context).sample(batch, seed=seed, dtype=torch.float64)


def lsa_from_weights(W_KQ: torch.Tensor, W_PV: torch.Tensor) -> models.LinearSelfAttention:
    """A float64 one-layer LSA with the given weights ``(d+1, d+1)`` each, in eval mode."""
    d = W_KQ.shape[-1] - 1
    with seeded(0):  # building a model draws (then discards) random weights: leave the learner's RNG alone
        model = models.LinearSelfAttention(models.LSAConfig(d=d, init_std=0.0)).double()
    with torch.no_grad():
        model.W_KQ[0] = W_KQ
        model.W_PV[0] = W_PV
    return model.eval()


# ---------------------------------------------------------------------------------------------
# 1. Prompts


def check_build_prompt(build_prompt_fn: Callable) -> None:
    """``build_prompt(x (B, N, d), y (B, N), x_q (B, d)) -> Z (B, N+1, d+1)``."""
    for B, N, d, seed, dtype in (
        (4, 10, 10, 0, torch.float32),
        (3, 5, 2, 1, torch.float32),
        (2, 3, 6, 2, torch.float64),
    ):
        g = torch.Generator().manual_seed(seed)
        x, y, x_q = (torch.randn(*shape, generator=g, dtype=dtype) for shape in ((B, N, d), (B, N), (B, d)))
        out = call(build_prompt_fn, x.clone(), y.clone(), x_q.clone(), name="build_prompt")
        expected = build_prompt(x, y, x_q)
        context = torch.cat([x, y[..., None]], -1)
        query = torch.cat([x_q, torch.zeros(B, 1, dtype=dtype)], -1)[:, None]
        if isinstance(out, torch.Tensor) and tuple(out.shape) == (B, N, d + 1):
            raise AssertionError(
                f"build_prompt returned shape {tuple(out.shape)}, expected {(B, N + 1, d + 1)}: the query row "
                "(x_q, 0) is missing; append it after the N context rows"
            )
        if isinstance(out, torch.Tensor) and N != d and tuple(out.shape) == (B, d + 1, N + 1):
            raise AssertionError(
                f"build_prompt returned shape {tuple(out.shape)}, expected {(B, N + 1, d + 1)}: tokens are rows, "
                "features are columns (did you stack along the wrong dimension or transpose?)"
            )
        expect_close(
            out,
            expected,
            "build_prompt",
            diagnoses=[
                (torch.cat([query, context], 1), "the query row must come LAST (row N), after the context rows"),
                (
                    torch.cat(
                        [
                            torch.cat([y[..., None], x], -1),
                            torch.cat([torch.zeros(B, 1, dtype=dtype), x_q], -1)[:, None],
                        ],
                        1,
                    ),
                    "each token is (x, y): the label goes in the LAST column (index d), not the first",
                ),
                (expected.transpose(1, 2), "tokens are rows and features columns: your prompt is transposed"),
                (
                    torch.cat([context, torch.cat([x_q, torch.ones(B, 1, dtype=dtype)], -1)[:, None]], 1),
                    "the query's label slot must be 0 (the model must not see y_q), not 1",
                ),
            ],
        )
        if out.dtype != dtype:
            raise AssertionError(
                f"build_prompt turned {dtype} inputs into a {out.dtype} prompt: keep the inputs' dtype "
                "(build the zeros with zeros_like or dtype=x.dtype)"
            )
    passed("build_prompt: context rows (x_i, y_i), then the query row (x_q, 0)")


# ---------------------------------------------------------------------------------------------
# 2. The LSA layer


def check_lsa_forward(lsa_forward: Callable) -> None:
    """``lsa_forward(Z (B, N+1, d+1), W_KQ (d+1, d+1), W_PV (d+1, d+1)) -> ŷ (B,)``."""
    for seed, (d, N, dtype) in enumerate(((10, 10, torch.float64), (3, 7, torch.float64), (4, 6, torch.float32))):
        Z, _ = fixed_prompts(32, seed=100 + seed, d=d, n_context=N)
        g = torch.Generator().manual_seed(200 + seed)
        W_KQ = torch.randn(d + 1, d + 1, generator=g, dtype=torch.float64)
        W_PV = torch.randn(d + 1, d + 1, generator=g, dtype=torch.float64)
        if dtype == torch.float32:  # the learner's code on float32 tensors, compared with float64 arithmetic
            Z, W_KQ, W_PV = Z.float().double(), W_KQ.float().double(), W_PV.float().double()
        out = call(
            lsa_forward,
            Z.to(dtype, copy=True),
            W_KQ.to(dtype, copy=True),
            W_PV.to(dtype, copy=True),
            name="lsa_forward",
        )
        with torch.no_grad():
            expected = lsa_from_weights(W_KQ, W_PV)(Z)

        def wrong(rows: slice, divisor: float, kq: torch.Tensor = W_KQ, pv: torch.Tensor = W_PV, sign: float = -1.0):
            ctx = Z[:, rows]  # noqa: B023
            moment = ctx.transpose(1, 2) @ ctx / divisor
            query = Z[:, -1:]  # noqa: B023 — (B, 1, d+1)
            return sign * (query + query @ kq.T @ moment @ pv.T)[:, 0, -1]

        ctx = slice(0, N)
        expect_close(
            out,
            expected,
            "lsa_forward",
            diagnoses=[
                (
                    wrong(ctx, N, sign=1.0),
                    "wrong sign: the prediction is MINUS the query's label slot, ŷ = -Z_out[:, N, d]",
                ),
                (
                    wrong(slice(0, N + 1), N),
                    "keys and values come from the N context tokens only: leave the query row out of Σ e_i e_iᵀ",
                ),
                (
                    wrong(slice(0, N + 1), N + 1),
                    "keys and values come from the N context tokens only, normalised by 1/N",
                ),
                (wrong(ctx, N + 1), "normalise the sum over the N context tokens by 1/N, not 1/(N+1)"),
                (wrong(ctx, 1.0), "forgot the 1/N normalisation of Σ_i e_i e_iᵀ"),
                (
                    wrong(ctx, N, kq=W_KQ.T, pv=W_PV.T),
                    "W_KQ and W_PV act on column vectors (W·e): in row form use e @ W.T",
                ),
                (
                    wrong(ctx, N, kq=W_KQ.T),
                    "W_KQ is transposed: the update is W_PV · M · W_KQ · e_q, i.e. e_q @ W_KQ.T @ M @ W_PV.T",
                ),
                (
                    wrong(ctx, N, pv=W_PV.T),
                    "W_PV is transposed: the update is W_PV · M · W_KQ · e_q, i.e. e_q @ W_KQ.T @ M @ W_PV.T",
                ),
            ]
            + (
                [
                    (
                        wrong(slice(0, 10), 10.0),
                        f"you used N = 10 whatever the prompt: this one has N = {N} context tokens; "
                        "read N from Z.shape[1] - 1",
                    )
                ]
                if N != 10
                else []
            ),
            rtol=1e-6 if dtype == torch.float64 else 1e-4,
            atol=1e-8 if dtype == torch.float64 else 1e-5,
        )
    passed("lsa_forward matches mesakit.core.models.LinearSelfAttention (one layer, no softmax)")


def __getattr__(name: str) -> object:  # 0.1's checks.lesson02 held the training and GD-reference checks too
    return moved_name(__name__, name)
