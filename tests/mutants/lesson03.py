"""Lesson 03 mutants: mistakes a learner makes in the in-context gain (1.1), the pool sampler (2.1),
locating the transition (3.1) and reading it off the sweep's figure (3.2), and correct
alternatives written differently from the reference. The readings of 3.2 are values, graded on
the shipped sweep's figures and on a sweep whose new-task curve dips into the band and out again."""

from __future__ import annotations

import numpy as np
import torch

from mesakit.core import metrics

from . import Mutant

# ------------------------------------------------------------------------------------------ 1.1 gain


def gain(model, Z, y, shift=1, dims=0, what="labels", sign=1.0, loss=metrics.loss, ratio=False, in_place=False):
    with torch.no_grad():
        true = loss(model(Z), y)
        broken = Z if in_place else Z.clone()
        if what == "labels":
            broken[:, :-1, -1] = Z[:, :-1, -1].clone().roll(shift, dims=dims)
        elif what == "inputs":
            broken[:, :-1, :-1] = Z[:, :-1, :-1].clone().roll(shift, dims=dims)
        else:  # whole prompts
            broken = Z.roll(shift, dims=0)
        shuffled = loss(model(broken), y)
        return (shuffled / true).item() if ratio else (sign * (shuffled - true)).item()


def gain_index(model, Z, y):  # valid: index with a permutation instead of roll, float64 numpy value
    perm = torch.arange(Z.shape[0]).roll(1)
    shuffled = Z.clone()
    shuffled[:, :-1, -1] = Z[perm, :-1, -1]
    with torch.no_grad():
        return np.float64((metrics.loss(model(shuffled), y) - metrics.loss(model(Z), y)).item())


# ------------------------------------------------------------------------------------------ 2.1 sampler


def pool_sampler(pool_w, task, batch, generator, how="randint", global_rng=False):
    M = len(pool_w)
    g = None if global_rng else generator
    if how == "randint":
        pick = torch.randint(M, (batch,), generator=g)
    elif how == "one":
        pick = torch.randint(M, (1,), generator=g).expand(batch)
    elif how == "turns":
        pick = torch.arange(batch) % M
    elif how == "short":
        pick = torch.randint(max(M - 1, 1), (batch,), generator=g)
    elif how == "skewed":
        weights = torch.arange(1, M + 1, dtype=torch.float)
        pick = torch.multinomial(weights, batch, replacement=True, generator=g)
    if how == "fresh":
        return task.sample(batch, generator)
    return task.sample(batch, generator, w=pool_w[pick])


_OTHER_POOL = torch.randn(5, 4, generator=torch.Generator().manual_seed(99))  # "the notebook's pool"


def pool_global(pool_w, task, batch, generator):
    w = _OTHER_POOL if _OTHER_POOL.shape[1] == pool_w.shape[1] else pool_w
    return task.sample(batch, generator, w=w[torch.randint(len(w), (batch,), generator=generator)])


def pool_multinomial(pool_w, task, batch, generator):  # valid: uniform multinomial
    pick = torch.multinomial(torch.ones(len(pool_w)), batch, replacement=True, generator=generator)
    return task.sample(batch, generator, w=pool_w[pick])


def pool_manual(pool_w, task, batch, generator):  # valid: inputs first, tasks after, prompts built by hand
    N, d = task.n_context, task.d
    x = torch.rand(batch, N + 1, d, generator=generator) * 2 - 1
    w = pool_w[(torch.rand(batch, generator=generator) * len(pool_w)).long().clamp(max=len(pool_w) - 1)]
    labels = torch.einsum("bnd,bd->bn", x, w)
    Z = torch.cat([x, labels[..., None]], -1)
    Z[:, -1, -1] = 0
    return Z, labels[:, -1]


def pool_list(pool_w, task, batch, generator):
    Z, y = pool_sampler(pool_w, task, batch, generator)
    return [Z, y]


# ------------------------------------------------------------------------------------------ 3.1 locate


def locate(num_tasks, loss_fresh, gd_loss, tolerance=0.1, how="reference"):
    band = (1 + tolerance) * gd_loss
    if how == "first":
        return next((m for m, v in zip(num_tasks, loss_fresh) if v <= band), None)
    if how == "last_outside":
        outside = [m for m, v in zip(num_tasks, loss_fresh) if v > band]
        return outside[-1] if outside else None
    found, index = None, None
    for i in range(len(num_tasks) - 1, -1, -1):
        v = loss_fresh[i]
        limit = {"absolute": gd_loss + tolerance, "fixed": 1.1 * gd_loss}.get(how, band)
        if v > limit or (how == "strict" and v >= limit):
            break
        found, index = num_tasks[i], i
    if how == "index":
        return index
    if how == "float":
        return None if found is None else float(found)
    return found


def locate_forward(num_tasks, loss_fresh, gd_loss, tolerance=0.1):  # valid: forward scan, all() over the rest
    band = (1 + tolerance) * gd_loss
    for i, m in enumerate(num_tasks):
        if all(v <= band for v in loss_fresh[i:]):
            return m
    return None


def locate_numpy(num_tasks, loss_fresh, gd_loss, tolerance=0.1):  # valid: numpy, returns np.int64
    outside = np.nonzero(np.asarray(loss_fresh) > (1 + tolerance) * gd_loss)[0]
    start = outside[-1] + 1 if len(outside) else 0
    return None if start >= len(num_tasks) else np.asarray(num_tasks)[start]


# ------------------------------------------------------------------------------------------ 3.2 reading

SHIPPED = {  # the shipped sweep, rounded: 64 is the last pool outside 1.1 × GD, 128 the transition
    "pool_sizes": [1, 2, 4, 8, 16, 32, 64, 128, 256, None],
    "loss_fresh": [2.185, 2.056, 2.012, 1.714, 1.347, 1.039, 0.927, 0.860, 0.835, 0.821],
    "loss_pool": [0.004, 0.008, 0.005, 0.013, 0.293, 0.596, 0.754, 0.806, 0.817, 0.821],
    "gd_loss": 0.8165,
}
DIP = {  # dips into the band at 4, leaves it at 8, stays in from 16; the pool curve reaches GD at 32
    "pool_sizes": [1, 2, 4, 8, 16, 32, None],
    "loss_fresh": [2.0, 1.5, 0.85, 1.2, 0.86, 0.84, 0.82],
    "loss_pool": [0.0, 0.0, 0.1, 0.3, 0.6, 0.78, 0.82],
    "gd_loss": 0.8,
}


def reading(value, label, names=None, sweep=SHIPPED, valid=False):
    return Mutant("check_transition_reading", value, label, names, valid=valid, kwargs=dict(sweep=sweep))


MUTANTS = [
    # 1.1 in_context_gain
    Mutant("check_in_context_gain", gain_index, "permutation index, numpy float", valid=True),
    Mutant("check_in_context_gain", lambda m, Z, y: gain(m, Z, y, sign=-1.0), "true − shuffled", "wrong sign"),
    Mutant(
        "check_in_context_gain",
        lambda m, Z, y: gain(m, Z, y, dims=1),
        "rolled within each prompt",
        "within each prompt",
    ),
    Mutant("check_in_context_gain", lambda m, Z, y: gain(m, Z, y, what="inputs"), "shuffled the inputs", "inputs"),
    Mutant(
        "check_in_context_gain", lambda m, Z, y: gain(m, Z, y, what="whole"), "rolled whole prompts", "whole prompts"
    ),
    Mutant("check_in_context_gain", lambda m, Z, y: gain(m, Z, y, shift=-1), "roll by -1", "roll by \\+1"),
    Mutant(
        "check_in_context_gain",
        lambda m, Z, y: gain(m, Z, y, loss=lambda p, t: ((p - t) ** 2).mean()),
        "plain MSE",
        "0.5·MSE",
    ),
    Mutant("check_in_context_gain", lambda m, Z, y: gain(m, Z, y, ratio=True), "ratio of losses", "ratio"),
    Mutant("check_in_context_gain", lambda m, Z, y: gain(m, Z, y, in_place=True), "shuffles Z in place", "in place"),
    # 2.1 sample_from_pool
    Mutant("check_sample_from_pool", pool_multinomial, "uniform multinomial", valid=True),
    Mutant("check_sample_from_pool", pool_manual, "inputs first, prompts by hand", valid=True),
    Mutant(
        "check_sample_from_pool",
        lambda p, t, b, g: pool_sampler(p, t, b, g, how="one"),
        "one task per batch",
        "same task",
    ),
    Mutant(
        "check_sample_from_pool", lambda p, t, b, g: pool_sampler(p, t, b, g, how="turns"), "tasks in turn", "in turn"
    ),
    Mutant(
        "check_sample_from_pool",
        lambda p, t, b, g: pool_sampler(p, t, b, g, how="short"),
        "randint(M - 1)",
        "uniformly",
    ),
    Mutant(
        "check_sample_from_pool", lambda p, t, b, g: pool_sampler(p, t, b, g, how="skewed"), "weights 1..M", "uniformly"
    ),
    Mutant(
        "check_sample_from_pool",
        lambda p, t, b, g: pool_sampler(p, t, b, g, how="fresh"),
        "fresh tasks",
        "fit none of the pool",
    ),
    Mutant(
        "check_sample_from_pool",
        lambda p, t, b, g: pool_sampler(p, t, b, g, global_rng=True),
        "indices from the global RNG",
        "reproducible",
    ),
    Mutant("check_sample_from_pool", pool_global, "a notebook global pool", "another pool than the argument"),
    Mutant("check_sample_from_pool", pool_list, "returns a list", "pair"),
    # 3.1 locate_transition
    Mutant("check_locate_transition", locate_forward, "forward scan with all()", valid=True),
    Mutant("check_locate_transition", locate_numpy, "numpy, np.int64", valid=True),
    Mutant("check_locate_transition", lambda *a: locate(*a, how="first"), "first dip", "STAYS"),
    Mutant("check_locate_transition", lambda *a: locate(*a, how="last_outside"), "last pool outside", "off by one"),
    Mutant("check_locate_transition", lambda *a: locate(*a, how="index"), "returns the index", "position"),
    Mutant("check_locate_transition", lambda *a: locate(*a, how="absolute"), "gd_loss + tolerance", "relative"),
    Mutant(
        "check_locate_transition", lambda *a: locate(*a, how="fixed"), "tolerance fixed at 0.1", "`tolerance` argument"
    ),
    Mutant("check_locate_transition", lambda *a: locate(*a, how="strict"), "< instead of <=", "<="),
    Mutant("check_locate_transition", lambda *a: locate(*a, how="float"), "returns a float", "an int"),
    Mutant("check_locate_transition", lambda *a: [locate(*a)], "returns a list", "returned list"),
    # 3.2 reading the transition off the sweep
    reading(128, "the first pool inside the band for good", valid=True),
    reading(90, "between the ticks 64 and 128 (interpolated crossing)", valid=True),
    reading(np.int64(128), "a numpy integer", valid=True),
    reading(16, "the transition of a sweep with a dip", sweep=DIP, valid=True),
    reading(4, "the first dip into the band", "dips into the band", sweep=DIP),
    reading(32, "where the pool curve reaches GD", "OWN POOL", sweep=DIP),
    reading(8, "the last pool outside the band", "last pool still outside", sweep=DIP),
    reading(64, "the last pool outside, where the pool curve also meets GD", "above the band .*OWN POOL.*last pool"),
    reading(7, "log₂ M / the point's position", "position on the log axis"),
    reading(256, "a later pool inside the band", "FIRST pool"),
    reading(512_000, "the fresh-task run's task count", "fresh-task run"),
    reading(None, "None although there is a transition", "there is a transition"),
    reading("128", "a string", "without quotes"),
    reading([64, 128], "a list of two readings", "got list"),
    reading(32, "a pool far above the band", "above the band"),
]
