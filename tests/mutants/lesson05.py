"""Lesson 05 mutants: mistakes a learner makes in 1.1 (BFS distances), 2.1 (the iteration loop), 3.1
(solve rates), 4.1 (ridge), 4.2 (R²), 4.3 (designing a probe control) and 5.1 (solve rate by path
length), and correct alternatives written differently from the reference."""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from mesakit import models

from . import Mutant

# ---------------------------------------------------------------------------------------------
# 1.1 bfs_distance


def bfs(maze, *, lifo=False, swap=False, diagonal=False, wall=-1.0, first=0, source=2, numpy=False):
    walls = maze[0]
    H, W = walls.shape
    dist = torch.full((W, H) if swap else (H, W), float("inf"))
    r, c = (int(i) for i in torch.nonzero(maze[source])[0])
    dist[r, c] = first
    todo = deque([(r, c)])
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)] + ([(-1, -1), (-1, 1), (1, -1), (1, 1)] if diagonal else [])
    while todo:
        r, c = todo.pop() if lifo else todo.popleft()
        for dr, dc in moves:
            nr, nc = r + dr, c + dc
            if 0 <= nr < H and 0 <= nc < W and walls[nr, nc] == 0 and dist[nr, nc] == float("inf"):
                dist[nr, nc] = dist[r, c] + 1
                todo.append((nr, nc))
    dist[torch.isinf(dist)] = wall
    return dist.numpy() if numpy else dist


def bfs_relax(maze):  # valid: Bellman-Ford style relaxation until nothing changes, int64
    walls = maze[0] > 0
    H, W = walls.shape
    big = H * W
    dist = torch.full((H, W), big, dtype=torch.int64)
    dist[maze[2] > 0] = 0
    while True:
        p = torch.nn.functional.pad(dist, (1, 1, 1, 1), value=big)
        best = torch.minimum(torch.minimum(p[:-2, 1:-1], p[2:, 1:-1]), torch.minimum(p[1:-1, :-2], p[1:-1, 2:])) + 1
        new = torch.where(walls, big, torch.minimum(dist, best))
        if torch.equal(new, dist):
            break
        dist = new
    return torch.where(dist >= big, -1, dist)


# ---------------------------------------------------------------------------------------------
# 2.1 run_planner


def run(model, mazes, iterations, *, extra=0, check=True, global_model=False):
    if check and iterations < 1:
        raise ValueError("iterations must be >= 1")
    if global_model:
        model = _shipped()
        mazes = mazes.float()
    h = model.initial_state(mazes)
    for _ in range(iterations + extra):
        h = model.step(h, mazes)
    return model.readout(h, mazes)


def _shipped():
    return models.load_pretrained("planner_recurrent")


def run_while(model, mazes, iterations):  # valid: a while loop, the check written as `not iterations >= 1`
    if not iterations >= 1:
        raise ValueError(f"need at least one iteration, got {iterations}")
    h, k = model.initial_state(mazes), 0
    while k < iterations:
        h, k = model.step(h, mazes), k + 1
    return model.readout(h, mazes)


def run_assert(model, mazes, iterations):
    assert iterations >= 1, "iterations must be >= 1"
    return run(model, mazes, iterations, check=False)


# ---------------------------------------------------------------------------------------------
# 3.1 solve_rates


def rates(model, mazes, iterations, *, at_zero=False, per_square=False, recall=False, global_model=False):
    if global_model:
        model = _shipped()
    out = []
    with torch.no_grad():
        for k in iterations:
            logits = model(mazes.inputs, iterations=k)
            pred = (logits >= 0 if at_zero else logits > 0).float()
            if per_square:
                out.append((pred == mazes.paths).float().mean())
            elif recall:
                out.append((pred >= mazes.paths).flatten(1).all(1).float().mean())
            else:
                out.append((pred == mazes.paths).flatten(1).all(1).float().mean())
    return torch.stack(out)


def rates_loop(model, mazes, iterations):  # valid: maze by maze, float64
    out = torch.zeros(len(iterations), dtype=torch.float64)
    with torch.no_grad():
        for i, k in enumerate(iterations):
            logits = model(mazes.inputs, iterations=k)
            out[i] = sum(bool(torch.equal((logits[b] > 0).float(), mazes.paths[b])) for b in range(len(logits))) / len(
                logits
            )
    return out


# ---------------------------------------------------------------------------------------------
# 4.1 fit_ridge and 4.2 r_squared


def ridge(X, y, alpha, *, intercept=True, penalise_bias=False, use_alpha=True, as_list=False):
    X, y = X.double(), y.double()
    a = alpha if use_alpha else 0.0
    if penalise_bias:
        A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1)
        sol = torch.linalg.solve(A.T @ A + a * torch.eye(A.shape[1], dtype=X.dtype), A.T @ y)
        return sol[:-1], sol[-1].item()
    if not intercept:
        return torch.linalg.solve(X.T @ X + a * torch.eye(X.shape[1], dtype=X.dtype), X.T @ y), 0.0
    xm, ym = X.mean(0), y.mean()
    w = torch.linalg.solve((X - xm).T @ (X - xm) + a * torch.eye(X.shape[1], dtype=X.dtype), (X - xm).T @ (y - ym))
    out = (w, (ym - xm @ w).item())
    return list(out) if as_list else out


def ridge_float32_augmented(X, y, alpha):  # valid: float32 throughout, a bias column with a zero penalty
    A = torch.cat([X.float(), torch.ones(len(X), 1)], 1)
    P = alpha * torch.eye(A.shape[1])
    P[-1, -1] = 0.0
    sol = torch.linalg.solve(A.T @ A + P, A.T @ y.float())
    return sol[:-1], sol[-1]


def r2(p, t, *, mse=False, around_zero=False, corr=False, from_predictions=False, tensor=False):
    p, t = p.double(), t.double()
    ss_res = ((t - p) ** 2).sum()
    if mse:
        out = 1 - ((t - p) ** 2).mean()
    elif corr:
        out = torch.corrcoef(torch.stack([p, t]))[0, 1] ** 2
    else:
        base = 0.0 if around_zero else (p.mean() if from_predictions else t.mean())
        ss_tot = (((p if from_predictions else t) - base) ** 2).sum()
        out = 1 - ss_res / ss_tot
    return out if tensor else out.item()


def r2_numpy(p, t):  # valid: NumPy, float32 in, numpy scalar out
    p, t = p.numpy(), t.numpy()
    return 1 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2)


# ---------------------------------------------------------------------------------------------
# 4.3 probe_control (the learner's fit_ridge and r_squared are given to the check through `uses`)


def fit_ridge(X, y, alpha):
    return ridge(X, y, alpha)


def r_squared(p, t):
    return r2(p, t)


def fit_ridge_no_intercept(X, y, alpha):  # a wrong fit_ridge from exercise 4.1
    return ridge(X, y, alpha, intercept=False)


def control(Xf, yf, Xt, yt, alpha, seed, *, mode="shuffle_fit", fit=None, score=None):
    fit, score = fit or fit_ridge, score or r_squared
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(yf), generator=g)
    if mode == "shuffle_fit":
        w, b = fit(Xf, yf[perm], alpha)
    elif mode == "noise_features":
        w, b = fit(torch.randn(Xf.shape, generator=g, dtype=torch.float64), yf, alpha)
        return score(torch.randn(Xt.shape, generator=g, dtype=torch.float64) @ w + b, yt)
    elif mode == "none":
        w, b = fit(Xf, yf, alpha)
    elif mode == "both":
        w, b = fit(Xf[perm], yf[perm], alpha)
    elif mode == "columns":
        cols = torch.randperm(Xf.shape[1], generator=g)
        w, b = fit(Xf[:, cols], yf, alpha)
        return score(Xt[:, cols].double() @ w + b, yt)
    elif mode == "in_sample":
        w, b = fit(Xf, yf[perm], alpha)
        return score(Xf.double() @ w + b, yf[perm])
    elif mode == "test_only":
        w, b = fit(Xf, yf, alpha)
        return score(Xt.double() @ w + b, yt[torch.randperm(len(yt), generator=g)])
    elif mode == "global_rng":
        w, b = fit(Xf, yf[torch.randperm(len(yf))], alpha)
    elif mode == "fixed_reverse":
        w, b = fit(Xf, yf.flip(0), alpha)
    return score(Xt.double() @ w + b, yt)


def control_theirs(Xf, yf, Xt, yt, alpha, seed):  # a right design on top of a wrong fit_ridge
    return control(Xf, yf, Xt, yt, alpha, seed, fit=fit_ridge_no_intercept)


def control_both_theirs(Xf, yf, Xt, yt, alpha, seed):  # a wrong design on top of a wrong fit_ridge
    return control(Xf, yf, Xt, yt, alpha, seed, mode="none", fit=fit_ridge_no_intercept)


# ---------------------------------------------------------------------------------------------
# 5.1 solve_rate_by_length


def by_length(
    model,
    mazes,
    edges,
    iterations=None,
    *,
    squares=False,
    closed=False,
    empty=float("nan"),
    overall=False,
    global_model=False,
):
    if global_model:
        model, iterations = _shipped(), 4
    with torch.no_grad():
        ok = ((model(mazes.inputs, iterations=iterations) > 0).float() == mazes.paths).flatten(1).all(1).float()
    lengths = mazes.paths.flatten(1).sum(1) - (0 if squares else 1)
    out = []
    for lo, hi in zip(edges, edges[1:]):
        inside = (lengths >= lo) & ((lengths <= hi) if closed else (lengths < hi))
        if overall:
            out.append(ok.mean())
        else:
            out.append(ok[inside].mean() if inside.any() else torch.tensor(empty))
    return torch.stack(out)


def by_length_numpy_bins(model, mazes, edges, iterations=None):  # valid: np.digitize, float64
    with torch.no_grad():
        ok = (
            ((model(mazes.inputs, iterations=iterations) > 0).float() == mazes.paths).flatten(1).all(1).double().numpy()
        )
    lengths = (mazes.paths.flatten(1).sum(1) - 1).numpy()
    which = np.digitize(lengths, edges) - 1  # bin i: edges[i] <= length < edges[i+1]
    return torch.tensor([ok[which == i].mean() if (which == i).any() else np.nan for i in range(len(edges) - 1)])


MUTANTS = [
    Mutant("check_bfs_distance", bfs_relax, "relaxation until nothing changes, int64", valid=True),
    Mutant("check_bfs_distance", lambda m: bfs(m, lifo=True), "a stack (pop from the end): DFS", "first-in, first-out"),
    Mutant("check_bfs_distance", lambda m: bfs(m, swap=True), "(W, H) distance map", "swapped"),
    Mutant("check_bfs_distance", lambda m: bfs(m, diagonal=True), "diagonal moves", "diagonal"),
    Mutant("check_bfs_distance", lambda m: bfs(m, wall=0.0), "walls hold 0", "not 0"),
    Mutant("check_bfs_distance", lambda m: bfs(m, first=1), "the goal at distance 1", "off by one"),
    Mutant("check_bfs_distance", lambda m: bfs(m, source=1), "distances from the start", "START"),
    Mutant("check_bfs_distance", lambda m: bfs(m, numpy=True), "a NumPy array", "got ndarray"),
    Mutant("check_run_planner", run_while, "a while loop", valid=True),
    Mutant("check_run_planner", lambda m, x, k: run(m, x, k, extra=-1), "iterations − 1 steps", "off by one"),
    Mutant("check_run_planner", lambda m, x, k: run(m, x, k, extra=1), "iterations + 1 steps", "off by one"),
    Mutant("check_run_planner", lambda m, x, k: run(m, x, k, check=False), "no check of iterations < 1", "ValueError"),
    Mutant("check_run_planner", run_assert, "an assert instead of a ValueError", "ValueError"),
    Mutant(
        "check_run_planner",
        lambda m, x, k: run(m, x, k, global_model=True),
        "runs the notebook's planner",
        "ignores its `model`",
    ),
    Mutant("check_solve_rates", rates_loop, "maze by maze, float64", valid=True),
    Mutant("check_solve_rates", lambda m, x, ks: rates(m, x, ks, at_zero=True), "logits >= 0", "exactly 0"),
    Mutant("check_solve_rates", lambda m, x, ks: rates(m, x, ks, per_square=True), "fraction of squares", "SQUARES"),
    Mutant(
        "check_solve_rates",
        lambda m, x, ks: rates(m, x, ks, recall=True),
        "only the path's squares checked",
        "extra squares",
    ),
    Mutant(
        "check_solve_rates",
        lambda m, x, ks: rates(m, x, ks, global_model=True),
        "the notebook's planner",
        "ignores its `model`",
    ),
    Mutant("check_solve_rates", lambda m, x, ks: rates(m, x, ks).tolist(), "returns a list", "got list"),
    Mutant("check_fit_ridge", ridge_float32_augmented, "float32, bias column with zero penalty", valid=True),
    Mutant("check_fit_ridge", lambda X, y, a: ridge(X, y, a, as_list=True), "a list [weight, bias]", valid=True),
    Mutant("check_fit_ridge", lambda X, y, a: ridge(X, y, a, intercept=False), "no intercept", "no intercept"),
    Mutant("check_fit_ridge", lambda X, y, a: ridge(X, y, a, penalise_bias=True), "the bias penalised", "penalised"),
    Mutant("check_fit_ridge", lambda X, y, a: ridge(X, y, a, use_alpha=False), "alpha ignored", "alpha is ignored"),
    Mutant("check_fit_ridge", lambda X, y, a: {"weight": ridge(X, y, a)[0]}, "returns a dict", "got dict"),
    Mutant("check_r_squared", r2_numpy, "NumPy, a numpy scalar", valid=True),
    Mutant("check_r_squared", lambda p, t: r2(p, t, tensor=True), "a 0-d tensor", valid=True),
    Mutant("check_r_squared", lambda p, t: r2(p, t, mse=True), "1 − MSE", "1 - MSE"),
    Mutant("check_r_squared", lambda p, t: r2(p, t, around_zero=True), "SS_tot around 0", "MEAN"),
    Mutant("check_r_squared", lambda p, t: r2(p, t, corr=True), "squared correlation", "correlation"),
    Mutant("check_r_squared", lambda p, t: r2(p, t, from_predictions=True), "SS_tot of the predictions", "TARGETS"),
    Mutant("check_r_squared", lambda p, t: None, "returns None", "got NoneType"),
    Mutant("check_probe_control", control, "shuffled fit targets", valid=True, kwargs={"uses": (fit_ridge, r_squared)}),
    Mutant(
        "check_probe_control",
        lambda *a: control(*a, mode="noise_features"),
        "random features of the same shape",
        valid=True,
    ),
    Mutant(
        "check_probe_control",
        control_theirs,
        "right design, on top of a fit_ridge without intercept (note)",
        valid=True,
        kwargs={"uses": (fit_ridge_no_intercept, r_squared)},
    ),
    Mutant(
        "check_probe_control",
        control_both_theirs,
        "no shuffle, on top of a wrong fit_ridge",
        "pairing",
        kwargs={"uses": (fit_ridge_no_intercept, r_squared)},
    ),
    Mutant("check_probe_control", lambda *a: control(*a, mode="none"), "no shuffle at all", "pairing"),
    Mutant(
        "check_probe_control", lambda *a: control(*a, mode="both"), "features and targets shuffled together", "pairing"
    ),
    Mutant("check_probe_control", lambda *a: control(*a, mode="columns"), "the features' columns permuted", "pairing"),
    Mutant("check_probe_control", lambda *a: control(*a, mode="in_sample"), "scored on the fit squares", "held-out"),
    Mutant(
        "check_probe_control",
        lambda *a: control(*a, mode="test_only"),
        "only the test targets shuffled",
        "fit on intact pairs",
    ),
    Mutant("check_probe_control", lambda *a: control(*a, mode="global_rng"), "the global random state", "same seed"),
    Mutant(
        "check_probe_control",
        lambda *a: control(*a, mode="fixed_reverse"),
        "a fixed reversal, no seed",
        "ignores its `seed`",
    ),
    Mutant("check_solve_rate_by_length", by_length_numpy_bins, "np.digitize, float64", valid=True),
    Mutant(
        "check_solve_rate_by_length",
        lambda m, x, e, k=None: by_length(m, x, e, k, squares=True),
        "length = number of squares",
        "number of steps",
    ),
    Mutant(
        "check_solve_rate_by_length",
        lambda m, x, e, k=None: by_length(m, x, e, k, closed=True),
        "closed bins",
        "half-open",
    ),
    Mutant(
        "check_solve_rate_by_length",
        lambda m, x, e, k=None: by_length(m, x, e, k, empty=0.0),
        "0 for an empty bin",
        "NaN",
    ),
    Mutant(
        "check_solve_rate_by_length",
        lambda m, x, e, k=None: by_length(m, x, e, k, overall=True),
        "the overall rate in every bin",
        "overall",
    ),
    Mutant(
        "check_solve_rate_by_length",
        lambda m, x, e, k=None: by_length(m, x, e, k, global_model=True),
        "the notebook's planner at 4 iterations",
        "ignores its `model`",
    ),
]
