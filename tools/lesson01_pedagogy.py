"""Lesson 01, issue 15: difficulty and minutes on every exercise, layered help (Hint 1 names the
idea, Hint 2 narrows it, the code only in a separate Solution dropdown, which the release replaces
by a pointer to solutions/), and two Think! moments with collapsed answers.

Idempotent (cells are found by id; a second run changes nothing):

    .venv/bin/python tools/lesson01_pedagogy.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pedagogy import (  # noqa: E402
    apply_replacements,
    help_cell,
    insert_think,
    read,
    require,
    set_levels,
    set_sources,
    think_targets,
    write,
)

PATH = Path(__file__).resolve().parent.parent / "solutions/01_base_and_mesa/01_base_and_mesa.ipynb"


# exercise heading cell id -> (difficulty 1-3, minutes)
LEVELS = {"cell-004": (2, 10), "cell-008": (1, 5), "cell-017": (2, 10), "cell-026": (2, 10), "cell-039": (1, 10)}

HELP = {
    "cell-007": help_cell(
        "Differentiate one term first. With the residual $r_i = w \\cdot x_i - y_i$, the term is "
        "$\\frac{1}{2} r_i^2$; the chain rule gives $r_i \\cdot \\partial r_i / \\partial w$. What is "
        "$\\partial r_i / \\partial w$?",
        "Each example contributes (residual) × (its input), a vector of length d; the loss is an "
        "*average* over the N examples, so average those vectors (sum over the `N` axis, divide by N). "
        "Work out the residuals for all B·N examples at once first: shape `(B, N)`.",
        'residual = torch.einsum("bnd,bd->bn", x, w) - y  # (B, N)\n'
        'return torch.einsum("bn,bnd->bd", residual, x) / x.shape[1]',
    ),
    "cell-011": help_cell(
        "Gradient descent is a loop of identical updates, each a small move against the gradient.",
        "Start from zeros of shape `(B, d)` (same dtype as `x`), and make exactly `steps` updates "
        "$w \\leftarrow w - \\eta \\nabla L(w)$, each with the gradient at the *current* w. With "
        "`steps = 0` you return the starting point.",
        "w = torch.zeros(x.shape[0], x.shape[2], dtype=x.dtype)\n"
        "for _ in range(steps):\n"
        "    w = w - lr * least_squares_gradient(w, x, y)\n"
        "return w",
    ),
    "cell-020": help_cell(
        "The model must learn only from what the prompt shows it: which rows of `Z` are training "
        "examples, and which entry must never be used as a label?",
        "Slice `Z` into the context inputs (B, N, d), the context labels (B, N) and the query input "
        "(B, d): all rows but the last, and the last row. Fit `w` on the context with your "
        "`gradient_descent`, then predict with a dot product per prompt.",
        "x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]\n"
        "w = gradient_descent(x, y, lr, K)\n"
        "return (w * x_q).sum(dim=-1)",
    ),
    "cell-029": help_cell(
        "This is an ordinary training run: a model, a config, the course's `train` loop. The step "
        "sizes you need are in the history's snapshots.",
        "`HandBuiltMesaOptimizer(HandBuiltConfig(steps=K, init_lr=init_lr))`; a `TrainConfig` with "
        "plain SGD, the given step count, learning rate and seed, batch size 256, a snapshot after "
        "every step and no progress bar. Each snapshot is `(step, state_dict)`; the step size is the "
        '0-d tensor `state_dict["lr"]`. Put `init_lr` first in the list.',
        "model = HandBuiltMesaOptimizer(HandBuiltConfig(d=task.d, steps=K, init_lr=init_lr))\n"
        'config = TrainConfig(steps=steps, batch_size=256, lr=base_lr, optimizer="sgd", seed=seed,\n'
        "                     snapshot_every=1, progress=False)\n"
        "history = train(model, task.sample, config)\n"
        'return model, [init_lr] + [state["lr"].item() for _, state in history.snapshots]',
    ),
    "cell-042": (
        "<details><summary>Hint 1</summary>\n\n"
        "For each scenario ask three questions. *What changed the system from the outside?* (base "
        "optimizer). *By what score was it judged while that happened?* (base objective). *When the "
        "finished system runs, what does it itself try to achieve — if it tries to achieve anything?* "
        "(mesa objective).\n</details>\n\n"
        "<details><summary>Hint 2</summary>\n\n"
        "Settle the mesa objective last, in two steps: first, does the finished system search, plan "
        "or iterate when it runs, or does it compute one fixed formula? A fixed formula has no mesa "
        "objective. If it does search, look at what it pursues *outside* training (the scenario "
        "usually tells you): a goal that merely coincided with the score during training is still its "
        "goal. A wrong answer's message explains why that option is wrong; after two different misses "
        "on one question, it gives the answer and the reason.\n</details>"
    ),
}

THINK = {
    # new cell id: (insert before this cell id, text)
    "think-01": (
        "cell-022",
        """**🤔 Predict, then run.** The next cell scores the model on 2,000 prompts for K = 0, 1, 2, 5, 10
and 20 inner steps (η = 0.5). Before you run it: what does the model predict with **K = 0**, and
roughly what loss does that give? (Each $x$ entry is uniform on [−1, 1], so $E[x_j^2] = 1/3$, and
$w_\\star \\sim N(0, I_{10})$.) Will the loss reach 0 by K = 20?

<details><summary>Answer</summary>

With no inner step $w$ stays 0, so every prediction is 0 and the loss is
$\\frac{1}{2}E[y_q^2] = \\frac{1}{2}\\, d \\cdot \\frac{1}{3} \\approx 1.67$ (about 1.6 on these
2,000 prompts). More steps lower it, but not to 0 by K = 20, although ten noise-free examples do
determine a 10-dimensional $w_\\star$ exactly: gradient descent moves fast along the steep
directions of the context's loss bowl and very slowly along its flat ones (with N = d the smallest
curvature is often near 0), so it needs far more than 20 steps of size 0.5 to get there.
</details>""",
    ),
    "think-02": (
        "cell-034",
        """**🤔 Think first.** SGD chose η to make the *query* loss small. After one inner step, is that also
the η that makes the *context* loss smallest — or will the two best step sizes differ? If they
differ, which objective do you expect the trained model to follow?

<details><summary>Answer</summary>

They differ: the context loss after one step and the query loss are different functions of η, so
their minima need not coincide (the plot below shows where each one is). The trained η sits at the
query loss's minimum, because that is the only objective the base optimizer ever sees; the inner
step, in turn, only ever sees the context. This gap between what the outer loop rewards and what
the inner loop optimizes is the seed of objective divergence (lesson 04).
</details>""",
    ),
}


# (cell id, old text, new text): sentence-level edits, skipped once applied.
REPLACE = [
    # the Time line is written by tools/lesson_times.py (one estimate for the lesson and the README)
    (
        "cell-039",
        "scenario, each worth a quarter of the exercise: it tells you which field of that scenario is not\n"
        "yet right, without revealing the answer.",
        "scenario, each worth a quarter of the exercise. A wrong answer gets the reason *that* option is\n"
        "wrong, without naming the right one; a second, different miss on the same question gives the answer\n"
        "and its reason, so think before you retry.",
    ),
]


def main() -> None:
    nb = read(PATH)
    apply_replacements(nb, REPLACE)
    require(nb, set(LEVELS) | set(HELP) | think_targets(THINK), PATH)
    set_levels(nb, LEVELS)
    set_sources(nb, HELP)
    insert_think(nb, THINK)
    write(nb, PATH)


if __name__ == "__main__":
    main()
