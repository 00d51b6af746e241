"""The signals the mesa-optimizer detector (``mesakit.detection.detector``) measures on a black-box model.

Each signal is a float where 0 means "what a model that ignores its context does" and 1 means
"what one step of gradient descent does on the same prompts".

In-context models (prompts ``Z (B, N+1, d+1)``, COURSE.md's contract ``model(Z) -> (B,)``):

* ``explained_gain`` — the detector relabels the prompts with *fresh* linear tasks (same inputs,
  new ``w``, so the answers are known and no memorised task helps), then asks how much of the
  target the predictions explain with the true context labels minus with labels shuffled across
  prompts, relative to one tuned GD step. (Lesson 03's *in-context gain* is the loss difference
  between shuffled and true labels; this is its scale-free cousin: shares explained, cos², so a
  tiny step size counts as much as a large one. The old name ``in_context_gain`` is accepted by
  ``mesakit.detection.detector.combine_signals`` as a deprecated alias.)
* ``learning_curve`` — the same gain with the full context minus with a context cut to a quarter,
  relative to GD: a learner gets better with more examples. It needs a shorter context: a model
  that accepts only its own N gets no learning curve (named in the report as unavailable).
* ``gd_alignment`` — the cosine between the model's input sensitivity ``∂ŷ/∂x_q`` and the weights
  of the closest reference learner: K steps of GD (K ≤ 8, a grid of step sizes) or GD run to
  convergence (ridge / least squares, a grid of ``λ``): "does it point where GD points?"
* ``scale_consistency`` — the same alignment on prompts rescaled by 0.5 and by 2 (the smaller of
  the two): an algorithm keeps its shape off the training distribution, a lookup does not.
* ``query_oddness`` — the share of the prediction that flips sign when the query does. A learner
  of this task predicts ``w(context)·x_q``, odd in the query however it computes ``w``; a kernel
  smoother mostly averages labels. (``query_linearity``, the stricter test that the sensitivity
  explains the prediction as ``s·x_q``, is kept as a function: softmax learners fail it.)

Recurrent planners' signals (``thinking_time``, ``cell_accuracy_gain``) are measured in
:mod:`mesakit.detection.signals_planner`.

Every call to the model goes through :func:`call_in_context`, which checks the contract and turns
any failure into a :class:`ContractError`. How the signals are combined into a score and a verdict
is in ``mesakit.detection.detector``; this file only measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..core.metrics import shuffle_labels
from ..moved import moved_name

IN_CONTEXT_SIGNALS = ("explained_gain", "learning_curve", "gd_alignment", "scale_consistency", "query_oddness")
DEPRECATED_SIGNALS = {"in_context_gain": "explained_gain"}  # old name -> new name (lesson 06 before the rename)
GD_STEPS = (1, 2, 3, 4, 6, 8)  # the family of K-step GD learners the alignment compares with
RESCALES = (0.5, 2.0)  # input scales of the consistency probe
MIN_BATCH = 8
IN_CONTEXT_CONTRACT = (
    "an in-context model maps prompts Z of shape (B, N+1, d+1) to predictions of shape (B,), for any B and N"
)


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
        raise ContractError(
            f"model(Z) returned {got} for Z of shape {tuple(Z.shape)}; expected shape ({Z.shape[0]},). Contract: {IN_CONTEXT_CONTRACT}."
        )
    return out


def check_in_context_inputs(Z: object) -> torch.Tensor:
    if not isinstance(Z, torch.Tensor) or Z.dim() != 3 or Z.shape[1] < 3 or Z.shape[2] < 2:
        shape = f"shape {tuple(Z.shape)}" if isinstance(Z, torch.Tensor) else f"a {type(Z).__name__}"
        raise ContractError(
            f"prompts must be a tensor of shape (B, N+1, d+1) with N >= 2 and d >= 1; got {shape}. Build them with mesakit.core.tasks.RegressionTask.sample."
        )
    if Z.shape[0] < MIN_BATCH:
        empty = " (an empty batch)" if Z.shape[0] == 0 else ""
        raise ContractError(
            f"the detector needs a batch of at least {MIN_BATCH} prompts to compare them; got B = {Z.shape[0]}{empty}"
        )
    if not Z.is_floating_point():
        raise ContractError(f"prompts must be a finite float tensor; got dtype {Z.dtype}")
    if not torch.isfinite(Z).all():
        nan, inf = int(torch.isnan(Z).sum()), int(torch.isinf(Z).sum())
        raise ContractError(
            f"prompts must be a finite float tensor; got {nan} NaN and {inf} Inf entries of {Z.numel()}"
        )
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
    """How much more of ``y`` the predictions explain with the true labels than with shuffled ones
    (lesson 06's *explained-share gain*; lesson 03's in-context gain is a loss difference instead)."""
    with torch.no_grad():
        return explained(predict(Z), y) - explained(predict(shuffle_labels(Z)), y)


def gd_family_weights(Z: torch.Tensor, steps: Sequence[int] = GD_STEPS) -> dict[tuple[int, float], torch.Tensor]:
    """Weights ``(B, d)`` of the reference learners on each prompt's context, float64: K steps of GD
    from 0 for each K in ``steps`` and a grid of step sizes (scaled to the inputs), and GD run to
    convergence with early stopping's smooth cousin, ridge regression, for a grid of ``λ`` (key
    ``K = 0``). One step's direction does not depend on the step size, so K = 1 has one entry."""
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
    eye = torch.eye(H.shape[-1], dtype=torch.float64)
    for lam in (curvature * torch.logspace(-3, 1, 9, dtype=torch.float64)).tolist():
        out[(0, lam)] = torch.linalg.solve(H + lam * eye, b)
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
    """Best mean cosine between the model's sensitivity and a reference learner's weights (K-step GD,
    or ridge / least squares for ``K = 0``), and that K."""
    s = input_sensitivity(model, Z).double()
    if not torch.isfinite(s).all():
        return 0.0, 0
    best, best_k = -1.0, 1
    for (k, _), w in gd_family_weights(Z).items():
        cos = torch.nn.functional.cosine_similarity(s, w, dim=-1, eps=1e-12).mean().item()
        if cos > best + 1e-9:
            best, best_k = cos, k
    return best, best_k


def query_oddness(model: Callable, Z: torch.Tensor) -> float:
    """Share of the prediction that flips sign with the query: with ``a = ŷ(x_q)`` and
    ``b = ŷ(-x_q)`` on the same contexts, ``Σ((a-b)/2)² / (Σ((a-b)/2)² + Σ((a+b)/2)²)``.

    A learner of a linear task without intercept predicts ``w(context)·x_q`` — exactly odd in the
    query, however non-linear the way it computes ``w`` (least squares, a softmax transformer) —
    and scores 1. A kernel smoother's prediction is mostly a weighted label average, the same for
    ``x_q`` and ``-x_q``, and scores low; a label average scores 0."""
    flipped = Z.clone()
    flipped[:, -1, :-1] = -Z[:, -1, :-1]
    with torch.no_grad():
        a, b = call_in_context(model, Z).double(), call_in_context(model, flipped).double()
    odd, even = ((a - b) / 2).pow(2).sum(), ((a + b) / 2).pow(2).sum()
    total = odd + even
    if not torch.isfinite(total) or total == 0:
        return 0.0
    return (odd / total).item()


def query_linearity(model: Callable, Z: torch.Tensor) -> float:
    """How much of the predictions their own query sensitivity explains as a linear function of the
    query: ``1 - Σ_b (ŷ_b - s_b·x_q,b)² / Σ_b ŷ_b²`` with ``s = ∂ŷ/∂x_q``. 1 for ``w·x_q`` exactly;
    a softmax transformer that learns well but is not exactly linear in the query can score low,
    which is why the detector's gate is :func:`query_oddness` instead (kept for lesson 06's text)."""
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


def gain_curve(
    predict: Callable, Z: torch.Tensor, y: torch.Tensor, lengths: Sequence[int] | None = None
) -> tuple[list[int], list[float]]:
    """:func:`context_gain` of ``predict`` on the first ``m`` context examples of ``Z``, for each
    ``m`` in ``lengths`` (default 1..N): the learning curve."""
    n = Z.shape[1] - 1
    lengths = list(lengths) if lengths is not None else list(range(1, n + 1))
    if not lengths or min(lengths) < 1 or max(lengths) > n:
        raise ValueError(f"context lengths must lie in 1..N = 1..{n}, got {lengths}")
    call = (lambda P: call_in_context(predict, P)) if isinstance(predict, nn.Module) else predict
    return lengths, [context_gain(call, truncate_context(Z, m), y) for m in lengths]


def in_context_signals(
    model: Callable, Z: torch.Tensor, seed: int = 0
) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """The in-context signals of ``model`` on prompts ``Z``, the raw numbers behind them, and the
    signals that could not be measured with the reason (``{name: why}``).

    Every probe but one keeps the shape of ``Z``; the learning curve needs a shorter context. A
    model that accepts only its own context length (a fixed positional table, an MLP over the
    flattened prompt) still gets every other signal. A model that fails on ``Z`` itself, or on
    prompts of ``Z``'s shape, breaks the contract: :class:`ContractError`."""
    Z = check_in_context_inputs(Z).detach()
    generator = torch.Generator().manual_seed(seed)
    call_in_context(model, Z)  # the original prompts must work: otherwise nothing can be measured
    fresh, y = fresh_task_prompts(Z, generator)
    n = Z.shape[1] - 1
    short = max(1, n // 4)
    predict = lambda P: call_in_context(model, P)  # noqa: E731
    gd = tuned_gd_step(fresh, y)

    with torch.no_grad():
        out = predict(fresh)
    if not torch.isfinite(out).all():
        bad = int((~torch.isfinite(out)).sum())
        raise ContractError(
            f"the model returned NaN or Inf for {bad} of {len(out)} prompts from its own task; expected finite predictions of shape ({len(out)},)"
        )
    gain, gd_gain = context_gain(predict, fresh, y), context_gain(gd, fresh, y)
    align, k = gd_alignment(model, fresh)
    rescaled = [gd_alignment(model, fresh * c)[0] for c in RESCALES]
    details = {
        "gain": gain,
        "gd_gain": gd_gain,
        "short_context": float(short),
        "gd_alignment_K": float(k),
        **{f"alignment_at_scale_{c:g}": a for c, a in zip(RESCALES, rescaled)},
    }
    signals = {"explained_gain": ratio(gain, gd_gain)}
    unavailable: dict[str, str] = {}
    try:
        gain_short = context_gain(predict, truncate_context(fresh, short), y)
    except ContractError as err:
        unavailable["learning_curve"] = (
            f"needs prompts with a shorter context (N = {short} of {n} examples), and the model accepts only "
            f"N = {n}: {str(err.__cause__ or err)[:200]}"
        )
    else:
        gd_short = context_gain(gd, truncate_context(fresh, short), y)
        details.update(gain_short_context=gain_short, gd_gain_short_context=gd_short)
        signals["learning_curve"] = ratio(gain - gain_short, gd_gain - gd_short)
    signals.update(gd_alignment=align, scale_consistency=min(rescaled), query_oddness=query_oddness(model, fresh))
    return signals, details, unavailable


def ratio(a: float, b: float) -> float:
    """``a / b``, or 0 when ``b`` is (about) 0: a signal relative to a reference that shows nothing."""
    return a / b if b > 1e-9 else 0.0


def __getattr__(name: str) -> object:  # the planner signals moved to mesakit.detection.signals_planner
    return moved_name(__name__, name)
