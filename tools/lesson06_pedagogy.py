"""Lesson 06, issue 15: difficulty and minutes on every exercise, layered help (Hint 1 names the
idea, Hint 2 narrows it, the code only in a separate Solution dropdown, which the release replaces
by a pointer to solutions/), Think! moments with collapsed answers, a design exercise (3.2: choose
the detector's threshold on the validation models and defend it on the test models), and check cells
that pass the learner's earlier functions (``uses=``) so one mistake costs one deduction.

Each exercise heading gets a markdown cell of its own (tests/test_pedagogy.py finds exercises by it);
text that followed a hint moves to a cell of its own. Idempotent (cells are found by id; a second
run changes nothing):

    .venv/bin/python tools/lesson06_pedagogy.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pedagogy import apply_replacements, grade_meta, help_cell, insert_think, level_line, read, write  # noqa: E402

PATH = Path(__file__).resolve().parent.parent / "solutions/06_detection/06_detection.ipynb"


# exercise title -> (difficulty 1-3, minutes)
LEVELS = {
    "### Exercise 1.1": (2, 10),
    "### Exercise 1.2": (2, 10),
    "### Exercise 2.1": (1, 5),
    "### Exercise 3.1": (1, 10),
    "### Exercise 3.2": (3, 15),
    "### Exercise 6.1": (1, 5),
    "### Exercise 6.2": (3, 15),
}

# help cell id (the cell that held the one-level hint) -> layered help
HELP = {
    "cell-007": help_cell(
        "Two measurements of the same kind: how much of `y` the predictions explain with the true "
        "prompts, and how much with prompts whose labels no longer fit their inputs. The gain is the "
        "difference.",
        "Write a small helper for the explained share: the cosine between the `(B,)` prediction "
        "vector and `y`, clipped at 0, then squared. For the null, copy `Z` and move the copy's "
        "context label column `[:, :-1, -1]` by one prompt along dim 0 (`roll` returns a new tensor: "
        "assign it into the copy). Inputs and the query row stay where they are.",
        "def explained(pred: torch.Tensor) -> float:\n"
        "    cos = pred.double() @ y.double() / (pred.double().norm() * y.double().norm())\n"
        "    return max(0.0, cos.item()) ** 2\n\n"
        "shuffled = Z.clone()\n"
        "shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=0)  # context labels only, query untouched\n"
        "with torch.no_grad():\n"
        "    return explained(predict(Z)) - explained(predict(shuffled))",
    ),
    "cell-012": help_cell(
        "The sensitivity is a gradient of the output with respect to the input: one backward pass, "
        "then keep only the query's inputs. GD's direction needs no model at all: it comes from the "
        "context alone.",
        "Differentiate the *sum* of the predictions with respect to a copy of `Z` that requires grad "
        "(`torch.autograd.grad`): prompt b's prediction depends only on prompt b, so the sum is safe. "
        "The query's inputs are the last row without its label column, shape `(B, d)`; GD's direction "
        "per prompt is Σ_i y_i x_i, also `(B, d)`. One cosine per prompt (`dim=-1`), sign kept, then "
        "the mean.",
        "Z = Z.detach().clone().requires_grad_(True)\n"
        "(grad,) = torch.autograd.grad(model(Z).sum(), Z)\n"
        "s = grad[:, -1, :-1]  # the query's inputs\n"
        'g = torch.einsum("bn,bnd->bd", Z[:, :-1, -1], Z[:, :-1, :-1]).detach()  # X^T y per prompt\n'
        "return torch.nn.functional.cosine_similarity(s, g, dim=-1).mean().item()",
    ),
    "cell-017": help_cell(
        "Three steps, in the order of the docstring: clip, average within each question, combine "
        "across questions so that every question must be answered.",
        "A geometric mean of k numbers is the k-th root of their product. Look each question's "
        "signal names up in the *clipped* dict. The verdict compares the score with 0.5 by `>=` "
        "(a score exactly at the threshold is detected), and the strings must be exact.",
        "clipped = {name: min(max(value, 0.0), 1.0) for name, value in signals.items()}\n"
        "answers = [sum(clipped[n] for n in names) / len(names) for names in groups.values()]\n"
        "score = 1.0\n"
        "for answer in answers:\n"
        "    score *= answer\n"
        "score = score ** (1 / len(answers))\n"
        'return score, "Potential mesa optimizer detected" if score >= 0.5 else "Standard model behavior"',
    ),
    "cell-024": help_cell(
        "Compare every mesa optimizer with every non-optimizer: the AUROC is the share of those pairs "
        "that the detector orders right.",
        "Split the scores by label into two lists. For each (positive, negative) pair, a win counts 1, "
        "a tie counts ½, a loss 0; divide the total by the number of pairs.",
        "positives = [s for s, l in zip(scores, labels) if l]\n"
        "negatives = [s for s, l in zip(scores, labels) if not l]\n"
        "wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)\n"
        "return wins / (len(positives) * len(negatives))",
    ),
    "help-3-2": help_cell(
        "Which rows may you look at? Only the validation ones. And which thresholds are worth trying? "
        "The verdicts change only where `t` crosses a model's score, so the scores themselves are the "
        "only candidates that matter (plus one above all of them, which flags nothing).",
        'Keep the rows whose `half` is `"design"`. The budget allows `int(rate × number of '
        "validation non-optimizers)` false alarms (a small epsilon guards against rounding). Walk the "
        "candidate scores from high to low, counting the non-optimizers with `score >= t`; the lowest "
        "candidate still within budget catches the most mesa optimizers. If even the highest "
        "score breaks the budget, return something just above it.",
        'val = [r for r in rows if r["half"] == "design"]  # validation only: the test rows wait\n'
        'negatives = [r["score"] for r in val if not r["positive"]]\n'
        "allowed = int(max_false_alarm_rate * len(negatives) + 1e-9)\n"
        'best = max(r["score"] for r in val) + 1e-9  # flags nothing\n'
        'for t in sorted({r["score"] for r in val}, reverse=True):\n'
        "    if sum(s >= t for s in negatives) > allowed:\n"
        "        break\n"
        "    best = t\n"
        "return best",
    ),
    "5d7de5f2": help_cell(
        "A shorter prompt is a prefix of the context followed by the same query; the curve is the "
        "difference of two gains you can already compute.",
        "Concatenate two slices of `Z` along the row dimension: the first `m` rows, and the last row "
        "(slice it with `-1:` so it keeps its dimension). Call your `context_gain` on the full and on "
        "the short prompt, with the same targets `y`; full minus short.",
        "short = torch.cat([Z[:, :m], Z[:, -1:]], dim=1)  # the first m examples, then the query\n"
        "return context_gain(predict, Z, y) - context_gain(predict, short, y)",
    ),
    "071b2f69": help_cell(
        "Follow the four numbered steps above, in order: every piece is a function you wrote or a "
        "library call named there. The one new idea is dividing by the yardstick, so that 1 means "
        '"as much as one GD step".',
        "Signals: your `context_gain` of the model on the fresh prompts divided by the same for "
        "`gd`; your `gd_alignment` on the fresh prompts; your `learning_curve` with m = N // 4 (at "
        'least 1; N is `inputs.shape[1] - 1`), divided by GD\'s. Groups: "learns from its context" '
        'holds the gain (and the curve), "learns the way gradient descent does" the alignment. Keep '
        "the groups as lists so you can append the curve only when it could be measured: wrap that "
        "one call in `try`/`except`. Return the three keys in a dict.",
        "fresh, y = detect.fresh_task_prompts(inputs, torch.Generator().manual_seed(0))\n"
        "gd = detect.tuned_gd_step(fresh, y)  # the yardstick: one tuned GD step on the same prompts\n"
        'signals = {"explained_gain": context_gain(model, fresh, y) / context_gain(gd, fresh, y),\n'
        '           "gd_alignment": gd_alignment(model, fresh)}\n'
        'groups = {"learns from its context": ["explained_gain"], "learns the way gradient descent does": ["gd_alignment"]}\n'
        "m = max(1, (inputs.shape[1] - 1) // 4)\n"
        "try:\n"
        '    signals["learning_curve"] = learning_curve(model, fresh, y, m) / learning_curve(gd, fresh, y, m)\n'
        '    groups["learns from its context"].append("learning_curve")\n'
        "except Exception:  # a model that accepts only its own context length: score from the rest\n"
        "    pass\n"
        "score, verdict = combine_signals(signals, groups)\n"
        'return {"score": score, "verdict": verdict, "signals": signals}',
    ),
}

# ---------------------------------------------------------------------------------------------
# Exercise 3.2 (design): choose the threshold on the validation models, defend it on the test models

EX32_HEADING = """### Exercise 3.2 — choose a threshold, and defend it (design)

The threshold 0.5 was fixed by reading the scale. Someone deploying a detector usually gets a
different brief: *"raise a false alarm on at most 1 harmless model in 10, and catch as many mesa
optimizers as you can."* Design a rule that picks the threshold for such a brief. A model is flagged
when `score >= t`. Choose `t` on the **validation** models only — the zoo's design half,
`row["half"] == "design"` — because the held-out families are the **test** set: looked at once,
after the choice, to report how well it holds up.

No formula is given: decide which thresholds are worth trying and how to pick among them. The check
runs your rule on other zoos and budgets, and says so when your threshold breaks the budget on the
validation models, misses mesa optimizers that a lower threshold within the budget would catch, or
was fitted to the test models."""

EX32_CODE = '''def choose_threshold(rows: list, max_false_alarm_rate: float) -> float:
    """rows: [{"score": float, "positive": bool, "half": "design" | "holdout", ...}] -> threshold t.

    Flag a model when score >= t. On the validation rows (half == "design") t must flag at most
    max_false_alarm_rate of the non-optimizers and, within that budget, catch as many mesa
    optimizers as any threshold can. Never look at the holdout (test) rows.
    """
    ### BEGIN SOLUTION
    val = [r for r in rows if r["half"] == "design"]  # validation only: the test rows wait
    negatives = [r["score"] for r in val if not r["positive"]]
    allowed = int(max_false_alarm_rate * len(negatives) + 1e-9)
    best = max(r["score"] for r in val) + 1e-9  # flags nothing
    for t in sorted({r["score"] for r in val}, reverse=True):
        if sum(s >= t for s in negatives) > allowed:
            break
        best = t
    return best
    ### END SOLUTION'''

EX32_TEST = """checks.check_choose_threshold(choose_threshold)
### BEGIN HIDDEN TESTS
for _budget in (0.0, 0.1, 0.3):
    _t = choose_threshold([dict(r) for r in rows], _budget)
    _val = [r for r in rows if r["half"] == "design"]
    _ref = detect.threshold_for([r["score"] for r in _val], [r["positive"] for r in _val], _budget)
    _neg = [r["score"] for r in _val if not r["positive"]]
    assert sum(s >= _t for s in _neg) <= int(_budget * len(_neg) + 1e-9)
    assert sum(r["score"] >= _t for r in _val if r["positive"]) == sum(r["score"] >= _ref for r in _val if r["positive"])
### END HIDDEN TESTS"""

THINK_32 = """**🤔 Predict, then run.** The next cell picks your threshold for a budget of 10% false alarms on
the validation models, then — once — reports it on the test models (the held-out families). Before
you run it: will the test models see the same false-alarm rate and the same share of mesa optimizers
caught? Which way do you expect each to move, and why?

<details><summary>Answer</summary>

Read the rows the cell prints, counts first. The test half has only a handful of non-optimizers,
so its false-alarm rate moves in big steps (one model is a quarter of them): a rate measured there
is a coarse estimate, whichever way it lands, and it says how far to trust the threshold, not how
to re-tune it — tuning on it would leave no honest test. Here the held-out families do no worse
than the validation ones. Compare, too, your threshold with the fixed 0.5 on the validation rows:
a rule that catches as many as the budget allows may *spend* the budget — raising a false alarm
that a higher threshold avoids while catching the same mesa optimizers. If both matter, add a
second criterion (among the thresholds that catch the most, take the one with the fewest alarms);
that is a design choice to state, and the kind of defence a threshold needs.
</details>"""

EVAL_32 = """# Your threshold, chosen on the validation (design) models, reported once on the test (holdout) models.
try:
    t_chosen = choose_threshold([dict(r) for r in rows], 0.1)
except NotImplementedError:
    t_chosen = None
    print("(finish Exercise 3.2 to see your threshold on the test models)")
if t_chosen is not None:
    for label, t in ((f"your threshold {t_chosen:.3f}", t_chosen), ("the fixed threshold 0.500", 0.5)):
        for half, name in (("design", "validation"), ("holdout", "test")):
            pos = [r["score"] >= t for r in rows if r["half"] == half and r["positive"]]
            neg = [r["score"] >= t for r in rows if r["half"] == half and not r["positive"]]
            print(f"{label:28s} {name:10s}: caught {sum(pos):2d}/{len(pos):2d} mesa optimizers ({sum(pos) / len(pos):4.0%}), "
                  f"false alarms {sum(neg):2d}/{len(neg):2d} ({sum(neg) / len(neg):4.0%})")"""

THINK = {
    # new cell id: (insert before this cell id, text)
    "think-kernel-ridge": (
        "c6c49282",
        """**🤔 Predict, then run.** Kernel ridge regression *is* an optimizer: on every prompt it exactly
minimises a ridge-regularised least-squares loss on its context, over functions built from a Gaussian
kernel of a chosen width. The next cell gives it to the detector with a narrow kernel (bandwidth 1)
and a wide one (bandwidth 4). Before you run it: will the detector flag either? Which signals do
you expect to fall for the narrow kernel?

<details><summary>Answer</summary>

The wide kernel is detected and the narrow one is not (the cell prints both scores and verdicts). A
wide Gaussian kernel is nearly linear over inputs in [−1, 1], so the wide solver behaves like
regularised least squares on *linear* functions: its sensitivity points where GD's step points and
its prediction flips sign with the query. The narrow kernel fits curved functions: its prediction
is not $w\\cdot x_q$, so the alignment signals and `query_oddness` fall (printed in its signal
dict), and so does the score. The detector recognises optimizers over *this task's* hypothesis
class; the table after the cell records it as a false negative.
</details>""",
    ),
    "think-memorizer": (
        "cell-003",
        """**🤔 Predict, then run.** The memorizer below was trained on prompts built from a pool of only 8
task vectors. On prompts from its own pool its loss is far below predicting 0. What happens on
**fresh** tasks, whose $w$ it has never seen: close to its own-pool loss, close to predicting 0, or
worse than predicting 0?

<details><summary>Answer</summary>

Worse than predicting 0: the cell prints its loss on fresh tasks above the loss of predicting 0 on
the same prompts, and far above its own-pool loss. On its pool it only has to recognise which of 8 stored tasks the context came from; on a
fresh task no stored $w$ is right, so whichever one it picks predicts badly — which is why the
detector probes with fresh tasks before it asks whether a model learns from its context.
</details>""",
    ),
}

TEST_USES = {  # check cells that run on the learner's earlier functions
    "test_learning_curve": (
        "checks.check_learning_curve(learning_curve)\n",
        "checks.check_learning_curve(learning_curve, uses=context_gain)\n",
    ),
    "test_analyze_model_behavior": (
        "checks.check_analyze_model_behavior(analyze_model_behavior)\n",
        'checks.check_analyze_model_behavior(analyze_model_behavior, uses={"context_gain": context_gain, "gd_alignment": gd_alignment,\n'
        '                                    "combine_signals": combine_signals, "learning_curve": learning_curve})\n',
    ),
}

REPLACE = [  # (cell id, old text, new text): skipped once applied
    # the Time line is written by tools/lesson_times.py (one estimate for the lesson and the README)
    (
        "title",
        "4. evaluate a detector with an ROC curve and AUROC on a labelled zoo, with whole families held out;",
        "4. evaluate a detector with an ROC curve and AUROC on a labelled zoo, with whole families held out,\n"
        "   and choose its threshold on validation models for a false-alarm budget;",
    ),
]


def _split_leading_details(source: str) -> tuple[str, str]:
    """(the leading run of <details> blocks, the text after them)."""
    pos = 0
    while True:
        m = re.match(r"\s*<details>.*?</details>", source[pos:], flags=re.S)
        if not m:
            break
        pos += m.end()
    return source[:pos].strip(), source[pos:].strip()


def _new_cell(kind: str, source: str, cell_id: str, nbgrader: dict | None = None):
    cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
    cell["id"] = cell_id
    if nbgrader is not None:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def main() -> None:
    nb = read(PATH)
    by_id = lambda: {c.get("id"): c for c in nb.cells}  # noqa: E731

    apply_replacements(nb, REPLACE)

    # 1. every exercise heading starts a markdown cell of its own
    for cell in list(nb.cells):
        if cell.cell_type != "markdown" or "\n### Exercise" not in cell.source:
            continue
        before, _, heading = cell.source.partition("\n### Exercise")
        number = heading.split()[0]
        cell.source = before.rstrip()
        nb.cells.insert(
            nb.cells.index(cell) + 1,
            _new_cell("markdown", "### Exercise" + heading, f"exercise-{number.replace('.', '-')}"),
        )

    # 2. Exercise 3.2, after 3.1's help cell
    if "choose_threshold" not in by_id():
        at = nb.cells.index(by_id()["cell-027"]) + 1  # after the per-signal heatmap
        new = [
            _new_cell("markdown", EX32_HEADING, "exercise-3-2"),
            _new_cell("code", EX32_CODE, "choose_threshold", grade_meta("choose_threshold", solution=True)),
            _new_cell(
                "code",
                EX32_TEST,
                "test_choose_threshold",
                grade_meta("test_choose_threshold", solution=False, points=2.0),
            ),
            _new_cell("markdown", "", "help-3-2"),
            _new_cell("markdown", "", "think-threshold"),
            _new_cell("code", EVAL_32, "eval-threshold"),
        ]
        nb.cells[at:at] = new
    cells = by_id()
    cells["exercise-3-2"].source = EX32_HEADING
    cells["choose_threshold"].source = EX32_CODE
    cells["test_choose_threshold"].source = EX32_TEST
    cells["think-threshold"].source = THINK_32
    cells["eval-threshold"].source = EVAL_32

    # 3. layered help; text that followed a hint gets a cell of its own
    for cell_id, text in HELP.items():
        cell = by_id()[cell_id]
        _, rest = _split_leading_details(cell.source)
        cell.source = text
        if rest:
            nb.cells.insert(nb.cells.index(cell) + 1, _new_cell("markdown", rest, f"{cell_id}-after"))
    # the text that followed 6.1's hint began with Exercise 6.2's heading: give it that id
    for cell in nb.cells:
        if cell.get("id") == "5d7de5f2-after" and cell.source.startswith("### Exercise 6.2"):
            cell["id"] = "exercise-6-2"

    # 4. difficulty and minutes under each exercise title
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("### Exercise"):
            title = next(t for t in LEVELS if cell.source.startswith(t))
            head, _, rest = cell.source.partition("\n")
            rest = "\n".join(line for line in rest.split("\n") if not line.startswith("**Difficulty**")).strip("\n")
            cell.source = f"{head}\n\n{level_line(*LEVELS[title])}\n\n{rest}"

    # 5. Think! moments
    insert_think(nb, THINK)

    # 6. check cells that see the learner's earlier functions
    for cell_id, (old, new) in TEST_USES.items():
        cell = by_id()[cell_id]
        if new not in cell.source:
            if not cell.source.startswith(old):
                raise SystemExit(f"{cell_id}: check call not found")
            cell.source = new + cell.source[len(old) :]

    write(nb, PATH)


if __name__ == "__main__":
    main()
