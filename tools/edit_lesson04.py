"""Edit lesson 04's source notebook (solutions/04_objective_divergence) for issue 14. Idempotent.

    .venv/bin/python tools/edit_lesson04.py && .venv/bin/mesakit release

* Section 1 becomes a *capability failure* (Langosco et al. 2022's distinction): two new exercises
  show the LSA's frozen step making the context's own least-squares loss worse, and derive the
  step size past which that happens.
* Section 2 describes the agent as trained from reward (REINFORCE), seeing the whole level as maps.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

NB = Path(__file__).resolve().parent.parent / "solutions" / "04_objective_divergence" / "04_objective_divergence.ipynb"


def meta(grade_id: str | None = None, solution: bool = False, grade: bool = False, points: float = 0.0) -> dict:
    if grade_id is None:
        return {}
    nbg = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        nbg["points"] = points
    return {"nbgrader": nbg}


def md(text: str, grade_id: str | None = None):
    return nbformat.v4.new_markdown_cell(text.strip("\n"), metadata=meta(grade_id))


def code(text: str, grade_id: str | None = None, solution: bool = False, grade: bool = False, points: float = 0.0):
    return nbformat.v4.new_code_cell(text.strip("\n"), metadata=meta(grade_id, solution, grade, points))


TITLE = r"""
# Lesson 04 — Objective divergence: competent, but optimizing the wrong thing

A mesa optimizer has an objective of its own: whatever its internal search or update is aimed at.
Training only checks that this *mesa objective* gives good results **on the training
distribution**. Many objectives do — the one we meant (the *base objective*) and others that
happen to agree with it there. When the distribution shifts, the two can come apart, and the
dangerous case is not a model that falls apart: it is one that **keeps its competence and uses it
for the wrong goal** (Hubinger et al. 2019 call this *pseudo-alignment*; Shah et al. 2022 and
Langosco et al. 2022 call the observed behaviour *goal misgeneralization*).

Not every failure under a shift is this, so we look at two. First lesson 02's toy mesa optimizer:
the LSA runs a GD step whose step size is frozen into its weights; rescale the inputs and the step
overshoots so far that the model does worse than predicting 0. Its objective has not moved — the
step is still aimed at the context's own least-squares loss — but its algorithm no longer achieves
it: a **capability failure**. Then a gridworld: an agent trained from reward to fetch a coin that
always sat on the right edge navigates around walls competently — to the right edge, when the coin
is elsewhere. There the capabilities generalize and the goal does not: **objective divergence**.

**Learning objectives.** By the end you can
- evaluate a learned optimizer under a distribution shift against fair baselines (a re-tuned
  optimizer, a trivial predictor), and tell a capability failure (its own objective gets worse)
  from objective divergence (it competently pursues another goal);
- derive when one GD step of a fixed size makes a least-squares loss worse;
- write a behavioural test that tells which of two goals an agent pursues, and a shift evaluation
  that measures it over many levels;
- fix the misgeneralization by diversifying the training distribution, and say what that fix does
  and does not guarantee.

**Prerequisites.** Lesson 01's concept check (a mesa objective is what the inner optimizer's steps
descend); lesson 02 (the LSA as one GD step, `reference.best_gd_lr`, `metrics.loss`); PyTorch
tensors; NumPy random generators (`np.random.default_rng`).

**Time.** About 60 minutes.
"""

SECTION1 = r"""
## 1. A scale shift: a capability failure, not a new objective

In lesson 02 the trained LSA turned out to compute one GD step, `ŷ = w₁·x_q` with
`w₁ = η · (1/N) Σ y_i x_i`, and a step size `η` that training tuned for inputs `x ~ U(-1, 1)^d`.
As lesson 01's concept check put it, the mesa objective of such a model is the **context's own
least-squares loss** `L(w) = 1/(2N) Σ_i (w·x_i − y_i)²`: `w₁` is one gradient step down `L` from
`w = 0`. Now scale the inputs by `s` (`RegressionTask(x_scale=s)`, so the labels `y = w·x` scale
too). The context's second moment grows like `s²`, so the best step shrinks like `1/s²` — but the
model's `η` is frozen in its weights.

When a model fails under a shift, Langosco et al. (2022) separate two cases: a **capability
failure**, where it no longer acts competently, and **goal misgeneralization**, where it acts
competently towards a goal other than ours. This section measures which one the LSA shows.

### Exercise 1.1 — the shift evaluation

Goal: measure the LSA, GD with a re-tuned step, and the trivial predictor 0 on rescaled inputs.
"""

LOOK_SHIFT = r"""
*What to look for:* at scale 1 (shaded) the LSA sits on re-tuned GD. From there its loss climbs
like `s⁶` (its prediction grows like `s³`: `η·y·xᵀx_q`, three factors of `s`) and crosses
"predict 0" before `s = 1.5`; it tracks GD *with the old step* (dashed) almost exactly. Re-tuned
GD stays well below 0 at every scale. The right panel says why: the best step falls like `1/s²`,
the LSA's stays at its training value. (Any GD step tuned at scale 1 loses to predicting 0 past
`s = √2`: there the old step `η` is more than twice the best step `η/s²`.)

Is the LSA still competently pursuing an objective of its own, just not ours? Then its step should
at least still lower the loss it is aimed at — the context's. The next two exercises check.
"""

EX12 = r"""
### Exercise 1.2 — does the step still descend the context's loss?

Goal: for every prompt, the context's least-squares loss `L(w) = 1/(2N) Σ_i (w·x_i − y_i)²` before
the step (`w = 0`) and after it (`w₁ = η · (1/N) Σ_i y_i x_i`). The context is the first `N` rows
of `Z`; the last row is the query, whose label slot holds a placeholder 0.
"""

CONTEXT_LOSSES = r'''
def context_losses(Z: torch.Tensor, eta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Shapes: ``Z (B, N+1, d+1)``, ``eta`` a float -> ``(before (B,), after (B,))``.

    ``before[b]`` is the context's loss ``L(w) = 1/(2N) Σ_i (w·x_i − y_i)²`` at ``w = 0``; ``after[b]``
    the same loss at ``w₁ = eta · (1/N) Σ_i y_i x_i`` (one GD step on L from 0). Use only the N
    context rows ``Z[:, :-1]``: ``x_i = Z[:, i, :-1]``, ``y_i = Z[:, i, -1]``.
    """
    ### BEGIN SOLUTION
    x, y = Z[:, :-1, :-1], Z[:, :-1, -1]
    n = x.shape[1]
    w1 = eta * torch.einsum("bn,bnd->bd", y, x) / n
    before = 0.5 * (y**2).mean(dim=1)
    after = 0.5 * ((torch.einsum("bnd,bd->bn", x, w1) - y) ** 2).mean(dim=1)
    return before, after
    ### END SOLUTION
'''

TEST_CONTEXT_LOSSES = r"""
checks.check_context_losses(context_losses)
### BEGIN HIDDEN TESTS
_Z3, _ = RegressionTask(x_scale=3.0).sample(200, seed=21)
_b3, _a3 = context_losses(_Z3, 1.5)
assert _b3.shape == _a3.shape == (200,)
assert bool((_a3 > _b3).all()), "at scale 3 a step of 1.5 makes every context's loss worse"
_Z1, _ = RegressionTask().sample(200, seed=21)
_b1, _a1 = context_losses(_Z1, 1.5)
assert _a1.mean() < 0.5 * _b1.mean(), "at scale 1 a step of 1.5 more than halves the context's loss"
### END HIDDEN TESTS
"""

HINT12 = r"""
<details><summary>Hint</summary>

`x, y = Z[:, :-1, :-1], Z[:, :-1, -1]` are the context's inputs `(B, N, d)` and labels `(B, N)`.
`torch.einsum("bn,bnd->bd", y, x) / N` is `(1/N) Σ y_i x_i`; `torch.einsum("bnd,bd->bn", x, w)` gives
every `w·x_i`. Then `0.5 * (residual ** 2).mean(dim=1)` is `L`, one value per prompt.
</details>
"""

EX13 = r"""
### Exercise 1.3 — the step size past which the step hurts

Goal: for every prompt, the **critical step** `η_c`: one GD step `w = η·g` with
`g = (1/N) Σ_i y_i x_i` leaves the context's loss worse than not moving (`L(η·g) > L(0)`) exactly
when `η > η_c`. Derive `η_c` on paper first: expand `L(η·g) − L(0)` in powers of `η` (the cross
term needs `(1/N) Σ_i y_i (g·x_i) = ‖g‖²`). It is a parabola in `η` through 0 at `η = 0`; `η_c` is
where it crosses 0 again.
"""

CRITICAL_STEP = r'''
def critical_step(Z: torch.Tensor) -> torch.Tensor:
    """Shapes: ``Z (B, N+1, d+1)`` -> ``eta_c (B,)``.

    The step size at which one GD step ``w = eta·g`` (``g = (1/N) Σ_i y_i x_i``, the N context
    rows only) brings the context's loss back exactly to ``L(0)``: larger steps make it worse.
    """
    ### BEGIN SOLUTION
    x, y = Z[:, :-1, :-1], Z[:, :-1, -1]
    g = torch.einsum("bn,bnd->bd", y, x) / x.shape[1]
    return 2 * (g * g).sum(dim=1) / (torch.einsum("bnd,bd->bn", x, g) ** 2).mean(dim=1)
    ### END SOLUTION
'''

TEST_CRITICAL_STEP = r"""
checks.check_critical_step(critical_step)
### BEGIN HIDDEN TESTS
_Z, _ = RegressionTask(x_scale=1.7).sample(300, seed=22)
_c = critical_step(_Z)
_x, _y = _Z[:, :-1, :-1], _Z[:, :-1, -1]
_g = torch.einsum("bn,bnd->bd", _y, _x) / _x.shape[1]
_L = lambda w: 0.5 * ((torch.einsum("bnd,bd->bn", _x, w) - _y) ** 2).mean(dim=1)
assert torch.equal(_L(1.5 * _g) > _L(0 * _g), _c < 1.5), "the step makes L worse exactly when it is larger than eta_c"
assert torch.allclose(critical_step(2 * _Z), _c / 4, rtol=1e-4), "inputs twice as large: eta_c four times smaller"
### END HIDDEN TESTS
"""

HINT13 = r"""
<details><summary>Hint</summary>

`L(η·g) = 1/(2N) Σ_i (η g·x_i − y_i)² = L(0) − η·(1/N) Σ_i y_i (g·x_i) + (η²/2)·(1/N) Σ_i (g·x_i)²`,
and `(1/N) Σ_i y_i (g·x_i) = g·g`. So `L(η·g) − L(0) = −η‖g‖² + (η²/2)·(1/N) Σ_i (g·x_i)²`, which is
0 again at `η_c = 2‖g‖² / ((1/N) Σ_i (g·x_i)²)`. (Half of `η_c` is the best step along `g`.)
</details>
"""

CONTEXT_ANALYSIS = r"""
eta = shift["lsa_step_size"]  # the step the LSA takes (fitted to its predictions at scale 1)
crit_1 = critical_step(RegressionTask().sample(4000, seed=0)[0])
print(f"the LSA's step: eta = {eta:.3f}")
for s in (1.0, 1.2, 1.3, 1.4, 1.5, 2.0, 3.0):
    Z, _ = RegressionTask(x_scale=s).sample(4000, seed=0)  # the same draws as at scale 1, scaled by s
    before, after = context_losses(Z, eta)
    crit = critical_step(Z)
    print(f"scale {s:.1f}: context loss before {before.mean():6.2f}, after the LSA's step {after.mean():9.2f};"
          f" worse on {(after > before).float().mean():4.0%} of prompts; median eta_c × s² = {crit.median() * s**2:.3f}")
s_half = float((crit_1.median() / eta).sqrt())
print(f"eta_c falls like 1/s², so the LSA's step hurts half of the contexts from s = √(median eta_c at scale 1 / eta) = {s_half:.2f}")
"""

LOOK_CONTEXT = r"""
*What to look for:* at scale 1 the LSA's step cuts the context's loss to about a quarter. The
critical step falls like `1/s²` (the last column does not move: scaling `x` by `s` scales `g` by
`s²`), while the LSA's `η` stays where training put it. So past the scale printed on the last line
the step makes the context's *own* loss worse on most prompts, and at `s = 2` on practically all of
them — around the scale where it also starts losing to predicting 0 on the query (`√2`). The LSA
did not start pursuing another objective: its objective is still the context's loss, and its
algorithm — one step of a size frozen for one input scale — fails at it off-distribution. In
Langosco et al.'s (2022) terms this is a **capability failure**, not goal misgeneralization: the
model stops being competent. (Lesson 01 asked what a mesa optimizer's objective is; here the
answer did not change with the shift — only how well it is pursued.)

Could the model have noticed the shift? The shift is in the prompt: the context's input norms
`‖x_i‖²` grow like `s²`, and a line search on the context — what re-tuned GD does — would pick the
right step from them. One LSA layer computes a fixed bilinear function of the context, with no way
to divide by such a norm, and nothing in training asked it to: every training prompt had the same
scale. For a model that **stays competent** while pursuing the wrong goal, we need a different
setting.
"""


def find(nb, marker: str) -> int:
    """The one cell whose nbgrader grade_id or id is ``marker``, else the one whose source contains it."""
    hits = [
        i for i, c in enumerate(nb.cells) if marker in (c.metadata.get("nbgrader", {}).get("grade_id"), c.get("id"))
    ]
    hits = hits or [i for i, c in enumerate(nb.cells) if marker in c.source]
    if len(hits) != 1:
        raise SystemExit(f"expected one cell matching {marker!r}, found {len(hits)}")
    return hits[0]


def main() -> None:
    nb = nbformat.read(NB, as_version=4)
    nb.cells[find(nb, "title")].source = TITLE.strip("\n")
    nb.cells[find(nb, "## 1. ")].source = SECTION1.strip("\n")
    nb.cells[find(nb, "*What to look for:* at scale 1 (shaded)")].source = LOOK_SHIFT.strip("\n")
    # Drop the old closing paragraph of section 1 if it is still glued to the look-for cell.
    if not any(c.metadata.get("nbgrader", {}).get("grade_id") == "context_losses" for c in nb.cells):
        at = find(nb, "*What to look for:* at scale 1 (shaded)") + 1
        new = [
            md(EX12),
            code(CONTEXT_LOSSES, "context_losses", solution=True),
            code(TEST_CONTEXT_LOSSES, "test_context_losses", grade=True, points=2.0),
            md(HINT12),
            md(EX13),
            code(CRITICAL_STEP, "critical_step", solution=True),
            code(TEST_CRITICAL_STEP, "test_critical_step", grade=True, points=2.0),
            md(HINT13),
            code(CONTEXT_ANALYSIS),
            md(LOOK_CONTEXT),
        ]
        for k, cell in enumerate(new):  # stable ids, so that a rerun from the same source is byte-identical
            cell.id = cell.metadata.get("nbgrader", {}).get("grade_id", f"capability-{k}")
        nb.cells[at:at] = new
    else:
        for gid, text in (
            ("context_losses", CONTEXT_LOSSES),
            ("test_context_losses", TEST_CONTEXT_LOSSES),
            ("critical_step", CRITICAL_STEP),
            ("test_critical_step", TEST_CRITICAL_STEP),
        ):
            nb.cells[find(nb, gid)].source = text.strip("\n")
        for marker, text in (
            ("### Exercise 1.2", EX12),
            ("### Exercise 1.3", EX13),
            ('`torch.einsum("bn,bnd->bd", y, x) / N`', HINT12),
            ("which is\n0 again at", HINT13),
            ("crit_1 = critical_step", CONTEXT_ANALYSIS),
            ("*What to look for:* at scale 1 the LSA's step", LOOK_CONTEXT),
        ):
            nb.cells[find(nb, marker)].source = text.strip("\n")
    for old, new in SECTION2_EDITS:
        nb.cells[find(nb, old[0])].source = fill(new).strip("\n")
    section2_cells(nb)
    setup = nb.cells[find(nb, "setup")]
    if "GridPolicy" not in setup.source:
        setup.source = setup.source.replace(
            "from mesakit.divergence.gridpolicy import goal_rates as library_goal_rates",
            "from mesakit.divergence.gridpolicy import GridPolicy\nfrom mesakit.divergence.gridpolicy import goal_rates as library_goal_rates",
        )
    nbformat.write(nb, NB)
    print(f"wrote {NB}")


SECTION2 = r"""
## 2. Goal misgeneralization in a gridworld

Langosco et al. (2022) trained agents with reinforcement learning on CoinRun, a platform game where
the coin is always at the right end of the level. Moved elsewhere at test time, the agents ignored
it and ran to the end of the level: they had learned "go right", which in training earned exactly
the same reward as "get the coin".

Our version (`mesakit.divergence.gridworld`): 7×7 levels with random walls (12% of cells), an agent that starts
anywhere off the right edge, and a coin **always on the right edge**, in a random row. The agent
sees the whole level as three maps (walls, coin, itself) and moves up, down, left or right. Its
policy (`mesakit.divergence.gridpolicy.GridPolicy`, a small MLP) was trained **from reward alone**: stepping on
the coin is worth `0.9^(moves − 1)` (sooner is better), nothing else is rewarded, and a
policy-gradient method (REINFORCE: play a batch of episodes, raise the log-probability of each move
in proportion to how much better than average the return after it was) ran on the course's training
loop, `mesakit.core.train.train`, over 3,000 training levels. Nothing in the reward mentions the right
edge; the only thing that can make the agent care about it is that, in every training level, the
coin sat there. The agent samples its moves from its policy. Training both agents of this lesson
takes over a minute of CPU (`mesakit reproduce goal-misgeneralization` prints the time), so we load
the shipped policies (`goal_misgeneralization.train_both()` retrains them).
"""

LOOK_RATES = r"""
*What to look for:* on levels like its training levels the agent collects the coin almost every
time — it navigates around walls, so its competence is real. With the coin moved, the same agent
reaches the right edge **before** the coin in most episodes and the coin first mostly when the coin
happens to lie on its way (the rates are printed above; over training seeds SEEDS,
`mesakit reproduce goal-misgeneralization --seed S` measures RATES_RANGE on 1,000 held-out
levels). It did
not learn "get the coin"; it learned "go to the right edge and look along it", which earned the
same reward on every level it was trained on.

Why so blunt? In training a coin only ever lit up the right-edge column of the coin map, so the
weights that read the other columns received no gradient at all. The shipped agent was trained
with seed 0, so we can rebuild its initial weights and compare:
"""

WEIGHTS = r"""
torch.manual_seed(0)  # what train_policy(seed=0) does before building the policy: its initial weights
initial = GridPolicy()
coin_weights = lambda p: p.net[1].weight.detach().view(-1, 3, 7, 7)[:, 1]  # first layer, coin map: (hidden, 7, 7)
change = (coin_weights(narrow) - coin_weights(initial)).abs().amax(dim=0)  # largest change per cell, (7, 7)
print("largest change in training of the weights reading a coin at each cell (columns 0-6):")
print(np.array2string(change.numpy(), precision=2, suppress_small=True))
"""

LOOK_WEIGHTS = r"""
*What to look for:* every column but the last reads exactly 0: the weights that would see a coin
anywhere off the right edge are still the random ones the agent started with. To this network a
moved coin is noise, and what training did shape — heading for the edge — is what it does. This
is the bluntest form of the problem; in CoinRun the agents' features did respond to the coin in new
places, yet the learned behaviour still went right. Either way the training levels, not the reward,
decided which goal the agent ended up with.

Step through episodes yourself: each level on the left is a training-kind level, on the right the
same level with the coin moved. Press play, or drag the sliders.
"""

DIVERSE_INTRO = r"""
`gridworld.make_level(GridConfig(coin="anywhere"))` draws training levels this way, and
`gridpolicy.train_policy("anywhere")` trains the same MLP on them, with the same reward, updates and
seed. We load the shipped result and measure it on the **same** shifted levels:
"""

LOOK_DIVERSE = r"""
*What to look for:* the diversely trained agent goes to the moved coin first in almost every
episode and rarely runs to the edge instead (printed above; DIVERSE_RANGE over training seeds
SEEDS with `mesakit reproduce goal-misgeneralization --seed S`).
Side by side on one shifted level:
"""

SUMMARY = r"""
## Summary

- Not every failure under a shift is objective divergence. The trained LSA keeps taking the step it
  learned for inputs of one scale: on inputs scaled by 3 it is far worse than predicting 0 (the
  table in section 1) while re-tuned GD stays good, and past the scale printed in section 1 its step
  makes even the context's own least-squares loss worse. Its objective did not change; its
  algorithm failed — a **capability failure** (Langosco et al. 2022).
- A gridworld agent trained **from reward** with the coin always on the right edge stays competent
  and learns the wrong goal: with the coin moved it mostly reaches the edge before the coin, though
  it solves nearly every training-kind level. Nothing but the training levels favoured the edge. A
  behavioural test (which goal does it reach first?) over many shifted levels measures this.
- Training on levels where the coin can be anywhere removes this proxy. It only removes proxies
  that the new distribution breaks.

## Further reading

- Langosco, Koch, Sharkey, Pfau, Krueger (2022). *Goal Misgeneralization in Deep Reinforcement
  Learning.* (CoinRun and maze agents; the experiment this lesson reproduces in small, and the
  distinction between capability failure and goal misgeneralization.)
- Shah, Varma, Kumar, Phuong, Krakovna, Uesato, Kenton (2022). *Goal Misgeneralization: Why Correct
  Specifications Aren't Enough For Correct Goals.*
- Hubinger, van Merwijk, Mikulik, Skalse, Garrabrant (2019). *Risks from Learned Optimization in
  Advanced Machine Learning Systems.* (Section 4: pseudo-alignment and distributional shift.)
- von Oswald et al. (2022). *Transformers learn in-context by gradient descent.* (The LSA of section 1.)
- Williams (1992). *Simple statistical gradient-following algorithms for connectionist reinforcement
  learning.* (REINFORCE, the policy gradient that trains the gridworld agent.)
"""

SECTION2_EDITS: list[tuple[tuple[str], str]] = [
    (("## 2. Goal misgeneralization",), SECTION2),
    (("*What to look for:* on levels like its training levels",), LOOK_RATES),
    (('`gridworld.make_level(GridConfig(coin="anywhere"))` draws',), DIVERSE_INTRO),
    (("*What to look for:* the diversely trained agent",), LOOK_DIVERSE),
    (("## Summary",), SUMMARY),
]


# Measured with `benchmarks/seeds.py goal-misgeneralization` (1,000 held-out levels per seed).
SEEDS = "0 to 7"
RATES_RANGE = "coin 0.954–0.966 on training-kind levels; with the coin moved, right edge first 0.877–0.894 and coin first 0.084–0.103"
DIVERSE_RANGE = "0.952–0.962"


def fill(text: str) -> str:
    return text.replace("RATES_RANGE", RATES_RANGE).replace("DIVERSE_RANGE", DIVERSE_RANGE).replace("SEEDS", SEEDS)


def section2_cells(nb) -> None:
    """Insert the weights cell and its reading after the rates' look-for cell (once)."""
    if any(c.get("id") == "untouched-weights" for c in nb.cells):
        nb.cells[find(nb, "untouched-weights")].source = WEIGHTS.strip("\n")
        nb.cells[find(nb, "untouched-weights-look")].source = LOOK_WEIGHTS.strip("\n")
        return
    at = find(nb, "*What to look for:* on levels like its training levels") + 1
    cells = [code(WEIGHTS), md(LOOK_WEIGHTS)]
    cells[0].id, cells[1].id = "untouched-weights", "untouched-weights-look"
    nb.cells[at:at] = cells
    # The widget's introduction moved into LOOK_WEIGHTS.


if __name__ == "__main__":
    main()
