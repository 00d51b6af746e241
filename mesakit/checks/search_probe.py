"""Checks of lesson 05's probe (section 4): the ridge fit and the R² that score it. The design
exercise that puts a control next to the probe is checked in :mod:`mesakit.checks.search_control`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..search.probe import fit_ridge, r2_score
from .core import call, expect_close, expect_number, expect_tensor, passed

__all__ = ["check_fit_ridge", "check_r_squared"]


def _regression_data(seed: int, n: int = 300, c: int = 6):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, c, generator=g, dtype=torch.float64) * 2 + 1.5  # non-zero mean: the intercept matters
    w = torch.randn(c, generator=g, dtype=torch.float64)
    y = X @ w + 4.0 + 0.5 * torch.randn(n, generator=g, dtype=torch.float64)
    return X, y


def _unpack_probe(out, c: int) -> tuple[torch.Tensor, float]:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        what = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list)) else type(out).__name__
        raise AssertionError(f"fit_ridge should return a tuple (weight (C,), bias), got {what}")
    weight = expect_tensor(out[0], (c,), "fit_ridge's weight")
    return weight, expect_number(out[1], "fit_ridge's bias")


def check_fit_ridge(fit_ridge_fn: Callable) -> None:
    """``fit_ridge(features (N, C), targets (N,), alpha) -> (weight (C,), bias)``."""
    for seed, alpha, dtype in ((0, 30.0, torch.float64), (1, 300.0, torch.float64), (2, 10.0, torch.float32)):
        X, y = _regression_data(seed)
        X, y = X.to(dtype).double(), y.to(dtype).double()  # the values a float32 learner sees
        tol = {"rtol": 1e-5, "atol": 1e-7} if dtype == torch.float64 else {"rtol": 2e-3, "atol": 1e-3}
        weight, bias = _unpack_probe(call(fit_ridge_fn, X.to(dtype), y.to(dtype), alpha, name="fit_ridge"), X.shape[1])
        ref = fit_ridge(X, y, alpha)
        ones = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1)
        no_intercept = torch.linalg.solve(X.T @ X + alpha * torch.eye(X.shape[1], dtype=X.dtype), X.T @ y)
        penalised = torch.linalg.solve(ones.T @ ones + alpha * torch.eye(X.shape[1] + 1, dtype=X.dtype), ones.T @ y)
        ols = fit_ridge(X, y, 0.0)
        both = torch.cat([weight.double(), torch.tensor([bias], dtype=torch.float64)])
        expect_close(
            both,
            torch.cat([ref.weight, torch.tensor([ref.bias], dtype=torch.float64)]),
            f"fit_ridge (alpha={alpha})",
            diagnoses=[
                (
                    torch.cat([no_intercept, torch.zeros(1, dtype=X.dtype)]),
                    "there is no intercept: centre X and y (or add a bias) so the probe can fit a constant offset",
                ),
                (penalised, "the bias is penalised too: centre X and y and penalise only the weights"),
                (
                    torch.cat([ols.weight, torch.tensor([ols.bias], dtype=torch.float64)]),
                    "alpha is ignored: ridge adds alpha·I to XᵀX",
                ),
            ],
            **tol,
        )
    passed("fit_ridge matches mesakit.search.probe.fit_ridge (weights and intercept, float64 and float32 inputs)")


def check_r_squared(r_squared_fn: Callable) -> None:
    """``r_squared(predictions (N,), targets (N,)) -> float``, ``1 - SS_res / SS_tot``."""
    g = torch.Generator().manual_seed(5)
    t = torch.randn(200, generator=g, dtype=torch.float64) * 3 + 10
    cases = [
        (t + torch.randn(200, generator=g, dtype=torch.float64), torch.float64),
        (0.5 * t + 2, torch.float64),
        (t.mean().expand(200).clone(), torch.float64),
        (t - 0.7 * torch.randn(200, generator=g, dtype=torch.float64), torch.float32),
    ]
    for p, dtype in cases:
        p, t = p.to(dtype).double(), t.to(dtype).double()  # the values a float32 learner sees
        out = expect_number(call(r_squared_fn, p.to(dtype), t.to(dtype), name="r_squared"), "r_squared")
        expected = r2_score(p, t)
        rel = 1e-6 if dtype == torch.float64 else 1e-4
        if math.isclose(out, expected, rel_tol=rel, abs_tol=1e-9):
            continue
        sse = ((t - p) ** 2).sum().item()
        wrongs = [
            (
                1 - ((t - p) ** 2).mean().item(),
                "you used 1 - MSE; divide the residual sum of squares by the total sum of squares around the mean",
            ),
            (1 - sse / (t**2).sum().item(), "SS_tot must be taken around the targets' MEAN, not around 0"),
            (
                torch.corrcoef(torch.stack([p, t]))[0, 1].item() ** 2 if p.std() > 0 else float("nan"),
                "that is the squared correlation; R² of a probe is 1 - SS_res/SS_tot, which also punishes a wrong scale or offset",
            ),
            (
                1 - sse / ((p - p.mean()) ** 2).sum().item() if p.std() > 0 else float("nan"),
                "SS_tot is computed from the TARGETS, not from the predictions",
            ),
        ]
        for value, message in wrongs:
            if math.isclose(out, value, rel_tol=rel, abs_tol=1e-9):
                raise AssertionError(f"r_squared: {message}")
        raise AssertionError(f"r_squared returned {out:.6g}, expected {expected:.6g}")
    passed("r_squared matches 1 - SS_res/SS_tot (a good probe, a biased one and the constant mean)")
