"""Lesson 06 mutants: mistakes a learner makes in the signals (1.1, 1.2), the score (2.1), the AUROC
(3.1), the threshold design (3.2), the learning curve (6.1) and the detector (6.2), and correct
alternatives written differently from the reference."""

from __future__ import annotations

import numpy as np
import torch

from mesakit import detect

from . import Mutant

# ----------------------------------------------------------------------------- 1.1 context_gain


def _explained(pred, y, clip=True, square=True):
    cos = (pred.double() @ y.double() / (pred.double().norm() * y.double().norm())).item()
    cos = max(cos, 0.0) if clip else cos
    return cos**2 if square else cos


def gain(predict, Z, y, dims=0, clip=True, square=True, whole=False, assign=True):
    shuffled = Z.clone()
    if whole:
        shuffled = Z.roll(1, dims=0)
    elif assign:
        shuffled[:, :-1, -1] = Z[:, :-1, -1].roll(1, dims=dims)
    else:
        shuffled[:, :-1, -1].roll(1, dims=0)  # result thrown away
    with torch.no_grad():
        return _explained(predict(Z), y, clip, square) - _explained(predict(shuffled), y, clip, square)


def gain_float32_loop(predict, Z, y):  # valid: a loop over prompts, float32 predictions, F.cosine_similarity
    shuffled = Z.clone()
    for b in range(Z.shape[0]):
        shuffled[b, :-1, -1] = Z[b - 1, :-1, -1]
    with torch.no_grad():
        shares = []
        for P in (Z, shuffled):
            cos = torch.nn.functional.cosine_similarity(predict(P).float(), y.float(), dim=0)
            shares.append(cos.clamp(min=0).item() ** 2)
    return shares[0] - shares[1]


def gain_numpy(predict, Z, y):  # valid: a numpy float32 is a number (checks.core.expect_number)
    return np.float32(gain(predict, Z, y))


# ----------------------------------------------------------------------------- 1.2 gd_alignment


def align(model, Z, row=-1, weighted=True, absolute=False, flat=False):
    Z = Z.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(Z).sum(), Z)
    s = grad[:, row, :-1]
    x, ys = Z[:, :-1, :-1].detach(), Z[:, :-1, -1].detach()
    g = torch.einsum("bn,bnd->bd", ys, x) if weighted else x.sum(1)
    if flat:
        return torch.nn.functional.cosine_similarity(s.flatten(), g.flatten(), dim=0).item()
    cos = torch.nn.functional.cosine_similarity(s, g, dim=-1)
    return (cos.abs() if absolute else cos).mean().item()


def align_manual(model, Z):  # valid: a hand-written cosine, matmul for X^T y, returns a 0-d tensor
    Z = Z.detach().clone().requires_grad_(True)
    model(Z).sum().backward()
    s = Z.grad[:, -1, :-1]
    g = (Z[:, :-1, :-1].transpose(1, 2) @ Z[:, :-1, -1:]).squeeze(-1).detach()
    return ((s * g).sum(-1) / (s.norm(dim=-1) * g.norm(dim=-1))).mean()


# ----------------------------------------------------------------------------- 2.1 combine_signals


def combine(signals, groups, mean="geo", clip_signals=True, root=True, ge=True, within=True, swap=False):
    clip = lambda v: min(max(v, 0.0), 1.0)  # noqa: E731
    vals = {k: clip(v) if clip_signals else v for k, v in signals.items()}
    answers = [sum(vals[n] for n in names) / len(names) for names in groups.values()] if within else list(vals.values())
    if mean == "geo":
        prod = 1.0
        for a in answers:
            prod *= a
        score = prod ** (1 / len(answers)) if root else prod
    else:
        score = sum(answers) / len(answers)
    verdict = detect.DETECTED if (score >= 0.5 if ge else score > 0.5) else detect.STANDARD
    return (verdict, score) if swap else (score, verdict)


def combine_log(signals, groups):  # valid: geometric mean through logs, numpy
    answers = [np.mean([np.clip(signals[n], 0, 1) for n in names]) for names in groups.values()]
    score = 0.0 if min(answers) == 0 else float(np.exp(np.mean(np.log(answers))))
    return score, detect.DETECTED if score >= 0.5 - 1e-12 else detect.STANDARD


# ----------------------------------------------------------------------------- 3.1 auroc


def auc(scores, labels, tie=0.5, backwards=False):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    if backwards:
        pos, neg = neg, pos
    return sum((p > n) + tie * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def auc_ranks(scores, labels):  # valid: Mann-Whitney U from average ranks
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = sum(bool(l) for l in labels)
    n_neg = len(labels) - n_pos
    u = sum(r for r, l in zip(ranks, labels) if l) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


# ----------------------------------------------------------------------------- 3.2 choose_threshold


def threshold(rows, rate, half="design", strict=False, rounding=int, always_above=False):
    val = [r for r in rows if half is None or r["half"] == half]
    neg = [r["score"] for r in val if not r["positive"]]
    allowed = rounding(rate * len(neg) + 1e-9)
    best = max(r["score"] for r in val) + 1e-9
    for t in sorted({r["score"] for r in val}, reverse=True):
        if sum((s > t) if strict else (s >= t) for s in neg) > allowed:
            break
        best = t
    return best + 1e-9 if always_above else best


def threshold_midpoint(rows, rate):  # valid: a threshold half-way between two neighbouring scores, numpy
    val = [r for r in rows if r["half"] == "design"]
    neg = np.sort([r["score"] for r in val if not r["positive"]])[::-1]
    allowed = int(np.floor(rate * len(neg) + 1e-9))
    if allowed >= len(neg):
        return float(min(r["score"] for r in val))
    bar = neg[allowed]
    above = sorted(r["score"] for r in val if r["score"] > bar)
    return float((bar + above[0]) / 2) if above else float(bar + 1.0)


def threshold_quantile(rows, rate):  # the (1 - rate) quantile of the validation negatives, interpolated
    neg = torch.tensor([r["score"] for r in rows if r["half"] == "design" and not r["positive"]])
    return torch.quantile(neg, 1 - rate).item()


def threshold_lowest_positive(rows, rate):  # catches every mesa optimizer, budget ignored
    return min(r["score"] for r in rows if r["half"] == "design" and r["positive"])


# ----------------------------------------------------------------------------- 6.1 learning_curve


def curve(predict, Z, y, m, how="prefix", reverse=False, g=None):
    g = g or detect.context_gain
    if how == "prefix":
        short = torch.cat([Z[:, :m], Z[:, -1:]], dim=1)
    elif how == "last":
        short = torch.cat([Z[:, -m - 1 : -1], Z[:, -1:]], dim=1)
    else:  # the (m+1)-th example where the query belongs
        short = Z[:, : m + 1].clone()
    full, cut = g(predict, Z, y), g(predict, short, y)
    return cut - full if reverse else full - cut


def curve_in_place(predict, Z, y, m):  # cuts the prompt by writing into Z
    full = detect.context_gain(predict, Z, y)
    Z[:, m] = Z[:, -1]
    return full - detect.context_gain(predict, Z[:, : m + 1], y)


def curve_index_select(predict, Z, y, m):  # valid: index_select with a list of rows
    rows = torch.tensor(list(range(m)) + [Z.shape[1] - 1])
    return detect.context_gain(predict, Z, y) - detect.context_gain(predict, Z.index_select(1, rows), y)


# ----------------------------------------------------------------------------- 6.2 analyze_model_behavior


def _detector(model, inputs, normalise=True, groups="both", as_tuple=False):
    fresh, y = detect.fresh_task_prompts(inputs, torch.Generator().manual_seed(0))
    gd = detect.tuned_gd_step(fresh, y)
    norm = lambda value, ref: value / ref if normalise else value  # noqa: E731
    signals = {
        "explained_gain": norm(detect.context_gain(model, fresh, y), detect.context_gain(gd, fresh, y)),
        "gd_alignment": align(model, fresh),
    }
    q = {"learns from its context": ["explained_gain"], "learns the way gradient descent does": ["gd_alignment"]}
    m = max(1, (inputs.shape[1] - 1) // 4)
    try:
        signals["learning_curve"] = norm(curve(model, fresh, y, m), curve(gd, fresh, y, m))
        q["learns from its context"].append("learning_curve")
    except Exception:
        pass
    if groups == "one":
        q = {"everything": list(signals)}
    score, verdict = combine(signals, q)
    if as_tuple:
        return score, verdict
    return {"score": score, "verdict": verdict, "signals": signals}


def detector_library(model, inputs):  # valid: the library's detector, converted to a dict
    r = detect.analyze_model_behavior(model, inputs)
    return {"score": r.score, "verdict": r.verdict, "signals": dict(r.signals)}


def detector_only_alignment(model, inputs):  # one question only: a GD-like direction is all it asks
    return _detector(model, inputs, groups="one")


MUTANTS = [
    # 1.1 context_gain
    Mutant("check_context_gain", gain_float32_loop, "loop over prompts, float32", valid=True),
    Mutant(
        "check_context_gain",
        lambda p, Z, y: gain(p, Z, y, assign=False),
        "roll not assigned",
        "NEW tensor|roll returns",
    ),
    Mutant("check_context_gain", lambda p, Z, y: gain(p, Z, y, whole=True), "whole prompts moved", "whole prompts"),
    Mutant("check_context_gain", lambda p, Z, y: gain(p, Z, y, dims=1), "shuffled within a prompt", "ACROSS prompts"),
    Mutant("check_context_gain", lambda p, Z, y: gain(p, Z, y, clip=False), "cosine not clipped", "clip the cosine"),
    Mutant("check_context_gain", lambda p, Z, y: gain(p, Z, y, square=False), "cosine not squared", "SQUARED"),
    Mutant("check_context_gain", gain_numpy, "returns numpy.float32", valid=True),
    # 1.2 gd_alignment
    Mutant("check_gd_alignment", align_manual, "hand-written cosine, .backward(), 0-d tensor", valid=True),
    Mutant("check_gd_alignment", lambda m, Z: align(m, Z, absolute=True), "absolute cosine", "sign"),
    Mutant(
        "check_gd_alignment", lambda m, Z: align(m, Z, flat=True), "one cosine of the flattened batch", "PER PROMPT"
    ),
    Mutant("check_gd_alignment", lambda m, Z: align(m, Z, row=-2), "gradient of the last context row", "QUERY"),
    Mutant(
        "check_gd_alignment",
        lambda m, Z: align(m, Z, weighted=False),
        "Σ x_i, labels not used",
        "weight each input by its label",
    ),
    Mutant("check_gd_alignment", lambda m, Z: [align(m, Z)], "returns a list", "got list"),
    # 2.1 combine_signals
    Mutant("check_combine_signals", combine_log, "geometric mean via logs, numpy", valid=True),
    Mutant(
        "check_combine_signals", lambda s, g: combine(s, g, mean="arith"), "arithmetic mean of the answers", "GEOMETRIC"
    ),
    Mutant("check_combine_signals", lambda s, g: combine(s, g, root=False), "product without the root", "n-th root"),
    Mutant(
        "check_combine_signals",
        lambda s, g: combine(s, g, clip_signals=False),
        "signals not clipped",
        "clip each signal",
    ),
    Mutant("check_combine_signals", lambda s, g: combine(s, g, ge=False), "score > 0.5 instead of >=", "use >="),
    Mutant("check_combine_signals", lambda s, g: combine(s, g, swap=True), "(verdict, score) swapped", "score first"),
    Mutant("check_combine_signals", lambda s, g: combine(s, g)[0], "returns only the score", "pair"),
    # 3.1 auroc
    Mutant("check_auroc", auc_ranks, "average ranks (Mann-Whitney U)", valid=True),
    Mutant("check_auroc", lambda s, l: auc(s, l, tie=0.0), "ties count as losses", "counted it as a loss"),
    Mutant("check_auroc", lambda s, l: auc(s, l, tie=1.0), "ties count as wins", "counted it as a win"),
    Mutant("check_auroc", lambda s, l: auc(s, l, backwards=True), "negatives above positives", "POSITIVE outscores"),
    Mutant(
        "check_auroc", lambda s, l: sum((x >= 0.5) == y for x, y in zip(s, l)) / len(s), "accuracy at 0.5", "accuracy"
    ),
    Mutant("check_auroc", lambda s, l: {"auroc": auc(s, l)}, "returns a dict", "got dict"),
    # 3.2 choose_threshold (design)
    Mutant("check_choose_threshold", threshold_midpoint, "midpoint between neighbouring scores, numpy", valid=True),
    Mutant(
        "check_choose_threshold",
        lambda r, a: threshold(r, a, always_above=True),
        "just above the right score",
        "stricter",
    ),
    Mutant(
        "check_choose_threshold",
        lambda r, a: threshold(r, a, half=None),
        "chosen on all rows, test ones too",
        "holdout",
    ),
    Mutant(
        "check_choose_threshold", lambda r, a: threshold(r, a, half="holdout"), "chosen on the test rows", "holdout"
    ),
    Mutant(
        "check_choose_threshold",
        lambda r, a: threshold(r, a, strict=True),
        "counts score > t, flags score >= t",
        "EQUAL",
    ),
    Mutant("check_choose_threshold", threshold_lowest_positive, "lowest mesa score, budget ignored", "more than"),
    Mutant(
        "check_choose_threshold", threshold_quantile, "interpolated quantile of the negatives", "more than|stricter"
    ),
    Mutant(
        "check_choose_threshold",
        lambda r, a: threshold(r, a, rounding=lambda v: int(v) - 1 if v >= 1 else 0),
        "one false alarm fewer than allowed",
        "stricter",
    ),
    Mutant("check_choose_threshold", lambda r, a: 0.5, "the fixed threshold 0.5", None),
    Mutant("check_choose_threshold", lambda r, a: None, "returns None", "got NoneType"),
    # 6.1 learning_curve
    Mutant("check_learning_curve", curve_index_select, "index_select of the kept rows", valid=True),
    Mutant("check_learning_curve", lambda p, Z, y, m: curve(p, Z, y, m, how="no query"), "query row dropped", "QUERY"),
    Mutant("check_learning_curve", lambda p, Z, y, m: curve(p, Z, y, m, how="last"), "last m examples", "FIRST m"),
    Mutant(
        "check_learning_curve",
        lambda p, Z, y, m: curve(p, Z, y, m, reverse=True),
        "short minus full",
        "not the reverse",
    ),
    Mutant("check_learning_curve", curve_in_place, "writes the cut into Z", "in place"),
    Mutant("check_learning_curve", lambda p, Z, y, m: detect.context_gain(p, Z, y), "full gain only", "subtract"),
    # 6.1 uses= its context_gain: a right curve on a wrong gain passes (with a note), a wrong one is blamed with a note
    Mutant(
        "check_learning_curve",
        lambda p, Z, y, m: curve(p, Z, y, m, g=lambda *a: gain(*a, square=False)),
        "right curve on top of an unsquared context_gain",
        valid=True,
        kwargs={"uses": lambda p, Z, y: gain(p, Z, y, square=False)},
    ),
    Mutant(
        "check_learning_curve",
        lambda p, Z, y, m: curve(p, Z, y, m, how="last", g=lambda *a: gain(*a, square=False)),
        "wrong curve on top of a wrong context_gain",
        "fails its own check",
        kwargs={"uses": lambda p, Z, y: gain(p, Z, y, square=False)},
    ),
    # 6.2 analyze_model_behavior
    Mutant("check_analyze_model_behavior", _detector, "the lesson's recipe", valid=True),
    Mutant("check_analyze_model_behavior", detector_library, "the library's detector as a dict", valid=True),
    Mutant(
        "check_analyze_model_behavior",
        lambda m, Z: _detector(m, Z, normalise=False),
        "gains not divided by GD's",
        "normalise|tuned_gd_step|divided",
    ),
    Mutant(
        "check_analyze_model_behavior", lambda m, Z: _detector(m, Z, as_tuple=True), "returns (score, verdict)", "dict"
    ),
    Mutant(
        "check_analyze_model_behavior",
        lambda m, Z: {"score": 0.9, "verdict": detect.DETECTED, "signals": {"a": 1.0, "b": 1.0, "c": 1.0}},
        "always detects",
        "flags",
    ),
    Mutant(
        "check_analyze_model_behavior",
        lambda m, Z: _detector(m, Z, normalise=False),
        "unnormalised gains, and a wrong combine_signals",
        "fails its own check",
        kwargs={"uses": {"combine_signals": lambda s, g: combine(s, g, mean="arith")}},
    ),
]
