"""Edit lesson 05's source notebook (issue 14): what the loss supervised and what it did not, the
long runs at 4x the most supervised count, the offset penalty, seed ranges, answers in <details>.

    .venv/bin/python tools/edit_lesson05.py && .venv/bin/mesakit release

Idempotent: each cell is found by a phrase that stays in it, and its source is set in full; new
cells are inserted once, after an anchor cell. The seed ranges below come from
`benchmarks/seeds.py thinking-time --seeds 0-7` (each seed's `mesakit reproduce thinking-time --seed S`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions" / "05_internal_search" / "05_internal_search.ipynb"

# Ranges over seeds 0-7 of `mesakit reproduce thinking-time --seed S` (benchmarks/seeds.py).
SEEDS = {
    "trained": "0.981 to 0.995",  # solve rate at T = 16, 5×5
    "long": "0.979 to 0.996",  # solve rate at 128 iterations, 5×5
    "long_drop": "0.009",  # the most the 5×5 solve rate at 128 lies below the one at T
    "large_32": "0.680 to 0.812",  # solve rate at 2T = 32, 7×7
    "long_large": "0.564 to 0.784",  # solve rate at 128 iterations, 7×7
    "large_drop": "0.12",  # the most the 7×7 solve rate at 128 lies below the one at 32 (seed 6)
    "r2": "0.880 to 0.908",  # probe R² after T iterations
    "r2_control": "0.041",  # the untrained control (the same random planner for every seed)
    "drift": "below 0.001",  # |score drift| per iteration from T to 128, in steps of distance
    "train_cpu": "42 to 48",  # training CPU seconds, one core, measured on a busy machine
}

CELLS: dict[str, str] = {}

# partial edits inside a cell: (old text, new text); skipped once the new text is in
REPLACE = [
    (
        "as shipped checkpoints, trained by `mesakit.experiments.thinking_time` (about a minute on one core).",
        "as shipped checkpoints, trained by `mesakit.experiments.thinking_time` ({train_cpu} s of one CPU\n"
        "core for the recurrent planner, across seeds 0 to 7 on a busy machine).",
    ),
    (
        "from mesakit.search.probe import open_square_features, probe_value_map\n",
        "from mesakit.search.probe import open_square_features, probe_value_map, r2_score\n",
    ),
]

CELLS["**Training.**"] = """\
<details><summary>Hint</summary>

Three lines after the check: `h = model.initial_state(mazes)`, then a `for` loop over
`range(iterations)` doing `h = model.step(h, mazes)`, then `return model.readout(h, mazes)`. The
check also calls `run_planner(model, mazes, 0)` and expects a `ValueError`.
</details>

**Training.** `thinking_time.train_planner` trains the planner with the course's one training loop
(`mesakit.core.train.train`), 5×5-cell mazes drawn fresh at every step, and a cross-entropy between
the next-move logits and the BFS next move on every open square (`mesakit.search.mazes.next_move_map`).
Nothing in the loss mentions distances. Three details matter:

- **Smoothed targets**: 0.9 on the right move, 0.1 shared by the other open moves. Plain
  cross-entropy rewards ever larger gaps between scores, and a planner trained that way learns to
  inflate its state a little more at every iteration, until, run for longer than in training, it
  blows up; with a bounded target gap the state can settle.
- **A penalty on the goal's score** (`thinking_time.thinking_loss`: 0.1 × the goal square's score,
  squared). Adding the same number to every square's score changes no move, so the move loss
  alone leaves the *level* of the map free. Without the penalty the planner learns to lift the
  whole map a little at every iteration: harmless inside the trained range, ruinous far beyond it
  (section 3 shows the long runs).
- **A simplified progressive loss** (after Bansal et al. 2022): each training step first runs a
  random number of iterations, 0 to 24, **without** gradients, then 8 more with gradients, and only
  then reads out the moves. A network trained at one fixed depth may learn to "count" and break
  when run longer; trained this way, every iteration must *improve* whatever state it is handed
  (and keep a solved maze solved). Bansal et al. draw the number of iterations with gradients at
  random too and add a loss at the full depth; we keep a fixed window and drop that term.

So the loss sees the planner's output after **8 to 32 iterations** (`T/2` to `2T`, printed below
as the supervised range) and **never after more than 32**. Training takes under a minute of one
core, so we load the checkpoint that this function wrote (set `TRAIN = True` to train your own)."""

CELLS["TRAIN = False"] = """\
TRAIN = False
if TRAIN:
    planner, history = thinking_time.train_planner(seed=0)
    display(plots.loss_curve(history.loss, title="Training the recurrent planner (smoothed next-move cross-entropy)"))
else:
    planner = models.load_pretrained("planner_recurrent")
feedforward = models.load_pretrained("planner_feedforward")
T = planner.config.iterations
SUPERVISED = thinking_time.max_supervised_iterations(T)  # the most iterations whose output the loss ever saw
print(f"recurrent planner: {sum(p.numel() for p in planner.parameters()):,} weights, trained count T = {T} iterations")
print(f"the loss saw its output after {T // 2} to {SUPERVISED} iterations, never after more")
print(f"feed-forward planner: {sum(p.numel() for p in feedforward.parameters()):,} weights, {feedforward.config.depth} distinct blocks")"""

CELLS["*What to look for:* near zero with one iteration"] = """\
*What to look for:* near zero with one iteration, a steep rise to the trained count, then a
plateau up to `2T`. Be careful what this shows: every count on this plot lies inside the range the
loss supervised (up to 32), so "thinking twice as long costs nothing" is *trained* behaviour, not
an extrapolation. Across seeds 0 to 7 (`mesakit reproduce thinking-time --seed S`) the solve rate
at `T` is {trained}, and no count up to `2T` is more than 0.02 below it. On larger mazes the
curve rises later and keeps rising past the trained count: **more thinking time buys harder
problems**, with the same weights. That is the signature of an iterative algorithm, not of a
lookup table.

### Thinking far longer than anything supervised

The real test of "more thinking does not hurt" is a count the loss never saw. Run the planner for
four times the most it was ever supervised at, and measure how far its score map moves per
iteration past `T` (`thinking_time.score_drift`: the change of the goal square's score per
iteration, in steps of distance to the goal)."""

CELLS["LONG = 4 * SUPERVISED"] = """\
LONG = 4 * SUPERVISED  # four times the most iterations the loss ever saw
long_rate, long_rate_large = solve_rate(planner, test_mazes, LONG), solve_rate(planner, large_mazes, LONG)
print(f"{LONG} iterations: 5×5 {long_rate:.2f} (at T = {T}: {curve[grid.index(T)]:.2f}); "
      f"7×7 {long_rate_large:.2f} (at 2T = {2 * T}: {curve_large[-1]:.2f})")
print(f"score map drift from {T} to {LONG} iterations: {thinking_time.score_drift(planner, test_mazes[:100], T, LONG):+.4f} steps per iteration")"""

CELLS["*What to look for:* the solve rate at"] = (
    """\
*What to look for:* the solve rate at `LONG` next to the one at `T`, and a drift close to 0.
Across seeds 0 to 7, `mesakit reproduce thinking-time` gives {long} on 5×5 mazes at 128
iterations, never more than {long_drop} below the rate at `T`, with a drift {drift} steps of
distance per iteration in absolute value: the map settles, and a solved maze stays solved. That
is what the goal-score penalty bought. It is not the whole story on the larger mazes: at 128
iterations the 7×7 solve rate is {long_large}, against {large_32} at `2T`, so some larger mazes
solved at 32 iterations are lost again far past anything supervised (up to {large_drop} on one
seed). An earlier version of this planner, trained the same way but without the penalty (and
with warm-ups up to 32), lifted its whole map by more than a step of distance per iteration past
`T`; inside the supervised range that did no harm, but far beyond it the growing state bent the map
out of shape and the solve rate fell well below its value at `T` (to train one yourself:
`thinking_time.train_planner(seed=0, offset_penalty=0.0)`, about a minute of one core). Bansal et al. (2022) call this failure *overthinking*.
"""
    + r"""
## 4. Reading the value map: a linear probe

Does the hidden state hold the distance to the goal? A **probe** answers with a linear map from
the hidden vector at one square (`C` numbers) to that square's BFS distance, fit by ridge
regression on the open squares of some mazes and scored on other mazes by
$R^2 = 1 - \sum (y - \hat y)^2 / \sum (y - \bar y)^2$ (1 = perfect, 0 = no better than the mean).

### Exercise 4.1 — ridge regression
Goal: the weights and intercept minimising $\lVert X w + b - y\rVert^2 + \alpha \lVert w\rVert^2$
(the intercept is not penalised)."""
)

CELLS["**What the probe says here.**"] = """\
*What to look for:* if the hidden state held BFS's value map, the dots would hug the dashed
diagonal and R² would be close to 1, far above the control.

**What the probe says here.** The final hidden state holds the distance to the goal: the cell
above prints R² for the shipped planner, and across seeds 0 to 7 `mesakit reproduce thinking-time`
gives {r2}, against {r2_control} for the untrained control. The planner's own score is a linear
read-out of the same state, so the probe is in effect asking "is the score the distance?", and the
answer is yes, nearly: the score falls by about the same amount per step away from the goal, in
every branch of the maze. Training only demanded that the score rise towards the goal; it did not
demand equal steps.

Is this circular? Partly, and it is worth being precise about which part. The architecture makes
the network act by climbing a map, so *some* map must be there: that was designed in. That the
map turns out to be (nearly linearly) the BFS distance was not: the loss never mentions
distances, and the probe is scored on mazes it was not fit on. The design matters here. While
building this lesson we also trained a variant whose head gives four free move logits per square
instead of a score (not shipped, so take it as an anecdote); it solved the mazes just as well, but
a probe read far less of the distance from its final state: it only needed to remember which
neighbour the goal's signal came from. Whether a network builds a value map depends on what its
architecture and objective make useful.

Step through the iterations with the widget: the left panel is the planner's current traced
path, the middle one the probe (fit at iteration `T`) applied to the hidden state at the chosen
iteration, the right one the BFS truth."""

CELLS["*What to look for:* at iteration 1 the probe reads"] = """\
*What to look for:* at iteration 1 the probe reads "far from the goal" almost everywhere; then the
squares next to the goal turn dark (near) and the dark region spreads outwards along the
corridors, a square or two per iteration: a wave, as in breadth-first search, which finds a
square's distance in the round the wave reaches it. The traced path gets through once the wave
has reached the start, and at iteration `T` the middle panel matches the truth. Past `T` the map
stays put (the drift measured in section 3 is close to 0), so the probe fit at iteration `T`
still reads the distance long after it:"""

CELLS["X_long, y_long"] = """\
with torch.no_grad():
    X_long, y_long = open_square_features(planner.final_state(held_out.inputs, LONG), held_out)
print(f"the probe fit at iteration {T}: R² {r2:.3f} at iteration {T}, {r2_score(probe.predict(X_long), y_long):.3f} at iteration {LONG}")"""

CELLS["A probe shows that information is *there*"] = """\
A probe shows that information is *there*; a positive result would still not show that the
network *uses* it. For that, Taufeeque et al. (2024) edited the hidden state along the probe's
direction and watched the agent change its plan.

## 5. No iterations, no search: the feed-forward baseline

`FeedForwardPlanner` has the same parts (the score head included) but three *distinct* blocks,
each applied once, and about three times the weights of the recurrent planner. Its reach is
fixed: after the embedding and three blocks of two 3×3 convolutions, a square's score can only
depend on squares at most 1 + 6 steps away.

### Exercise 5.1 — solve rate by path length
Goal: the solve rate within each bin of path length (steps from start to goal)."""

CELLS["edges = [2, 6, 10, 14, 18, 24, 50]"] = """\
edges = [2, 6, 10, 14, 18, 24, 50]
by_length = {
    "feed-forward": planner_lib.solve_rate_by_length(feedforward, test_mazes, edges).tolist(),
    "recurrent, 4 iterations": planner_lib.solve_rate_by_length(planner, test_mazes, edges, 4).tolist(),
    f"recurrent, {T} iterations": planner_lib.solve_rate_by_length(planner, test_mazes, edges, T).tolist(),
}
display(plots.solve_by_length(edges, by_length))
print("path lengths:", [f"{lo}-{hi - 1}" for lo, hi in zip(edges, edges[1:])])
for name, rates in by_length.items():
    print(f"{name}:", [round(r, 2) for r in rates])
print(f"solve rate on 5×5 mazes: feed-forward {ff_rate:.2f}, recurrent {curve[grid.index(T)]:.2f} ({T} iterations)")"""

CELLS["*What to look for:* the feed-forward network's solve rate falls"] = """\
*What to look for:* the feed-forward network's solve rate falls with the path length (the rows
printed above), while the recurrent planner with its full thinking time solves nearly all of
them, whatever their length. The feed-forward network does better on long paths than its reach
of 7 squares suggests: on a small maze it can often rule out a side branch whose dead end lies
within its view, without seeing the goal. That trick runs out as mazes grow. Bigger feed-forward
networks reach further, but always by a fixed amount: they cannot trade compute for difficulty
at test time."""

CELLS["## 6. Discussion"] = """\
## 6. Discussion: which fingerprints would survive in a large model?

Take a minute for each question before you open its answer.

1. **More thinking helps.** In a large language model the analogue is extra reasoning tokens or
   layers. What does this test need, and what does it show?

<details><summary>Answer</summary>

It is a *behavioural* test and needs no access to the weights, but it only shows that extra
compute helps, not what the compute does: a model that averages many guesses also improves with
more samples. And check *which* extra compute: here, counts up to `2T` were supervised, so only
the runs past 32 iterations test extrapolation at all.
</details>

2. **Extrapolation to larger problems.** Can a non-searching model fake it, and can you run this
   test on a large model?

<details><summary>Answer</summary>

The strongest of the three behavioural signals here: a lookup table cannot solve mazes larger
than any it saw. A non-searching model can fake it only if the larger problems secretly resemble
the small ones. In a large model, "larger" is hard to define and the training data is rarely
known.
</details>

3. **A probe reads a value map.** How can a probe mislead you?

<details><summary>Answer</summary>

Both ways. A probe with many features can read correlates of the distance (how far from a wall,
how far from the border...) from a network that does not search, so always compare with a
control (an untrained or a feed-forward network). And a probe's success depends on the design as
much as on the search: our planner holds a linear value map because it acts by climbing one; a
planner with free move logits solved the same mazes with far less linearly decodable distance in
its final state. Decodable is not the same as used: interventions are the real test.
</details>

4. **Ablations and interventions** (not done here). Why are they the strongest evidence?

<details><summary>Answer</summary>

Editing the hidden state along the probe's direction and watching the plan change is the evidence
Taufeeque et al. (2024) relied on: it shows the network *uses* the representation, not just that
it is decodable. It scales to large models (activation steering) and is the hardest to fake.
</details>

Lesson 06 builds a detector from such signals and asks where it fails.

## Summary

- BFS gives the ground truth of a maze: the distance map (a value map) and the shortest path.
- A recurrent network that applies one block many times, re-reading the maze each step, and is
  trained to give the next move on every square, learns an iterative algorithm: it fails with one
  iteration, solves most training-size mazes at the trained count, and solves larger mazes when
  given more iterations.
- Know what was supervised: our loss saw outputs after 8 to 32 iterations, so "no worse at twice
  the trained count" is trained behaviour. Far past it (128 iterations), the planner still solves
  its training-size mazes, because a penalty on the goal's score pinned the level of its score
  map, which the moves alone leave free; on larger mazes it loses some of what it had at 32.
- A ridge probe with R² tells how much of the distance to the goal is linearly decodable from the
  hidden state. This planner's final state holds it (R² {r2} across seeds 0 to 7, against {r2_control}
  for an untrained control), and the probe applied iteration by iteration shows the value map
  spreading out from the goal like a breadth-first search. Always compare a probe with a control.
- A feed-forward network of similar size cannot trade compute for difficulty: its reach is fixed.
- Behavioural signals, extrapolation and probes are evidence of internal search of increasing
  strength; interventions on the representation are stronger still.

## Further reading

- Schwarzschild, Borgnia, Gupta, Huang, Vishkin, Goldblum, Goldstein (2021), *Can You Learn an
  Algorithm? Generalizing from Easy to Hard Problems with Recurrent Networks*.
- Bansal, Schwarzschild, Borgnia, Emam, Huang, Goldblum, Goldstein (2022), *End-to-end Algorithm
  Synthesis with Recurrent Networks: Logical Extrapolation Without Overthinking*: the progressive
  loss, of which section 2 uses a simplified form.
- Guez, Mirza, Gregor, Kabra, Racanière, Weber, Raposo, Santoro, Orseau, Eccles, Wayne, Silver,
  Lillicrap (2019), *An Investigation of Model-Free Planning*.
- Taufeeque, Quirke, Li, Cundy, Tucker, Gleave, Garriga-Alonso (2024), *Planning in a Recurrent
  Neural Network that Plays Sokoban*.
- Tamar, Wu, Thomas, Levine, Abbeel (2016), *Value Iteration Networks*.
- Hubinger, van Merwijk, Mikulik, Skalse, Garrabrant (2019), *Risks from Learned Optimization in
  Advanced Machine Learning Systems*."""

# one cell holds section 5's closing text, the discussion, the summary and the further reading
CELLS["*What to look for:* the feed-forward network's solve rate falls"] += "\n\n" + CELLS.pop("## 6. Discussion")

# new cells: (marker of the new cell, marker of the cell it follows, cell type)
INSERTS = [
    ("LONG = 4 * SUPERVISED", "*What to look for:* near zero with one iteration", "code", "long-runs"),
    ("*What to look for:* the solve rate at", "LONG = 4 * SUPERVISED", "markdown", "long-runs-text"),
    ("X_long, y_long", "*What to look for:* at iteration 1 the probe reads", "code", "probe-long"),
    ("A probe shows that information is *there*", "X_long, y_long", "markdown", "section-5"),
]


def _find(nb, marker: str) -> int | None:
    hits = [i for i, c in enumerate(nb.cells) if marker in c.source]
    if len(hits) > 1:
        sys.exit(f"marker {marker!r} is in {len(hits)} cells ({hits}); make it unique")
    return hits[0] if hits else None


def _fill(text: str) -> str:
    """Put the seed ranges in (only ``{name}`` for the names in SEEDS: code cells hold f-strings)."""
    for name, value in SEEDS.items():
        text = text.replace("{" + name + "}", value)
    return text


def main() -> int:
    nb = nbformat.read(SOURCE, as_version=4)
    # the old cell that held the widget text AND section 5's intro is split: its section-5 part
    # moves to a new cell after the long-run probe cell.
    widget_text = _find(nb, "*What to look for:* at iteration 1 the probe reads")
    if widget_text is not None and "A probe shows that information" in nb.cells[widget_text].source:
        nb.cells[widget_text].source = _fill(CELLS["*What to look for:* at iteration 1 the probe reads"])
    for marker, after, kind, cell_id in INSERTS:
        if _find(nb, marker) is None:
            at = _find(nb, after)
            if at is None:
                sys.exit(f"anchor {after!r} not found")
            new = nbformat.v4.new_code_cell(marker) if kind == "code" else nbformat.v4.new_markdown_cell(marker)
            new["id"] = cell_id
            nb.cells.insert(at + 1, new)
    for marker, text in CELLS.items():
        i = _find(nb, marker)
        if i is None:
            sys.exit(f"no cell holds {marker!r}")
        nb.cells[i].source = _fill(text)
    for old, new in REPLACE:
        old, new = _fill(old), _fill(new)
        hits = [c for c in nb.cells if old in c.source]
        if len(hits) == 1:
            hits[0].source = hits[0].source.replace(old, new)
        elif not any(new in c.source for c in nb.cells):
            sys.exit(f"{old!r} is in {len(hits)} cells and {new!r} in none")
    nbformat.write(nb, SOURCE)
    print(f"wrote {SOURCE.relative_to(ROOT)} ({len(nb.cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
