"""Checks of lesson 04 (objective divergence), part 1, the step size as a built-in proxy: one
``check_<exercise>(fn)`` per exercise.

* :func:`check_shift_losses` — the LSA, re-tuned GD and predicting 0 on rescaled inputs.
* :func:`check_context_losses` — the context's own least-squares loss before and after one GD step.
* :func:`check_critical_step` — the largest step that does not make the context's loss worse.

Part 2, goal misgeneralization, is :mod:`mesakit.checks.divergence_goals`. Each check builds
fixed-seed inputs, compares with mesakit's own implementation and, when they differ, names the
likely mistake by matching known wrong implementations.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from ..core import metrics, models, reference
from ..core.tasks import RegressionTask
from ..incontext.lsa import LR_SEED
from ..moved import moved_name
from .core import call, expect_close, expect_number, expect_tensor, passed

__all__ = ["check_shift_losses", "check_context_losses", "check_critical_step"]

SHIFT_KEYS = ("lsa", "gd_retuned", "zero")


def expect_dict(out, keys, name: str) -> dict[str, float]:
    """``out`` as a dict of exactly ``keys``, each a number; otherwise a failure naming what is off."""
    if not isinstance(out, dict):
        raise AssertionError(f"{name} should return a dict with keys {list(keys)}, got {type(out).__name__}")
    if set(out) < set(keys):
        missing = sorted(set(keys) - set(out))
        raise AssertionError(f"{name} left out the keys {missing}: every key needs a value, even when it is 0")
    if set(out) != set(keys):
        raise AssertionError(f"{name} should return exactly the keys {list(keys)}, got {sorted(map(str, out))}")
    return {k: expect_number(out[k], f"{name}()[{k!r}]") for k in keys}


def close(a: float, b: float, rtol: float = 1e-4) -> bool:
    """Two figures agree (relative ``rtol``, or both within 1e-6 of each other)."""
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-6)


# ---------------------------------------------------------------------------------------------
# 1. A built-in proxy: the step size


@functools.lru_cache(maxsize=8)
def _best_lr(scale: float) -> float:
    return reference.best_gd_lr(RegressionTask(x_scale=scale), seed=LR_SEED)


def _shift_reference(model, scale: float, n_prompts: int, seed: int) -> dict[str, float]:
    task = RegressionTask(x_scale=scale)
    Z, y = task.sample(n_prompts, seed=seed)
    lr = _best_lr(scale)
    with torch.no_grad():
        lsa = metrics.loss(model(Z), y).item()
    return {
        "lsa": lsa,
        "gd_retuned": metrics.loss(reference.gd_predict(Z, lr), y).item(),
        "zero": metrics.loss(torch.zeros_like(y), y).item(),
    }


def _shift_mistakes(model, scale: float, n_prompts: int, seed: int) -> list[tuple[str, float, str]]:
    """Known mistakes as (key, the value it produces, message)."""
    Z, y = RegressionTask(x_scale=scale).sample(n_prompts, seed=seed)
    Z1, y1 = RegressionTask().sample(n_prompts, seed=seed)
    old_lr = _best_lr(1.0)
    with torch.no_grad():
        unscaled_lsa = metrics.loss(model(Z1), y1).item()
        lsa_wrong_target = metrics.loss(model(Z), y1).item()
    return [
        (
            "gd_retuned",
            metrics.loss(reference.gd_predict(Z, old_lr), y).item(),
            "gd_retuned uses the step size tuned for scale 1: run best_gd_lr on the rescaled task "
            "(RegressionTask(x_scale=scale)) so GD gets a fair, re-tuned step",
        ),
        (
            "zero",
            metrics.loss(torch.zeros_like(y1), y1).item(),
            "the labels were not rescaled with the inputs: sample from RegressionTask(x_scale=scale) so that "
            "y = w·x is computed from the scaled inputs",
        ),
        ("lsa", unscaled_lsa, "the LSA was evaluated on unscaled prompts: feed it the same rescaled prompts as GD"),
        (
            "lsa",
            lsa_wrong_target,
            "the LSA's predictions were compared with unscaled targets: use the y that came with the rescaled prompts",
        ),
        (
            "zero",
            2 * metrics.loss(torch.zeros_like(y), y).item(),
            "the losses are twice too large: the course's loss is 0.5·MSE (mesakit.core.metrics.loss)",
        ),
    ]


def check_shift_losses(shift_losses_fn: Callable) -> None:
    """``shift_losses(model, scale, n_prompts, seed) -> {"lsa", "gd_retuned", "zero"}``.

    Two different models (the lesson's LSA and one trained with another seed), so code that reads
    the notebook's ``lsa`` instead of its ``model`` argument fails."""
    lsa, other = models.load_pretrained("lsa_1layer"), models.load_pretrained("zoo_lsa_trained_seed1")
    for model, twin, scale, n, seed in ((lsa, other, 2.5, 2000, 0), (other, lsa, 1.7, 1500, 7)):
        out = expect_dict(call(shift_losses_fn, model, scale, n, seed, name="shift_losses"), SHIFT_KEYS, "shift_losses")
        expected = _shift_reference(model, scale, n, seed)
        if all(close(out[k], expected[k]) for k in SHIFT_KEYS):
            continue
        if not close(out["lsa"], expected["lsa"]) and close(out["lsa"], _shift_reference(twin, scale, n, seed)["lsa"]):
            raise AssertionError(
                "shift_losses ignores its `model` argument: it scored another model (the notebook's "
                "`lsa`?) when given a different one; evaluate the `model` you are passed"
            )
        for key, value, message in _shift_mistakes(model, scale, n, seed):
            if not close(out[key], expected[key]) and close(out[key], value):
                raise AssertionError(f"shift_losses at scale {scale}: {message}")
        key = next(k for k in SHIFT_KEYS if not close(out[k], expected[k]))
        raise AssertionError(
            f"shift_losses at scale {scale}, n_prompts={n}, seed={seed}: {key!r} is {out[key]:.6g}, expected "
            f"{expected[key]:.6g}. Draw the prompts with RegressionTask(x_scale=scale).sample(n_prompts, seed=seed) "
            f"and the step size with reference.best_gd_lr(task, seed=LR_SEED)"
        )
    passed("shift_losses: at scale 2.5 the LSA's frozen step is far worse than predicting 0, re-tuned GD is not")


def _context(Z: torch.Tensor, with_query: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    rows = Z if with_query else Z[:, :-1]
    return rows[..., :-1].double(), rows[..., -1].double()


def _context_losses(Z: torch.Tensor, eta: float, with_query=False, k=0.5, mean=True, grad_mean=True):
    """The reference (defaults) and, through the flags, realistic mistakes."""
    x, y = _context(Z, with_query)
    g = torch.einsum("bn,bnd->bd", y, x) / (x.shape[1] if grad_mean else 1)
    reduce = (lambda t: t.mean(dim=1)) if mean else (lambda t: t.sum(dim=1))
    after = k * reduce((torch.einsum("bnd,bd->bn", x, eta * g) - y) ** 2)
    return k * reduce(y**2), after


def _critical_step(Z: torch.Tensor, with_query=False, factor=2.0) -> torch.Tensor:
    x, y = _context(Z, with_query)
    g = torch.einsum("bn,bnd->bd", y, x) / x.shape[1]
    return factor * (g * g).sum(dim=1) / (torch.einsum("bnd,bd->bn", x, g) ** 2).mean(dim=1)


def _context_prompts() -> list[tuple[torch.Tensor, float]]:
    """float32 and float64 prompts, two context lengths."""
    return [
        (RegressionTask(x_scale=2.0).sample(64, seed=3)[0], 1.5),
        (RegressionTask(n_context=7).sample(32, seed=8)[0], 0.7),
        (RegressionTask(n_context=13, x_scale=1.3).sample(16, seed=9)[0].double(), 1.1),
    ]


def check_context_losses(context_losses_fn: Callable) -> None:
    """``context_losses(Z, eta) -> (before (B,), after (B,))``: the context's loss at 0 and after one step."""
    for Z, eta in _context_prompts():
        out = call(context_losses_fn, Z, eta, name="context_losses")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            what = (
                f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list)) else type(out).__name__
            )
            raise AssertionError(f"context_losses should return a pair (before, after), got {what}")
        before, after = _context_losses(Z, eta)
        wrong = [
            (
                _context_losses(Z, eta, with_query=True),
                "the last row of Z is the query (its label is a 0 placeholder): the context is Z[:, :-1], N pairs",
            ),
            (_context_losses(Z, eta, mean=False), "L averages over the N context pairs (1/(2N)·Σ), it does not sum"),
            (_context_losses(Z, eta, k=1.0), "the loss is 1/(2N)·Σ (w·x_i − y_i)²: the factor 1/2 is missing"),
            (_context_losses(Z, eta, grad_mean=False), "the step is w1 = eta·(1/N)·Σ y_i x_i: divide the sum by N"),
            ((after, before), "before and after are swapped: return (L at w = 0, L at w1)"),
        ]
        for i, (name, ref) in enumerate((("before", before), ("after", after))):
            got = expect_tensor(out[i], ref.shape, f"context_losses()[{i}] ({name})", "one loss per prompt, shape (B,)")
            expect_close(
                got, ref, f"context_losses()[{i}] ({name})", [(w[i], message) for w, message in wrong], rtol=1e-4
            )
    passed("context_losses: at scale 2 the LSA's step makes the context's own loss worse on most prompts")


def check_critical_step(critical_step_fn: Callable) -> None:
    """``critical_step(Z) -> (B,)``: the step size at which one GD step brings L back to L(0)."""
    for Z, _ in _context_prompts():
        out = call(critical_step_fn, Z, name="critical_step")
        ref = _critical_step(Z)
        expect_close(
            expect_tensor(out, ref.shape, "critical_step", "one step size per prompt, shape (B,)"),
            ref,
            "critical_step",
            [
                (
                    _critical_step(Z, factor=1.0),
                    "this is the best step along g (where L is lowest); "
                    "L(η·g) − L(0) is a parabola in η that is back at 0 at twice that step",
                ),
                (
                    _critical_step(Z, with_query=True),
                    "the last row of Z is the query: use only the N context pairs Z[:, :-1]",
                ),
                (1 / _critical_step(Z), "the fraction is upside down: η_c = 2‖g‖² / ((1/N)·Σ (g·x_i)²)"),
            ],
            rtol=1e-4,
        )
    passed("critical_step: the largest step that does not make the context's loss worse")


def __getattr__(name: str) -> object:  # 0.1's checks.lesson04 held the goal checks too
    return moved_name(__name__, name)
