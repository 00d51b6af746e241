"""Lesson 03, issue 15: difficulty and minutes on every exercise, layered help (Hint 1 names the
idea, Hint 2 narrows it, the code only in a separate Solution dropdown, which the release replaces
by a pointer to solutions/), two Think! moments with collapsed answers, and Exercise 3.2 graded on
understanding instead of plot formatting: the learner reads the transition off a figure of their
own sweep (no transition marked on it), and ``checks.check_transition_reading`` compares the
reading, with a tolerance, with what that sweep's numbers imply (the plot_sweep exercise and its
keyword grading are gone).

Each "### Exercise" heading moves into a cell of its own (test_pedagogy finds exercises by it).
Idempotent (cells are found by id; a second run changes nothing):

    .venv/bin/python tools/lesson03_pedagogy.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pedagogy import (  # noqa: E402
    apply_replacements,
    cells_by_id,
    exercise,
    help_cell,
    insert_think,
    read,
    require,
    set_sources,
    split,
    think_targets,
    write,
)

PATH = Path(__file__).resolve().parent.parent / "solutions/03_emergence/03_emergence.ipynb"


# heading cell id -> (cell the heading is split out of, or None if it is the heading already; marker; text)
EXERCISES = {
    "ex-1-1": (
        "cell-004",
        "### Exercise 1.1",
        exercise(
            "1.1 — the in-context gain",
            2,
            10,
            """
*Goal:* measure how much a model relies on the labels in its context. The check runs your function
on three different models (one that learns in context, one that ignores its context, a random one).""",
        ),
    ),
    "ex-2-1": (
        "cell-011",
        "### Exercise 2.1",
        exercise(
            "2.1 — sampling prompts from a finite pool",
            2,
            10,
            """
*Goal:* write the sampler that pretrains on a pool of M tasks instead of fresh ones. The check
draws thousands of prompts: every one must use a task of the pool, the tasks must be used about
equally often, and the same generator seed must give the same prompts.""",
        ),
    ),
    "ex-3-1": (
        "cell-018",
        "### Exercise 3.1",
        exercise(
            "3.1 — locate the transition",
            2,
            10,
            """
*Goal:* find the smallest pool from which the model is as good as GD on new tasks — for good.""",
        ),
    ),
    "cell-022": (
        None,
        "### Exercise 3.2",
        exercise(
            "3.2 — read the transition off your sweep",
            2,
            10,
            """
*Goal:* interpret the sweep rather than compute it. The next cell draws your `sweep`: each model's
loss on **new** tasks and on **its own pool's** tasks against the pool size M (a log x-axis; the
y-axis is linear and zoomed in around GD's loss, so that 10% is a visible distance), one GD step's
loss as a dashed line, and a shaded band from it to 10% above it. It does not mark the transition. Read off the figure the pool size M from which the model is within 10% of GD on new
tasks **for good** (at that pool and every larger one), and set `transition_read` to it: a number
from the x-axis, or `None` if there is no such pool. Don't call `locate_transition`: read the
figure. The check compares your reading with what your sweep's numbers imply, with a tolerance (a
reading between two ticks can be right), and tells you what your reading misses.""",
        ),
    ),
}

HELP = {
    "cell-007": help_cell(
        "Break the context without touching anything else: give each prompt another prompt's context "
        "labels, then compare the model's loss on the broken prompts with its loss on the true ones.",
        "Work on a copy of `Z` (never write into the caller's tensor). The context labels are the "
        "context rows' last column; rolling them by one along the *batch* axis gives every prompt the "
        "previous prompt's labels. Both losses with `metrics.loss(..., y)` under `torch.no_grad()`; "
        "return shuffled minus true as a Python float.",
        "with torch.no_grad():\n"
        "    shuffled = Z.clone()\n"
        "    shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)\n"
        "    return (metrics.loss(model(shuffled), y) - metrics.loss(model(Z), y)).item()",
    ),
    "cell-014": help_cell(
        "Two random choices per prompt: which task of the pool, then its inputs. `task.sample` already "
        "does the second when you hand it the task vectors.",
        "Draw one task index per prompt, uniformly from the M tasks, with the given `generator` (a "
        "`(batch,)` tensor of integers); indexing `pool_w` with it gives the `(batch, d)` task vectors "
        "that `task.sample(batch, generator, w=...)` expects.",
        "pick = torch.randint(len(pool_w), (batch,), generator=generator)\n"
        "return task.sample(batch, generator, w=pool_w[pick])",
    ),
    "cell-021": help_cell(
        '"For good" means the answer depends on every pool to the right of it: it is easiest to walk '
        "the sweep from the largest pool down.",
        "Going from the largest pool to the smallest, remember the last pool that was within "
        "`(1 + tolerance) * gd_loss` (a value exactly on the threshold counts as within), and stop at "
        "the first one that is not. Return the remembered pool size (an element of `num_tasks`, not its "
        "index), or `None` if even the largest pool is outside.",
        "found = None\n"
        "for m, value in zip(reversed(num_tasks), reversed(loss_fresh)):\n"
        "    if value > (1 + tolerance) * gd_loss:\n"
        "        break\n"
        "    found = m\n"
        "return found",
    ),
    "cell-025": help_cell(
        "Only one of the two curves says whether the model has learned to learn *new* tasks in context; "
        "the other says how well it recalls its own pool. The transition is read on the first one.",
        "Follow the new-task curve (circles) from its right end (the fresh-task run) leftwards while it "
        "stays inside the shaded band; the last point you reach before it leaves the band is the "
        "transition. Read the label of that point's tick: the axis is logarithmic, and its ticks are "
        "pool sizes, not positions. A point inside the band with a point outside it further right is a "
        "dip, not the transition.",
        "transition_read = 128  # the new-task loss is inside the band from M = 128 on (at M = 64 it is above)",
    ),
}

FIGURE = """num_tasks = pool_sweep.num_tasks_seen(sweep["pool_sizes"])  # the fresh-task run: the tasks it saw
plots.task_diversity_curves(num_tasks, sweep["loss_fresh"], sweep["loss_pool"], sweep["gd_loss"],
                            band=pool_sweep.TOLERANCE, zoom=0.5)  # a linear y-axis around GD: 10% is visible"""

FIGURE_CAPTION = """*What to look for:* two curves moving in opposite directions as M grows (at small M both leave the
zoomed-in view), and the shaded band just above GD's dashed line. Which curve tells you whether the model can learn a *new* task from its
context? Where does that curve enter the band, and does it stay there?"""

ANSWER = """# The pool size M you read off the figure above (a tick label of the x-axis), or None.
### BEGIN SOLUTION
transition_read = 128  # the new-task loss is inside the band from M = 128 on (at M = 64 it is above)
### END SOLUTION"""

ANSWER_TEST = """checks.check_transition_reading(transition_read, sweep)
### BEGIN HIDDEN TESTS
checks.check_transition_reading(transition_read, pool_sweep.evaluate(pool_sweep.load_pretrained_sweep(), n_prompts=4000))
### END HIDDEN TESTS"""

REPLACE = [
    # the Time line is written by tools/lesson_times.py (one estimate for the lesson and the README)
    (
        "title",
        "- locate the task-diversity transition in a sweep, plot it, and say what it means for where mesa\n  optimizers come from.",
        "- locate the task-diversity transition in a sweep, read it off a plot, and say what it means for\n  where mesa optimizers come from.",
    ),
    (
        "cell-009",
        'print(f"the sensitivity cosine with GD stays >= 0.9 from step {appears} on")\n',
        'print(f"the sensitivity cosine with GD stays >= 0.9 from step {appears} on")\n'
        "print(f\"loss at that step {trajectory['loss'][trajectory['step'].index(appears)]:.3f}; one GD step {gd_loss:.3f}\")\n",
    ),
    (
        "cell-026",
        "Here is the sweep, with the fresh-task run drawn one step to the right of M = 256 and the transition\n"
        "you located as a vertical line.",
        "Here is the sweep again, with the fresh-task run drawn one step to the right of M = 256 and the\n"
        "transition `locate_transition` finds as a vertical line: compare it with your reading.",
    ),
    (
        "cell-030",
        'Second, the memorizer is not "dumb": it reads its context\ntoo (to recognise the task), so it has a '
        "large in-context gain on its pool: shuffled labels fit\nnone of its stored tasks. What it does not do is *learn* a "
        "new task from the context, and its\nsensitivity does not point where GD's does:",
        "Second, a memorizer answers with its stored tasks: does that mean it ignores its\ncontext? Predict before you "
        "measure.",
    ),
]

THINK = {
    "think-03-appear": (
        "cell-009",
        """**🤔 Predict, then run.** The next cell replays the run's 30 snapshots: the loss on fresh
prompts, the in-context gain and the sensitivity cosine with one GD step. Which comes first: the
model's sensitivity turning to GD's direction (cosine ≥ 0.9), or its loss reaching GD's line? Or
both at once?

<details><summary>Answer</summary>

The direction comes first. The cell prints the step from which the cosine stays ≥ 0.9 and the loss
at that step: it is still far above one GD step's loss (printed beside it). After that the
in-context gain keeps climbing (middle panel) while the loss comes down to GD's line (left panel):
the model computes a GD-like step well before it computes a good one.
</details>""",
    ),
    "think-03-memorizer": (
        "cell-031",
        """**🤔 Predict, then run.** The next cell measures three shipped models, trained on a pool of
M = 1 task, of M = 8 tasks and on fresh tasks: the in-context gain on its own pool's prompts (how
much worse it gets when each prompt gets another prompt's context labels) and the sensitivity
cosine with GD on new tasks. The M = 1 model answers every prompt with the one task it stored. Is
its in-context gain near 0, like a model that ignores its context, or large? And its cosine?

<details><summary>Answer</summary>

Large: 3.42 for M = 1 and 2.28 for M = 8, more than the 1.35 of the model trained on fresh tasks
(printed below). A memorizer reads its context too: it checks which stored task fits the context,
and another prompt's labels fit none of them (even for M = 1: same task, but other inputs), which
throws its answer off. What it does not do is *learn* a new task from the context: its sensitivity
cosine with GD on new tasks is 0.39 (M = 1) and 0.44 (M = 8), against 0.99 for the fresh-task
model. Using the context is not the same as optimizing on it.
</details>""",
    ),
}


def graded(cell, grade_id: str, source: str, points: float | None) -> None:
    cell.source = source
    cell["id"] = grade_id
    meta = cell.metadata["nbgrader"]
    meta["grade_id"] = grade_id
    if points is not None:
        meta["points"] = points


def replace_plot_exercise(nb) -> None:
    """plot_sweep (solution) and test_plot_sweep (1 point) become the figure, its caption, the
    reading (solution) and its check (the same 1 point)."""
    by_id = cells_by_id(nb)
    if "plot_sweep" in by_id:
        graded(by_id["plot_sweep"], "transition_read", ANSWER, None)
        graded(by_id["test_plot_sweep"], "test_transition_read", ANSWER_TEST, 1.0)
    by_id = cells_by_id(nb)
    by_id["transition_read"].source, by_id["test_transition_read"].source = ANSWER, ANSWER_TEST
    if "sweep-figure" not in by_id:
        at = nb.cells.index(by_id["transition_read"])
        figure, caption = nbformat.v4.new_code_cell(FIGURE), nbformat.v4.new_markdown_cell(FIGURE_CAPTION)
        figure["id"], caption["id"] = "sweep-figure", "sweep-figure-caption"
        nb.cells[at:at] = [figure, caption]
    by_id = cells_by_id(nb)
    by_id["sweep-figure"].source, by_id["sweep-figure-caption"].source = FIGURE, FIGURE_CAPTION


def main() -> None:
    nb = read(PATH)
    for new_id, (cell_id, marker, _) in EXERCISES.items():
        if cell_id is not None:
            split(nb, cell_id, marker, new_id)
    replace_plot_exercise(nb)
    apply_replacements(nb, REPLACE)
    require(nb, set(HELP) | think_targets(THINK), PATH)
    set_sources(nb, {new_id: text for new_id, (_, _, text) in EXERCISES.items()})
    set_sources(nb, HELP)
    insert_think(nb, THINK)
    write(nb, PATH)


if __name__ == "__main__":
    main()
