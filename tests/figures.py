"""Which numbers in a lesson's prose are measurements, and where each one is shown (issue 14).

A number with a decimal point or a percent sign in a markdown cell is a *quoted figure*. It must be

* printed by a code cell of the executed solution notebook (so it is the shipped checkpoint's
  figure: retrain, and the sentence that quotes the old figure fails), or
* in a cell that names ``mesakit reproduce EXPERIMENT``, one of that experiment's figures over the
  seeds recorded in ``benchmarks/results/EXPERIMENT.json`` (written by ``benchmarks/seeds.py
  --record``), e.g. the two ends of a range over seeds 0-7, or
* listed in ``figure_sources.py``: a figure *derived* from a record (a bound, a difference), with the
  function that recomputes it, or a *setup* figure (a hyperparameter), with the source file and the
  pattern (the default that sets it) that file must contain.

Section numbers, code spans, LaTeX, headings, hint/solution dropdowns and lines citing a paper
("et al." and a year) are not measurements and are skipped. ``tests/test_notebooks.py`` runs this
on every solution notebook; ``benchmarks/quoted_figures.py`` prints the same as a report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

NUMBER = re.compile(r"(?<![\w.\-/^_])(\d+\.\d+|\d+(?:\.\d+)?\s?%)(?![\w.]*\d)")
HEADING = re.compile(r"^\s*#+.*$", re.M)
SECTION = re.compile(r"(?:§|[Ee]xercises? |[Ss]ection |[Ss]tep |\bpart |\()\s?\d+\.\d+\)?(?=[\s),.;:]|$)")
CODE = re.compile(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", re.S)
HIDDEN = re.compile(r"<details>.*?</details>", re.S)
CITATION = re.compile(r"\b(?:19|20)\d\d\b")
REPRODUCE = re.compile(r"mesakit reproduce ([a-z][a-z-]*)")


def quoted(markdown: str) -> list[tuple[str, str]]:
    """(number, the line it is in) for every figure in a markdown cell that must be shown somewhere."""
    text = HIDDEN.sub("", markdown)
    text = HEADING.sub("", text)
    text = CODE.sub(lambda m: m.group(0) if REPRODUCE.search(m.group(0)) else "", text)
    text = SECTION.sub("", text)
    found = []
    for line in text.splitlines():
        if CITATION.search(line) and "et al" in line:
            continue
        for match in NUMBER.finditer(REPRODUCE.sub("", line)):
            found.append((match.group(1).replace(" ", ""), line.strip()))
    return found


def printed(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
            parts.append(out["data"].get("text/markdown", ""))
    return "\n".join(parts)


def matches(number: str, value: float) -> bool:
    """Is ``value``, rounded as ``number`` is written, equal to it? (A fraction matches a percent.)"""
    percent = number.endswith("%")
    target = float(number.rstrip("%"))
    decimals = len(number.rstrip("%").partition(".")[2])
    candidates = [value, 100 * value] if percent else [value]
    return any(f"{c:.{decimals}f}" == f"{target:.{decimals}f}" for c in candidates)


def shown(number: str, text: str) -> bool:
    """Does ``text`` print a number that, rounded as ``number`` is written, equals it?"""
    for token in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text):
        if matches(number, float(token)):
            return True
    return False


def leaves(obj) -> list[float]:
    """Every number in a JSON value."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    values = obj.values() if isinstance(obj, dict) else obj
    return [x for v in values for x in leaves(v)]


def record(experiment: str) -> dict:
    path = RESULTS / f"{experiment}.json"
    if not path.exists():
        raise AssertionError(
            f"no {path.relative_to(ROOT)}: run benchmarks/seeds.py {experiment} --seeds 0-7 --record benchmarks/results"
        )
    return json.loads(path.read_text())


def unshown(lesson: str, nb) -> list[str]:
    """Every quoted figure of the executed notebook ``nb`` that nothing shows, as 'NUMBER  line'."""
    from figure_sources import DERIVED, SETUP

    printed_text = "\n".join(printed(c) for c in nb.cells if c.cell_type == "code")
    misses = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        experiments = REPRODUCE.findall(cell.source)
        for number, line in quoted(cell.source):
            if shown(number, printed_text):
                continue
            if any(matches(number, x) for e in experiments for x in leaves(record(e))):
                continue
            derived = DERIVED.get(lesson, {}).get(number)
            if derived:
                value = derived[1](record(derived[0]))
                if value is True or (not isinstance(value, bool) and matches(number, value)):
                    continue
            setup = SETUP.get(lesson, {}).get(number)
            if setup and re.search(setup[1], (ROOT / setup[0]).read_text()):
                continue
            misses.append(f"{number:>8}  {line[:150]}")
    return misses
