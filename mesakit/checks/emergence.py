"""Checks of lesson 03 (emergence): one ``check_<exercise>(fn)`` per exercise.

* :func:`check_in_context_gain` — against :func:`mesakit.core.metrics.in_context_gain` on a GD
  predictor, a context-free model and a random LSA (float64 prompts).
* :func:`check_sample_from_pool` — by the properties a pool sampler must have (every prompt's labels
  fit one pool task, tasks picked per prompt and uniformly, reproducible from the generator), so any
  correct order of random draws passes.
* :func:`check_locate_transition` — on small hand-made sweeps (a dip, no transition, a relative
  tolerance) against :func:`mesakit.emergence.diversity.locate_transition`.
* :func:`check_transition_reading` (in :mod:`mesakit.checks.emergence_reading`) — the transition the
  learner read off their sweep's figure.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..core import metrics, models, reference
from ..core.seeding import seeded
from ..core.tasks import RegressionTask
from ..emergence.diversity import locate_transition
from .core import call, expect_close, expect_number, expect_tensor, passed

__all__ = ["check_in_context_gain", "check_sample_from_pool", "check_locate_transition"]


# ---------------------------------------------------------------------------------------------
# 1. In-context gain


def _gain_models(seed: int, d: int) -> list[Callable]:
    g = torch.Generator().manual_seed(300 + seed)
    w_fixed = torch.randn(d, generator=g, dtype=torch.float64)
    with seeded(400 + seed):  # the random LSA's weights, leaving the learner's generator as it was
        lsa = models.LinearSelfAttention(models.LSAConfig(d=d, init_std=0.3)).double().eval()
    return [
        lambda Z: reference.gd_predict(Z, 1.0),  # an in-context learner
        lambda Z: Z[:, -1, :-1] @ w_fixed,  # ignores its context
        lambda Z: lsa(Z),  # random weights
    ]


def _wrong_gains(model: Callable, Z: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    def loss(pred):
        return metrics.loss(pred, y).item()

    with torch.no_grad():
        true = loss(model(Z))
        labels_back = Z.clone()
        labels_back[:, :-1, -1] = Z[:, :-1, -1].roll(-1, dims=0)
        within = Z.clone()
        within[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=1)
        inputs = Z.clone()
        inputs[:, :-1, :-1] = Z[:, :-1, :-1].roll(1, dims=0)
        shuffled = loss(model(metrics.shuffle_labels(Z)))
        return {
            "sign": true - shuffled,
            "whole": loss(model(Z.roll(1, dims=0))) - true,
            "within": loss(model(within)) - true,
            "inputs": loss(model(inputs)) - true,
            "mse": 2 * (shuffled - true),
            "ratio": shuffled / true,
            "back": loss(model(labels_back)) - true,
        }


_GAIN_MESSAGES = {
    "sign": "wrong sign: the gain is loss(shuffled labels) − loss(true prompts), positive when the model uses its context",
    "whole": "you moved whole prompts (their queries too) instead of only the context labels Z[:, :-1, -1]; "
    "the targets y no longer belong to the queries",
    "within": "you shuffled the labels within each prompt (dim 1); swap them ACROSS prompts (roll along the batch, "
    "dims=0) so each prompt gets another task's labels",
    "inputs": "you shuffled the inputs x; shuffle the context LABELS (the last column, Z[:, :-1, -1])",
    "mse": "use the course's loss, mesakit.core.metrics.loss (0.5·MSE), not plain MSE",
    "ratio": "the gain is a difference of losses (shuffled − true), not a ratio",
    "back": "roll by +1 (each prompt gets the PREVIOUS prompt's labels: torch.roll(labels, 1, dims=0)), not by -1",
}


def check_in_context_gain(fn: Callable, seed: int = 0) -> None:
    """``in_context_gain(model, Z (B, N+1, d+1), y (B,)) -> float``."""
    task = RegressionTask(d=10 if seed % 2 == 0 else 4, n_context=10 if seed % 2 == 0 else 7)
    Z, y = task.sample(256, seed=500 + seed, dtype=torch.float64)
    got, expected, wrong = [], [], {key: [] for key in _GAIN_MESSAGES}
    for model in _gain_models(seed, task.d):
        Z_in, y_in = Z.clone(), y.clone()
        got.append(expect_number(call(fn, model, Z_in, y_in, name="in_context_gain"), "in_context_gain"))
        if not (torch.equal(Z_in, Z) and torch.equal(y_in, y)):
            raise AssertionError(
                "in_context_gain changed its input Z (or y) in place: shuffle a copy (Z.clone() or "
                "mesakit.core.metrics.shuffle_labels), never the prompts you were given"
            )
        expected.append(metrics.in_context_gain(model, Z, y))
        for key, value in _wrong_gains(model, Z, y).items():
            wrong[key].append(value)
    as_tensor = lambda values: torch.tensor(values, dtype=torch.float64)  # noqa: E731
    expect_close(
        as_tensor(got),
        as_tensor(expected),
        "in_context_gain (on a GD predictor, a context-free model and a random LSA)",
        diagnoses=[(as_tensor(wrong[key]), message) for key, message in _GAIN_MESSAGES.items()],
        rtol=1e-5,
        atol=1e-7,
    )
    if abs(got[1]) > 1e-9:
        raise AssertionError("a model that ignores its context must have an in-context gain of exactly 0")
    passed("in_context_gain: GD relies on its context, a context-free model gains nothing")


# ---------------------------------------------------------------------------------------------
# 2. Sampling from a finite pool


def _fit_errors(Z: torch.Tensor, y: torch.Tensor, pool_w: torch.Tensor, with_query: bool) -> torch.Tensor:
    """Largest |x·w_k − label| over each prompt's rows, per prompt and pool task: ``(B, M)``."""
    x, labels = Z[:, :-1, :-1].double(), Z[:, :-1, -1].double()
    if with_query:
        x = torch.cat([x, Z[:, -1:, :-1].double()], 1)
        labels = torch.cat([labels, y.double()[:, None]], 1)
    predictions = torch.einsum("bnd,kd->bkn", x, pool_w.double())
    return (predictions - labels[:, None]).abs().amax(-1)


def _pair(out) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
        raise AssertionError(f"sample_from_pool should return a pair of tensors (Z, y), got {type(out).__name__}")
    return out


def _sample_case(fn: Callable, task: RegressionTask, M: int, B: int, seed: int) -> None:
    pool_w = task.sample_w(M, torch.Generator().manual_seed(700 + seed))
    pool_copy = pool_w.clone()
    out = call(fn, pool_w, task, B, torch.Generator().manual_seed(seed), name="sample_from_pool")
    if not (isinstance(out, tuple) and len(out) == 2):
        raise AssertionError(
            f"sample_from_pool should return a pair (Z, y), like RegressionTask.sample; got {type(out).__name__}"
        )
    N, d = task.n_context, task.d
    Z = expect_tensor(out[0], (B, N + 1, d + 1), "sample_from_pool's Z", "prompts are (batch, N+1, d+1)")
    y = expect_tensor(out[1], (B,), "sample_from_pool's y", "one query target per prompt")
    if not torch.equal(pool_w, pool_copy):
        raise AssertionError("sample_from_pool changed pool_w in place: only read the pool's task vectors")
    if Z[:, -1, -1].abs().max() > 0:
        raise AssertionError(
            "the query's label slot Z[:, N, d] must be 0 (the model must not see y_q): use task.sample"
        )
    scale = 1e-4 * (1 + y.abs().max().item())
    context_ok = _fit_errors(Z, y, pool_w, with_query=False).amin(1) <= scale
    if not context_ok.all():
        b = int(torch.nonzero(~context_ok)[0])
        raise AssertionError(
            f"prompt {b}'s labels fit none of the pool's tasks: every prompt must use one of the task vectors in "
            "the pool_w you are given (did you draw fresh tasks with task.sample(batch, generator) instead of passing "
            "w=..., or use another pool than the argument?)"
        )
    errors = _fit_errors(Z, y, pool_w, with_query=True)
    if not (errors.amin(1) <= scale).all():
        raise AssertionError("the targets y don't match the prompts' tasks: y[b] must be w·x_q of prompt b's task")
    if M > 1:
        which = errors.argmin(1)
        counts = torch.bincount(which, minlength=M)
        if counts.max() == B:
            raise AssertionError(
                "every prompt uses the same task: pick one task index PER PROMPT "
                "(torch.randint(M, (batch,), generator=generator)), not one for the whole batch"
            )
        if torch.equal(which, torch.arange(B) % M):
            raise AssertionError(
                "the tasks come in turn (0, 1, 2, ...): pick each prompt's task at random with torch.randint"
            )
        if counts.min() < 0.6 * B / M or counts.max() > 1.4 * B / M:
            raise AssertionError(
                f"the pool's tasks are not used uniformly (prompts per task: {counts.tolist()}): "
                "pick indices with torch.randint(M, (batch,), generator=generator)"
            )
    if B > 1 and torch.equal(Z[0, :, :-1], Z[1, :, :-1]):
        raise AssertionError("two prompts share the same inputs x: draw new inputs for every prompt (task.sample does)")
    if not (Z.is_floating_point() and Z.dtype == y.dtype):
        raise AssertionError(
            f"Z and y should be floating-point tensors of one dtype (task.sample's), got {Z.dtype} and {y.dtype}"
        )
    again = _pair(call(fn, pool_w, task, B, torch.Generator().manual_seed(seed), name="sample_from_pool"))
    if not (torch.equal(again[0], Z) and torch.equal(again[1], y)):
        raise AssertionError(
            "sample_from_pool is not reproducible: the same generator seed gave different prompts. Draw every random "
            "number from `generator` (torch.randint(..., generator=generator), task.sample(batch, generator, w=...))"
        )
    other = _pair(call(fn, pool_w, task, B, torch.Generator().manual_seed(seed + 1), name="sample_from_pool"))
    if torch.equal(other[0], Z):
        raise AssertionError(
            "a different generator seed gave the same prompts: draw the random numbers from `generator`"
        )


def check_sample_from_pool(fn: Callable, seed: int = 0) -> None:
    """``sample_from_pool(pool_w (M, d), task, batch, generator) -> (Z (batch, N+1, d+1), y (batch,))``."""
    _sample_case(fn, RegressionTask(d=4, n_context=6), M=5, B=2000, seed=seed)
    _sample_case(fn, RegressionTask(), M=1, B=16, seed=seed + 10)
    _sample_case(fn, RegressionTask(d=3, n_context=12), M=3, B=600, seed=seed + 20)
    passed("sample_from_pool: every prompt uses one task of the pool, picked at random, reproducibly")


# ---------------------------------------------------------------------------------------------
# 3. Locating the transition

_CASES = (
    # (num_tasks, loss_fresh, gd_loss, tolerance)
    ([1, 2, 4, 8, 16, 32], [3.2, 3.0, 2.1, 1.3, 0.86, 0.82], 0.8, 0.1),  # a plain drop -> 16
    ([1, 4, 16, 64, 256], [3.0, 0.85, 1.6, 0.87, 0.81], 0.8, 0.1),  # dips at 4, rises again -> 64
    ([1, 10, 100], [3.0, 2.0, 1.2], 0.8, 0.1),  # never within -> None
    ([2, 8, 32], [0.82, 0.81, 0.80], 0.8, 0.1),  # within from the start -> 2
    ([1, 2, 4, 8], [9.0, 7.0, 5.3, 5.2], 5.0, 0.1),  # relative tolerance: 5.5 -> 4 (absolute: None)
    ([1, 2, 4, 8], [1.0, 0.95, 0.9, 0.85], 0.8, 0.2),  # tolerance 0.2: 0.96 -> 2 (0.1 would give 8)
    ([1, 2, 4, 8], [1.0, 0.9, 0.75, 0.7], 0.5, 0.5),  # 0.75 is exactly (1 + 0.5)·0.5: within -> 4
)


def _first_within(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    return next((m for m, v in zip(num_tasks, loss_fresh) if v <= (1 + tolerance) * gd_loss), None)


def _index(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    found = locate_transition(num_tasks, loss_fresh, gd_loss, tolerance)
    return None if found is None else list(num_tasks).index(found)


def _absolute(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    found = None
    for m, v in zip(reversed(num_tasks), reversed(loss_fresh)):
        if v > gd_loss + tolerance:
            break
        found = m
    return found


def _strict(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    found = None
    for m, v in zip(reversed(num_tasks), reversed(loss_fresh)):
        if v >= (1 + tolerance) * gd_loss:
            break
        found = m
    return found


def _last_outside(num_tasks, loss_fresh, gd_loss, tolerance=0.1):
    outside = [m for m, v in zip(num_tasks, loss_fresh) if v > (1 + tolerance) * gd_loss]
    return outside[-1] if outside else None


_WRONG_TRANSITIONS = (
    (
        _first_within,
        "the loss on new tasks dips below the threshold and rises again: the transition is the smallest "
        "pool from which it STAYS within tolerance for every larger pool too, not the first pool that dips below",
    ),
    (_index, "return the pool size num_tasks[i], not its position i in the list"),
    (_absolute, "the tolerance is relative: within (1 + tolerance)·gd_loss, not gd_loss + tolerance"),
    (_last_outside, "off by one: return the first pool size that is within tolerance, not the last one outside it"),
    (lambda n, l, g, t=0.1: locate_transition(n, l, g, 0.1), "use the `tolerance` argument instead of a fixed 0.1"),
    (_strict, "a loss exactly at (1 + tolerance)·gd_loss is within tolerance: compare with <=, not <"),
)


def check_locate_transition(fn: Callable) -> None:
    """``locate_transition(num_tasks, loss_fresh, gd_loss, tolerance=0.1) -> int | None``."""
    for case in _CASES:
        num_tasks, loss_fresh, gd_loss, tolerance = case
        got = call(fn, list(num_tasks), list(loss_fresh), gd_loss, tolerance, name="locate_transition")
        if isinstance(got, (np.integer,)) or (
            isinstance(got, torch.Tensor) and got.numel() == 1 and not got.is_floating_point()
        ):
            got = int(got)
        expected = locate_transition(*case)
        if got == expected and (got is None or (isinstance(got, int) and not isinstance(got, bool))):
            continue
        shown = f"num_tasks={num_tasks}, loss_fresh={loss_fresh}, gd_loss={gd_loss}, tolerance={tolerance}"
        if got is not None and not isinstance(got, (int, float, np.floating)) or isinstance(got, bool):
            raise AssertionError(
                f"locate_transition({shown}) returned {type(got).__name__} {got!r}: return one pool size from num_tasks "
                "(an int), or None"
            )
        if isinstance(got, (float, np.floating)) and expected is not None and float(got) == expected:
            raise AssertionError(
                f"locate_transition({shown}) returned the float {got!r}: return the pool size as it is in "
                "num_tasks, an int"
            )
        if expected is None and got is not None:
            raise AssertionError(
                f"locate_transition({shown}) returned {got!r}: even the largest pool is not within tolerance, so "
                "there is no transition; return None"
            )
        for wrong, message in _WRONG_TRANSITIONS:
            if wrong(*case) == got:
                raise AssertionError(f"locate_transition({shown}) returned {got!r}, expected {expected!r}: {message}")
        if got is None:
            raise AssertionError(
                f"locate_transition({shown}) returned None, but the last pools are within tolerance of GD: return the "
                "smallest pool from which they all are"
            )
        raise AssertionError(f"locate_transition({shown}) returned {got!r}, expected {expected!r}")
    passed("locate_transition: the smallest pool from which the model stays within tolerance of GD")
