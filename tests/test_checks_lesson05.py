"""Lesson 05's checks, both ways: the reference solution passes, and realistic wrong solutions fail
with a message that names the mistake."""

from __future__ import annotations

from collections import deque

import pytest
import torch

from mesakit import checks

torch.set_num_threads(1)

# ---------------------------------------------------------------- reference solutions (as in the lesson)


def bfs_distance(maze, moves=((-1, 0), (1, 0), (0, -1), (0, 1)), source=2, wall=-1.0, first=0):
    walls = maze[0]
    H, W = walls.shape
    dist = torch.full((H, W), wall)
    r, c = (int(i) for i in torch.nonzero(maze[source])[0])
    dist[r, c] = first
    queue = deque([(r, c)])
    seen = {(r, c)}
    while queue:
        r, c = queue.popleft()
        for dr, dc in moves:
            n = (r + dr, c + dc)
            if 0 <= n[0] < H and 0 <= n[1] < W and walls[n] == 0 and n not in seen:
                seen.add(n)
                dist[n] = dist[r, c] + 1
                queue.append(n)
    return dist


def run_planner(model, mazes, iterations, extra=0, check=True):
    if check and iterations < 1:
        raise ValueError("iterations must be >= 1")
    h = model.initial_state(mazes)
    for _ in range(iterations + extra):
        h = model.step(h, mazes)
    return model.readout(h, mazes)


def solve_rates(model, mazes, iterations, threshold=0.0, per_square=False, recall=False):
    rates = []
    with torch.no_grad():
        for k in iterations:
            pred = (model(mazes.inputs, iterations=k) > threshold).float()
            if per_square:
                rates.append((pred == mazes.paths).float().mean())
            elif recall:
                rates.append((pred >= mazes.paths).flatten(1).all(1).float().mean())
            else:
                rates.append((pred == mazes.paths).flatten(1).all(1).float().mean())
    return torch.stack(rates)


def fit_ridge(X, y, alpha, center=True, penalise_bias=False, use_alpha=True):
    a = alpha if use_alpha else 0.0
    if penalise_bias:
        A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1)
        sol = torch.linalg.solve(A.T @ A + a * torch.eye(A.shape[1], dtype=X.dtype), A.T @ y)
        return sol[:-1], sol[-1].item()
    if not center:
        return torch.linalg.solve(X.T @ X + a * torch.eye(X.shape[1], dtype=X.dtype), X.T @ y), 0.0
    xm, ym = X.mean(0), y.mean()
    Xc, yc = X - xm, y - ym
    w = torch.linalg.solve(Xc.T @ Xc + a * torch.eye(X.shape[1], dtype=X.dtype), Xc.T @ yc)
    return w, (ym - xm @ w).item()


def r_squared(pred, target):
    return (1 - ((target - pred) ** 2).sum() / ((target - target.mean()) ** 2).sum()).item()


def solve_rate_by_length(model, mazes, edges, iterations=None, squares=False, closed=False, overall=False):
    with torch.no_grad():
        pred = (model(mazes.inputs, iterations=iterations) > 0).float()
    ok = (pred == mazes.paths).flatten(1).all(1).float()
    lengths = mazes.paths.flatten(1).sum(1) - (0 if squares else 1)
    out = []
    for lo, hi in zip(edges, edges[1:]):
        inside = (lengths >= lo) & ((lengths <= hi) if closed else (lengths < hi))
        out.append(ok.mean() if overall else ok[inside].mean() if inside.any() else torch.tensor(float("nan")))
    return torch.stack(out)


# ---------------------------------------------------------------- the references pass


@pytest.mark.parametrize(
    "check, fn",
    [
        (checks.check_bfs_distance, bfs_distance),
        (checks.check_run_planner, run_planner),
        (checks.check_solve_rates, solve_rates),
        (checks.check_fit_ridge, fit_ridge),
        (checks.check_r_squared, r_squared),
        (checks.check_solve_rate_by_length, solve_rate_by_length),
    ],
)
def test_reference_passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize(
    "check",
    [
        checks.check_bfs_distance,
        checks.check_run_planner,
        checks.check_solve_rates,
        checks.check_fit_ridge,
        checks.check_r_squared,
        checks.check_solve_rate_by_length,
    ],
)
def test_stub_fails(check):
    with pytest.raises(AssertionError, match="not implemented"):
        check(_stub)


# ---------------------------------------------------------------- realistic mistakes fail, naming the mistake


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda m: bfs_distance(m, source=1), "distances from the START"),
        (
            lambda m: bfs_distance(m, moves=((-1, 0), (1, 0), (0, -1), (0, 1), (1, 1), (-1, -1), (1, -1), (-1, 1))),
            "diagonal",
        ),
        (lambda m: bfs_distance(m, wall=0.0), "walls should hold -1"),
        (lambda m: bfs_distance(m, first=1), "off by one"),
        (lambda m: bfs_distance(m)[:, :-1], "shape"),
    ],
)
def test_bfs_mistakes(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_bfs_distance(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda m, x, k: run_planner(m, x, k, extra=-1), "off by one"),
        (lambda m, x, k: run_planner(m, x, k, extra=1), "off by one"),
        (lambda m, x, k: m.readout(m.initial_state(x), x), "ignores the iterations"),
        (lambda m, x, k: run_planner(m, x, k, check=False), "ValueError"),
    ],
)
def test_run_planner_mistakes(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_run_planner(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda m, x, ks: solve_rates(m, x, ks, per_square=True), "fraction of correct SQUARES"),
        (lambda m, x, ks: solve_rates(m, x, ks, threshold=0.5), "threshold them at 0"),
        (lambda m, x, ks: solve_rates(m, x, ks, recall=True), "extra squares"),
    ],
)
def test_solve_rates_mistakes(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_solve_rates(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda X, y, a: fit_ridge(X, y, a, center=False), "no intercept"),
        (lambda X, y, a: fit_ridge(X, y, a, penalise_bias=True), "bias is penalised"),
        (lambda X, y, a: fit_ridge(X, y, a, use_alpha=False), "alpha is ignored"),
        (lambda X, y, a: fit_ridge(X, y, a)[0], "tuple"),
    ],
)
def test_fit_ridge_mistakes(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_fit_ridge(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda p, t: (1 - ((t - p) ** 2).mean()).item(), "1 - MSE"),
        (lambda p, t: (1 - ((t - p) ** 2).sum() / (t**2).sum()).item(), "MEAN"),
        (lambda p, t: torch.corrcoef(torch.stack([p, t]))[0, 1].item() ** 2, "squared correlation"),
        (lambda p, t: (1 - ((t - p) ** 2).sum() / ((p - p.mean()) ** 2).sum()).item(), "from the TARGETS"),
    ],
)
def test_r_squared_mistakes(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_r_squared(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda m, x, e, iterations=None: solve_rate_by_length(m, x, e, iterations, squares=True), "number of steps"),
        (lambda m, x, e, iterations=None: solve_rate_by_length(m, x, e, iterations, closed=True), "half-open"),
        (
            lambda m, x, e, iterations=None: solve_rate_by_length(m, x, e, iterations, overall=True),
            "overall solve rate",
        ),
    ],
)
def test_solve_rate_by_length_mistakes(wrong, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_solve_rate_by_length(wrong)


# ---------------------------------------------------------------- 4.3: a design exercise, graded by properties


def probe_control(Xf, yf, Xt, yt, alpha, seed, mode="shuffle", fit=fit_ridge):
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(yf), generator=g)
    Xf, yf, Xt, yt = Xf.double(), yf.double(), Xt.double(), yt.double()
    if mode == "noise":  # another valid design: features that are seeded noise
        w, b = fit(torch.randn(Xf.shape, generator=g, dtype=torch.float64), yf, alpha)
        return r_squared(torch.randn(Xt.shape, generator=g, dtype=torch.float64) @ w + b, yt)
    w, b = fit(Xf, yf if mode == "none" else yf[perm], alpha)
    if mode == "in_sample":
        return r_squared(Xf @ w + b, yf[perm])
    return r_squared(Xt @ w + b, yt)


def test_probe_control_accepts_different_designs(capsys):
    checks.check_probe_control(probe_control, uses=(fit_ridge, r_squared))
    checks.check_probe_control(lambda *a: probe_control(*a, mode="noise"))
    assert capsys.readouterr().out.count("✔") == 2


@pytest.mark.parametrize(
    "mode, match",
    [("none", "still pairs each square's features"), ("in_sample", "Score the control on the held-out")],
)
def test_probe_control_names_the_design_flaw(mode, match):
    with pytest.raises(AssertionError, match=match):
        checks.check_probe_control(lambda *a: probe_control(*a, mode=mode))


def test_probe_control_on_a_wrong_fit_ridge_is_one_deduction(capsys):
    """A right control on top of a fit_ridge without intercept passes with a note; a wrong one fails
    with its own message plus the note."""
    no_intercept = lambda X, y, a: fit_ridge(X, y, a, center=False)  # noqa: E731
    checks.check_probe_control(lambda *a: probe_control(*a, fit=no_intercept), uses=(no_intercept, r_squared))
    assert "uses your fit_ridge, which fails its check" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="(?s)still pairs.*uses your fit_ridge"):
        checks.check_probe_control(
            lambda *a: probe_control(*a, mode="none", fit=no_intercept), uses=(no_intercept, r_squared)
        )


def test_bfs_distance_in_a_maze_with_loops_names_depth_first_search():
    def dfs(maze):
        walls, (H, W) = maze[0], maze[0].shape
        dist = torch.full((H, W), -1.0)
        r, c = (int(i) for i in torch.nonzero(maze[2])[0])
        dist[r, c], stack = 0, [(r, c)]
        while stack:
            r, c = stack.pop()
            for n in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= n[0] < H and 0 <= n[1] < W and walls[n] == 0 and dist[n] < 0:
                    dist[n] = dist[r, c] + 1
                    stack.append(n)
        return dist

    with pytest.raises(AssertionError, match="first-in, first-out"):
        checks.check_bfs_distance(dfs)


def test_the_split_checks_keep_their_0_1_path():
    """checks/lesson05.py became checks/search.py + checks/search_rates.py + checks/search_probe.py
    (one idea each)."""
    from mesakit.checks import search, search_probe, search_rates
    from mesakit.moved import MovedWarning

    with pytest.warns(MovedWarning, match="mesakit.checks.search_probe.check_fit_ridge"):
        assert search.check_fit_ridge is search_probe.check_fit_ridge
    with pytest.warns(MovedWarning, match="mesakit.checks.search_rates.check_solve_rates"):
        assert search.check_solve_rates is search_rates.check_solve_rates
    assert checks.check_solve_rate_by_length.__wrapped__ is search_rates.check_solve_rate_by_length
    assert checks.check_r_squared.__wrapped__ is search_probe.check_r_squared
    assert checks.check_bfs_distance.__wrapped__ is search.check_bfs_distance
