"""``mesakit reproduce multistep``: a weight-tied LSA, iterated K times, tracks K steps of GD.

During training each batch uses an iteration count K drawn from 1..4, so one set of weights must
serve every K. At test we run K = 1..8 and compare with K steps of gradient descent, each with its
own line-searched step size. Past the trained range the undamped model can diverge (reported as
``null`` in the JSON), which is itself a lesson: the mesa optimizer was only shaped where it was trained.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .. import metrics, models, reference
from ..tasks import RegressionTask
from ..train import TrainConfig, train
from .lsa_gd import EVAL_SEED, LR_SEED

TRAIN_K = (1, 2, 3, 4)
TEST_K = tuple(range(1, 9))
LR_PROMPTS = 2000  # prompts for each K's step-size line search (10,000 made it the slow part of the run)


def train_tied(seed: int = 0, steps: int = 3000, progress: bool = True, task: RegressionTask = RegressionTask()):
    """Train a weight-tied LSA with K drawn from ``TRAIN_K`` each step; returns ``(model, history)``."""
    torch.manual_seed(seed)
    model = models.LinearSelfAttention(models.LSAConfig(d=task.d, iterations=max(TRAIN_K)))

    def forward(model, Z, generator):
        k = TRAIN_K[int(torch.randint(len(TRAIN_K), (1,), generator=generator))]
        return model(Z, iterations=k)

    history = train(model, task.sample, TrainConfig(steps=steps, seed=seed, progress=progress), forward=forward)
    return model, history


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    task = RegressionTask()
    model, history = train_tied(seed, steps or 3000, progress, task)
    if save:
        models.save(model, save)
    Z, y = task.sample(10_000, seed=EVAL_SEED)
    loss_by_k, gd_loss_by_k = [], []
    with torch.no_grad():
        for k in TEST_K:
            value = metrics.loss(model(Z, iterations=k), y).item()
            loss_by_k.append(value if math.isfinite(value) else None)
            lr = reference.best_gd_lr(task, steps=k, n_prompts=LR_PROMPTS, seed=LR_SEED)
            gd_loss_by_k.append(metrics.loss(reference.gd_predict(Z, lr, k), y).item())
    return {"k": list(TEST_K), "trained_k": list(TRAIN_K), "loss_by_k": loss_by_k,
            "gd_loss_by_k": gd_loss_by_k, "train_seconds": history.seconds}  # fmt: skip


PRETRAINED = "lsa_tied"  # mesakit.models.load_pretrained(PRETRAINED): the model `run()` trains with seed 0


def write_pretrained(folder: Path) -> Path:
    """Train the shipped weight-tied checkpoint (seed 0, 3,000 steps, K in 1..4) and write
    ``folder/lsa_tied.pt`` (its config has ``iterations=4``; pass ``iterations=k`` to vary K)."""
    model, _ = train_tied(seed=0, steps=3000, progress=False)
    return models.save(model, Path(folder) / f"{PRETRAINED}.pt")


def describe(r: dict) -> str:
    lines = ["Weight-tied LSA iterated K times vs K steps of GD (trained with K in 1..4)",
             "   K   LSA loss   GD loss"]  # fmt: skip
    for k, a, b in zip(r["k"], r["loss_by_k"], r["gd_loss_by_k"]):
        shown = f"{a:8.4f}" if a is not None else "diverged"
        lines.append(f"  {k:2d}   {shown}   {b:7.4f}" + ("" if k in r["trained_k"] else "   (beyond training)"))
    lines.append(f"  training time {r['train_seconds']:.1f} s")
    return "\n".join(lines)
