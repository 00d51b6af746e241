"""Lesson 02, issue 15: difficulty and minutes on every exercise, layered help (Hint 1 names the
idea, Hint 2 narrows it, the code only in a separate Solution dropdown, which the release replaces
by a pointer to solutions/), two Think! moments with collapsed answers, and two exercises whose
formula the learner derives instead of copying: the GD construction (6.1) from the LSA update, and
the learned step size (7.1) from the construction and its rescaling.

Each "### Exercise" heading moves into a cell of its own (test_pedagogy finds exercises by it), and
text that followed a hint moves into a cell after the help. Idempotent (cells are found by id; a
second run changes nothing):

    .venv/bin/python tools/lesson02_pedagogy.py && .venv/bin/mesakit release
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

PATH = Path(__file__).resolve().parent.parent / "solutions/02_toy_mesa_optimizer/02_toy_mesa_optimizer.ipynb"


# new heading cell id -> (cell the heading is split out of, the heading's first words, full text)
EXERCISES = {
    "ex-1-1": (
        "cell-002",
        "### Exercise 1.1",
        exercise(
            "1.1 — build the prompt",
            1,
            5,
            """
*Goal:* stack the context and the query into `Z`.""",
        ),
    ),
    "ex-2-1": (
        "cell-007",
        "### Exercise 2.1",
        exercise(
            "2.1 — the LSA forward pass",
            2,
            10,
            """
*Goal:* one LSA layer, returning the prediction $\\hat y$.""",
        ),
    ),
    "ex-3-1": (
        "cell-012",
        "### Exercise 3.1",
        exercise(
            "3.1 — one training step",
            1,
            5,
            """
*Goal:* one step of the base optimizer; return the batch loss as a float.""",
        ),
    ),
    "ex-4-1": (
        "cell-018",
        "### Exercise 4.1",
        exercise(
            "4.1 — one GD step",
            1,
            5,
            """
*Goal:* the prediction of one GD step from $w = 0$.""",
        ),
    ),
    "ex-4-2": (
        "cell-021-note",
        "### Exercise 4.2",
        exercise(
            "4.2 — tune the step size",
            2,
            10,
            """
*Goal:* the $\\eta$ that minimises the 0.5·MSE of `gd_predict` on the given prompts (3 decimals).
Use your `gd_predict`.""",
        ),
    ),
    "ex-5-1": (
        "cell-027",
        "### Exercise 5.1",
        exercise(
            "5.1 — sensitivity",
            2,
            5,
            """
*Goal:* $\\partial \\hat y_b / \\partial x_{q,b}$ for every prompt, by autograd. `model` is any
callable from prompts to predictions: the check calls your function with two different ones.""",
        ),
    ),
    "ex-5-2": (
        "cell-030-note",
        "### Exercise 5.2",
        exercise(
            "5.2 — the comparison",
            2,
            10,
            """
*Goal:* the four figures of the paper's comparison, as a dict with keys `model_loss`, `gd_loss`
(both 0.5·MSE), `sensitivity_cosine` (mean over prompts of the cosine between the two
sensitivities) and `prediction_diff` (root mean squared difference of the predictions). Use your
`sensitivity`.""",
        ),
    ),
    "ex-6-1": (
        "cell-036",
        "### Exercise 6.1",
        exercise(
            "6.1 — derive GD as attention weights",
            3,
            15,
            """
*Goal:* the pair $(W_{KQ}, W_{PV})$, both $(d+1)\\times(d+1)$, whose LSA layer predicts exactly
`gd_predict(Z, lr)` on **every** prompt. Derive them above first, on paper; the hints lead the
derivation. Many weight pairs give one GD step on the query; the check also applies your layer
twice and expects two GD steps (section 8 shows why that works): choose weights under which the
attention score between two tokens depends on their inputs $x$ only.""",
        ),
    ),
    "ex-7-1": (
        "cell-043",
        "### Exercise 7.1",
        exercise(
            "7.1 — the learned step size",
            2,
            10,
            """
*Goal:* the GD step size $\\eta$ that a layer implements, read off its weights. The trained weights
are a *rescaled* construction plus noise: derive the step size from your construction and the
rescaling above, and estimate the scale robustly (the check adds noise to every entry and a
label-label entry $W_{KQ}[d, d]$ that plays no part in the step).""",
        ),
    ),
    "ex-8-1": (
        "cell-051",
        "### Exercise 8.1",
        exercise(
            "8.1 — the weight-tied forward pass",
            2,
            10,
            """
*Goal:* apply one LSA layer $K$ times and predict from the final tokens. Do not modify the `Z`
you are given.""",
        ),
    ),
}

# Section 6 no longer spells out the construction: it gives the update and the goal.
SECTION6 = """## 6. The hand construction: derive it

Can you *write down* weights that make an LSA layer compute one GD step exactly? You have all you
need to derive them. The layer updates the query token $e_q = (x_q, 0)$ by

$$e_q \\leftarrow e_q + W_{PV}\\, M\\, W_{KQ}\\, e_q, \\qquad M = \\frac1N \\sum_{i<N} e_i e_i^\\top, \\quad e_i = (x_i, y_i),$$

and predicts $\\hat y = -(\\text{the label slot of } e_q \\text{ after the update})$. One GD step of size
$\\eta$ from $w = 0$ predicts (section 4)

$$\\hat y_{\\text{GD}} = w_1 \\cdot x_q = \\frac{\\eta}{N} \\sum_{i<N} y_i\\, (x_i \\cdot x_q).$$

Write $M\\, W_{KQ}\\, e_q = \\frac1N \\sum_i e_i\\, \\big(e_i^\\top W_{KQ}\\, e_q\\big)$: each context token
$e_i$, weighted by a score $e_i^\\top W_{KQ}\\, e_q$. Then ask two questions: which $W_{KQ}$ makes the
score the quantity GD weighs $y_i$ by, and which entry of $W_{PV}$ moves the weighted labels into the
query's label slot, with which factor?"""

HELP = {
    "cell-005": help_cell(
        "A prompt is the context tokens followed by one query token; a token is an input vector with "
        "its label appended as one more feature.",
        "Append `y` to `x` as a last column (give `y` a trailing axis of size 1). Build the query token "
        "from `x_q` and a column of zeros of the same dtype, give it a token axis of size 1, and "
        "concatenate along the token axis (`dim=1`).",
        "context = torch.cat([x, y.unsqueeze(-1)], dim=-1)  # (B, N, d+1)\n"
        "query = torch.cat([x_q, torch.zeros_like(x_q[:, :1])], dim=-1)  # (B, d+1)\n"
        "return torch.cat([context, query.unsqueeze(1)], dim=1)",
    ),
    "cell-010": help_cell(
        "Write the update for all tokens at once, in row form. The matrix $M$ is the same for every "
        "token of a prompt, and only the N context rows enter it.",
        "$M$ has shape `(B, d+1, d+1)`: the context rows transposed, times the context rows, over N. A "
        "row $e$ is updated by `e @ W_KQ.T @ M @ W_PV.T` ($M$ is symmetric). Add the update to `Z` (the "
        "residual) and read *minus* the query row's last entry.",
        "N = Z.shape[1] - 1\n"
        "context = Z[:, :N]  # (B, N, d+1)\n"
        "moment = context.transpose(1, 2) @ context / N  # (B, d+1, d+1)\n"
        "Z_out = Z + Z @ W_KQ.T @ moment @ W_PV.T  # (B, N+1, d+1)\n"
        "return -Z_out[:, N, -1]",
    ),
    "cell-015": help_cell(
        "One step of the base optimizer is the usual PyTorch four-beat: clear old gradients, compute the "
        "loss, backpropagate, update the weights.",
        "Clear the gradients *before* `backward` (they add up otherwise). The loss is 0.5·MSE "
        "(`mesakit.core.metrics.loss(pred, target)` computes it); return the loss of this batch, before the "
        "update, as a Python float (`.item()`).",
        "optimizer.zero_grad()\n"
        "loss = 0.5 * ((model(Z) - y) ** 2).mean()\n"
        "loss.backward()\n"
        "optimizer.step()\n"
        "return loss.item()",
    ),
    "cell-021": help_cell(
        "Split the prompt into the context inputs, the context labels and the query input: $w_1$ is "
        "a label-weighted average of the context inputs.",
        "The inputs are all rows but the last, without the label column; the labels are the same rows' "
        "last column; the query input is the last row without its label slot. "
        "$w_1 = \\frac{\\eta}{N}\\sum_i y_i x_i$ is one `(d,)` vector per prompt (an `einsum` over the "
        "example axis, or a batched matmul); then one dot product with $x_q$ per prompt.",
        "x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]\n"
        'w = lr / x.shape[1] * torch.einsum("bn,bnd->bd", y, x)\n'
        "return (w * x_q).sum(-1)",
    ),
    "cell-024": help_cell(
        "$\\hat y$ is linear in $\\eta$, so the loss is a parabola in $\\eta$: its minimum has a closed "
        "form (a fine grid search also works).",
        "Let $g$ be the prediction at $\\eta = 1$ (your `gd_predict(Z, 1.0)`), so $\\hat y = \\eta g$. "
        "The loss $\\tfrac12\\,\\text{mean}((\\eta g - y)^2)$ has derivative "
        "$\\text{mean}((\\eta g - y)\\,g)$: set it to zero and solve for $\\eta$. Return a Python float.",
        "g = gd_predict(Z, 1.0)  # y_hat = eta * g\nreturn ((g * y).sum() / (g * g).sum()).item()",
    ),
    "cell-030": help_cell(
        "Autograd differentiates a scalar. Prediction $b$ depends only on prompt $b$, so the gradient "
        "of the *sum* of the batch's predictions holds every $\\partial \\hat y_b / \\partial Z_b$ at once.",
        "Differentiate with respect to a leaf copy of `Z` that requires grad (detach it, clone it, "
        "`requires_grad_`); `torch.autograd.grad` of the summed predictions gives a `(B, N+1, d+1)` "
        "tensor: keep the query row without its label slot. Use the `model` you are given.",
        "Z = Z.detach().clone().requires_grad_(True)\n"
        "(grad,) = torch.autograd.grad(model(Z).sum(), Z)\n"
        "return grad[:, -1, :-1]",
    ),
    "cell-033": help_cell(
        "Four numbers from two sets of predictions and two sets of sensitivities (your 5.1).",
        "Predictions under `torch.no_grad()`; `torch.nn.functional.cosine_similarity(a, b, dim=-1)` gives "
        "one cosine per prompt: average them. `prediction_diff` is the square root of the mean squared "
        "difference. Turn every value into a Python float.",
        "with torch.no_grad():\n"
        "    p_model, p_gd = model(Z), gd(Z)\n"
        "cos = torch.nn.functional.cosine_similarity(sensitivity(model, Z), sensitivity(gd, Z), dim=-1)\n"
        "return {\n"
        '    "model_loss": 0.5 * ((p_model - y) ** 2).mean().item(),\n'
        '    "gd_loss": 0.5 * ((p_gd - y) ** 2).mean().item(),\n'
        '    "sensitivity_cosine": cos.mean().item(),\n'
        '    "prediction_diff": ((p_model - p_gd) ** 2).mean().sqrt().item(),\n'
        "}",
    ),
    "cell-039": help_cell(
        "Start with $W_{KQ}$. GD weighs each label $y_i$ by $x_i \\cdot x_q$, and the layer weighs each "
        "context token by the score $e_i^\\top W_{KQ}\\, e_q$ with $e = (x, y)$. Which $W_{KQ}$ turns the "
        "score into exactly $x_i \\cdot x_q$, whatever the labels are?",
        "With $W_{KQ}$ the identity on the $x$-block and 0 in the label row and column, "
        "$M W_{KQ} e_q = \\frac1N\\sum_i e_i\\,(x_i\\cdot x_q)$: a vector whose *label* entry is "
        "$\\frac1N\\sum_i y_i\\,(x_i\\cdot x_q) = \\hat y_{\\text{GD}}/\\eta$. $W_{PV}$ must copy that label "
        "entry into the query's label slot, with the factor that makes $\\hat y = -(\\text{slot})$ come out "
        "as $+\\hat y_{\\text{GD}}$: one entry of $W_{PV}$, all others 0. Build both matrices from zeros.",
        "W_KQ = torch.zeros(d + 1, d + 1)\n"
        "W_KQ[:d, :d] = torch.eye(d)\n"
        "W_PV = torch.zeros(d + 1, d + 1)\n"
        "W_PV[d, d] = -lr\n"
        "return W_KQ, W_PV",
    ),
    "cell-046": help_cell(
        "In your construction, where does $\\eta$ sit? And if $W_{KQ}$ is multiplied by $a$, what must "
        "happen to that entry of $W_{PV}$ for the layer to compute the same function?",
        "The rescaled construction is $W_{KQ} = a I$ on the $x$-block and $W_{PV}[d, d] = -\\eta / a$: "
        "solve for $\\eta$. Estimate $a$ from noisy weights as the *mean* of the $x$-block's diagonal "
        "(not one entry, not the trace, not the label-label entry). Return a Python float.",
        "d = W_KQ.shape[0] - 1\nreturn (-W_PV[d, d] * torch.diagonal(W_KQ[:d, :d]).mean()).item()",
    ),
    "cell-054": help_cell(
        "Weight tying is your 2.1 layer in a loop: each pass reads the tokens the previous pass wrote.",
        "Carry the whole token matrix from pass to pass, not only the prediction; recompute $M$ from the "
        "*current* context rows in every pass; keep the residual connection; after $K$ passes return "
        "minus the query's label slot. Rebind a name (`Z = Z + ...`) rather than writing into the "
        "caller's tensor (`Z += ...`).",
        "N = Z.shape[1] - 1\n"
        "for _ in range(K):\n"
        "    context = Z[:, :N]\n"
        "    moment = context.transpose(1, 2) @ context / N\n"
        "    Z = Z + Z @ W_KQ.T @ moment @ W_PV.T\n"
        "return -Z[:, N, -1]",
    ),
}

# (cell id, old text, new text): sentence-level edits, skipped once applied.
REPLACE = [
    # the Time line is written by tools/lesson_times.py (one estimate for the lesson and the README)
    (
        "cell-041",
        "rescaling: $W_{KQ} = a\\,I$ and $W_{PV}[d,d] = -\\eta/a$ compute the same function for any $a \\neq 0$.",
        "rescaling: the layer's update is linear in $W_{KQ}$ and in $W_{PV}$, so multiplying $W_{KQ}$ by any\n"
        "$a \\neq 0$ and dividing $W_{PV}$ by $a$ computes the same function.",
    ),
    ("test_best_lr", "checks.check_best_lr(best_lr)\n", "checks.check_best_lr(best_lr, uses=gd_predict)\n"),
    (
        "test_compare_with_gd",
        "checks.check_compare_with_gd(compare_with_gd)\n",
        "checks.check_compare_with_gd(compare_with_gd, uses=sensitivity)\n",
    ),
    (
        "cell-041",
        "If training found a GD step, the trained matrices should *look like* the construction — up to a",
        "If training found a GD step, the trained matrices should *look like* your construction — up to a",
    ),
]

THINK = {
    # new cell id: (insert before this cell id, text)
    "think-02-weights": (
        "cell-042",
        """**🤔 Predict, then look.** The next cell draws the trained $W_{KQ}$ and $W_{PV}$ as heatmaps,
beside your construction. Before you run it, sketch what you expect: which entries of each matrix
are large, which near zero, and will the trained numbers equal the construction's?

<details><summary>Answer</summary>

The structure of your construction: in $W_{KQ}$ a bright diagonal on the $x$-block, in $W_{PV}$ one
strong *negative* entry in the label-label corner, the rest near zero. The numbers need not match:
any scale $a$ of the diagonal, with the corner divided by $a$, computes the same function, and
the base objective, which sees only the function, cannot prefer $a = 1$. What must match is the step size the two together encode: the
cell after Exercise 7.1 reads it off the trained weights and prints it beside the line search's
best step size.
</details>""",
    ),
    "think-02-beyond-k": (
        "cell-057",
        """**🤔 Predict, then run.** The shipped tied layer was trained only with $K \\le 4$ passes. The
next cell runs it with $K = 1..8$ and then 16, 32 and 64 passes. Nothing in training ever scored
it past $K = 4$: will its loss keep falling, level off, or blow up there? What would make an
iterated layer blow up?

<details><summary>Answer</summary>

Measure, don't assume. On the shipped checkpoint the loss keeps falling: 0.417 at $K = 4$, the end
of the trained range, 0.3163 at $K = 8$ and 0.1445 at $K = 64$ (printed by the next cell).
An iterated update blows up when it multiplies the error by more than 1 along some direction each
pass, like gradient descent with too large a step. Nothing in training forbids that past the
trained $K$: this checkpoint's curriculum happened to shape a stable iteration, and the caption
below tells of a training run whose layer did diverge a few passes past $K = 4$.
</details>""",
    ),
}


def split_help(nb, cell_id: str) -> None:
    """A help cell holds the help only: text after the old hint moves to ``<cell_id>-note`` after it."""
    by_id = cells_by_id(nb)
    cell = by_id[cell_id]
    if f"{cell_id}-note" in by_id or "<summary>Hint</summary>" not in cell.source:
        return
    rest = cell.source.partition("</details>")[2].strip()
    if rest:
        new = nbformat.v4.new_markdown_cell(rest)
        new["id"] = f"{cell_id}-note"
        nb.cells.insert(nb.cells.index(cell) + 1, new)


def main(answers: dict[str, str] | None = None) -> None:
    nb = read(PATH)
    for cell_id in HELP:
        split_help(nb, cell_id)
    for new_id, (cell_id, marker, _) in EXERCISES.items():
        split(nb, cell_id, marker, new_id)
    apply_replacements(nb, REPLACE)
    require(nb, set(HELP) | think_targets(THINK), PATH)
    by_id = cells_by_id(nb)
    by_id["cell-036"].source = SECTION6
    set_sources(nb, {new_id: text for new_id, (_, _, text) in EXERCISES.items()})
    set_sources(nb, HELP)
    insert_think(nb, THINK)
    write(nb, PATH)


if __name__ == "__main__":
    main()
