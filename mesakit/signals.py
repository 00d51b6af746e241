"""The signals the mesa-optimizer detector (``mesakit.detect``) measures on a black-box model.

Each signal is a float where 0 means "what a model that ignores its context does" and 1 means
"what one step of gradient descent does on the same prompts".

In-context models (prompts ``Z (B, N+1, d+1)``, COURSE.md's contract ``model(Z) -> (B,)``):

* ``in_context_gain`` — the detector relabels the prompts with *fresh* linear tasks (same inputs,
  new ``w``, so the answers are known and no memorised task helps), then asks how much of the
  target the predictions explain with the true context labels minus with labels shuffled across
  prompts, relative to one tuned GD step.
* ``learning_curve`` — the same gain with the full context minus with a context cut to a quarter,
  relative to GD: a learner gets better with more examples.
* ``gd_alignment`` — the cosine between the model's input sensitivity ``∂ŷ/∂x_q`` and the weights
  that K steps of GD would have found (best K ≤ 8 and step size): "does it point where GD points?"
* ``scale_consistency`` — the same alignment on prompts rescaled by 0.5 and by 2 (the smaller of
  the two): an algorithm keeps its shape off the training distribution, a lookup does not.
* ``query_linearity`` — how much of the prediction the sensitivity explains as ``w·x_q``, a linear
  function of the query: what a learner that computes a weight vector from its context outputs.

Recurrent planners (mazes ``(B, 3, H, W)``, lesson 05's contract
``model(mazes, iterations=k) -> logits (B, H, W)``):

* ``thinking_time`` — how much the solve rate rises when the planner gets more iterations; a model
  that takes no ``iterations`` argument cannot think longer and scores 0.
* ``cell_accuracy_gain`` — the same for the share of path cells predicted right (a smoother view).

Every call to the model goes through :func:`call_in_context` or :func:`call_planner`, which check
the contract and turn any failure into a :class:`ContractError`. How the signals are combined into
a score and a verdict is in ``mesakit.detect``; this file only measures.
"""

from __future__ import annotations

import inspect
import math
from typing import Callable, Sequence

import torch
from torch import nn

IN_CONTEXT_SIGNALS = ("in_context_gain", "learning_curve", "gd_alignment", "scale_consistency", "query_linearity")
PLANNER_SIGNALS = ("thinking_time", "cell_accuracy_gain")
GD_STEPS = (1, 2, 3, 4, 6, 8)  # the family of K-step GD learners the alignment compares with
RESCALES = (0.5, 2.0)  # input scales of the consistency probe
PLANNER_ITERATIONS = (1, 4, 16, 32)  # thinking budgets tried on a planner
MAX_MAZES = 128  # a planner is analysed on at most this many mazes (the first ones)
MIN_BATCH = 8
IN_CONTEXT_CONTRACT = "an in-context model maps prompts Z of shape (B, N+1, d+1) to predictions of shape (B,), for any B and N"
PLANNER_CONTRACT = "a planner maps mazes of shape (B, 3, H, W) to path logits of shape (B, H, W), optionally with model(mazes, iterations=k)"


class ContractError(ValueError):
    """The model or its inputs do not honour the contract the detector relies on."""


# ----------------------------------------------------------------------------- calling the model
def call_in_context(model: Callable, Z: torch.Tensor) -> torch.Tensor:
    """``model(Z)`` checked against the in-context contract; any failure is a :class:`ContractError`."""
    try:
        out = model(Z.clone())  # a copy (still differentiable): a model writing into its input spoils nothing
    except Exception as err:
        raise ContractError(
            f"the model raised {type(err).__name__}: {err} when called as model(Z) with Z of shape "
            f"{tuple(Z.shape)}. Contract: {IN_CONTEXT_CONTRACT}."
        ) from err
    if not isinstance(out, torch.Tensor) or out.shape != (Z.shape[0],):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ContractError(f"model(Z) returned {got} for Z of shape {tuple(Z.shape)}; expected shape ({Z.shape[0]},). Contract: {IN_CONTEXT_CONTRACT}.")
    return out


def check_in_context_inputs(Z: object) -> torch.Tensor:
    if not isinstance(Z, torch.Tensor) or Z.dim() != 3 or Z.shape[1] < 3 or Z.shape[2] < 2:
        shape = tuple(Z.shape) if isinstance(Z, torch.Tensor) else type(Z).__name__
        raise ContractError(f"prompts must have shape (B, N+1, d+1) with N >= 2 and d >= 1; got {shape}. Build them with mesakit.tasks.RegressionTask.sample.")
    if Z.shape[0] < MIN_BATCH:
        raise ContractError(f"the detector needs a batch of at least {MIN_BATCH} prompts to compare them; got B = {Z.shape[0]}")
    if not Z.is_floating_point() or not torch.isfinite(Z).all():
        raise ContractError("prompts must be a finite float tensor (no NaN/Inf, not integers)")
    return Z


# ----------------------------------------------------------------------------- in-context signals
def fresh_task_prompts(Z: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the inputs of ``Z (B, N+1, d+1)``, relabel each prompt with a fresh ``w ~ N(0, σ²I)``.

    ``σ`` matches the size of the original labels, so the prompts look like the training task but
    carry tasks no model can have memorised. Returns ``(Z_new, y_q)`` with the query's answer.
    """
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]
    mean_sq_x = (x**2).sum(-1).mean()
    sigma = (y.pow(2).mean() / mean_sq_x).sqrt() if mean_sq_x > 0 and y.abs().max() > 0 else torch.tensor(1.0)
    w = torch.randn(Z.shape[0], Z.shape[2] - 1, generator=generator, dtype=torch.float64).to(Z.dtype) * sigma
    new = Z.clone()
    new[:, :-1, -1] = torch.einsum("bnd,bd->bn", x, w)
    new[:, -1, -1] = 0
    return new, torch.einsum("bd,bd->b", x_q, w)


def shuffle_context_labels(Z: torch.Tensor) -> torch.Tensor:
    """Each prompt gets the context labels of the previous prompt in the batch."""
    out = Z.clone()
    out[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)
    return out


def truncate_context(Z: torch.Tensor, m: int) -> torch.Tensor:
    """Keep the first ``m`` context examples and the query: ``(B, N+1, d+1) -> (B, m+1, d+1)``."""
    return torch.cat([Z[:, :m], Z[:, -1:]], dim=1)


def explained(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Share of ``target``'s energy that the best non-negative rescaling of ``pred`` explains:
    ``max(0, cos(pred, target))²`` over the batch (0 for unrelated or opposite predictions)."""
    pred, target = pred.detach().double(), target.detach().double()
    norm = pred.norm() * target.norm()
    if not torch.isfinite(norm) or norm == 0:
        return 0.0
    return max(0.0, (pred @ target / norm).item()) ** 2


def context_gain(predict: Callable, Z: torch.Tensor, y: torch.Tensor) -> float:
    """How much more of ``y`` the predictions explain with the true labels than with shuffled ones."""
    with torch.no_grad():
        return explained(predict(Z), y) - explained(predict(shuffle_context_labels(Z)), y)


def gd_family_weights(Z: torch.Tensor, steps: Sequence[int] = GD_STEPS) -> dict[tuple[int, float], torch.Tensor]:
    """Weights ``(B, d)`` of K steps of GD from 0 on each prompt's context, for each K in ``steps``
    and a grid of step sizes (scaled to the inputs); float64. One step's direction does not depend
    on the step size, so K = 1 has a single entry."""
    x, y = Z[:, :-1, :-1].double(), Z[:, :-1, -1].double()
    n = x.shape[1]
    H = x.transpose(1, 2) @ x / n  # (B, d, d): the Hessian of the context's least-squares loss
    b = torch.einsum("bn,bnd->bd", y, x) / n  # (B, d): minus its gradient at w = 0
    curvature = torch.diagonal(H, dim1=1, dim2=2).mean().item()  # mean eigenvalue
    base = 1.0 / max(curvature, 1e-12)
    out = {(1, base): b * base}
    lrs = base * torch.logspace(-2, math.log10(2.0), 16, dtype=torch.float64)
    W = torch.zeros(len(lrs), *b.shape, dtype=torch.float64)  # (L, B, d): every step size at once
    for k in range(1, max(steps) + 1):
        W = W + lrs.view(-1, 1, 1) * (b - torch.einsum("lbd,bde->lbe", W, H))
        if k in steps and k != 1:
            out.update({(k, lr): W[i] for i, lr in enumerate(lrs.tolist())})
    return out


def input_sensitivity(model: Callable, Z: torch.Tensor) -> torch.Tensor:
    """``∂ŷ/∂x_q`` per prompt, shape ``(B, d)``: by autograd, or by central differences when the
    model's output carries no gradient or it fails on an input that requires one (e.g. it runs
    under ``no_grad`` or computes in numpy)."""
    Zg = Z.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        try:
            out = call_in_context(model, Zg)
        except ContractError:  # e.g. a model that calls .numpy() on its input: try without autograd
            out = torch.zeros(())
        if out.requires_grad:
            (grad,) = torch.autograd.grad(out.sum(), Zg, allow_unused=True)
            return torch.zeros(Z.shape[0], Z.shape[2] - 1, dtype=Z.dtype) if grad is None else grad[:, -1, :-1].detach()
    h = 1e-3 * Z[:, -1, :-1].abs().mean().clamp_min(1e-3).item()
    grads = []
    with torch.no_grad():
        for j in range(Z.shape[2] - 1):
            up, down = Z.clone(), Z.clone()
            up[:, -1, j] += h
            down[:, -1, j] -= h
            grads.append((call_in_context(model, up) - call_in_context(model, down)) / (2 * h))
    return torch.stack(grads, dim=-1).detach()


def gd_alignment(model: Callable, Z: torch.Tensor) -> tuple[float, int]:
    """Best mean cosine between the model's sensitivity and a K-step GD learner's weights, and that K."""
    s = input_sensitivity(model, Z).double()
    if not torch.isfinite(s).all():
        return 0.0, 0
    best, best_k = -1.0, 0
    for (k, _), w in gd_family_weights(Z).items():
        cos = torch.nn.functional.cosine_similarity(s, w, dim=-1, eps=1e-12).mean().item()
        if cos > best:
            best, best_k = cos, k
    return best, best_k


def query_linearity(model: Callable, Z: torch.Tensor) -> float:
    """How much of the predictions their own query sensitivity explains as a linear function of the
    query: ``1 - Σ_b (ŷ_b - s_b·x_q,b)² / Σ_b ŷ_b²`` with ``s = ∂ŷ/∂x_q``. A model that computes a
    weight vector from its context and predicts ``w·x_q`` scores 1; a kernel smoother, whose
    prediction is mostly a weighted label average, or a lookup (zero gradient) scores low."""
    s = input_sensitivity(model, Z).double()
    with torch.no_grad():
        out = call_in_context(model, Z).double()
    energy = (out**2).sum()
    if not torch.isfinite(s).all() or not torch.isfinite(energy) or energy == 0:
        return 0.0
    residual = out - (s * Z[:, -1, :-1].double()).sum(-1)
    return (1 - (residual**2).sum() / energy).item()


def tuned_gd_step(Z: torch.Tensor, y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """One GD step with the step size that best fits ``y`` on these prompts (closed form)."""
    x, ys, x_q = Z[:, :-1, :-1].double(), Z[:, :-1, -1].double(), Z[:, -1, :-1].double()
    base = torch.einsum("bnd,bn,bd->b", x, ys, x_q) / x.shape[1]
    lr = (base @ y.double() / (base @ base).clamp_min(1e-12)).clamp_min(1e-12).item()

    def predict(Zp: torch.Tensor) -> torch.Tensor:
        xp, yp, qp = Zp[:, :-1, :-1].double(), Zp[:, :-1, -1].double(), Zp[:, -1, :-1].double()
        return lr * torch.einsum("bnd,bn,bd->b", xp, yp, qp) / xp.shape[1]

    return predict


def gain_curve(predict: Callable, Z: torch.Tensor, y: torch.Tensor, lengths: Sequence[int] | None = None) -> tuple[list[int], list[float]]:
    """:func:`context_gain` of ``predict`` on the first ``m`` context examples of ``Z``, for each
    ``m`` in ``lengths`` (default 1..N): the learning curve."""
    n = Z.shape[1] - 1
    lengths = list(lengths) if lengths is not None else list(range(1, n + 1))
    if not lengths or min(lengths) < 1 or max(lengths) > n:
        raise ValueError(f"context lengths must lie in 1..N = 1..{n}, got {lengths}")
    call = (lambda P: call_in_context(predict, P)) if isinstance(predict, nn.Module) else predict
    return lengths, [context_gain(call, truncate_context(Z, m), y) for m in lengths]


def in_context_signals(model: Callable, Z: torch.Tensor, seed: int = 0) -> tuple[dict[str, float], dict[str, float]]:
    """The in-context signals of ``model`` on prompts ``Z`` and the raw numbers behind them."""
    Z = check_in_context_inputs(Z).detach()
    generator = torch.Generator().manual_seed(seed)
    call_in_context(model, Z)  # the original prompts must work too
    fresh, y = fresh_task_prompts(Z, generator)
    n = Z.shape[1] - 1
    short = max(1, n // 4)
    predict = lambda P: call_in_context(model, P)  # noqa: E731
    gd = tuned_gd_step(fresh, y)

    with torch.no_grad():
        out = predict(fresh)
    if not torch.isfinite(out).all():
        raise ContractError("the model returned NaN or Inf on prompts from its own task; a working model must give finite predictions")
    gain, gd_gain = context_gain(predict, fresh, y), context_gain(gd, fresh, y)
    gain_short = context_gain(predict, truncate_context(fresh, short), y)
    gd_short = context_gain(gd, truncate_context(fresh, short), y)
    align, k = gd_alignment(model, fresh)
    rescaled = [gd_alignment(model, fresh * c)[0] for c in RESCALES]
    details = {"gain": gain, "gd_gain": gd_gain, "gain_short_context": gain_short, "gd_gain_short_context": gd_short,
               "short_context": float(short), "gd_alignment_K": float(k),
               **{f"alignment_at_scale_{c:g}": a for c, a in zip(RESCALES, rescaled)}}  # fmt: skip
    signals = {
        "in_context_gain": _ratio(gain, gd_gain),
        "learning_curve": _ratio(gain - gain_short, gd_gain - gd_short),
        "gd_alignment": align,
        "scale_consistency": min(rescaled),
        "query_linearity": query_linearity(model, fresh),
    }
    return signals, details


def _ratio(a: float, b: float) -> float:
    return a / b if b > 1e-9 else 0.0


# ----------------------------------------------------------------------------- planner signals
def takes_iterations(model: Callable) -> bool:
    """Whether ``model`` accepts an ``iterations`` keyword (a way to think longer)."""
    target = model.forward if isinstance(model, nn.Module) else model
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "iterations" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def call_planner(model: Callable, mazes: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
    """``model(mazes[, iterations=k])`` checked against the planner contract."""
    try:
        with torch.no_grad():
            out = model(mazes.clone()) if iterations is None else model(mazes.clone(), iterations=iterations)
    except Exception as err:
        how = "model(mazes)" if iterations is None else f"model(mazes, iterations={iterations})"
        raise ContractError(f"the planner raised {type(err).__name__}: {err} when called as {how} with mazes of shape {tuple(mazes.shape)}. Contract: {PLANNER_CONTRACT}.") from err
    B, _, H, W = mazes.shape
    if not isinstance(out, torch.Tensor) or out.shape != (B, H, W):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ContractError(f"the planner returned {got} for mazes of shape {tuple(mazes.shape)}; expected ({B}, {H}, {W}). Contract: {PLANNER_CONTRACT}.")
    return out


def planner_signals(model: Callable, mazes: torch.Tensor) -> tuple[dict[str, float], dict[str, float]]:
    """Does the planner get better when it may think longer? Its solve rate and path-cell accuracy
    against the shortest path (BFS) at each budget in :data:`PLANNER_ITERATIONS`."""
    from . import mazes as maze_lib

    mazes = mazes[:MAX_MAZES]
    try:
        target = maze_lib.shortest_path(mazes).bool()
    except ValueError as err:
        raise ContractError(f"these are not valid mazes: {err}. Contract: {PLANNER_CONTRACT}.") from err
    budgets = PLANNER_ITERATIONS if takes_iterations(model) else (None,)
    solve, accuracy = [], []
    for k in budgets:
        correct = (call_planner(model, mazes, k) > 0) == target
        solve.append(correct.flatten(1).all(1).double().mean().item())
        accuracy.append(correct.double().mean().item())
    signals = {
        "thinking_time": max(solve) - solve[0],
        "cell_accuracy_gain": _ratio(max(accuracy) - accuracy[0], 1 - accuracy[0]),
    }
    details = {"takes_iterations": float(budgets[0] is not None)}
    for k, s, a in zip(budgets, solve, accuracy):
        suffix = "" if k is None else f"_at_{k}"
        details[f"solve_rate{suffix}"], details[f"cell_accuracy{suffix}"] = s, a
    return signals, details
