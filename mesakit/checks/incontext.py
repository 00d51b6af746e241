"""Checks of lesson 02 (training a toy mesa optimizer), first half: building and training the model.

* :func:`check_build_prompt` — the prompt layout: context rows ``(x_i, y_i)``, then the query ``(x_q, 0)``.
* :func:`check_lsa_forward` — one linear self-attention layer, against ``models.LinearSelfAttention``.
* :func:`check_train_step` — one base-optimizer step (zero the gradients, 0.5·MSE, backward, step).
* :func:`check_gd_predict`, :func:`check_best_lr` — the reference: one GD step on the prompt and its
  best step size, against ``reference.gd_predict`` / ``reference.best_gd_lr``.

Measuring the trained model against GD, the hand construction, reading the trained weights and
weight tying are checked in :mod:`mesakit.checks.incontext_analysis`, which reuses this module's
fixed-seed prompts (``fixed_prompts``) and LSA builder (``lsa_from_weights``).

Each check runs the learner's function on fixed-seed inputs (float64 where it matters), compares it
with mesakit's own implementation and, when they differ, names the likely mistake by matching the
output against known wrong implementations. Learning the material is the lesson's job; these
functions only say "right" or "here is what looks wrong".
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..core import metrics, models, reference
from ..core.seeding import seeded
from ..core.tasks import RegressionTask, build_prompt
from .core import call, expect_close, expect_number, passed

__all__ = [
    "check_build_prompt",
    "check_lsa_forward",
    "check_train_step",
    "check_gd_predict",
    "check_best_lr",
]


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


# ---------------------------------------------------------------------------------------------
# 3. The base optimizer


def _reference_step(model, optimizer, Z, y) -> float:
    optimizer.zero_grad()
    loss = metrics.loss(model(Z), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def _run_steps(step_fn, batches, *, learner: bool):
    with seeded(7):  # fixed initial weights, without touching the notebook's global seed
        model = models.LinearSelfAttention(models.LSAConfig(d=4, init_std=0.3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for Z, y in batches:
        value = call(step_fn, model, optimizer, Z, y, name="train_step") if learner else step_fn(model, optimizer, Z, y)
        losses.append(expect_number(value, "train_step") if learner else value)
    params = torch.cat([p.detach().flatten() for p in model.parameters()])
    return torch.tensor(losses, dtype=torch.float64), params


def check_train_step(train_step: Callable) -> None:
    """``train_step(model, optimizer, Z (B, N+1, d+1), y (B,)) -> float``: one base-optimizer step."""
    task = RegressionTask(d=4, n_context=8)
    batches = [task.sample(64, seed=300 + i) for i in range(3)]
    losses, params = _run_steps(train_step, batches, learner=True)
    ref_losses, ref_params = _run_steps(_reference_step, batches, learner=False)

    def accumulate(model, optimizer, Z, y):  # forgot optimizer.zero_grad()
        loss = metrics.loss(model(Z), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    def no_step(model, optimizer, Z, y):
        optimizer.zero_grad()
        loss = metrics.loss(model(Z), y)
        loss.backward()
        return loss.item()

    def summed(model, optimizer, Z, y):
        optimizer.zero_grad()
        loss = 0.5 * ((model(Z) - y) ** 2).sum()
        loss.backward()
        optimizer.step()
        return loss.item()

    def after(model, optimizer, Z, y):
        _reference_step(model, optimizer, Z, y)
        with torch.no_grad():
            return metrics.loss(model(Z), y).item()

    acc_losses, acc_params = _run_steps(accumulate, batches, learner=False)
    expect_close(
        losses,
        ref_losses,
        "train_step's returned losses",
        diagnoses=[
            (2 * ref_losses, "the loss is 0.5·MSE (mesakit.core.metrics.loss), not the plain mean squared error"),
            (
                _run_steps(no_step, batches, learner=False)[0],
                "the loss never changes between steps: call optimizer.step() after loss.backward()",
            ),
            (acc_losses, "gradients pile up across steps: call optimizer.zero_grad() before loss.backward()"),
            (
                _run_steps(summed, batches, learner=False)[0],
                "you summed the squared errors over the batch: the loss is "
                "their MEAN (0.5·MSE), whatever the batch size",
            ),
            (
                _run_steps(after, batches, learner=False)[0],
                "you returned the loss AFTER the update: return the loss "
                "you computed and backpropagated, before optimizer.step()",
            ),
        ],
        rtol=1e-5,
    )
    if torch.allclose(params, _run_steps(no_step, batches, learner=False)[1]):
        raise AssertionError("train_step left the weights unchanged: call optimizer.step() after loss.backward()")
    expect_close(
        params,
        ref_params,
        "the weights after three train_step calls",
        diagnoses=[(acc_params, "gradients pile up across steps: call optimizer.zero_grad() before loss.backward()")],
        rtol=1e-4,
        atol=1e-6,
    )
    passed("train_step: zero the gradients, 0.5·MSE, backward, step — the base optimizer")


# ---------------------------------------------------------------------------------------------
# 4. The reference: gradient descent on the prompt


def _gd_variants(Z: torch.Tensor, lr: float) -> list[tuple[torch.Tensor, str]]:
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]
    N = x.shape[1]
    g = torch.einsum("bn,bnd->bd", y, x)
    hard_coded = (
        [
            (
                lr / 10 * (g * x_q).sum(-1),
                f"you divided by 10 whatever the prompt: this one has N = {N} context examples; read N from Z",
            )
        ]
        if N != 10
        else []
    )
    return hard_coded + [
        (
            lr / N * (g * x[:, 0]).sum(-1),
            "you predicted the FIRST context input x_0: the query is the last row, x_q = Z[:, -1, :-1]",
        ),
        (-lr / N * (g * x_q).sum(-1), "wrong sign: a GD step from w = 0 moves along +Σ y_i x_i (w₁ = η/N Σ_i y_i x_i)"),
        (lr * (g * x_q).sum(-1), "forgot the 1/N: the loss is the MEAN over the N context examples"),
        (lr / (N + 1) * (g * x_q).sum(-1), "divide by N (context examples), not N+1: the query has no label"),
    ]


def check_gd_predict(gd_predict: Callable) -> None:
    """``gd_predict(Z (B, N+1, d+1), lr: float) -> ŷ (B,)``: one GD step from w = 0, then w·x_q."""
    for seed, (d, N, lr, dtype) in enumerate(
        ((10, 10, 1.5, torch.float64), (3, 6, 0.7, torch.float64), (5, 8, 0.9, torch.float32))
    ):
        Z, _ = fixed_prompts(32, seed=400 + seed, d=d, n_context=N)
        Z = Z.to(dtype).double()  # a float32 case holds only float32 values
        out = call(gd_predict, Z.to(dtype, copy=True), lr, name="gd_predict")
        tol = dict(rtol=1e-6, atol=1e-9) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-6)
        expect_close(out, reference.gd_predict(Z, lr), "gd_predict", diagnoses=_gd_variants(Z, lr), **tol)
    passed("gd_predict: ŷ = (η/N Σ_i y_i x_i) · x_q — one step of gradient descent")


def check_best_lr(best_lr: Callable, uses: Callable | None = None) -> None:
    """``best_lr(Z (B, N+1, d+1), y (B,)) -> float``: the step size minimising one GD step's 0.5·MSE.

    ``uses``: the learner's ``gd_predict``, if their ``best_lr`` calls it. When that one fails its own
    check and ``best_lr`` is right on top of it, this check passes and says what to fix (one mistake,
    one deduction)."""
    from .core import blame_earlier, earlier_fails

    earlier = earlier_fails(check_gd_predict, uses)
    for seed, d in ((500, 10), (501, 4)):
        Z, y = fixed_prompts(2000, seed=seed, d=d)
        out = expect_number(call(best_lr, Z.clone(), y.clone(), name="best_lr"), "best_lr")
        best = reference.best_gd_lr(Z=Z, y=y)
        if abs(out - best) <= 2e-3 * best:
            continue
        if earlier:
            try:
                g = uses(Z.clone(), 1.0).double()
                theirs = ((g * y).sum() / (g * g).sum()).item()
            except Exception:  # their gd_predict crashes on these prompts: nothing to compare with
                theirs = math.nan
            if abs(out - theirs) <= 2e-3 * abs(theirs):
                print("⚠ best_lr itself is right, but it uses your gd_predict, which fails its check: fix that first")
                return
            try:
                _best_lr_mistake(out, best, Z, y)
            except AssertionError as err:
                raise blame_earlier(err, "gd_predict", "best_lr") from None
        _best_lr_mistake(out, best, Z, y)
    passed(f"best_lr: η* = {best:.3f} on d = {d} (matches mesakit.core.reference.best_gd_lr)")


def _best_lr_mistake(out: float, best: float, Z: torch.Tensor, y: torch.Tensor) -> None:
    def loss_at(lr: float) -> float:
        return metrics.loss(reference.gd_predict(Z, lr), y).item()

    if abs(out - 1 / best) <= 2e-3 / best:
        raise AssertionError(f"best_lr returned {out:.4f} = 1/η*: your ratio is upside down")
    if abs(out + best) <= 2e-3 * best:
        raise AssertionError(
            f"best_lr returned {out:.4f}, a negative step: the best η is minus that (check the sign "
            "of the derivative you set to zero)"
        )
    if abs(out - loss_at(best)) <= 2e-3 * loss_at(best):
        raise AssertionError(f"best_lr returned {out:.4f}, the lowest LOSS: return the step size η that achieves it")
    raise AssertionError(
        f"best_lr returned η = {out:.4f} (loss {loss_at(out):.4f}), but another η gives a lower loss "
        f"({loss_at(best):.4f}): search a finer grid (the best step lies between 0 and 5) or use the closed form"
    )
