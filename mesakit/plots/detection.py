"""Figures of lesson 06 (detecting mesa optimizers): the ROC curve of the detector on the zoo, the
table of per-signal values as a heatmap, the explained-share gain against context length, the
leaderboard of zoo models ranked by score, and two detectors' ROC curves side by side.

Inputs are plain numbers: ``rows`` are the dicts of :func:`mesakit.detection.builders.analyse_zoo`
(``name``, ``half``, ``positive``, ``score``, ``detected``, ``signals``); a signal missing from a
row (not measurable for that model) is drawn as "n/a". Nothing here runs a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..detection import detector as detect
from .style import COLORS, SEQUENTIAL, figure

POSITIVE, NEGATIVE = COLORS["blue"], COLORS["vermillion"]


def _values(rows: Sequence[dict], key: str) -> list[float]:
    """``key``'s value per row; NaN where a model's signal could not be measured (see ``unavailable``)."""
    return [r["score"] if key == "score" else r["signals"].get(key, float("nan")) for r in rows]


def _signal_names(rows: Sequence[dict]) -> list[str]:
    return list(dict.fromkeys(n for r in rows for n in r["signals"]))


def _check_rows(rows: Sequence[dict]) -> None:
    if not rows or not all({"name", "positive", "score", "signals"} <= set(r) for r in rows):
        raise ValueError("rows must be a non-empty list of dicts from mesakit.detection.builders.analyse_zoo")


def roc(rows: Sequence[dict], key: str = "score", by_half: bool = True) -> Figure:
    """The ROC curve of ``key`` (the score or one signal) over the zoo, and per half."""
    _check_rows(rows)
    fig, ax = figure(width=5.2, height=4.4)
    groups = [("all models", list(rows))]
    if by_half:
        groups += [(f"{h} half", [r for r in rows if r.get("half") == h]) for h in ("design", "holdout")]
    styles = [
        dict(color=COLORS["black"], lw=2.2),
        dict(color=COLORS["sky"], ls="--"),
        dict(color=COLORS["orange"], ls=":"),
    ]
    for (label, part), style in zip(groups, styles):
        labels = [r["positive"] for r in part]
        if not any(labels) or all(labels):
            continue
        values = _values(part, key)
        if key != "score":  # a signal some models could not measure: score it where it was measured
            keep = [i for i, v in enumerate(values) if not np.isnan(v)]
            values, labels = [values[i] for i in keep], [labels[i] for i in keep]
            if not any(labels) or all(labels):
                continue
        fpr, tpr, _ = detect.roc_curve(values, labels)
        ax.step(fpr, tpr, where="post", label=f"{label}: AUROC {detect.auroc(values, labels):.3f}", **style)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="-.", label="chance (AUROC 0.5)")
    ax.set(
        xlabel="false-positive rate (share of non-optimizers flagged)",
        ylabel="true-positive rate\n(share of mesa optimizers flagged)",
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        title=f"ROC of the detector ({key})",
    )
    ax.legend(loc="lower right")
    return fig


def compare_roc(detectors: Mapping[str, Sequence[dict]], half: str = "all") -> Figure:
    """ROC curves of several detectors on the same zoo, side by side: ``detectors`` maps a name
    (e.g. "your detector", "mesakit.detection.detector") to its rows from
    :func:`mesakit.detection.builders.analyse_zoo`; ``half`` picks all models or one half."""
    if not detectors:
        raise ValueError("detectors must map a name to the rows of analyse_zoo")
    if half not in ("all", "design", "holdout"):
        raise ValueError(f"half must be 'all', 'design' or 'holdout', got {half!r}")
    fig, ax = figure(width=5.4, height=4.4)
    styles = [
        dict(color=COLORS["blue"], lw=2.4),
        dict(color=COLORS["orange"], lw=1.8, ls="--"),
        dict(color=COLORS["green"], ls=":"),
        dict(color=COLORS["black"], ls="-."),
    ]
    for (name, rows), style in zip(detectors.items(), styles * len(detectors)):
        _check_rows(rows)
        part = [r for r in rows if half == "all" or r.get("half") == half]
        labels = [r["positive"] for r in part]
        if not any(labels) or all(labels):
            raise ValueError(f"the {half} models of {name!r} need both mesa optimizers and others for an ROC curve")
        values = _values(part, "score")
        fpr, tpr, _ = detect.roc_curve(values, labels)
        ax.step(fpr, tpr, where="post", label=f"{name}: AUROC {detect.auroc(values, labels):.3f}", **style)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="-.", label="chance (AUROC 0.5)")
    ax.set(
        xlabel="false-positive rate (share of non-optimizers flagged)",
        ylabel="true-positive rate\n(share of mesa optimizers flagged)",
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        title=f"Two detectors on the zoo ({half} models)",
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def signal_heatmap(rows: Sequence[dict]) -> Figure:
    """Models (rows, mesa optimizers first) × signals and score (columns), values clipped to [0, 1]."""
    _check_rows(rows)
    ordered = sorted(rows, key=lambda r: (not r["positive"], -r["score"]))
    names = _signal_names(ordered) + ["score"]
    values = np.array(
        [_values([r], n)[0] if n != "score" else r["score"] for r in ordered for n in names], dtype=float
    ).reshape(len(ordered), len(names))
    fig, ax = figure(width=7.5, height=0.32 * len(ordered) + 1.6)
    ax.imshow(np.ma.masked_invalid(np.clip(values, 0, 1)), cmap=SEQUENTIAL, vmin=0, vmax=1, aspect="auto")
    ax.grid(False)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            text = "n/a" if np.isnan(values[i, j]) else f"{values[i, j]:.2f}"  # not measurable for this model
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="black" if np.isnan(values[i, j]) or np.clip(values[i, j], 0, 1) > 0.55 else "white",
            )
    ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=9)
    ax.set_yticks(
        range(len(ordered)), [f"{r['name']} ({'mesa' if r['positive'] else 'other'})" for r in ordered], fontsize=8
    )
    for tick, r in zip(ax.get_yticklabels(), ordered):
        tick.set_color(POSITIVE if r["positive"] else NEGATIVE)
    ax.set(xlabel="signal (0 ≈ ignores its context, 1 ≈ one GD step; colour clipped to [0, 1])", ylabel="zoo model")
    ax.set_title("Per-signal values on the zoo (blue: mesa optimizers, red: others)")
    return fig


def gain_curves(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], reference: str | None = None) -> Figure:
    """Explained-share gain (true minus shuffled labels) against context length, per model."""
    if not curves:
        raise ValueError("curves must map model names to (context lengths, gains)")
    fig, ax = figure(width=6.4, height=3.8)
    for name, (lengths, gains) in curves.items():
        style = dict(color=COLORS["black"], ls="--", lw=2) if name == reference else dict(marker="o", ms=4)
        ax.plot(list(lengths), list(gains), label=name, **style)
    ax.axhline(0, color="grey", lw=1)
    ax.set(
        xlabel="context examples N (the first N of the prompt)",
        ylabel="explained-share gain\n(true − shuffled labels)",
        title="Learning curve: does more context help?",
    )
    ax.legend(fontsize=8, ncol=2)
    return fig


def leaderboard(
    rows: Sequence[dict], key: str = "score", half: str = "all", threshold: float = detect.THRESHOLD
) -> Figure:
    """Zoo models ranked by ``key`` (the score or one signal): bars coloured by the true label, the
    verdict threshold as a line, misclassified models (score side of the line) marked ✗."""
    _check_rows(rows)
    if half not in ("all", "design", "holdout"):
        raise ValueError(f"half must be 'all', 'design' or 'holdout', got {half!r}")
    part = [r for r in rows if half == "all" or r.get("half") == half]
    if not part:
        raise ValueError(f"no zoo models in the {half} half")
    part = [r for r in part if not np.isnan(_values([r], key)[0])]  # models where this signal was measured
    if not part:
        raise ValueError(f"no zoo model in the {half} half has the signal {key!r}")
    part = sorted(part, key=lambda r: _values([r], key)[0])
    values = _values(part, key)
    fig, ax = figure(width=7.0, height=0.3 * len(part) + 1.4)
    ax.barh(range(len(part)), values, color=[POSITIVE if r["positive"] else NEGATIVE for r in part])
    labels = []
    for r, v in zip(part, values):
        wrong = (v >= threshold) != r["positive"]
        labels.append(f"{'✗ ' if wrong else ''}{r['name']}")
    ax.set_yticks(range(len(part)), labels, fontsize=8)
    ax.axvline(threshold, color=COLORS["black"], ls="--", lw=1.2)
    ax.text(threshold, len(part) - 0.4, f" threshold {threshold:.2f}", fontsize=8, va="bottom")
    ax.set(
        xlabel=f"{key} (bars: blue = mesa optimizer, red = not; ✗ = wrong side of the threshold)",
        ylabel="zoo model",
        title=f"Leaderboard ({half} models, ranked by {key})",
    )
    ax.grid(axis="y", visible=False)
    return fig


def signal_bars(signals: Mapping[str, float], title: str = "", threshold: float = detect.THRESHOLD) -> Figure:
    """One model's signals as bars, with the threshold line."""
    if not signals:
        raise ValueError("no signals to draw")
    fig, ax = figure(width=6.0, height=3.0)
    names = list(signals)
    values = [signals[n] for n in names]
    ax.bar(range(len(names)), values, color=[POSITIVE if v >= threshold else NEGATIVE for v in values])
    ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=9)
    ax.axhline(threshold, color=COLORS["black"], ls="--", lw=1)
    ax.set(
        ylabel="signal value\n(1 ≈ one GD step)",
        xlabel="signal",
        title=title,
        ylim=(min(0, *values) - 0.05, max(1.1, *values)),
    )
    return fig


def score_sweep(
    labels: Sequence, scores: Sequence[float], xlabel: str, threshold: float = detect.THRESHOLD, title: str = ""
) -> Figure:
    """The detector's score along a sweep (e.g. pretraining pool sizes), one point per model."""
    if len(labels) != len(scores) or not scores:
        raise ValueError(
            f"labels and scores must be non-empty and as long as each other, got {len(labels)} and {len(scores)}"
        )
    fig, ax = figure(width=6.4, height=3.4)
    xs = range(len(scores))
    ax.plot(xs, scores, marker="o", color=COLORS["blue"])
    ax.axhline(threshold, color=COLORS["black"], ls="--", lw=1, label=f"threshold {threshold:.2f}")
    ax.set_xticks(list(xs), [str(l) for l in labels])
    ax.set(xlabel=xlabel, ylabel="detector score", ylim=(-0.03, 1.03), title=title)
    ax.legend(loc="lower right")
    return fig


def thinking_curves(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]]) -> Figure:
    """Solve rate against the number of iterations a planner may use, one line per planner."""
    if not curves:
        raise ValueError("curves must map planner names to (iterations, solve rates)")
    fig, ax = figure(width=6.0, height=3.4)
    for name, (iterations, rates) in curves.items():
        ax.plot(list(iterations), list(rates), marker="o", label=name)
    ax.set_xscale("log", base=2)
    ticks = sorted({int(k) for _, (iterations, _) in curves.items() for k in iterations})
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.minorticks_off()
    ax.set(
        xlabel="iterations the planner may use (thinking time)",
        ylabel="solve rate\n(share of mazes solved exactly)",
        ylim=(-0.03, 1.03),
        title="Does thinking longer help?",
    )
    ax.legend()
    return fig
