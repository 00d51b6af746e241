"""Lesson 05, issue 15: difficulty and minutes on every exercise, layered help (Hint 1 names the
idea, Hint 2 narrows it, the code only in a separate Solution dropdown, which the release replaces
by a pointer to solutions/), a design exercise (4.3: a control for the distance probe, no formula
given), and Think! moments with collapsed answers (the discussion's questions among them).

Idempotent (cells are found by id; a second run changes nothing):

    .venv/bin/python tools/lesson05_pedagogy.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pedagogy import apply_replacements, cells_by_id, finish_with_solution_help, grade_meta, read, split  # noqa: E402

PATH = Path(__file__).resolve().parent.parent / "solutions/05_internal_search/05_internal_search.ipynb"

# (cell id, marker, new id): the text of the cell from `marker` on moves into a new cell after it,
# so that every exercise heading starts a cell and every help cell holds only the help.
SPLITS = [
    ("cell-004", "### Exercise 1.1", "ex-1-1"),
    ("cell-009", "### Exercise 2.1", "ex-2-1"),
    ("cell-016", "### Exercise 3.1", "ex-3-1"),
    ("long-runs-text", "### Exercise 4.1", "ex-4-1"),
    ("section-5", "### Exercise 5.1", "ex-5-1"),
    ("cell-007", "\n\nColouring the open squares", "cell-007-after"),
    ("cell-012", "\n\n**Training.**", "cell-012-after"),
    ("cell-019", "\n\nNow the curve", "cell-019-after"),
    ("cell-024", "### Exercise 4.2", "ex-4-2"),
    ("cell-027", "\n\nNow probe the planner", "cell-027-after"),
    ("cell-036", "## 6. Discussion", "discussion"),
]

LEVELS = {
    "ex-1-1": (2, 15),
    "ex-2-1": (1, 5),
    "ex-3-1": (1, 10),
    "ex-4-1": (2, 10),
    "ex-4-2": (1, 5),
    "ex-4-3": (3, 15),
    "ex-5-1": (2, 10),
}

HELP = {
    "cell-007": (
        "bfs_distance",
        "Breadth-first search from the goal: a queue served first-in, first-out reaches the squares in "
        "order of distance, so the first time a square is reached fixes its distance. (Depth-first "
        "search does not: where a maze has loops it can reach a square the long way round first.)",
        "Start from a map full of −1 with the maze's own height and width (they can differ) and put the "
        "goal square (`torch.nonzero(maze[2])[0]`) in a `collections.deque` at distance 0. Pop from the "
        "left; each of the 4 neighbours (no diagonals) that is inside the grid, open (`maze[0] == 0`) "
        "and still −1 gets the current distance + 1 and joins the queue. Walls keep −1.",
    ),
    "cell-012": (
        "run_planner",
        "The model's parts do the work: `initial_state`, `step`, `readout`. Your loop decides how many "
        "times the shared step runs, and refuses a count that makes no sense.",
        "Check `iterations < 1` first and raise a `ValueError`. Then embed once, apply "
        "`model.step(h, mazes)` exactly `iterations` times (the step re-reads the maze every time), "
        "and read out the final state. Use the `model` argument, not the notebook's `planner`: the "
        "check runs your function on more than one network.",
    ),
    "cell-019": (
        "solve_rates",
        "Solved is all-or-nothing per maze: turn logits into a path, compare it with the truth square "
        "by square, and count a maze only if every square agrees.",
        "For each count `k`: the predicted path is where the logits are strictly positive (a logit of "
        "exactly 0 is not path); compare with `mazes.paths`, flatten each maze and require all its "
        "squares to agree, then average over mazes. No gradients needed. Stack the rates into one "
        "tensor of shape `(len(iterations),)`.",
    ),
    "cell-024": (
        "fit_ridge",
        "Handle the intercept by centring: subtract the means of X and y, solve ridge without an "
        "intercept on the centred data, then recover the bias from the means. The penalty acts on the "
        "weights only.",
        "Work in float64 whatever dtype comes in. With `Xc`, `yc` centred, the weight solves the C×C "
        "system `(XcᵀXc + αI) w = Xcᵀyc` (`torch.linalg.solve`); the bias is `mean(y) − mean(X)·w`, "
        "returned as a Python float.",
    ),
    "cell-027": (
        "r_squared",
        "R² compares the probe's squared errors with those of the best constant guess: the targets' mean.",
        "Both sums run over the N entries: SS_res of `targets − predictions`, SS_tot of "
        "`targets − targets.mean()` (the targets' mean, not the predictions'). Return "
        "`1 − SS_res / SS_tot` as a Python float.",
    ),
    "probe-control-help": (
        "probe_control",
        "A control changes one thing about the probe and nothing else. Keep the same probe (your "
        "`fit_ridge`, the same alpha), the same number of features, the same held-out scoring; remove "
        "only the link between a square's features and its distance. Whatever R² is left came from the "
        "probe, not from the network.",
        "Break the pairing in the data the probe is **fit** on — permute the fit targets with a seeded "
        "`torch.randperm`, or replace the fit features by seeded noise of the same shape — and score on "
        "the held-out squares with your `r_squared`, as the real probe is scored. Two designs that do "
        "not work: shuffling features and targets with the same permutation (the pairs survive), and "
        "scoring on the squares the probe was fit on (a probe with many weights fits noise there).",
    ),
    "cell-034": (
        "solve_rate_by_length",
        "Compute once which mazes are solved, then group them by path length. A path's length counts "
        "steps: the number of its squares minus one.",
        "For each pair of consecutive edges `(lo, hi)` the bin is half-open, `lo <= length < hi`; "
        "average the solved flags of the mazes in it, or give NaN (`torch.tensor(float('nan'))`) when "
        "it is empty. Pass `iterations` on to the model.",
    ),
}

CONTROL_HEADING = """### Exercise 4.3 — design a control for the probe

The probe above reads the distance with an R² around 0.9. But a probe is itself a model: with `C`
weights fit on thousands of squares, how much R² could it get from features that say nothing about
the distance? Until you know, the number means little.

Goal: **design** a control and return its R². The function gets the features and distances the
probe is fit on and the held-out ones it is scored on; it returns the held-out R² of a probe that
had no chance to learn the distance from the features, fit and scored like the real one. No recipe
this time: choose what to scramble, and where, so that the control measures what the probe alone can
do. Then say what your control rules out (the Think! moment after the exercise)."""

CONTROL_SOLUTION = '''def probe_control(features_fit: torch.Tensor, targets_fit: torch.Tensor, features_test: torch.Tensor,
                  targets_test: torch.Tensor, alpha: float, seed: int) -> float:
    """Shapes: features_fit (N, C), targets_fit (N,), features_test (M, C), targets_test (M,) -> float.

    The held-out R² (your ``r_squared``) of a control probe: the same ridge probe (your ``fit_ridge``,
    the same ``alpha``), fit and scored the same way, on data where a square's features carry no
    information about its distance. Random choices use ``torch.Generator().manual_seed(seed)``.
    """
    ### BEGIN SOLUTION
    generator = torch.Generator().manual_seed(seed)
    shuffled = targets_fit[torch.randperm(len(targets_fit), generator=generator)]
    weight, bias = fit_ridge(features_fit, shuffled, alpha)
    return r_squared(features_test.double() @ weight.double() + bias, targets_test)
    ### END SOLUTION'''

CONTROL_TEST = """checks.check_probe_control(probe_control, uses=(fit_ridge, r_squared))
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(3)
_Xf, _Xt, _w = torch.randn(500, 8, generator=_g), torch.randn(300, 8, generator=_g), torch.randn(8, generator=_g)
_c = probe_control(_Xf, _Xf @ _w, _Xt, _Xt @ _w, 1.0, 0)
assert -0.2 < _c < 0.1, "a control probe reads (almost) nothing from features that carry no information"
### END HIDDEN TESTS"""

CONTROL_RUN = """with torch.no_grad():
    X_fit, y_fit = open_square_features(planner.hidden_states(fit_mazes.inputs, T)[-1], fit_mazes)
controls = [probe_control(X_fit, y_fit, X_test, y_test, 1.0, seed) for seed in range(3)]
print(f"probe R² on held-out mazes after {T} iterations: trained planner {r2:.3f}, "
      f"untrained network {r2_control:.3f}, your control {min(controls):.3f} to {max(controls):.3f} (seeds 0-2)")"""

THINK = {
    # new cell id: (insert before this cell id, text)
    "think-05-curve": (
        "cell-020",
        """**🤔 Predict, then run.** The next cell measures the solve rate against the number of iterations,
from 1 up to `2T`, on held-out 5×5 mazes (the training size) and on larger 7×7 mazes the planner
never saw. Sketch both curves before you run it: where does each one rise, and does the 7×7 curve
level off at the trained count `T`?

<details><summary>Answer</summary>

On 5×5 mazes: near 0 with one iteration, a steep rise up to `T`, then flat up to `2T` (every count
on this plot was supervised). On 7×7 mazes the curve rises later — information travels along the
corridors at most two squares per iteration, and longer paths need more iterations — and it keeps
rising past `T`: more iterations buy larger mazes, with the same weights. The rows printed under
the plot show both.
</details>""",
    ),
    "think-05-probe-long": (
        "probe-long",
        """**🤔 Predict, then run.** The probe was fit on the hidden state after `T` iterations. Apply it,
unchanged, to the state after `2T` iterations (the most the loss ever saw) and after `LONG`, four
times that. What R² will it read at each — and what would a drop tell you?

<details><summary>Answer</summary>

Lower, though still far above the control: the cell below prints the three values for the shipped
planner (0.907 at `T`, 0.841 at `2T`, 0.798 at `LONG`), and on planners trained with seeds 1 to 7
the probe loses some R² past `T` too (`benchmarks/probe_past_t.py`: 0.800 to 0.892 at `2T`, 0.687 to
0.865 at `8T`). If you predicted "the same", you probably reasoned from section 3: the solve rate
does not change and the goal square's score barely moves past `T`. Both are true, but they pin down
only the moves and one number per maze; the rest of the state can still drift slowly in directions
the moves do not depend on and the probe, fit at `T`, does. A probe reads the state at the iteration
it was fit on; to ask what the state holds later, fit it again there.
</details>""",
    ),
    "think-05-control": (
        "section-5",
        """**🤔 Think.** What does your control rule out — and what does it not rule out?

<details><summary>Answer</summary>

It rules out that the R² comes from the probe itself. A ridge probe with the same number of weights, fit on
the same number of squares and scored on other mazes, reads nothing from features that carry no
information about the distance (your control's R², printed above, is close to 0 or below), so the
planner's R² measures information in its hidden state, not the probe's flexibility. It does not
rule out that the information is a by-product: the features of any network can correlate with the
distance (a wall nearby, the border), which is what the untrained network's R² measures. And
neither control shows that the planner *uses* the map; only interventions do (Taufeeque et al.
2024). Hewitt and Liang (2019), *Designing and Interpreting Probes with Control Tasks*, make the
same point for probes of language models: a probe's score means little until you know what the
probe alone can reach on a control task.
</details>""",
    ),
}

REPLACE = [
    # the Time line is written by tools/lesson_times.py (one estimate for the lesson and the README)
    (
        "cell-031",
        """Past `T` the map
stays put (the drift measured in section 3 is close to 0), so the probe fit at iteration `T`
still reads the distance long after it:""",
        "What happens past `T`?",
    ),
    (
        "discussion",
        "Take a minute for each question before you open its answer.",
        "**🤔 Think first.** Take a minute for each question before you open its answer.",
    ),
]

PROBE_LONG = """with torch.no_grad():
    X_2t, y_2t = open_square_features(planner.final_state(held_out.inputs, SUPERVISED), held_out)
    X_long, y_long = open_square_features(planner.final_state(held_out.inputs, LONG), held_out)
print(f"the probe fit at iteration {T}: R² {r2:.3f} at iteration {T}, {r2_score(probe.predict(X_2t), y_2t):.3f} "
      f"at iteration {SUPERVISED}, {r2_score(probe.predict(X_long), y_long):.3f} at iteration {LONG}")"""


def _add_control_exercise(nb) -> None:
    """Exercise 4.3 (heading, solution, check, help, a run on the planner) right after probe-long."""
    ids = [c.get("id") for c in nb.cells]
    if "probe_control" in ids:
        return
    heading = nbformat.v4.new_markdown_cell(CONTROL_HEADING)
    heading["id"] = "ex-4-3"
    solution = nbformat.v4.new_code_cell(CONTROL_SOLUTION)
    solution.metadata["nbgrader"] = grade_meta("probe_control", solution=True)
    solution["id"] = "probe_control"
    test = nbformat.v4.new_code_cell(CONTROL_TEST)
    test.metadata["nbgrader"] = grade_meta("test_probe_control", solution=False, points=2.0)
    test["id"] = "test_probe_control"
    help_ = nbformat.v4.new_markdown_cell("")
    help_["id"] = "probe-control-help"
    intro = nbformat.v4.new_markdown_cell(
        "Your control on the planner's hidden states, next to the probe and the untrained network:"
    )
    intro["id"] = "probe-control-intro"
    run = nbformat.v4.new_code_cell(CONTROL_RUN)
    run["id"] = "probe-control-run"
    at = ids.index("probe-long") + 1
    nb.cells[at:at] = [heading, solution, test, help_, intro, run]


def main() -> None:
    nb = read(PATH)
    for cell_id, marker, new_id in SPLITS:
        split(nb, cell_id, marker, new_id, rstrip="\n", lstrip_new=True)
    _add_control_exercise(nb)
    by_id = cells_by_id(nb)
    by_id["probe-long"].source = PROBE_LONG
    for cell_id, text in (
        ("ex-4-3", CONTROL_HEADING),
        ("probe_control", CONTROL_SOLUTION),
        ("test_probe_control", CONTROL_TEST),
        ("probe-control-run", CONTROL_RUN),
    ):
        by_id[cell_id].source = text
    apply_replacements(nb, REPLACE)
    finish_with_solution_help(nb, PATH, LEVELS, HELP, THINK)


if __name__ == "__main__":
    main()
