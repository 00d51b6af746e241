"""Lesson 02 mutants: mistakes a learner makes in the prompt (1.1), the LSA layer (2.1), the training
step (3.1), one GD step and its step size (4.1, 4.2), the sensitivity and the comparison (5.1, 5.2),
the derived construction (6.1), the step size read off the weights (7.1) and the tied layer (8.1),
and correct alternatives written differently from the reference."""

from __future__ import annotations

import torch

from mesakit import models
from mesakit.core import metrics

from . import Mutant

# ------------------------------------------------------------------------------------------ 1.1 prompt


def prompt(x, y, x_q, query_label=0.0, query_first=False, label_first=False, transpose=False, no_query=False):
    B, N, d = x.shape
    tokens = torch.cat([y[..., None], x], -1) if label_first else torch.cat([x, y[..., None]], -1)
    slot = torch.full((B, 1), query_label, dtype=x.dtype)
    query = (torch.cat([slot, x_q], -1) if label_first else torch.cat([x_q, slot], -1))[:, None]
    Z = tokens if no_query else (torch.cat([query, tokens], 1) if query_first else torch.cat([tokens, query], 1))
    return Z.transpose(1, 2) if transpose else Z


def prompt_loop(x, y, x_q):  # valid: fills a zero tensor row by row
    B, N, d = x.shape
    Z = torch.zeros(B, N + 1, d + 1, dtype=x.dtype)
    for n in range(N):
        Z[:, n, :d], Z[:, n, d] = x[:, n], y[:, n]
    Z[:, N, :d] = x_q
    return Z


def prompt_pad(x, y, x_q):  # valid: F.pad for the query's empty label slot
    query = torch.nn.functional.pad(x_q, (0, 1))[:, None]
    return torch.cat([torch.cat([x, y[..., None]], -1), query], 1)


# ------------------------------------------------------------------------------------------ 2.1 LSA


def lsa(Z, W_KQ, W_PV, rows=None, norm=None, sign=-1.0, kq_t=False, pv_t=False, residual=True):
    N = Z.shape[1] - 1
    ctx = Z[:, : (N if rows is None else rows)]
    M = ctx.transpose(1, 2) @ ctx / (N if norm is None else norm)
    kq, pv = (W_KQ if kq_t else W_KQ.T), (W_PV if pv_t else W_PV.T)
    out = (Z if residual else 0) + Z @ kq @ M @ pv
    return sign * out[:, N, -1]


def lsa_einsum(Z, W_KQ, W_PV):  # valid: einsum, only the query row updated
    N = Z.shape[1] - 1
    M = torch.einsum("bni,bnj->bij", Z[:, :N], Z[:, :N]) / N
    e_q = Z[:, N]
    update = torch.einsum("ij,bjk,kl,bl->bi", W_PV, M, W_KQ, e_q)
    return -(e_q[:, -1] + update[:, -1])


def lsa_loops(Z, W_KQ, W_PV):  # valid: a loop over the context tokens
    N = Z.shape[1] - 1
    M = sum(Z[:, i, :, None] * Z[:, i, None, :] for i in range(N)) / N
    e_q = Z[:, N, :, None]
    return -(e_q + W_PV @ M @ W_KQ @ e_q)[:, -1, 0]


# ------------------------------------------------------------------------------------------ 3.1 train step


def step(model, optimizer, Z, y, zero=True, do_step=True, scale=0.5, reduce="mean", after=False, ret_tensor=False):
    if zero:
        optimizer.zero_grad()
    err = (model(Z) - y) ** 2
    loss = scale * (err.mean() if reduce == "mean" else err.sum())
    loss.backward()
    if do_step:
        optimizer.step()
    if after:
        with torch.no_grad():
            return metrics.loss(model(Z), y).item()
    return loss if ret_tensor else loss.item()


def step_set_to_none(model, optimizer, Z, y):  # valid: zero_grad(set_to_none=True), metrics.loss, a 0-d tensor back
    optimizer.zero_grad(set_to_none=True)
    loss = metrics.loss(model(Z), y)
    loss.backward()
    optimizer.step()
    return loss.detach()


# ------------------------------------------------------------------------------------------ 4.1, 4.2 GD step


def gd(Z, lr, n=None, query_row=-1, sign=1.0, with_query=False):
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, query_row, :-1]
    if with_query:
        x, y = Z[:, :, :-1], Z[:, :, -1]
    w = sign * lr / (x.shape[1] if n is None else n) * torch.einsum("bn,bnd->bd", y, x)
    return (w * x_q).sum(-1)


def gd_bmm(Z, lr):  # valid: batched matmuls, mean over the examples
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1:], Z[:, -1:, :-1]
    w = lr * (x * y).mean(1, keepdim=True)  # (B, 1, d)
    return (w * x_q).sum((1, 2))


def best(Z, y, predict=gd, flip=False, mode="closed"):
    g = predict(Z, 1.0)
    if mode == "loss":
        eta = (g * y).sum() / (g * g).sum()
        return metrics.loss(eta * g, y).item()
    if mode == "coarse":
        grid = torch.linspace(0, 5, 11)
        return grid[torch.stack([metrics.loss(e * g, y) for e in grid]).argmin()].item()
    num, den = (g * y).sum(), (g * g).sum()
    return (den / num if flip else num / den).item()


def best_grid(Z, y):  # valid: a fine grid search, float32
    g = gd(Z, 1.0).float()
    grid = torch.linspace(0, 5, 50_001)
    losses = 0.5 * ((grid[:, None] * g[None] - y.float()[None]) ** 2).mean(1)
    return grid[losses.argmin()].item()


# ------------------------------------------------------------------------------------------ 5.1, 5.2


def sens(model, Z, row=-1, reduce="sum", sign=1.0, keep_label=False):
    Z = Z.detach().clone().requires_grad_(True)
    out = model(Z)
    (grad,) = torch.autograd.grad(out.sum() if reduce == "sum" else out.mean(), Z)
    return sign * (grad[:, row] if keep_label else grad[:, row, :-1])


def sens_jacobian(model, Z):  # valid: a loop of per-prompt gradients
    rows = []
    for b in range(Z.shape[0]):
        Zb = Z[b : b + 1].detach().clone().requires_grad_(True)
        (g,) = torch.autograd.grad(model(Zb).sum(), Zb)
        rows.append(g[0, -1, :-1])
    return torch.stack(rows)


_GLOBAL = models.LinearSelfAttention(models.LSAConfig(d=10, init_std=0.3)).double()  # "the notebook's lsa"


def compare(model, gd_fn, Z, y, cos_dim=-1, root=True, loss_scale=0.5, flat=False, use_global=False, s=sens):
    model = _GLOBAL if use_global else model
    with torch.no_grad():
        p_m, p_g = model(Z), gd_fn(Z)
    s_m, s_g = s(model, Z), s(gd_fn, Z)
    if flat:
        cos = torch.nn.functional.cosine_similarity(s_m.flatten(), s_g.flatten(), dim=0)
    else:
        cos = torch.nn.functional.cosine_similarity(s_m, s_g, dim=cos_dim).mean()
    diff = ((p_m - p_g) ** 2).mean()
    return {
        "model_loss": loss_scale * ((p_m - y) ** 2).mean().item(),
        "gd_loss": loss_scale * ((p_g - y) ** 2).mean().item(),
        "sensitivity_cosine": cos.item(),
        "prediction_diff": (diff.sqrt() if root else diff).item(),
    }


def compare_manual_cos(model, gd_fn, Z, y):  # valid: the cosine written out, float values as 0-d tensors
    with torch.no_grad():
        p_m, p_g = model(Z), gd_fn(Z)
    a, b = sens(model, Z), sens(gd_fn, Z)
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    return {
        "model_loss": metrics.loss(p_m, y),
        "gd_loss": metrics.loss(p_g, y),
        "sensitivity_cosine": cos.mean(),
        "prediction_diff": torch.sqrt(torch.mean((p_m - p_g) ** 2)),
    }


# ------------------------------------------------------------------------------------------ 6.1 construction


def construction(d, lr, kq_label=0.0, pv=None, scale=1.0, pv_x=0.0):
    W_KQ = torch.zeros(d + 1, d + 1)
    W_KQ[:d, :d] = scale * torch.eye(d)
    W_KQ[d, d] = kq_label
    W_PV = torch.zeros(d + 1, d + 1)
    W_PV[d, d] = -lr / scale if pv is None else pv(lr)
    W_PV[:d, :d] = pv_x * torch.eye(d)
    return W_KQ, W_PV


def construction_numpy(d, lr):
    W_KQ, W_PV = construction(d, lr)
    return W_KQ.numpy(), W_PV.numpy()


def construction_float64(d, lr):  # valid: float64, built with block_diag
    W_KQ = torch.block_diag(torch.eye(d, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64))
    W_PV = torch.zeros(d + 1, d + 1, dtype=torch.float64)
    W_PV[-1, -1] = -lr
    return W_KQ, W_PV


# ------------------------------------------------------------------------------------------ 7.1 step size


def eta(W_KQ, W_PV, how="mean"):
    d = W_KQ.shape[0] - 1
    a = {
        "mean": lambda: torch.diagonal(W_KQ[:d, :d]).mean(),
        "first": lambda: W_KQ[0, 0],
        "trace": lambda: torch.trace(W_KQ[:d, :d]),
        "whole": lambda: torch.diagonal(W_KQ).mean(),
        "label": lambda: W_KQ[d, d],
        "all": lambda: W_KQ[:d, :d].mean(),
    }[how]()
    return (-W_PV[d, d] * a).item()


def eta_loop(W_KQ, W_PV):  # valid: a Python loop over the diagonal, float64
    d = W_KQ.shape[0] - 1
    a = sum(float(W_KQ[i, i]) for i in range(d)) / d
    return -float(W_PV[d, d]) * a


# ------------------------------------------------------------------------------------------ 8.1 tied


def tied(Z, W_KQ, W_PV, K, extra=0, in_place=False, frozen=False, residual=True, sign=-1.0):
    N = Z.shape[1] - 1
    first = Z[:, :N].transpose(1, 2) @ Z[:, :N] / N
    for _ in range(K + extra):
        M = first if frozen else Z[:, :N].transpose(1, 2) @ Z[:, :N] / N
        update = Z @ W_KQ.T @ M @ W_PV.T
        if in_place:
            Z += update
        else:
            Z = Z + update if residual else update
    return sign * Z[:, N, -1]


def tied_model(Z, W_KQ, W_PV, K):  # valid: mesakit's own model, weight-tied iterations, in Z's dtype
    d = W_KQ.shape[0] - 1
    model = models.LinearSelfAttention(models.LSAConfig(d=d, init_std=0.0)).to(Z.dtype)
    with torch.no_grad():
        model.W_KQ[0], model.W_PV[0] = W_KQ, W_PV
        return model(Z, iterations=K)


MUTANTS = [
    # 1.1 build_prompt
    Mutant("check_build_prompt", prompt_loop, "row-by-row loop", valid=True),
    Mutant("check_build_prompt", prompt_pad, "F.pad for the label slot", valid=True),
    Mutant("check_build_prompt", lambda x, y, x_q: prompt(x, y, x_q, query_first=True), "query row first", "LAST"),
    Mutant(
        "check_build_prompt", lambda x, y, x_q: prompt(x, y, x_q, label_first=True), "label in column 0", "last column"
    ),
    Mutant(
        "check_build_prompt", lambda x, y, x_q: prompt(x, y, x_q, query_label=1.0), "query label slot 1", "must be 0"
    ),
    Mutant("check_build_prompt", lambda x, y, x_q: prompt(x, y, x_q, transpose=True), "transposed", "transpose"),
    Mutant("check_build_prompt", lambda x, y, x_q: prompt(x, y, x_q, no_query=True), "no query row", "query row"),
    Mutant("check_build_prompt", lambda x, y, x_q: prompt(x, y, x_q).float(), "casts to float32", "dtype"),
    Mutant("check_build_prompt", lambda x, y, x_q: prompt(x, y, x_q).numpy(), "returns a numpy array", "ndarray"),
    # 2.1 lsa_forward
    Mutant("check_lsa_forward", lsa_einsum, "einsum on the query row only", valid=True),
    Mutant("check_lsa_forward", lsa_loops, "loop over context tokens, column vectors", valid=True),
    Mutant("check_lsa_forward", lambda Z, a, b: lsa(Z, a, b, sign=1.0), "+ label slot", "sign"),
    Mutant(
        "check_lsa_forward", lambda Z, a, b: lsa(Z, a, b, rows=Z.shape[1]), "query in the moment", "context tokens only"
    ),
    Mutant("check_lsa_forward", lambda Z, a, b: lsa(Z, a, b, norm=Z.shape[1]), "1/(N+1)", "1/N"),
    Mutant("check_lsa_forward", lambda Z, a, b: lsa(Z, a, b, norm=1.0), "no 1/N", "normalisation"),
    Mutant(
        "check_lsa_forward",
        lambda Z, a, b: lsa(Z, a, b, kq_t=True),
        "W_KQ not transposed in row form",
        "W_KQ is transposed",
    ),
    Mutant(
        "check_lsa_forward",
        lambda Z, a, b: lsa(Z, a, b, kq_t=True, pv_t=True),
        "column-form weights in row form",
        "column vectors",
    ),
    Mutant("check_lsa_forward", lambda Z, a, b: lsa(Z, a, b, rows=10, norm=10), "N hard-coded to 10", "N = 10"),
    Mutant(
        "check_lsa_forward",
        lambda Z, a, b: lsa(Z, a, b, residual=False),
        "no residual (the query's label slot starts at 0: the same prediction)",
        valid=True,
    ),
    # 3.1 train_step
    Mutant("check_train_step", step_set_to_none, "set_to_none, metrics.loss, tensor back", valid=True),
    Mutant("check_train_step", lambda m, o, Z, y: step(m, o, Z, y, zero=False), "no zero_grad", "zero_grad"),
    Mutant(
        "check_train_step", lambda m, o, Z, y: step(m, o, Z, y, do_step=False), "no optimizer.step", "optimizer.step"
    ),
    Mutant("check_train_step", lambda m, o, Z, y: step(m, o, Z, y, scale=1.0), "plain MSE", "0.5·MSE"),
    Mutant("check_train_step", lambda m, o, Z, y: step(m, o, Z, y, reduce="sum"), "summed over the batch", "MEAN"),
    Mutant("check_train_step", lambda m, o, Z, y: step(m, o, Z, y, after=True), "loss after the step", "AFTER"),
    Mutant("check_train_step", lambda m, o, Z, y: None, "returns nothing", "number"),
    # 4.1 gd_predict
    Mutant("check_gd_predict", gd_bmm, "mean over examples, broadcasting", valid=True),
    Mutant("check_gd_predict", lambda Z, lr: gd(Z, lr, sign=-1.0), "minus sign", "wrong sign"),
    Mutant("check_gd_predict", lambda Z, lr: gd(Z, lr, n=1), "no 1/N", "1/N"),
    Mutant("check_gd_predict", lambda Z, lr: gd(Z, lr, with_query=True), "query row among the examples", "N\\+1"),
    Mutant("check_gd_predict", lambda Z, lr: gd(Z, lr, query_row=0), "first row as the query", "FIRST context input"),
    Mutant("check_gd_predict", lambda Z, lr: gd(Z, lr, n=10), "N hard-coded to 10", "divided by 10"),
    # 4.2 best_lr
    Mutant("check_best_lr", best_grid, "fine grid search in float32", valid=True),
    Mutant(
        "check_best_lr",
        lambda Z, y: best(Z, y, predict=lambda Z, lr: gd(Z, lr, sign=-1.0)),
        "right on top of a wrong-sign gd_predict",
        valid=True,
        kwargs=dict(uses=lambda Z, lr: gd(Z, lr, sign=-1.0)),
    ),
    Mutant("check_best_lr", lambda Z, y: best(Z, y, flip=True), "ratio upside down", "upside down"),
    Mutant("check_best_lr", lambda Z, y: best(Z, y, mode="loss"), "returns the lowest loss", "LOSS"),
    Mutant("check_best_lr", lambda Z, y: best(Z, y, mode="coarse"), "grid of 0.5", "finer grid"),
    Mutant(
        "check_best_lr",
        lambda Z, y: best(Z, y, predict=lambda Z, lr: gd(Z, lr, sign=-1.0)),
        "negative η from a wrong-sign g",
        "negative step",
    ),
    Mutant(
        "check_best_lr",
        lambda Z, y: best(Z, y, flip=True, predict=lambda Z, lr: gd(Z, lr, n=1)),
        "wrong on top of a gd_predict without 1/N",
        "fix that first",
        kwargs=dict(uses=lambda Z, lr: gd(Z, lr, n=1)),
    ),
    # 5.1 sensitivity
    Mutant("check_sensitivity", sens_jacobian, "per-prompt gradient loop", valid=True),
    Mutant("check_sensitivity", lambda m, Z: sens(m, Z, row=0), "row 0", "row 0"),
    Mutant("check_sensitivity", lambda m, Z: sens(m, Z, row=-2), "row N-1", "row N-1"),
    Mutant("check_sensitivity", lambda m, Z: sens(m, Z, reduce="mean"), ".mean() instead of .sum()", "batch size"),
    Mutant("check_sensitivity", lambda m, Z: sens(m, Z, sign=-1.0), "negated", "sign"),
    Mutant("check_sensitivity", lambda m, Z: sens(m, Z, keep_label=True), "label slot kept", "drop the label slot"),
    Mutant(
        "check_sensitivity", lambda m, Z: sens(_GLOBAL, Z), "differentiates a notebook global", "two different models"
    ),
    # 5.2 compare_with_gd
    Mutant("check_compare_with_gd", compare_manual_cos, "cosine written out, 0-d tensors", valid=True),
    Mutant(
        "check_compare_with_gd",
        lambda m, g, Z, y: compare(m, g, Z, y, s=lambda mm, ZZ: -sens(mm, ZZ)),
        "right on top of a negated sensitivity",
        valid=True,
        kwargs=dict(uses=lambda mm, ZZ: -sens(mm, ZZ)),
    ),
    Mutant(
        "check_compare_with_gd", lambda m, g, Z, y: compare(m, g, Z, y, flat=True), "one flattened cosine", "per prompt"
    ),
    Mutant(
        "check_compare_with_gd", lambda m, g, Z, y: compare(m, g, Z, y, cos_dim=0), "cosine over the batch", "dim=0"
    ),
    Mutant("check_compare_with_gd", lambda m, g, Z, y: compare(m, g, Z, y, root=False), "no sqrt", "sqrt"),
    Mutant("check_compare_with_gd", lambda m, g, Z, y: compare(m, g, Z, y, loss_scale=1.0), "plain MSE", "0.5·MSE"),
    Mutant(
        "check_compare_with_gd",
        lambda m, g, Z, y: compare(m, g, Z, y, use_global=True),
        "measures a notebook global",
        "two different models",
    ),
    Mutant("check_compare_with_gd", lambda m, g, Z, y: list(compare(m, g, Z, y).values()), "returns a list", "dict"),
    # 6.1 gd_construction
    Mutant("check_gd_construction", construction_float64, "float64, block_diag", valid=True),
    Mutant("check_gd_construction", lambda d, lr: construction(d, lr, scale=2.0), "rescaled 2·I and -lr/2", valid=True),
    Mutant(
        "check_gd_construction",
        lambda d, lr: construction(d, lr, pv=lambda lr: lr),
        "W_PV corner +lr",
        "MINUS the GD step",
    ),
    Mutant(
        "check_gd_construction",
        lambda d, lr: construction(d, lr, pv=lambda lr: -1.0),
        "corner -1, lr forgotten",
        "whatever lr is",
    ),
    Mutant(
        "check_gd_construction",
        lambda d, lr: construction(d, lr, pv=lambda lr: -lr / 10),
        "extra 1/N in the corner",
        "size .* instead of lr",
    ),
    Mutant(
        "check_gd_construction",
        lambda d, lr: construction(d, lr, kq_label=1.0),
        "identity on all of W_KQ",
        "label a part in the attention score",
    ),
    Mutant(
        "check_gd_construction",
        lambda d, lr: construction(d, lr, pv_x=0.5),
        "W_PV also writes into x",
        "writes into the inputs",
    ),
    Mutant("check_gd_construction", construction_numpy, "numpy arrays", "ndarray"),
    Mutant(
        "check_gd_construction",
        lambda d, lr: tuple(W[:d, :d] for W in construction(d, lr)),
        "d × d blocks",
        "expected \\(",
    ),
    # 7.1 learned_step_size
    Mutant("check_learned_step_size", eta_loop, "loop over the diagonal, float", valid=True),
    Mutant("check_learned_step_size", lambda a, b: -eta(a, b), "sign", "wrong sign"),
    Mutant("check_learned_step_size", lambda a, b: eta(a, b, "trace"), "trace", "trace"),
    Mutant("check_learned_step_size", lambda a, b: eta(a, b, "first"), "W_KQ[0, 0] only", "ONE diagonal entry"),
    Mutant("check_learned_step_size", lambda a, b: eta(a, b, "whole"), "whole diagonal", "label-label entry included"),
    Mutant("check_learned_step_size", lambda a, b: eta(a, b, "label"), "label-label entry", "label-label entry"),
    Mutant("check_learned_step_size", lambda a, b: eta(a, b, "all"), "mean of the whole block", "ALL entries"),
    Mutant(
        "check_learned_step_size",
        lambda a, b: -b[-1, -1].item() / torch.diagonal(a[:-1, :-1]).mean().item(),
        "divides by the scale",
        "divided by",
    ),
    # 8.1 tied_lsa_forward
    Mutant("check_tied_lsa_forward", tied_model, "mesakit's model with iterations=K", valid=True),
    Mutant("check_tied_lsa_forward", lambda Z, a, b, K: tied(Z, a, b, K, extra=-1), "K-1 passes", "K-1"),
    Mutant("check_tied_lsa_forward", lambda Z, a, b, K: tied(Z, a, b, K, extra=1), "K+1 passes", "K\\+1"),
    Mutant("check_tied_lsa_forward", lambda Z, a, b, K: tied(Z, a, b, 1), "one pass only", "ONE application"),
    Mutant(
        "check_tied_lsa_forward", lambda Z, a, b, K: tied(Z, a, b, K, frozen=True), "moment computed once", "UPDATED"
    ),
    Mutant("check_tied_lsa_forward", lambda Z, a, b, K: tied(Z, a, b, K, residual=False), "no residual", "residual"),
    Mutant("check_tied_lsa_forward", lambda Z, a, b, K: tied(Z, a, b, K, sign=1.0), "+ label slot", "sign"),
    Mutant("check_tied_lsa_forward", lambda Z, a, b, K: tied(Z, a, b, K, in_place=True), "Z += update", "in place"),
]
