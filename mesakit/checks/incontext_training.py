"""Checks of lesson 02 (training a toy mesa optimizer), part 2: the base optimizer and the GD reference.

* :func:`check_train_step` — one base-optimizer step (zero the gradients, 0.5·MSE, backward, step).
* :func:`check_gd_predict`, :func:`check_best_lr` — the reference the trained model is compared with:
  one GD step on the prompt and its best step size, against ``reference.gd_predict`` /
  ``reference.best_gd_lr``.

The prompt and the LSA layer are checked in :mod:`mesakit.checks.incontext` (whose fixed-seed
prompts these checks use); measuring the trained model against GD in
:mod:`mesakit.checks.incontext_analysis`. Each check runs the learner's function on fixed-seed
inputs, compares it with mesakit's own implementation and, when they differ, names the likely
mistake by matching the output against known wrong implementations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..core import metrics, models, reference
from ..core.seeding import seeded
from ..core.tasks import RegressionTask
from .core import call, expect_close, expect_number, passed
from .incontext import fixed_prompts

__all__ = ["check_train_step", "check_gd_predict", "check_best_lr"]


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
