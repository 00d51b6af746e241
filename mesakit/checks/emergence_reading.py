"""Check of lesson 03's Exercise 3.2 (reading the task-diversity transition off a figure): graded on
understanding, not on plot formatting.

:func:`check_transition_reading` takes the pool size the learner read off the figure of *their own*
sweep (``mesakit.emergence.sweep.evaluate``'s dict) and compares it, with a tolerance, with what that sweep's
numbers imply (:func:`mesakit.emergence.diversity.locate_transition`). A wrong reading gets what the sweep shows
at that pool size and, when the reading matches one, the likely misreading: the pool curve instead of
the new-task curve, the first dip into the band, the last pool outside it, a position or log₂ M on
the log axis instead of M. The message never states the transition itself.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..emergence.diversity import locate_transition
from .core import passed

__all__ = ["check_transition_reading"]


# ---------------------------------------------------------------------------------------------
# 3.2 Reading the transition off the sweep


def _reading(answer) -> float | str | None:
    """The learner's reading as a float, ``"fresh"`` or ``None``; any other type is a failure naming it."""
    if answer is None:
        return None
    if isinstance(answer, str):
        if answer.strip().lower() == "fresh":
            return "fresh"
        raise AssertionError(
            f"transition_read should be a number (a pool size M from the x-axis), got the string {answer!r}: "
            "write it without quotes"
        )
    if (isinstance(answer, torch.Tensor) and answer.numel() == 1) or (
        isinstance(answer, np.ndarray) and answer.size == 1
    ):
        answer = answer.item()
    if isinstance(answer, (np.integer, np.floating)):
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        shown = repr(answer) if len(repr(answer)) < 60 else type(answer).__name__
        raise AssertionError(
            f"transition_read should be one pool size (a number), got {type(answer).__name__} {shown}: read a "
            "single value off the x-axis"
        )
    if not math.isfinite(answer) or answer <= 0:
        raise AssertionError(f"transition_read = {answer} is not a pool size: pool sizes on the x-axis are ≥ 1")
    return float(answer)


def _sweep_lists(sweep) -> tuple[list[int], list[float], list[float], float]:
    keys = ("pool_sizes", "loss_fresh", "loss_pool", "gd_loss")
    if not isinstance(sweep, dict) or any(k not in sweep for k in keys):
        raise AssertionError(
            f"the second argument should be the sweep dict (mesakit.emergence.sweep.evaluate's result, with keys {list(keys)}), "
            f"got {type(sweep).__name__}"
        )
    from ..emergence.sweep import num_tasks_seen

    num_tasks = num_tasks_seen(sweep["pool_sizes"])
    return (
        num_tasks,
        [float(v) for v in sweep["loss_fresh"]],
        [float(v) for v in sweep["loss_pool"]],
        float(sweep["gd_loss"]),
    )


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _label(m: float, num_tasks: list[int], fresh: bool) -> str:
    return "fresh" if fresh and m == num_tasks[-1] else f"{m:g}"


def check_transition_reading(answer, sweep, tolerance: float = 0.1) -> None:
    """``answer``: the pool size M the learner read off the sweep's figure as the transition (a number,
    or ``None`` for "no transition"); ``sweep``: the dict they plotted (``mesakit.emergence.sweep.evaluate``).

    Graded against *that* sweep: accepted is any reading after the last pool whose loss on new tasks
    is outside the band ``(1 + tolerance)·gd_loss`` and at most 1.5× the first pool from which it
    stays inside (reading slack on the log axis). A wrong reading gets what the sweep shows at that
    pool size, and the likely misreading when the reading matches one (the pool curve, the first
    dip, the last pool outside, a position or log₂ M instead of M) — never the answer itself."""
    reading = _reading(answer)
    num_tasks, loss_fresh, loss_pool, gd = _sweep_lists(sweep)
    fresh = sweep["pool_sizes"][-1] is None
    band = (1 + tolerance) * gd
    expected = locate_transition(num_tasks, loss_fresh, gd, tolerance)
    within = [v <= band for v in loss_fresh]
    shown_band = f"1.1 × GD = {band:.3f}" if _same(tolerance, 0.1) else f"(1 + {tolerance:g}) × GD = {band:.3f}"
    if expected is None:
        if reading is None:
            passed("no transition: on this sweep the loss on new tasks never stays within the band")
            return
        raise AssertionError(
            f"on this sweep the loss on new tasks does not stay within the band: even the last run is at "
            f"{loss_fresh[-1]:.3f} > {shown_band}. There is no transition to read: answer None"
        )
    i = num_tasks.index(expected)
    if reading is None:
        raise AssertionError(
            f"transition_read is None (no transition), but the last run's loss on new tasks, {loss_fresh[-1]:.3f}, is "
            f"inside the band (≤ {shown_band}): there is a transition to read off the figure. (Not answered yet? Set "
            "transition_read to the pool size you read.)"
        )
    last = fresh and len(num_tasks) > 1
    if reading == "fresh":
        if last and i == len(num_tasks) - 1:
            passed("transition_read: only the fresh-task run is within the band")
            return
        reading = float(num_tasks[-1]) if last else math.inf
    low = num_tasks[i - 1] if i > 0 else 0
    high = math.inf if (last and i == len(num_tasks) - 1) else 1.5 * expected
    if low < reading <= high:
        passed(
            f"transition_read = {_label(reading, num_tasks, fresh)}: from there on the loss on new tasks stays within "
            f"{tolerance:.0%} of one GD step on your sweep"
        )
        return
    shown = _label(reading, num_tasks, fresh)
    causes = []
    first_in = next(m for m, w in zip(num_tasks, within) if w)
    if first_in != expected and _same(reading, first_in):
        k = num_tasks.index(first_in)
        leaves = next(m for m, w in zip(num_tasks[k:], within[k:]) if not w)
        causes.append(
            f"the new-task curve dips into the band there but leaves it again at M = {leaves}: the transition "
            "is where it STAYS inside for every larger pool, not the first dip"
        )
    pool_meets = None
    for m, v in zip(reversed(num_tasks), reversed(loss_pool)):
        if v < (1 - tolerance) * gd:
            break
        pool_meets = m
    if pool_meets is not None and _same(reading, pool_meets):
        causes.append(
            "that is where the loss on the model's OWN POOL (the squares) comes up to GD's line: the "
            "transition is read on the curve of the loss on NEW tasks (the circles)"
        )
    if i > 0 and _same(reading, num_tasks[i - 1]):
        causes.append(
            "it is the last pool still outside the band: the transition is the first pool from which the "
            "new-task curve stays inside"
        )
    positions = {float(i), float(i + 1), float(round(math.log2(expected), 6)), float(round(math.log10(expected), 6))}
    if reading < low and any(_same(reading, p) for p in positions):
        causes.append(
            "that looks like a position on the log axis (a point's number, or log₂/log₁₀ of M), not a pool "
            "size: read the label of the tick under the point"
        )
    if reading > high:  # too late: the curve is already inside the band earlier
        message = (
            f"transition_read = {shown} is too late: at M = {shown} the loss on new tasks is within the band, but it "
            "already is — and stays — at smaller pools, and the transition is the FIRST pool from which the new-task "
            "curve stays within the band"
            + (
                " (512,000 is the number of tasks the fresh-task run saw)"
                if fresh and _same(reading, num_tasks[-1])
                else ""
            )
            + "."
        )
    else:  # too early: at the reading the new-task loss is not within the band for good
        j = max((k for k, m in enumerate(num_tasks) if m <= reading), default=None)
        if j is None:
            fact = (
                f"M = {shown} is left of the first point of the sweep (M = {num_tasks[0]}), whose loss on new tasks "
                f"{loss_fresh[0]:.3f} is above {shown_band}"
            )
        elif _same(reading, num_tasks[j]):
            fact = f"at M = {shown} the loss on new tasks is {loss_fresh[j]:.3f}" + (
                f", above the band (> {shown_band})"
                if not within[j]
                else f", inside the band (≤ {shown_band}) but not for good"
            )
        else:
            outside = num_tasks[j] if not within[j] else num_tasks[j + 1]
            fact = (
                f"M = {shown} lies between the points at M = {num_tasks[j]} and {num_tasks[j + 1]}, and the "
                f"new-task curve is above the band (> {shown_band}) at M = {outside}"
            )
        message = f"transition_read = {shown} is too early: {fact}, so the model is not within {tolerance:.0%} of GD for good there."
    if len(causes) == 1:
        message += f" Likely: {causes[0]}."
    elif causes:
        message += " If you read it this way: " + "; or ".join(causes) + "."
    raise AssertionError(message)
