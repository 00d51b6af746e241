"""Check of lesson 05's design exercise (4.3, a control for the distance probe): graded by properties,
since many designs are right (shuffled fit targets, seeded noise features...). The probe's own
pieces are checked in :mod:`mesakit.checks.search_probe`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..search.probe import fit_ridge, r2_score
from .core import call, check_with_references, earlier_fails, expect_number, passed
from .search_probe import check_fit_ridge, check_r_squared

__all__ = ["check_probe_control"]


def _control_data(seed: int, n_fit: int, n_test: int, c: int, signal: bool, dtype=torch.float64):
    """Features with a non-zero mean; targets linear in them (``signal``) or pure noise."""
    g = torch.Generator().manual_seed(seed)
    Xf = torch.randn(n_fit, c, generator=g, dtype=torch.float64) + 1.0
    Xt = torch.randn(n_test, c, generator=g, dtype=torch.float64) + 1.0
    w = torch.randn(c, generator=g, dtype=torch.float64) if signal else torch.zeros(c, dtype=torch.float64)
    yf = Xf @ w + 3.0 + 0.3 * torch.randn(n_fit, generator=g, dtype=torch.float64)
    yt = Xt @ w + 3.0 + 0.3 * torch.randn(n_test, generator=g, dtype=torch.float64)
    return [t.to(dtype) for t in (Xf, yf, Xt, yt)]


def _real_probe_r2(Xf, yf, Xt, yt, alpha: float) -> float:
    probe = fit_ridge(Xf, yf, alpha)
    return r2_score(probe.predict(Xt), yt)


def check_probe_control(probe_control_fn: Callable, uses: tuple[Callable, Callable] | None = None) -> None:
    """``probe_control(features_fit, targets_fit, features_test, targets_test, alpha, seed) -> float``.

    A design exercise: any control that removes the information in the features about the targets
    from the data the probe is fit on, and scores on held-out data, passes. Two data sets: many squares
    whose targets the features predict well (float32), and few squares with many features whose
    targets are noise (a probe scored where it was fit reads a lot there). ``uses``: the learner's
    ``(fit_ridge, r_squared)``; when one fails its own check, the control is tested with the
    references in their place (one mistake, one deduction).
    """
    if uses is not None:
        failing = [
            (theirs, ours, name)
            for theirs, ours, name, check in (
                (uses[0], _reference_fit, "fit_ridge", check_fit_ridge),
                (uses[1], r2_score, "r_squared", check_r_squared),
            )
            if earlier_fails(check, theirs) is not None
        ]
        if failing:
            names = " and ".join(name for _, _, name in failing)
            check_with_references(
                check_probe_control,
                probe_control_fn,
                [(theirs, ours) for theirs, ours, _ in failing],
                "probe_control",
                names,
            )
            return
    strong = _control_data(0, 1500, 800, 12, signal=True, dtype=torch.float32)
    noise = _control_data(1, 40, 400, 24, signal=False)
    alpha = 1.0

    def control(data, seed: int) -> float:
        out = call(probe_control_fn, *[t.clone() for t in data], alpha, seed, name="probe_control")
        return expect_number(out, "probe_control")

    real = _real_probe_r2(*strong, alpha)
    got = control(strong, 0)
    if abs(got - real) < 0.05:
        raise AssertionError(
            f"probe_control returned R² {got:.3f}, as much as the real probe ({real:.3f}) on data where the features "
            "predict the targets: your control still pairs each square's features with its own target (no shuffle, "
            "the same permutation for both, or the features' columns permuted). Break the pairing"
        )
    if got < -0.3:
        raise AssertionError(
            f"probe_control returned R² {got:.3f} on data where a probe with no information reads about 0: the control "
            "probe was fit on intact pairs, and only the data it is scored on were scrambled. Break the pairing in the "
            "data the probe is fit on, and score it on the real held-out targets"
        )
    if got > 0.15:
        raise AssertionError(
            f"probe_control returned R² {got:.3f} on data where the real probe reads {real:.3f}; a probe that could not "
            "learn the targets from the features should read about 0. Break the link between the features and the "
            "targets the probe is fit on"
        )
    few = control(noise, 1)
    if few > 0.15:
        raise AssertionError(
            f"probe_control returned R² {few:.3f} for 40 squares with 24 features and targets that are pure noise: a "
            "probe with that many weights fits noise on the squares it was fit on. Score the control on the held-out "
            "features and targets, as the real probe is scored"
        )
    again = control(strong, 0)
    if again != got:
        raise AssertionError(
            "probe_control gave two different R²s for the same seed: draw every random choice from "
            "torch.Generator().manual_seed(seed), not from the global random state"
        )
    if all(control(strong, seed) == got for seed in (5, 6)):
        raise AssertionError(
            "probe_control gives the same R² for seeds 0, 5 and 6: the control ignores its `seed`; draw "
            "the shuffle (or the noise) from torch.Generator().manual_seed(seed)"
        )
    passed(
        f"probe_control: a probe with the information removed reads R² {got:.3f} where the real one reads {real:.3f}"
    )


def _reference_fit(features: torch.Tensor, targets: torch.Tensor, alpha: float) -> tuple[torch.Tensor, float]:
    probe = fit_ridge(features, targets, alpha)
    return probe.weight, probe.bias
