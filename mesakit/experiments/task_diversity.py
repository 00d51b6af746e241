"""``mesakit reproduce task-diversity``: pretraining task diversity decides whether a model
memorizes its tasks or becomes an in-context optimizer (after Raventós et al. 2023, "Pretraining
task diversity and the emergence of non-Bayesian in-context learning for regression").

For each pool size M we train an LSA layer plus an 8-slot memory readout on prompts whose tasks
come from a pool of M task vectors, then measure its loss on the pool's tasks (``loss_pool``) and on
new tasks (``loss_fresh``) beside one tuned GD step on new tasks (``gd_loss``). The last run draws a
fresh task for every prompt; the JSON lists it with the number of tasks it saw (steps × batch size).
``transition_num_tasks`` is the smallest pool from which ``loss_fresh`` stays within 10% of GD.
The recipe and the measurements are :mod:`mesakit.emergence.sweep`.
"""

from __future__ import annotations

from pathlib import Path

from ..core import models
from ..core.seeding import seeded
from ..emergence import sweep
from ..emergence.diversity import locate_transition
from ..moved import moved_name


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    steps = steps or sweep.STEPS
    with seeded(seed, threads=1):  # the figures we quote are for one core
        trained, seconds = sweep.train_sweep(seed, steps, progress)
        figures = sweep.evaluate(trained, seed)
    if save:
        for m, model in trained.items():
            models.save(model, Path(save) / f"{sweep.pretrained_name(m)}.pt")
    num_tasks = sweep.num_tasks_seen(trained, steps)  # the fresh-task run saw a new task in every prompt
    return {
        "num_tasks": num_tasks,
        "loss_fresh": figures["loss_fresh"],
        "loss_pool": figures["loss_pool"],
        "gd_loss": figures["gd_loss"],
        "transition_num_tasks": locate_transition(
            num_tasks, figures["loss_fresh"], figures["gd_loss"], sweep.TOLERANCE
        ),
        "train_seconds": seconds,
    }


def describe(r: dict) -> str:
    gd = r["gd_loss"]
    lines = [
        "Pretraining task diversity: memorizer or in-context optimizer? (after Raventós et al. 2023)",
        f"  one tuned GD step on new tasks: loss {gd:.4f}",
        "      pool size M   loss on new tasks        loss on its pool",
    ]
    for i, (m, fresh, pool) in enumerate(zip(r["num_tasks"], r["loss_fresh"], r["loss_pool"])):
        label = f"fresh ({m:,})" if i == len(r["num_tasks"]) - 1 and sweep.NUM_TASKS[-1] is None else f"{m:,}"
        lines.append(f"  {label:>15}   {fresh:7.4f} ({fresh / gd:5.2f}× GD)   {pool:7.4f} ({pool / gd:5.3f}× GD)")
    t = r["transition_num_tasks"]
    lines.append(
        f"  transition (new-task loss stays within {sweep.TOLERANCE:.0%} of GD): "
        + (f"M = {t:,}" if t else "not reached")
    )
    lines.append(f"  training time {r['train_seconds']:.1f} s ({len(r['num_tasks'])} models)")
    lines.append(
        f"  setup: d=10, N=10, LSA + 8-slot memory readout, Adam lr 2e-3, batch {sweep.BATCH_SIZE} (paper: a transformer)"
    )
    return "\n".join(lines)


def __getattr__(name: str) -> object:  # 0.1's names of the recipe, now in mesakit.emergence.sweep
    return moved_name(__name__, name)
