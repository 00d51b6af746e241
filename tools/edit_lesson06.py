"""Lesson 06 (issues 13 and 14): the capstone — the learner writes a third signal and their own
``analyze_model_behavior``, scores it with their own ``auroc`` beside the library's detector, and a
hidden test scores it on held-out models; the zoo split by family with softmax transformers and
other optimizers held out; the ``query_oddness`` gate; lesson 03's criterion for the partly trained
LSAs; a false-negative row in the limits table; "explained-share gain" (renamed from lesson 06's
"in-context gain", which lesson 03 uses for a loss difference); the sketch shared with lesson 01;
one year per citation. Idempotent:

    .venv/bin/python tools/edit_lesson06.py && .venv/bin/mesakit release
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbedit  # noqa: E402

PATH = Path(__file__).resolve().parent.parent / "solutions/06_detection/06_detection.ipynb"

TITLE_SKETCH_OLD = """```python
def analyze_model_behavior(model, inputs):
    outputs = model(inputs)
    if detect_optimization_pattern(outputs):
        return "Potential mesa optimizer detected"
    return "Standard model behavior"
```"""

PARTIAL_CRITERION = """# Lesson 03's criterion for "the optimizer has appeared": the sensitivity cosine with one GD step
# stays >= 0.9 (emergence.appearance_step). The partly trained LSAs are labelled mesa optimizers by it.
Z_check, _ = task.sample(1024, seed=9)
gd_step = lambda Z: reference.gd_predict(Z, 1.0)
for name in ("lsa_partial_early", "lsa_partial", "lsa_trained"):
    cos = metrics.sensitivity_cosine(zoo.load(name), gd_step, Z_check)
    print(f"{name:18s} sensitivity cosine with one GD step {cos:.3f} -> "
          f"{'appeared (label: mesa)' if cos >= 0.9 else 'not yet'}")"""

TRANSFORMERS_MD = """### Beyond our families: softmax transformers and other optimizers

The held-out families are the real test. Garg et al. (2022) trained ordinary softmax transformers
on this very task and found them learning in context about as well as least squares. The zoo's
transformers (`mesakit.detection.transformer`, `torch.nn.TransformerEncoder` with 1, 2 and 4 layers, trained
on fresh tasks for a minute or two each and shipped as checkpoints) are not linear in the query:
softmax attention makes the prediction a curved function of $x_q$. Below, their loss beside one
tuned GD step and ordinary least squares (here $N = d$, so least squares recovers $w$ exactly), and
the two candidate gates. *What to look for:* every transformer beats one GD step; the old gate
`query_linearity` (does the sensitivity explain the prediction as $s\\cdot x_q$?) would have cut
the deeper ones down, while `query_oddness` (does the prediction flip sign with the query?) passes
them all."""

TRANSFORMERS_CODE = """Z_t, y_t = task.sample(2048, seed=11)
fresh_t, _ = detect.fresh_task_prompts(Z_t, torch.Generator().manual_seed(0))
x_t, y_ctx, q_t = Z_t[:, :-1, :-1], Z_t[:, :-1, -1], Z_t[:, -1, :-1]
w_ols = torch.linalg.lstsq(x_t, y_ctx.unsqueeze(-1)).solution.squeeze(-1)
print(f"{'model':26s} {'loss':>6s} {'score':>6s} {'query_linearity':>16s} {'query_oddness':>14s}")
print(f"{'predict 0':26s} {metrics.loss(torch.zeros_like(y_t), y_t):6.3f}")
print(f"{'one tuned GD step':26s} {metrics.loss(reference.gd_predict(Z_t, reference.best_gd_lr()), y_t):6.3f}")
print(f"{'least squares':26s} {metrics.loss((w_ols * q_t).sum(-1), y_t):6.3f}")
for name in ("transformer_1layer", "transformer_2layer", "transformer_4layer", "transformer_fixed_length"):
    model = zoo.load(name)
    with torch.no_grad():
        loss = metrics.loss(model(Z_t), y_t).item()
    r = detect.analyze_model_behavior(model, Z_t[:256])
    print(f"{name:26s} {loss:6.3f} {r.score:6.2f} {detect.query_linearity(model, fresh_t):16.2f} {r.signals['query_oddness']:14.2f}")"""

KERNEL_CODE = """for bandwidth in (0.3, 0.5, 0.7, 1.0, 1.5, 3.0):
    r = detect.analyze_model_behavior(zoo.KernelSmoother(zoo.KernelConfig(bandwidth=bandwidth)), Z_demo)
    ungated = detect.combine_signals({k: v for k, v in r.signals.items() if k not in detect.GATES})
    print(f"bandwidth {bandwidth:3.1f}: without the gate {ungated:.2f}, query_oddness {r.signals['query_oddness']:.2f}, "
          f"gated score {r.score:.2f} -> {r.verdict}")"""

FALSE_NEGATIVE_CODE = """# An optimizer the detector misses: kernel ridge regression with a narrow Gaussian kernel. It solves a
# ridge-regularised least-squares problem on its context exactly, but over non-linear functions.
from mesakit import solvers

Z_k, y_k = task.sample(2048, seed=12)
for bandwidth in (1.0, 4.0):
    krr = solvers.KernelRidge(solvers.KernelRidgeConfig(bandwidth=bandwidth, ridge=0.01))
    with torch.no_grad():
        loss = metrics.loss(krr(Z_k), y_k).item()
    r = detect.analyze_model_behavior(krr, Z_k[:256])
    print(f"kernel ridge, bandwidth {bandwidth}: loss {loss:.3f}, score {r.score:.2f} -> {r.verdict}")
    print("   ", {k: round(v, 2) for k, v in r.signals.items()})"""

LIMITS_TABLE_OLD = """| label average, copy-last | nothing here | — |
"""
LIMITS_TABLE_NEW = """| label average, copy-last | nothing here | — |

**…and an optimizer it misses** (a false negative, printed above):

| optimizer | why it is one | what the detector sees |
|---|---|---|
| kernel ridge regression, narrow kernel (bandwidth 1) | it exactly minimises a ridge-regularised least-squares loss on its context | a weak learner of *linear* tasks whose prediction is not $w\\cdot x_q$: alignment, scale consistency and the gate all fall, so the verdict is "standard" |

The same solver with a wide kernel (bandwidth 4) is nearly linear and is detected. The detector
recognises optimizers *of this task's hypothesis class* — linear predictors — and misses one that
optimizes well over another class. Whether to call that a miss or a feature depends on what you
wanted to find.
"""

CAPSTONE_INTRO = """## 6. Capstone: your own detector

Lesson 01 promised that you would build `analyze_model_behavior(model, inputs)` yourself. You have
the parts: `context_gain` (Exercise 1.1), `gd_alignment` (1.2), `combine_signals` (2.1) and
`auroc` (3.1). Add one more signal, assemble your detector, score it on the zoo with your own
`auroc` beside the library's, and then let the hidden test score it on models this notebook never
shows.

### Exercise 6.1 — the learning curve
Goal: how much a longer context helps — the explained-share gain with the whole context minus the
gain with only the first `m` context examples (keep the query as the last row)."""

LEARNING_CURVE = '''def learning_curve(predict, Z: torch.Tensor, y: torch.Tensor, m: int) -> float:
    """Shapes: Z (B, N+1, d+1), y (B,), 1 <= m < N -> float.

    context_gain on the whole prompt minus context_gain on the prompt cut to its first m context
    examples followed by the query row: (B, m+1, d+1).
    """
    ### BEGIN SOLUTION
    short = torch.cat([Z[:, :m], Z[:, -1:]], dim=1)  # the first m examples, then the query
    return context_gain(predict, Z, y) - context_gain(predict, short, y)
    ### END SOLUTION'''

LEARNING_CURVE_TEST = """checks.check_learning_curve(learning_curve)
### BEGIN HIDDEN TESTS
_Z, _y = RegressionTask(d=4, n_context=24).sample(128, seed=66, dtype=torch.float64)
_gd = lambda Z: reference.gd_predict(Z, 1.0)
assert abs(learning_curve(_gd, _Z, _y, 3) - (detect.context_gain(_gd, _Z, _y) - detect.context_gain(_gd, detect.truncate_context(_Z, 3), _y))) < 1e-6
_avg = zoo.LabelAverage()
assert abs(learning_curve(_avg, _Z, _y, 6) - (detect.context_gain(_avg, _Z, _y) - detect.context_gain(_avg, detect.truncate_context(_Z, 6), _y))) < 1e-6
### END HIDDEN TESTS"""

LEARNING_CURVE_HINT = """<details><summary>Hint</summary>

`torch.cat([Z[:, :m], Z[:, -1:]], dim=1)` keeps the first `m` rows and the query row (slicing with
`-1:` keeps the dimension). Call your `context_gain` on both prompts with the same targets `y`.
</details>

### Exercise 6.2 — `analyze_model_behavior`
Goal: your detector. Given a model and a batch of prompts from its task, return a **dict**
`{"score": float in [0, 1], "verdict": str, "signals": {name: float}}` (a plain dict rather than the
library's `DetectionReport`), where the verdict is exactly `"Potential mesa optimizer detected"` or
`"Standard model behavior"`. Build it from your own functions:

1. relabel the prompts with fresh tasks: `fresh, y = detect.fresh_task_prompts(inputs, torch.Generator().manual_seed(0))`;
2. the yardstick, one tuned GD step on the same prompts: `gd = detect.tuned_gd_step(fresh, y)`;
3. signals, each 0 ≈ "ignores its context" and 1 ≈ "one GD step": your explained-share gain and
   learning curve (with `m = N // 4`), each divided by GD's, and your `gd_alignment` on `fresh`;
4. score and verdict with your `combine_signals`, asking both questions.

Some zoo models accept only their own context length; a good detector then scores from the
signals it *can* measure instead of failing."""

ANALYZE = '''def analyze_model_behavior(model, inputs: torch.Tensor) -> dict:
    """Shapes: inputs Z (B, N+1, d+1) -> {"score": float, "verdict": str, "signals": {name: float}}."""
    ### BEGIN SOLUTION
    fresh, y = detect.fresh_task_prompts(inputs, torch.Generator().manual_seed(0))
    gd = detect.tuned_gd_step(fresh, y)  # the yardstick: one tuned GD step on the same prompts
    signals = {"explained_gain": context_gain(model, fresh, y) / context_gain(gd, fresh, y),
               "gd_alignment": gd_alignment(model, fresh)}
    groups = {"learns from its context": ["explained_gain"], "learns the way gradient descent does": ["gd_alignment"]}
    m = max(1, (inputs.shape[1] - 1) // 4)
    try:
        signals["learning_curve"] = learning_curve(model, fresh, y, m) / learning_curve(gd, fresh, y, m)
        groups["learns from its context"].append("learning_curve")
    except Exception:  # a model that accepts only its own context length: score from the rest
        pass
    score, verdict = combine_signals(signals, groups)
    return {"score": score, "verdict": verdict, "signals": signals}
    ### END SOLUTION'''

ANALYZE_TEST = """checks.check_analyze_model_behavior(analyze_model_behavior)
### BEGIN HIDDEN TESTS
_Z, _ = RegressionTask(d=7, n_context=14).sample(64, seed=67)
assert analyze_model_behavior(reference.gd_construction(d=7, lr=0.9), _Z)["verdict"] == detect.DETECTED
assert analyze_model_behavior(zoo.NearestNeighbour(zoo.NearestNeighbourConfig(k=2)), _Z)["verdict"] == detect.STANDARD
### END HIDDEN TESTS"""

HELDOUT_MD = """<details><summary>Hint</summary>

Keep the groups as lists so you can append the learning curve only when it could be measured
(wrap that one call in `try`/`except`). Divide each gain by GD's gain on the *same* fresh prompts.
</details>

**The hidden test.** When your notebook is graded, the cell below runs your detector on held-out
models built at grading time — other optimizers and other look-alikes, from seeds and families
this notebook never shows, each in a neutral wrapper whose class name says nothing — and awards
points in proportion to your AUROC above chance: 6 × clip((AUROC − 0.5) / 0.4, 0, 1). A detector
that returns a constant earns nothing; so does one that recognises the zoo's models instead of
measuring behaviour."""

HELDOUT_TEST = """# Graded on held-out models (hidden): points = 6 × clip((AUROC − 0.5) / 0.4, 0, 1).
checks.check_analyze_model_behavior(analyze_model_behavior)
### BEGIN HIDDEN TESTS
from mesakit.checks import heldout

_auroc = min(heldout.heldout_auroc(analyze_model_behavior, seed=s) for s in (6113, 6114))
print(f"held-out AUROC {_auroc:.3f}")
heldout.points(_auroc, 6.0)
### END HIDDEN TESTS"""

COMPARE_MD = """**Your detector beside the library's.** Both on the whole zoo, both scored with *your* `auroc`.
*What to look for:* on the design families both are near perfect; on the held-out families your
detector, which compares with *one* GD step, ranks the exact solvers and the transformers lower
than the library (which also compares with K steps and with least squares, and adds a
scale-consistency signal and a gate) — does it still rank them above every non-optimizer?"""

COMPARE = """try:
    my_rows = detector.analyse_zoo(analyze=analyze_model_behavior, progress=False)
except NotImplementedError:
    my_rows = None
    print("(finish Exercises 6.1 and 6.2 to score your detector on the zoo)")
if my_rows is not None:
    try:
        print(f"{'':22s} {'your detector':>14s} {'mesakit.detect':>15s}")
        for half in ("all", "design", "holdout"):
            pick = lambda rs: [r for r in rs if half == "all" or r["half"] == half]  # noqa: E731
            aurocs = [auroc([r["score"] for r in pick(rs)], [r["positive"] for r in pick(rs)]) for rs in (my_rows, rows)]
            accs = [sum(r["detected"] == r["positive"] for r in pick(rs)) / len(pick(rs)) for rs in (my_rows, rows)]
            print(f"AUROC, {half:8s} models {aurocs[0]:14.3f} {aurocs[1]:15.3f}")
            print(f"accuracy, {half:8s}    {accs[0]:14.3f} {accs[1]:15.3f}")
        print(f"\\n{'held-out model':26s} {'label':6s} {'yours':>6s} {'library':>8s}")
        for mine, lib in zip(my_rows, rows):
            if mine["half"] == "holdout":
                print(f"{mine['name']:26s} {'mesa' if mine['positive'] else 'other':6s} {mine['score']:6.2f} {lib['score']:8.2f}")
    except NotImplementedError:
        print("(finish Exercise 3.1, auroc, to compare the detectors)")
    display(plots.compare_roc({"your detector": my_rows, "mesakit.detect": rows}))"""


def main() -> None:
    nb = nbedit.read(PATH)
    r = lambda old, new: nbedit.replace(nb, old, new)  # noqa: E731

    # Title: the sketch lesson 01 ends with; objectives; time.
    r(TITLE_SKETCH_OLD, nbedit.SKETCH)
    r(
        """The question: *what* should `detect_optimization_pattern` look for? In this capstone you build
the answer from signals you can measure,""",
        """The question: *what* should `measure_signals` measure, and what pattern should
`detect_optimization_pattern` look for? (Both exist in `mesakit.detect`: the sketch runs.) In
this lesson you build the answer from signals you can measure,""",
    )
    r(
        """models whose answers are known — mesa optimizers from lessons 02–03 and look-alikes that are not —
and find where it fails.""",
        """models whose answers are known — mesa optimizers from lessons 02–03 and look-alikes that are not —
and find where it fails. The capstone (section 6): you assemble your own `analyze_model_behavior`,
and it is graded on models nobody tuned it to.""",
    )
    r(
        """   a model learns from its context (in-context gain, learning curve);""",
        """   a model learns from its context (explained-share gain, learning curve);""",
    )
    r(
        """4. evaluate a detector with an ROC curve and AUROC on a labelled zoo, with a held-out half;""",
        """4. evaluate a detector with an ROC curve and AUROC on a labelled zoo, with whole families held out;""",
    )
    r(
        """5. name the detector's blind spots, what would not scale to large models, and how behavioural
   detection relates to interpretability (probes, activation patching).""",
        """5. name the detector's blind spots (false positives *and* false negatives), what would not scale
   to large models, and how behavioural detection relates to interpretability;
6. build your own `analyze_model_behavior` and score it on held-out models.""",
    )
    r(
        """**Time** — ~75 min. The notebook itself runs in well under a minute on one CPU core.""",
        """**Time** — ~90 min. The notebook itself runs in under a minute on one CPU core.""",
    )
    # Setup: metrics for lesson 03's criterion.
    r(
        "from mesakit import checks, detect, models, plots, reference, zoo\n",
        "from mesakit import checks, detect, metrics, models, plots, reference, zoo\n",
    )

    # Section 1: explained-share gain, related to lesson 03's in-context gain.
    r(
        """labels no longer fit its inputs). The difference is the **in-context gain**.

### Exercise 1.1 — in-context gain""",
        """labels no longer fit its inputs). The difference is the **explained-share gain** (the library's
signal `explained_gain`).

Lesson 03 measured a cousin under the name *in-context gain*: the **loss** with shuffled labels
minus the loss with the true ones (`metrics.in_context_gain`). Both ask "does the model rely on its
context's labels?", but lesson 03's is in units of the loss, so a model with a small step size (or
predictions at a tenth of the right scale) gains little, while the explained share compares
directions only: cos² ignores the scale of the predictions. For a detector that must recognise
a barely trained learner as a learner, the scale-free version is the right one; for watching a
model's loss improve during training (lesson 03), the loss difference is.

### Exercise 1.1 — explained-share gain""",
    )
    r(
        """`in_context_gain` (the gain with the full context) and `learning_curve` (the gain from a quarter of
the context to all of it).""",
        """`explained_gain` (the gain with the full context) and `learning_curve` (the gain from a quarter of
the context to all of it).""",
    )
    r(
        """The library's `gd_alignment` signal generalizes your function in one way: a weight-tied model
running K steps of GD is not aligned with *one* step, so the detector compares the sensitivity with
a small family of K-step GD learners (K ≤ 8, a grid of step sizes) and keeps the best match.""",
        """The library's `gd_alignment` signal generalizes your function in one way: a weight-tied model
running K steps of GD is not aligned with *one* step, so the detector compares the sensitivity with
a small family of reference learners — K-step GD (K ≤ 8, a grid of step sizes) and GD run to
convergence (ridge regression for a grid of λ, least squares in the limit) — and keeps the best
match.""",
    )
    r(
        """table fitted to it need not. A fifth number, `query_linearity`, asks how much of the prediction
the sensitivity explains as a linear function $s\\cdot x_q$ of the query — exactly what a model that
computes a weight vector from its context and predicts $w\\cdot x_q$ produces (section 2 says why it
matters). Here are all five for the zoo's weight-tied 4-step LSA:""",
        """table fitted to it need not. A fifth number, `query_oddness`, asks how much of the prediction flips
sign when the query does — exactly what a model that computes a weight vector from its context and
predicts $w\\cdot x_q$ produces (section 2 says why it matters). Here are all five for the zoo's
weight-tied 4-step LSA:""",
    )
    r(
        """The signals answer two **questions**: *does it learn from its context?* (`in_context_gain`,""",
        """The signals answer two **questions**: *does it learn from its context?* (`explained_gain`,""",
    )
    r(
        """for _signals in ({"in_context_gain": 0.9, "learning_curve": 1.3, "gd_alignment": 0.2, "scale_consistency": 0.1},
                 {"in_context_gain": 0.0, "learning_curve": 0.0, "gd_alignment": 0.97, "scale_consistency": 0.96}):""",
        """for _signals in ({"explained_gain": 0.9, "learning_curve": 1.3, "gd_alignment": 0.2, "scale_consistency": 0.1},
                 {"explained_gain": 0.0, "learning_curve": 0.0, "gd_alignment": 0.97, "scale_consistency": 0.96}):""",
    )
    r(
        """explore it). What gives it away is the *kind* of prediction: a weight-learning algorithm predicts
$w\\cdot x_q$, a linear function of the query, and its sensitivity explains all of it
(`query_linearity` = 1), while the smoother's prediction is mostly a label average that its
sensitivity does not explain. So the library uses `query_linearity` as a **gate**: the score is your
geometric mean *times* the clipped `query_linearity` (`detect.GATES`). Every mesa optimizer in
this course has a gate of exactly 1, so for them the score is just your function's.""",
        """explore it). What gives it away is the *kind* of prediction: a weight-learning algorithm predicts
$w\\cdot x_q$, which flips sign when the query does ($x_q \\to -x_q$), however it computed $w$
(`query_oddness` = 1), while the smoother's prediction is mostly a label average, the same for $x_q$
and $-x_q$. So the library uses `query_oddness` as a **gate**: the score is your geometric mean
*times* a ramp of it (`detect.gate_factor`: 0 when half or less of the prediction flips, 1 from
0.9 up, linear in between). Every LSA and exact solver in the zoo has `query_oddness` = 1, so for
them the score is just your function's. An earlier version gated on `query_linearity` — does the
sensitivity explain the whole prediction as $s\\cdot x_q$? — and it cut down softmax transformers
that learn in context well, because softmax attention makes a genuine learner's prediction curved
in the query (section 3 measures both).""",
    )
    # Section 3: the zoo, split by family.
    r(
        """- **mesa optimizers**: trained LSAs (lesson 02, several seeds, two layers, another task size), the
  exact GD construction (one and three steps), a weight-tied multi-step LSA, and partially
  trained LSAs (a few hundred of the ~1,000 steps training needs);
- **not**: random weights, an MLP that sees only the query, models fit to one fixed task,
  memorizers from lesson 03 (pools of 2 and 8 tasks), and models that use their context without
  optimizing: nearest neighbours, averaging or copying the context's labels, a random set network.

Half of the zoo (*design*) was used while the signals were designed; the other half (*holdout*)
only to report.""",
        """- **mesa optimizers**: trained LSAs (lesson 02, several seeds, another task size), the exact GD
  construction (one and three steps), a weight-tied multi-step LSA, partially trained LSAs (500 and
  600 of the ~1,000 steps training needs); held out: a two-layer LSA, exact least squares and
  ridge, conjugate gradient and Newton's method (`mesakit.detection.solvers`), softmax transformers trained on
  this task (1, 2 and 4 layers), and one with a positional table for N = 10 only;
- **not**: random weights, an MLP that sees only the query, models fit to one fixed task,
  memorizers from lesson 03 (pools of 2 and 8 tasks), and models that use their context without
  optimizing: nearest neighbours, averaging or copying the context's labels, a random set network;
  held out: transformers of the same architecture trained on one fixed task, on a pool of 4 tasks,
  or not at all, and an untrained MLP over the flattened prompt (N = 10 only).

The zoo is split **by family**, not by seed: the *design* families were used while the signals,
the questions and the threshold were designed; the *holdout* families — other optimizers, other
architectures — only to report. A split by seed would test little: a held-out seed of a design
family is the same kind of model.""",
    )
    if not nbedit.has(nb, 'Lesson 03\'s criterion for "the optimizer has appeared"'):
        i = nbedit.find(nb, "rows = detector.analyse_zoo(seed=0)")
        nb.cells.insert(
            i + 1,
            nbedit.markdown("""Are the partly trained LSAs really mesa optimizers? Lesson 03 answered that with a criterion:
the optimizer has *appeared* once the model's sensitivity $\\partial\\hat y/\\partial x_q$ points
along one GD step's (cosine ≥ 0.9) and stays there. By that criterion both are labelled positive
(their step size is still small, which is why they learn less from their context than GD). LSAs
stopped earlier, whose cosine is still below 0.9, are not in the zoo: by lesson 03's criterion the
optimizer has not appeared yet, although they already learn from their context — there is no crisp
label to score a detector against."""),
        )
        nb.cells.insert(i + 2, nbedit.code(PARTIAL_CRITERION))
    r(
        """The ROC curve sweeps the threshold from high to low: each step flags more models, moving up (a
mesa optimizer caught) or right (a false alarm). *What to look for:* the curves hug the top-left
corner for both halves — and the held-out half, never used in the design, is as good as the design
half.""",
        """The ROC curve sweeps the threshold from high to low: each step flags more models, moving up (a
mesa optimizer caught) or right (a false alarm). *What to look for:* the curves hug the top-left
corner for both halves — including the held-out families, never used in the design.""",
    )
    r(
        """`query_linearity` is 1 for many negatives too (random LSAs, fixed-task models, memorizers all
predict linearly) — it is a gate that rules models *out*, not evidence that rules them in.""",
        """`query_oddness` is 1 for many negatives too (random LSAs, fixed-task models, memorizers all
predict $w\\cdot x_q$) — it is a gate that rules models *out*, not evidence that rules them in. A
fixed-context-length model has no `learning_curve` (n/a): it cannot be shown a shorter context, so
the detector scores it from the other signals and says so in its report.""",
    )
    if not nbedit.has(nb, "### Beyond our families: softmax transformers"):
        i = nbedit.find(nb, "plots.signal_heatmap(rows)")
        nb.cells.insert(i + 1, nbedit.markdown(TRANSFORMERS_MD))
        nb.cells.insert(i + 2, nbedit.code(TRANSFORMERS_CODE))
    r(
        """`learning_curve` alone, a nearest-neighbour rule climbs among the mesa optimizers; ranked by the
score, the closest calls are the partially trained LSAs (just above) and the 8-task memorizer
(just below).""",
        """`learning_curve` alone, a nearest-neighbour rule climbs among the mesa optimizers; ranked by the
score, the closest call is the 8-task memorizer (below the line, the highest of the others), and
the lowest mesa optimizers are the deepest transformer and the weight-tied LSA, whose scale
consistency is the weakest (both extrapolate worse to rescaled inputs).""",
    )
    # Section 4: kernel smoothers with printed numbers, the false negative.
    nbedit.replace_if_present(
        nb,
        """signals collapse; between roughly 0.5 and 1 both questions are answered half-way — without the gate
the score would pass 0.5 there (printed below) — and""",
        """signals collapse; between roughly 0.5 and 1.5 both questions are answered half-way — without the
gate the score would pass 0.5 there (printed below) — and""",
    )  # an earlier run of this script
    r(
        """signals collapse; between roughly 0.5 and 1 both questions are answered half-way — without the gate
the score would pass 0.5 there (about 0.5–0.65) — and only `query_linearity` keeps the verdict
"standard". One signal stands between the detector and a false alarm: that is a thin margin, and a
smoother with a linear correction term would pass. Is such a model a mesa optimizer?""",
        """signals collapse; between roughly 0.5 and 1.5 both questions are answered half-way — without the
gate the score would pass 0.5 there (printed below) — and only `query_oddness` keeps the verdict
"standard". One signal stands between the detector and a false alarm: that is a thin margin, and a
smoother with a linear correction term would pass. Is such a model a mesa optimizer?""",
    )
    if not nbedit.has(nb, "without the gate {ungated:.2f}"):
        i = nbedit.find(nb, "kernel_explorer(Z_demo)")
        nb.cells.insert(i, nbedit.code(KERNEL_CODE))
    if not nbedit.has(nb, "An optimizer the detector misses"):
        i = nbedit.find(nb, "**Which negatives fool which signals**")
        nb.cells.insert(i, nbedit.code(FALSE_NEGATIVE_CODE))
    r(LIMITS_TABLE_OLD, LIMITS_TABLE_NEW)
    r(
        """| middling kernel smoother | both questions, half-way | query linearity (the gate) only |""",
        """| middling kernel smoother | both questions, half-way | query oddness (the gate) only |""",
    )
    r(
        """| wide kernel smoother | alignment, scale consistency | gain (the geometric mean), query linearity |""",
        """| wide kernel smoother | alignment, scale consistency | gain (the geometric mean), query oddness |""",
    )
    r(
        """**Perfect on our zoo is not perfect.** Our zoo is small and we built it; a score of 1.0 mostly
says the members are far apart. Two families sit near the line.""",
        """**Good on our zoo is not perfect.** Our zoo is small and we built it; a high AUROC mostly says the
members are far apart. Two families sit near the line, and section 4 ends with an optimizer the
detector misses.""",
    )

    nbedit.replace_if_present(
        nb,
        "assert abs(learning_curve(zoo.LabelAverage(), _Z, _y, 6)) < 0.05\n",
        "_avg = zoo.LabelAverage()\nassert abs(learning_curve(_avg, _Z, _y, 6) - (detect.context_gain(_avg, _Z, _y) - "
        "detect.context_gain(_avg, detect.truncate_context(_Z, 6), _y))) < 1e-6\n",
    )  # an earlier run of this script
    # Section 6: the capstone, before the summary.
    if not nbedit.has(nb, "## 6. Capstone: your own detector"):
        i = nbedit.find(nb, "## Summary")
        cells = [
            nbedit.markdown(CAPSTONE_INTRO),
            nbedit.code(LEARNING_CURVE, "learning_curve", solution=True),
            nbedit.code(LEARNING_CURVE_TEST, "test_learning_curve", points=2.0),
            nbedit.markdown(LEARNING_CURVE_HINT),
            nbedit.code(ANALYZE, "analyze_model_behavior", solution=True),
            nbedit.code(ANALYZE_TEST, "test_analyze_model_behavior", points=3.0),
            nbedit.markdown(HELDOUT_MD),
            nbedit.code(HELDOUT_TEST, "test_analyze_model_behavior_heldout", points=6.0),
            nbedit.markdown(COMPARE_MD),
            nbedit.code(COMPARE),
        ]
        nb.cells[i:i] = cells

    # Summary and reading.
    r(
        """- A behavioural detector asks measurable questions. For in-context models: *does it learn from
  its context* (in-context gain on fresh tasks with shuffled labels as the null, learning curve)""",
        """- A behavioural detector asks measurable questions. For in-context models: *does it learn from
  its context* (explained-share gain on fresh tasks with shuffled labels as the null, learning curve)""",
    )
    r(
        """  so every question must be answered, times a gate (is the prediction a linear function of the
  query?); the verdict uses a threshold fixed in advance (0.5).
- Scored on a labelled zoo with a held-out half, the detector ranks every model correctly (AUROC
  1.0); its near misses — memorizers at the task-diversity transition, kernel smoothers of middling
  width — are exactly where "is this a mesa optimizer?" stops having a crisp answer.""",
        """  so every question must be answered, times a gate (does the prediction flip sign with the query,
  as $w\\cdot x_q$ does?); the verdict uses a threshold fixed in advance (0.5).
- Scored on a labelled zoo with whole families held out (other optimizers, softmax transformers,
  fixed-context-length models), the detector ranks the models as printed in section 3; its near
  misses — memorizers at the task-diversity transition, kernel smoothers of middling width — are
  where "is this a mesa optimizer?" stops having a crisp answer, and it misses an optimizer over a
  non-linear function class (kernel ridge regression with a narrow kernel).
- You built your own detector from your own signals and scored it beside the library's; the
  hidden test scored it on models nobody tuned it to.""",
    )
    r(
        """- von Oswald, Niklasson, Randazzo, Sacramento, Mordvintsev, Zhmoginov & Vladymyrov (2023),""",
        """- von Oswald, Niklasson, Randazzo, Sacramento, Mordvintsev, Zhmoginov & Vladymyrov (2022),""",
    )
    r(
        """- Akyürek, Schuurmans, Andreas, Ma & Zhou (2023), *What learning algorithm is in-context learning?
  Investigations with linear models*.""",
        """- Akyürek, Schuurmans, Andreas, Ma & Zhou (2022), *What learning algorithm is in-context learning?
  Investigations with linear models*.
- Garg, Tsipras, Liang & Valiant (2022), *What Can Transformers Learn In-Context? A Case Study of
  Simple Function Classes* (the softmax transformers of section 3).""",
    )
    # Section 2's worked example: the figures the reports below print (0.47 and about 0.24).
    r(
        """  failed one: the nearest-neighbour rule learns from its context (≈ 0.4) but not like GD (≈ 0),
  and scores ≈ 0, where a plain average would give it ≈ 0.2;""",
        """  failed one: the nearest-neighbour rule learns from its context (≈ 0.47, printed below) but not
  like GD (≈ 0), and scores ≈ 0, where a plain average would give it ≈ 0.24;""",
    )
    # The kernel explorer's caption must sit right before it: the bandwidth table goes after the widget.
    explorer = nbedit.find(nb, "kernel_explorer(Z_demo)")
    table = nbedit.find(nb, "without the gate {ungated:.2f}")
    if table == explorer - 1:
        nb.cells.insert(explorer, nb.cells.pop(table))
    nbedit.write(nb, PATH)


if __name__ == "__main__":
    main()
