"""``mesakit reproduce lsa-gd``: one LSA layer trained on in-context regression learns one step
of gradient descent (von Oswald et al. 2022, "Transformers learn in-context by gradient descent").

Measured on fresh prompts (never seen in training): the trained model's loss beside one GD step
with the line-searched best step size, the cosine between their sensitivities ∂ŷ/∂x_q and the RMS
difference of their predictions. The official code trains 5,000 steps at batch 2,048; we train
3,000 at batch 512 (seconds on one core) and land within a percent or two of GD.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .. import metrics, models, reference
from ..tasks import RegressionTask
from ..train import TrainConfig, train

EVAL_PROMPTS = 10_000
EVAL_SEED = 10_007  # evaluation prompts: a seed the training generator never uses
LR_SEED = 20_011  # prompts for the step-size line search


def train_lsa(seed: int = 0, steps: int = 3000, progress: bool = True, task: RegressionTask = RegressionTask()):
    """Train a fresh one-layer LSA on ``task``; returns ``(model, history)``."""
    torch.manual_seed(seed)  # the initial weights
    model = models.LinearSelfAttention(models.LSAConfig(d=task.d))
    history = train(model, task.sample, TrainConfig(steps=steps, seed=seed, progress=progress, snapshot_every=max(steps // 30, 1)))
    return model, history


def evaluate(model, task: RegressionTask = RegressionTask(), n_prompts: int = EVAL_PROMPTS) -> dict:
    """The figures of the paper's comparison, on ``n_prompts`` fresh prompts."""
    lr = reference.best_gd_lr(task, steps=1, seed=LR_SEED)
    Z, y = task.sample(n_prompts, seed=EVAL_SEED)
    gd = lambda Z: reference.gd_predict(Z, lr)  # noqa: E731
    with torch.no_grad():
        model_loss = metrics.loss(model(Z), y).item()
        gd_loss = metrics.loss(gd(Z), y).item()
    return {
        "model_loss": model_loss,
        "gd_loss": gd_loss,
        "gd_lr": lr,
        "sensitivity_cosine": metrics.sensitivity_cosine(model, gd, Z),
        "prediction_diff": metrics.prediction_diff(model, gd, Z),
    }


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    model, history = train_lsa(seed, steps or 3000, progress)
    if save:
        models.save(model, save)
    return {**evaluate(model), "train_seconds": history.seconds}


def learned_step_size(W_KQ: torch.Tensor, W_PV: torch.Tensor) -> float:
    """The GD step size η an LSA layer implements, read off its weights ``(d+1, d+1)`` each.

    The prediction's GD-like term is ``-W_PV[d, d] · (1/N Σ y_i x_i)ᵀ W_KQ[:d, :d] x_q``; with
    ``W_KQ[:d, :d] ≈ a·I`` (what training finds) that is one GD step of size ``η = -W_PV[d, d]·a``.
    """
    if W_KQ.dim() != 2 or W_KQ.shape != W_PV.shape or W_KQ.shape[0] != W_KQ.shape[1]:
        raise ValueError(f"expected two (d+1, d+1) matrices, got {tuple(W_KQ.shape)} and {tuple(W_PV.shape)}")
    d = W_KQ.shape[0] - 1
    return (-W_PV[d, d] * torch.diagonal(W_KQ[:d, :d]).mean()).item()


PRETRAINED = "lsa_1layer"  # mesakit.models.load_pretrained(PRETRAINED): the model `run()` trains with seed 0


def write_pretrained(folder: Path) -> Path:
    """Train the shipped checkpoint (seed 0, 3,000 steps) and write ``folder/lsa_1layer.pt``.

    Regenerate the one in the package with
    ``python -c "from pathlib import Path; from mesakit.experiments import lsa_gd; lsa_gd.write_pretrained(Path('mesakit/pretrained'))"``.
    """
    model, _ = train_lsa(seed=0, steps=3000, progress=False)
    return models.save(model, Path(folder) / f"{PRETRAINED}.pt")


def describe(r: dict) -> str:
    ratio = r["model_loss"] / r["gd_loss"]
    return "\n".join(
        [
            "One LSA layer vs one step of gradient descent (von Oswald et al. 2022)",
            f"  loss (0.5·MSE, {EVAL_PROMPTS:,} fresh prompts)   LSA {r['model_loss']:.4f}   "
            f"GD {r['gd_loss']:.4f} (step size {r['gd_lr']:.3f})   ratio {ratio:.3f}",
            f"  sensitivity cosine with GD     {r['sensitivity_cosine']:.4f}   (paper: ≈ 1)",
            f"  prediction difference (RMS)    {r['prediction_diff']:.4f}",
            f"  training time                  {r['train_seconds']:.1f} s",
            "  setup: d=10, N=10, x ~ U(-1,1), w ~ N(0,I); Adam lr 1e-3, batch 512 "
            "(official code: 5,000 steps at batch 2,048)",
        ]
    )
