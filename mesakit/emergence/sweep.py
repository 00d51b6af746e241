"""The pool-size sweep of lesson 03 (after Raventós et al. 2023, "Pretraining task diversity and
the emergence of non-Bayesian in-context learning for regression"): the recipe and its measurements.

* :func:`train_sweep` — for each pool size M in :data:`NUM_TASKS`, an
  :class:`~mesakit.emergence.diversity.LSAWithReadout` (an LSA layer plus a memory readout with 8
  slots) trained on prompts whose tasks come from a pool of M task vectors (:func:`pool_for`); the
  last run draws a fresh task for every prompt.
* :func:`evaluate` — each model's loss on its pool's tasks (``loss_pool``) and on new tasks
  (``loss_fresh``) beside one tuned GD step on new tasks (``gd_loss``), and the paper's
  Bayes-optimal yardsticks (:mod:`mesakit.emergence.bayes`): dMMSE for the pool, ridge regression
  for all tasks.
* :func:`load_pretrained_sweep` — the shipped seed-0 sweep; :data:`PRETRAINED` — how it is made.

Our model's memory is explicit, 8 slots: an architectural choice that sets where the transition can
happen (a pool the slots can hold is best memorized); the paper's transformers hold their memory
implicitly. ``mesakit reproduce task-diversity`` (:mod:`mesakit.experiments.task_diversity`) runs
the sweep and prints the figures.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core import metrics, models, reference
from ..core.tasks import RegressionTask
from ..core.train import History
from ..incontext.lsa import EVAL_SEED, LR_SEED
from . import bayes
from .diversity import LSAWithReadout, TaskPool, train_on_pool

NUM_TASKS: tuple[int | None, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, None)  # None: fresh tasks every prompt
STEPS = 2000  # Adam steps per pool size (batch 256, lr 2e-3)
BATCH_SIZE = 256
TOLERANCE = 0.1  # "as good as GD": within 10% of one tuned GD step on new tasks
EVAL_PROMPTS = 10_000
POOL_SEED_OFFSET = 1000  # the pool of run `seed` is TaskPool(task, M, seed + POOL_SEED_OFFSET)
MEMORIZER = "diversity_m1"  # shipped: trained on a single task (ignores its context)
IN_CONTEXT_LEARNER = "diversity_fresh"  # shipped: trained on fresh tasks (one GD step in context)


def pool_for(num_tasks: int | None, seed: int = 0, task: RegressionTask = RegressionTask()) -> TaskPool:
    """The pool that run ``seed`` trains the size-``num_tasks`` model on (also its evaluation pool)."""
    return TaskPool(task, num_tasks, seed=seed + POOL_SEED_OFFSET)


def pretrained_name(num_tasks: int | None) -> str:
    """Checkpoint name of the shipped model for a pool size: ``diversity_m4``, ``diversity_fresh``."""
    return IN_CONTEXT_LEARNER if num_tasks is None else f"diversity_m{num_tasks}"


def num_tasks_seen(pool_sizes, steps: int = STEPS) -> list[int]:
    """Pool sizes as numbers: the fresh-task run (``None``) saw ``steps × BATCH_SIZE`` tasks."""
    return [steps * BATCH_SIZE if m is None else m for m in pool_sizes]


def train_one(
    num_tasks: int | None, seed: int = 0, steps: int = STEPS, progress: bool = True
) -> tuple[LSAWithReadout, History]:
    """The sweep's model for one pool size; returns ``(model, history)`` (seeds itself)."""
    return train_on_pool(pool_for(num_tasks, seed), seed=seed, steps=steps, batch_size=BATCH_SIZE, progress=progress)


def train_sweep(
    seed: int = 0, steps: int = STEPS, progress: bool = True, num_tasks: tuple[int | None, ...] = NUM_TASKS
) -> tuple[dict[int | None, LSAWithReadout], float]:
    """Train one model per pool size; returns ``({M: model}, total training seconds)``."""
    trained, seconds = {}, 0.0
    for m in num_tasks:
        model, history = train_one(m, seed, steps, progress)
        trained[m], seconds = model, seconds + history.seconds
    return trained, seconds


def evaluate(
    trained: dict[int | None, torch.nn.Module],
    seed: int = 0,
    task: RegressionTask = RegressionTask(),
    n_prompts: int = EVAL_PROMPTS,
) -> dict:
    """Loss of each model on new tasks and on its own pool, one tuned GD step on new tasks, and
    (for the widget) the RMS size of each path's prediction. Keys follow the pool sizes' order.

    Also the Bayes-optimal yardsticks of Raventós et al. (:mod:`mesakit.emergence.bayes`, assumed noise
    variance ``bayes.ASSUMED_NOISE``): ``ridge_loss`` on new tasks, and per pool size
    ``dmmse_fresh`` / ``dmmse_pool`` (``None`` for the fresh-task run, which has no pool)."""
    lr = reference.best_gd_lr(task, steps=1, seed=LR_SEED)
    Z, y = task.sample(n_prompts, seed=EVAL_SEED)
    out: dict = {
        "pool_sizes": list(trained),
        "loss_fresh": [],
        "loss_pool": [],
        "lsa_rms": [],
        "memory_rms": [],
        "dmmse_fresh": [],
        "dmmse_pool": [],
    }
    with torch.no_grad():
        out["gd_loss"] = metrics.loss(reference.gd_predict(Z, lr), y).item()
        out["ridge_loss"] = metrics.loss(bayes.ridge_predict(Z), y.double()).item()
        for m, model in trained.items():
            pool = pool_for(m, seed, task)
            Zp, yp = pool.sample(n_prompts, torch.Generator().manual_seed(EVAL_SEED))
            out["loss_fresh"].append(metrics.loss(model(Z), y).item())
            out["loss_pool"].append(metrics.loss(model(Zp), yp).item())
            fresh_pool = pool.weights is None
            out["dmmse_fresh"].append(
                None if fresh_pool else metrics.loss(bayes.dmmse_predict(Z, pool.weights), y.double()).item()
            )
            out["dmmse_pool"].append(
                None if fresh_pool else metrics.loss(bayes.dmmse_predict(Zp, pool.weights), yp.double()).item()
            )
            if hasattr(model, "paths"):
                lsa, memory = model.paths(Z)
                out["lsa_rms"].append(lsa.pow(2).mean().sqrt().item())
                out["memory_rms"].append(memory.pow(2).mean().sqrt().item())
    out["gd_lr"] = lr
    return out


def load_pretrained_sweep() -> dict[int | None, LSAWithReadout]:
    """The shipped seed-0 sweep, ``{M: model}`` in the order of :data:`NUM_TASKS` (no training)."""
    return {m: models.load_pretrained(pretrained_name(m)) for m in NUM_TASKS}


def _builder(num_tasks: int | None) -> Callable[[], LSAWithReadout]:
    return lambda: train_one(num_tasks, seed=0, steps=STEPS, progress=False)[0]


# Shipped checkpoints made here (name -> zero-argument builder), rebuilt by `make pretrained`: the
# seed-0 sweep, one model per pool size (each builder trains only its own).
PRETRAINED = {pretrained_name(m): _builder(m) for m in NUM_TASKS}
