"""Lesson 04, issue 15: difficulty and minutes on every exercise, layered help (Hint 1 names the
idea, Hint 2 narrows it, the code only in a separate Solution dropdown, which the release replaces
by a pointer to solutions/), exercise 1.3 turned into a derivation (the formula for the critical
step is no longer given), and four Think! moments with collapsed answers.

Idempotent (cells are found by id; a second run changes nothing):

    .venv/bin/python tools/lesson04_pedagogy.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pedagogy import apply_replacements, finish_with_solution_help, read, split  # noqa: E402

PATH = Path(__file__).resolve().parent.parent / "solutions/04_objective_divergence/04_objective_divergence.ipynb"


# Exercise headings that sit inside a longer cell: split them off into a cell of their own, so every
# exercise starts with its heading. (cell id, new id of the heading cell)
SPLIT_HEADINGS = [("cell-002", "ex-1-1"), ("cell-011", "ex-2-1"), ("cell-024", "ex-3-1")]

# exercise heading cell id -> (difficulty 1-3, minutes)
LEVELS = {
    "ex-1-1": (1, 10),
    "capability-0": (2, 10),
    "capability-4": (3, 15),
    "ex-2-1": (2, 10),
    "cell-015": (1, 10),
    "ex-3-1": (2, 10),
}

# help cell id -> (grade id of the exercise, hint 1, hint 2)
HELP = {
    "cell-005": (
        "shift_losses",
        "Three predictors, one loss, the same rescaled prompts. Only GD needs work: give it a step size "
        "tuned for the new scale, as lesson 02 tuned one for scale 1, so that it is a fair baseline.",
        "Build one `RegressionTask(x_scale=scale)` and use it twice: to sample `Z, y` (with `n_prompts` "
        "and `seed`) and for the line search `reference.best_gd_lr(..., seed=LR_SEED)`. Score each "
        "prediction with `metrics.loss(prediction, y).item()` (0.5·MSE); run the model under "
        "`torch.no_grad()`. Use the `model` you are given, not the notebook's `lsa`: the check passes "
        "you more than one model.",
    ),
    "capability-3": (
        "context_losses",
        "Both numbers are one function, the context's loss L(w), evaluated at two points: w = 0 and "
        "w₁. Write L once for a batch of weights `(B, d)` and call it twice.",
        "The context is every row but the last: inputs are the first d columns, labels the last one. "
        "`(1/N) Σ y_i x_i` is an einsum over the N context rows divided by N (not N + 1); the residuals "
        "`w·x_i − y_i` are another einsum. L is half the *mean* over the N pairs, one value per prompt: "
        "shape `(B,)`.",
    ),
    "capability-7": (
        "critical_step",
        "Look at `L(η·g) − L(0)` as a function of η alone. Expand the square: it is a polynomial in η "
        "of degree 2 with no constant term, so it is 0 at η = 0 and at exactly one other η.",
        "In `L(η·g) = 1/(2N) Σ_i (η g·x_i − y_i)²` the term linear in η has coefficient "
        "`−(1/N) Σ_i y_i (g·x_i)`, which is `−‖g‖²` by the definition of g; the term in η² has "
        "coefficient `½·(1/N) Σ_i (g·x_i)²`, the curvature of L along g. Set the difference to 0 and "
        "divide by η. Test your formula on the 1-D example in the exercise before you code it.",
    ),
    "cell-014": (
        "pursued_goal",
        "Order matters: the answer is the goal the agent reaches *first*, so walk the positions one by "
        "one and stop at the first goal. `episode.got_coin` cannot tell you the order.",
        "The right edge is column `width − 1`, where `level.shape` is `(height, width)`: levels need not "
        "be square. Decide before the loop whether the edge counts at all (not when the coin's own "
        "column is the right edge). If the walk ends without reaching a goal, the answer is "
        '`"neither"`.',
    ),
    "cell-018": (
        "goal_rates",
        "A tally: play each level once, classify the episode, count, divide. The subtle part is the "
        "randomness: one random stream for the whole evaluation, as the docstring says.",
        "Seed one `torch.Generator` before the loop and pass that same object to every "
        "`gridworld.rollout`: a fresh seed per level would replay the same random numbers on every "
        "level. Use the `policy` argument, not the notebook's `narrow`. Start all three counts at 0, so "
        "a goal that never happens still gets its rate, 0.",
    ),
    "cell-027": (
        "coin_anywhere",
        "First list every cell the coin may sit on, then pick one uniformly with the seeded generator. "
        "Excluded: the start, walls, and free cells the agent cannot reach. Allowed: the right edge.",
        "`gridworld.distances(level.walls, level.start)` is −1 where the agent cannot go and 0 at the "
        "start, so the allowed cells are where it is positive (`np.nonzero` gives their rows and "
        "columns). Draw one index with `np.random.default_rng(seed).integers(...)` and return a new "
        "`Level` with the same walls and start and the coin as a `(row, col)` tuple of ints.",
    ),
}

THINK = {
    # new cell id: (insert before this cell id, text)
    "think-04-shift": (
        "cell-007",
        """**🤔 Predict, then run.** The LSA's step size was tuned for inputs on [−1, 1]. Scale the inputs by
`s`: predicting 0 then costs `s²` times more (the labels grow like `s`). How fast do you expect the
LSA's loss to grow with `s`? At scale 3, will it beat predicting 0? And GD with a re-tuned step?

<details><summary>Answer</summary>

The LSA's prediction `η·(1/N) Σ y_i x_iᵀ x_q` has three factors that grow like `s` (`y_i`, `x_i`,
`x_q`), so it grows like `s³` and its squared error like `s⁶`, against `s²` for predicting 0. At
scale 3 it is far worse than predicting 0, while GD with a re-tuned step stays well below 0 at every
scale: the table and the plot below print all three.
</details>""",
    ),
    "think-04-capability": (
        "capability-0",
        """**🤔 Think first.** Two stories fit the table above. (a) **Objective divergence**: the LSA competently
pursues an objective of its own that agreed with ours at scale 1 and disagrees now. (b) A
**capability failure**: it still aims at its old objective, the context's least-squares loss, but
its algorithm no longer achieves it. What would you measure to tell them apart?

<details><summary>Answer</summary>

Measure the mesa objective itself on the shifted prompts. If the LSA's step still lowers the
context's own loss while the query loss explodes, it competently pursues something that is no longer
our goal: (a). If the step makes the context's loss worse too, it fails at its own objective: (b).
Exercises 1.2 and 1.3 measure exactly this, and the cell after exercise 1.3 prints the answer: from
the scale on its last line on (about 1.4 for the shipped LSA) the step makes the context's own loss
worse on more than half of the prompts, and at scale 2 on all of them — a capability failure, in
Langosco et al.'s (2022) terms.
</details>""",
    ),
    "think-04-weights": (
        "untouched-weights",
        """**🤔 Predict, then run.** The next cell prints, for each cell of the 7×7 grid, how much training
changed the first-layer weights that read a coin at that cell. Which cells' weights will have
changed, and which will be exactly as they were at initialisation?

<details><summary>Answer</summary>

Only the last column's (the right edge). In every training level the coin map was 0 everywhere
else, and a weight multiplying an input that is always 0 gets a gradient of exactly 0: those
weights are still the random ones the agent started with. The printout shows 0 in every column but
the last.
</details>""",
    ),
    "think-04-proxies": (
        "cell-033",
        """**🤔 Think.** Training with the coin anywhere broke the proxy "coin position = right edge". Which
proxies does it leave intact? What else was the same in every one of the new training levels, and
could the agent's goal depend on it?

<details><summary>Answer</summary>

Anything that was constant across the new training levels: the 7×7 grid, a wall density of 12%,
exactly one coin, the same observation format. We have not tested any of these shifts; any of them
could carry a proxy the diverse agent relies on, and no test on the training distribution would
show it, because there the proxy and the goal agree. Langosco et al. (2022), *Goal
Misgeneralization in Deep Reinforcement Learning*, saw the same pattern in a maze game: agents
trained with the cheese always in the top-right corner went to that corner when the cheese was
moved. Diversity fixes the proxies someone thought to break; it does not certify the goal — which
is why lesson 06 looks for ways to inspect the model directly.
</details>""",
    ),
}

# (cell id, old text, new text): sentence-level edits, skipped once applied.
REPLACE = [
    (
        "test_goal_rates",
        "checks.check_goal_rates(goal_rates)\n",
        "checks.check_goal_rates(goal_rates, uses=pursued_goal)\n",
    ),
    # the Time line is written by tools/lesson_times.py (one estimate for the lesson and the README)
    (
        "capability-4",
        """Goal: for every prompt, the **critical step** `η_c`: one GD step `w = η·g` with
`g = (1/N) Σ_i y_i x_i` leaves the context's loss worse than not moving (`L(η·g) > L(0)`) exactly
when `η > η_c`. Derive `η_c` on paper first: expand `L(η·g) − L(0)` in powers of `η` (the cross
term needs `(1/N) Σ_i y_i (g·x_i) = ‖g‖²`). It is a parabola in `η` through 0 at `η = 0`; `η_c` is
where it crosses 0 again.""",
        """Goal: for every prompt, the **critical step** `η_c`: one GD step `w = η·g` with
`g = (1/N) Σ_i y_i x_i` leaves the context's loss worse than not moving (`L(η·g) > L(0)`) exactly
when `η > η_c`. **No formula this time: derive `η_c` on paper, then code it.**

Test your derivation on the smallest case first: one context pair in one dimension, `x = 2`,
`y = 1`. Then `L(w) = ½(2w − 1)²`, `L(0) = ½`, `g = 2`, and the curvature of `L` is `x² = 4`. Your
formula should give `η_c = 1/2`: a step of size `η` overshoots back past `L(0)` exactly when
η × curvature > 2. (`L(½·2) = L(1) = ½` — check it.)""",
    ),
    (
        "untouched-weights-look",
        "is the bluntest form of the problem; in CoinRun the agents' features did respond",
        "is the bluntest form of the problem; in CoinRun (Langosco et al. 2022) the agents' features did respond",
    ),
    (
        "cell-032",
        """

Diversity fixed *this* proxy because we knew which one to break. It does not certify the goal: the
new agent may still rely on features that happen to be constant in its training levels (the grid
size, the wall density, the number of coins). Goal misgeneralization is found by behavioural tests
under shifts someone thought of — which is why lesson 06 looks for ways to inspect the model
directly.""",
        "",
    ),
]


def main() -> None:
    nb = read(PATH)
    for cell_id, new_id in SPLIT_HEADINGS:
        split(nb, cell_id, "### Exercise", new_id, rstrip="\n")
    apply_replacements(nb, REPLACE)
    finish_with_solution_help(nb, PATH, LEVELS, HELP, THINK)


if __name__ == "__main__":
    main()
