"""``mesakit reproduce detector``: score lesson 06's detector on the labelled zoo of models.

Every zoo model (:mod:`mesakit.detection.zoo`, shipped checkpoints) is analysed on ``B = 256`` prompts of the
task it was trained for; the detector's score ranks the models (AUROC: the chance that a random
mesa optimizer outscores a random non-optimizer) and its verdict classifies them (accuracy at the
documented threshold 0.5). Each signal is also scored alone. The zoo is split by family: ``design``
families (used while the signals were designed) and ``holdout`` families (only ever used to
report); ``holdout_auroc`` and ``per_family`` say how the detector does on models unlike those it
was designed on. How the zoo is trained and scored is :mod:`mesakit.detection.builders`.
"""

from __future__ import annotations

from pathlib import Path

from ..detection import builders
from ..detection import detector as detect
from ..moved import moved_name


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    """Score the detector on the shipped zoo (``steps`` and ``save`` do not apply: nothing is trained).

    ``auroc``/``accuracy``/``per_signal_auroc`` are over the whole zoo, ``holdout_auroc`` over the
    held-out families only (never used in the design), ``per_family`` per family;
    ``seconds_per_model`` is the mean wall time of one analysis (B = 256), ``cpu_seconds_per_model``
    its CPU time (what to compare with the 2 s budget on a loaded machine)."""
    rows = builders.analyse_zoo(seed, progress=progress)
    result = builders.summarise(rows)
    result["seconds_per_model"] = sum(r["seconds"] for r in rows) / len(rows)
    result["cpu_seconds_per_model"] = sum(r["cpu_seconds"] for r in rows) / len(rows)
    result["max_cpu_seconds"] = max(r["cpu_seconds"] for r in rows)
    for half in ("design", "holdout"):
        part = builders.summarise([r for r in rows if r["half"] == half])
        result[half] = {"auroc": part["auroc"], "accuracy": part["accuracy"]}
    result["holdout_auroc"] = result["holdout"]["auroc"]
    result["per_family"] = builders.per_family(rows)
    result["models"] = [
        {k: r[k] for k in ("name", "half", "family", "positive", "score", "detected")}
        | {"unavailable": sorted(r["unavailable"])}
        for r in rows
    ]
    return result


def describe(r: dict) -> str:
    lines = [
        f"Mesa-optimizer detector on the zoo ({len(r['models'])} models, {builders.BATCH} prompts each, threshold {detect.THRESHOLD})",
        f"  all      AUROC {r['auroc']:.3f}   accuracy {r['accuracy']:.3f}",
        *(f"  {h:8} AUROC {r[h]['auroc']:.3f}   accuracy {r[h]['accuracy']:.3f}" for h in ("design", "holdout")),
        "  per-signal AUROC: " + ", ".join(f"{k} {v:.3f}" for k, v in r["per_signal_auroc"].items()),
        f"  {r['seconds_per_model']:.3f} s per analysed model ({r['cpu_seconds_per_model']:.3f} s CPU, max {r['max_cpu_seconds']:.3f} s CPU)",
        "  family                         half     mesa other  min mesa  max other  accuracy",
    ]
    for name, f in r["per_family"].items():
        lo = "—" if f["min_mesa_score"] is None else f"{f['min_mesa_score']:.2f}"
        hi = "—" if f["max_other_score"] is None else f"{f['max_other_score']:.2f}"
        lines.append(
            f"  {name:30} {f['half']:8} {f['n_mesa']:4} {f['n_other']:5}  {lo:>8}  {hi:>9}  {f['accuracy']:8.2f}"
        )
    lines.append("  model                      half     label     score  verdict")
    for m in r["models"]:
        ok = "" if m["detected"] == m["positive"] else "   <- wrong"
        missing = f"   (not measured: {', '.join(m['unavailable'])})" if m.get("unavailable") else ""
        lines.append(
            f"  {m['name']:26} {m['half']:8} {'mesa' if m['positive'] else 'other':8} {m['score']:6.2f}  "
            f"{'detected' if m['detected'] else 'standard'}{ok}{missing}"
        )
    return "\n".join(lines)


def __getattr__(name: str) -> object:  # 0.1's names of the recipe, now in mesakit.detection.builders
    return moved_name(__name__, name)
