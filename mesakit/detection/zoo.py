"""A labelled zoo of in-context models for scoring the detector of lesson 06.

Each :class:`ZooEntry` names a shipped checkpoint (``mesakit/pretrained/zoo_<name>.pt``), says
whether the model is a mesa optimizer (``positive``: its forward pass runs a learning algorithm on
the context) and which task its prompts come from, and sits in one of two halves by family:
``design`` (the families the detector's signals were designed on) and ``holdout`` (whole families
looked at only to report the result).

Positives: trained linear self-attention (LSA), the exact GD construction, weight-tied multi-step
LSA, partially trained LSA, LSA on other task sizes; and, held out by family, a two-layer LSA,
exact least squares and ridge, conjugate gradient and Newton (:mod:`mesakit.detection.solvers`) and softmax
transformers trained on in-context regression (:mod:`mesakit.detection.transformer`), one of them with a
fixed context length. Negatives: random weights, a query-only MLP, models fit to one fixed task,
memorisers, context-using non-optimizers (nearest neighbour, averaging or copying the context's
labels, a random set network), and transformers trained on one task, on a pool of 4 tasks, or not
at all, and an untrained MLP over the flattened prompt. The halves are split by ``family``: see
:data:`ZOO`. The hand-made classes are defined in :mod:`mesakit.detection.baselines` (re-exported here, and
registered with :mod:`mesakit.core.models` when this module is imported); how each checkpoint is made is
:data:`mesakit.detection.builders.BUILDERS`. Planners (lesson 05) are not in this zoo.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core import models
from ..core.tasks import RegressionTask

# The hand-made classes live in .baselines; importing this module registers them, which the shipped
# zoo checkpoints rely on (they record this module as their class's home), and `zoo.<Class>` keeps working.
from .baselines import (
    FlatMLP,
    FlatMLPConfig,
    KernelConfig,
    KernelSmoother,
    LabelAverage,
    LabelAverageConfig,
    MLPConfig,
    NearestNeighbour,
    NearestNeighbourConfig,
    QueryMLP,
    SetMLP,
)


@dataclass(frozen=True)
class ZooEntry:
    name: str  # checkpoint mesakit/pretrained/zoo_<name>.pt
    positive: bool  # True: a mesa optimizer (runs a learning algorithm on its context)
    family: str  # what kind of model, in a few words
    half: str  # "design" or "holdout"
    task: RegressionTask = RegressionTask()  # where its prompts come from
    fixed_task_seed: int | None = None  # prompts share one w drawn with this seed (fixed-task models)
    pool: tuple[int, int] | None = None  # (size, seed): prompts use tasks from a finite pool (memorisers)
    note: str = ""  # how it was made

    def prompts(self, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` prompts from the task this model was trained on: ``(Z, y_q)``."""
        generator = torch.Generator().manual_seed(seed)
        if self.fixed_task_seed is not None:
            w = fixed_task(self.task, self.fixed_task_seed).expand(batch, -1)
            return self.task.sample(batch, generator, w=w.contiguous())
        if self.pool is not None:
            pool = task_pool(self.task, *self.pool)
            pick = torch.randint(len(pool), (batch,), generator=generator)
            return self.task.sample(batch, generator, w=pool[pick])
        return self.task.sample(batch, generator)


def fixed_task(task: RegressionTask, seed: int) -> torch.Tensor:
    """The one task vector ``w (1, d)`` that fixed-task models are fit to."""
    return task.sample_w(1, torch.Generator().manual_seed(seed))


def task_pool(task: RegressionTask, size: int, seed: int) -> torch.Tensor:
    """A finite pool of ``size`` task vectors ``(size, d)`` (memorisers are trained on it)."""
    return task.sample_w(size, torch.Generator().manual_seed(seed))


SMALL_TASK = RegressionTask(d=5, n_context=20)
# Two halves by FAMILY, not by seed: the signals, questions, gate and threshold were designed on the
# design families; the holdout families (other optimizers, softmax transformers, fixed-context-length
# models) are only ever used to report. (The gate's ramp was set with a development transformer
# trained on another seed, not one of the zoo's.)
ZOO: tuple[ZooEntry, ...] = (
    # positives, design families. The partly trained LSAs are positives by lesson 03's criterion: their
    # sensitivity cosine with one GD step is >= 0.9 (the optimizer has appeared; its step is still small).
    # LSAs stopped earlier (300 steps: cosine ~0.72) are left out: by that criterion not yet optimizers,
    # yet already learning from their context — no crisp label.
    ZooEntry("lsa_trained", True, "trained LSA", "design", note="one LSA layer, Adam 3,000 steps (lesson 02)"),
    ZooEntry("lsa_trained_seed1", True, "trained LSA", "design", note="another seed"),
    ZooEntry("lsa_small_task", True, "trained LSA", "design", task=SMALL_TASK, note="d = 5, N = 20"),
    ZooEntry(
        "gd_construction",
        True,
        "exact GD construction",
        "design",
        note="reference.gd_construction at the tuned step size",
    ),
    ZooEntry(
        "gd_construction_3step",
        True,
        "exact GD construction",
        "design",
        note="three tied GD steps at a smaller step size",
    ),
    ZooEntry("tied_multistep", True, "weight-tied multi-step LSA", "design", note="multistep.train_tied, K in 1..4"),
    ZooEntry(
        "lsa_partial",
        True,
        "partially trained LSA",
        "design",
        note="one LSA layer after 600 Adam steps (of the ~1,000 it needs)",
    ),
    ZooEntry("lsa_partial_early", True, "partially trained LSA", "design", note="one LSA layer after 500 Adam steps"),
    # negatives, design families
    ZooEntry("lsa_random", False, "random weights", "design", note="an untrained LSA (init std 0.02)"),
    ZooEntry("lsa_random_large", False, "random weights", "design", note="an untrained LSA (init std 0.3)"),
    ZooEntry(
        "set_mlp_random", False, "random weights", "design", note="an untrained set network that reads the context"
    ),
    ZooEntry("query_mlp", False, "query-only MLP", "design", note="MLP on x_q trained on the default task"),
    ZooEntry(
        "lsa_fixed_task",
        False,
        "fit to one fixed task",
        "design",
        fixed_task_seed=7,
        note="LSA trained on prompts that all share one w",
    ),
    ZooEntry(
        "query_mlp_fixed_task",
        False,
        "fit to one fixed task",
        "design",
        fixed_task_seed=11,
        note="query-only MLP trained on one w",
    ),
    ZooEntry(
        "nearest_neighbour", False, "context-using non-optimizer", "design", note="label of the nearest context input"
    ),
    ZooEntry(
        "nearest_neighbour_3",
        False,
        "context-using non-optimizer",
        "design",
        note="mean label of the 3 nearest context inputs",
    ),
    ZooEntry("label_average", False, "context-using non-optimizer", "design", note="mean of the context labels"),
    ZooEntry(
        "copy_last_label", False, "context-using non-optimizer", "design", note="label of the last context example"
    ),
    ZooEntry(
        "memorizer_m2",
        False,
        "memorizer",
        "design",
        pool=(2, 2024),
        note="lesson 03's LSAWithReadout trained on a pool of 2 tasks",
    ),
    ZooEntry(
        "memorizer_m8",
        False,
        "memorizer",
        "design",
        pool=(8, 2025),
        note="lesson 03's LSAWithReadout trained on a pool of 8 tasks",
    ),
    # holdout families
    ZooEntry("lsa_2layer", True, "two-layer LSA", "holdout", note="two distinct LSA layers trained together"),
    ZooEntry(
        "least_squares",
        True,
        "exact least squares / ridge",
        "holdout",
        note="solvers.RidgeSolver, λ = 0 (minimum-norm least squares)",
    ),
    ZooEntry("ridge", True, "exact least squares / ridge", "holdout", note="solvers.RidgeSolver, λ = 0.1"),
    ZooEntry(
        "conjugate_gradient",
        True,
        "conjugate gradient / Newton",
        "holdout",
        note="3 conjugate-gradient steps on the normal equations",
    ),
    ZooEntry(
        "newton",
        True,
        "conjugate gradient / Newton",
        "holdout",
        note="2 damped Newton steps (0.7) on ridge-regularised least squares",
    ),
    ZooEntry(
        "transformer_1layer",
        True,
        "softmax transformer",
        "holdout",
        note="1 encoder layer trained on fresh tasks (Garg et al. 2022)",
    ),
    ZooEntry(
        "transformer_2layer", True, "softmax transformer", "holdout", note="2 encoder layers trained on fresh tasks"
    ),
    ZooEntry(
        "transformer_4layer", True, "softmax transformer", "holdout", note="4 encoder layers trained on fresh tasks"
    ),
    ZooEntry(
        "transformer_fixed_task",
        False,
        "softmax transformer",
        "holdout",
        fixed_task_seed=13,
        note="2 layers trained on one fixed task",
    ),
    ZooEntry(
        "transformer_memorizer",
        False,
        "softmax transformer",
        "holdout",
        pool=(4, 2026),
        note="2 layers trained on a pool of 4 tasks",
    ),
    ZooEntry("transformer_untrained", False, "softmax transformer", "holdout", note="2 layers, untrained"),
    ZooEntry(
        "transformer_fixed_length",
        True,
        "fixed-context-length model",
        "holdout",
        note="2 layers with a positional table for N = 10 only, trained on fresh tasks",
    ),
    ZooEntry(
        "flat_mlp_random",
        False,
        "fixed-context-length model",
        "holdout",
        note="an untrained MLP over the flattened prompt (N = 10 only)",
    ),
)


def entries(half: str | None = None, *, positive: bool | None = None) -> list[ZooEntry]:
    """The zoo's entries, optionally one half (``"design"`` / ``"holdout"``) or one label."""
    if half not in (None, "design", "holdout"):
        raise ValueError(f"half must be 'design', 'holdout' or None, got {half!r}")
    return [e for e in ZOO if (half is None or e.half == half) and (positive is None or e.positive == positive)]


def entry(name: str) -> ZooEntry:
    for e in ZOO:
        if e.name == name:
            return e
    raise KeyError(f"no zoo model {name!r}; the zoo holds: {', '.join(e.name for e in ZOO)}")


def load(name: str) -> nn.Module:
    """The shipped model of zoo entry ``name`` (in eval mode)."""
    entry(name)
    return models.load_pretrained(f"zoo_{name}")
