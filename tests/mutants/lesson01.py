"""Lesson 01 mutants: mistakes a learner makes in 2.1 (gradient), 2.2 (gradient descent) and 3.1
(mesa forward), and correct alternatives written differently from the reference."""

from __future__ import annotations

import torch

from . import Mutant


def grad(w, x, y):
    residual = torch.einsum("bnd,bd->bn", x, w) - y
    return torch.einsum("bn,bnd->bd", residual, x) / x.shape[1]


def grad_loops(w, x, y):  # valid: loops, float32 accumulation
    out = torch.zeros_like(w)
    for b in range(x.shape[0]):
        for n in range(x.shape[1]):
            out[b] += (x[b, n] @ w[b] - y[b, n]) * x[b, n]
    return out / x.shape[1]


def grad_bmm(w, x, y):  # valid: batched matmuls
    r = (x @ w.unsqueeze(-1)).squeeze(-1) - y
    return (x.transpose(1, 2) @ r.unsqueeze(-1)).squeeze(-1) / x.shape[1]


def gd(x, y, lr, steps, g=grad, start=0, extra=0):
    w = torch.zeros(x.shape[0], x.shape[2], dtype=x.dtype)
    for _ in range(start, steps + extra):
        w = w - lr * g(w, x, y)
    return w


def gd_while(x, y, lr, steps):  # valid: a while loop, in-place update
    w, k = x.new_zeros(x.shape[0], x.shape[2]), 0
    while k < steps:
        w -= lr * grad(w, x, y)
        k += 1
    return w


def mesa(Z, lr, K, fit=gd, label_col=-1, use_query_label=False):
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, label_col], Z[:, -1, :-1]
    if use_query_label:
        x, y = Z[:, :, :-1], Z[:, :, -1]
    w = fit(x, y, lr, K)
    return (w * x_q).sum(-1)


def mesa_einsum(Z, lr, K):  # valid
    w = gd_while(Z[:, :-1, :-1], Z[:, :-1, -1], lr, K)
    return torch.einsum("bd,bd->b", w, Z[:, -1, :-1])


MUTANTS = [
    Mutant("check_least_squares_gradient", grad_loops, "loops over batch and examples", valid=True),
    Mutant("check_least_squares_gradient", grad_bmm, "batched matmul", valid=True),
    Mutant("check_least_squares_gradient", lambda w, x, y: grad(w, x, -y), "residual w·x + y", "sign of the label"),
    Mutant("check_least_squares_gradient", lambda w, x, y: grad(w, x, y) * x.shape[1], "sum instead of mean", "1/N"),
    Mutant(
        "check_least_squares_gradient",
        lambda w, x, y: grad(w, x, y).mean(0, keepdim=True).expand_as(w),
        "averaged over the batch too",
        "batch",
    ),
    Mutant("check_least_squares_gradient", lambda w, x, y: -grad(w, x, y), "y − w·x residual", "sign"),
    Mutant("check_gradient_descent", gd_while, "while loop, in-place", valid=True),
    Mutant(
        "check_gradient_descent", lambda x, y, lr, steps: gd(x, y, lr, steps, start=1), "range(1, steps)", "off by one"
    ),
    Mutant("check_gradient_descent", lambda x, y, lr, steps: gd(x, y, -lr, steps), "w + lr·grad", "ascent"),
    Mutant(
        "check_gradient_descent", lambda x, y, lr, steps: gd(x, y, lr, steps, extra=1), "range(steps + 1)", "off by one"
    ),
    Mutant("check_mesa_forward", mesa_einsum, "einsum and a while loop", valid=True),
    Mutant(
        "check_mesa_forward",
        lambda Z, lr, K: mesa(Z, lr, K, use_query_label=True),
        "fits on the query row too",
        "query",
    ),
    Mutant(
        "check_mesa_forward",
        lambda Z, lr, K: mesa(Z, lr, K, fit=lambda x, y, lr, k: gd(x, y, lr, k, extra=-1)),
        "K − 1 inner steps",
        "off by one|K",
    ),
]


# ---------------------------------------------------------------- 3.2 learn_step_size


def learn(K, init_lr, steps, base_lr, seed, optimizer="sgd", batch_size=256, with_init=True, train_seed=None, k_off=0):
    from mesakit.core.tasks import RegressionTask
    from mesakit.core.train import TrainConfig, train
    from mesakit.inner.handbuilt import HandBuiltConfig, HandBuiltMesaOptimizer

    task = RegressionTask()
    model = HandBuiltMesaOptimizer(HandBuiltConfig(d=task.d, steps=K + k_off, init_lr=init_lr))
    config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        lr=base_lr,
        optimizer=optimizer,
        seed=seed if train_seed is None else train_seed,
        snapshot_every=1,
        progress=False,
    )
    history = train(model, task.sample, config)
    trajectory = [state["lr"].item() for _, state in history.snapshots]
    return model, ([init_lr] if with_init else []) + trajectory


def learn_tensor(K, init_lr, steps, base_lr, seed):  # valid: the trajectory as a tensor
    model, traj = learn(K, init_lr, steps, base_lr, seed)
    return model, torch.tensor(traj)


MUTANTS += [
    Mutant("check_learn_step_size", learn_tensor, "step sizes as a tensor", valid=True),
    Mutant(
        "check_learn_step_size",
        lambda *a: learn(*a, with_init=False),
        "forgot the initial step size",
        "initial step size",
    ),
    Mutant("check_learn_step_size", lambda *a: learn(*a, optimizer="adam"), "Adam instead of SGD", "Adam"),
    Mutant("check_learn_step_size", lambda *a: learn(*a, batch_size=512), "default batch size", "batch size"),
    Mutant("check_learn_step_size", lambda *a: learn(*a, train_seed=0), "seed not passed", "seed"),
    Mutant("check_learn_step_size", lambda *a: learn(*a, k_off=1), "K + 1 inner steps", "inner steps"),
    Mutant(
        "check_learn_step_size",
        lambda *a: (learn(*a)[0], learn(*a)[1][::-1]),
        "trajectory reversed",
        "initial step size",
    ),
]


# ---------------------------------------------------------------- 3.3 the step size converges; 4.1 concept check


def _key() -> dict:
    from mesakit.inner import scenarios

    return {s.key: {f: scenarios.right_letter(s.key, f) for f in scenarios.FIELDS} for s in scenarios.SCENARIOS}


def _one_wrong(field: str) -> dict:
    from mesakit.inner import scenarios

    answers = _key()
    first = scenarios.SCENARIOS[0].key
    answers[first][field] = next(l for l in scenarios.SCENARIOS[0].options[field] if l != answers[first][field])
    return answers


def _upper() -> dict:
    return {
        s: {f: letter.upper() if letter.islower() else letter.lower() for f, letter in fields.items()}
        for s, fields in _key().items()
    }


MUTANTS += [
    Mutant("check_step_size_converges", learn, "the reference recipe", valid=True),
    Mutant(
        "check_step_size_converges",
        lambda K, i, s, b, seed: learn(K, i, s, b / 100, seed),
        "base step 100× too small",
        "best for K",
    ),
    Mutant(
        "check_step_size_converges",
        lambda K, i, s, b, seed: (learn(K, i, 1, b, seed)[0], [i] * (s + 1)),
        "never trains: the initial step size throughout",
        "best for K",
    ),
    Mutant("check_concept_answers", _key, "every answer right", valid=True),
    Mutant(
        "check_concept_answers", lambda: _one_wrong("base_optimizer"), "a wrong base optimizer", "base_optimizer: not"
    ),
    Mutant(
        "check_concept_answers", lambda: _one_wrong("mesa_objective"), "a wrong mesa objective", "mesa_objective: not"
    ),
    Mutant("check_concept_answers", lambda: list(_key().values()), "a list instead of a dict", "dict"),
]
