"""Every measured figure quoted in a lesson's text is printed by a code cell above it.

A lesson's prose must not drift from what its cells (and the shipped checkpoints they load) show:
for each number with a decimal point or a percent sign in a markdown cell, some code cell *above*
it must print a number that rounds to it (same number of decimals; a percentage may be printed as a
fraction). Section numbers ("2.1"), numbers inside code spans, LaTeX and hint/solution blocks, and
numbers in lines that cite a paper or name the setup (author-year citations, hyperparameters listed
in ``SETUP`` below) are not measurements and are skipped. When a checkpoint is retrained and a figure
changes, this test names the sentence to update.
"""

from __future__ import annotations

import re

import pytest

from conftest import executed
from mesakit.course import lessons
from conftest import ROOT

SOLUTIONS = lessons(ROOT, solutions=True)
pytestmark = pytest.mark.slow

NUMBER = re.compile(r"(?<![\w.\-/^_])(\d+\.\d+|\d+(?:\.\d+)?\s?%)(?![\w.]*\d)")
HEADING = re.compile(r"^\s*#+.*$", re.M)
SECTION = re.compile(r"(?:§|[Ee]xercise |[Ss]ection |[Ss]tep |\bpart )\s?\d+\.\d+")
CODE = re.compile(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", re.S)
HIDDEN = re.compile(r"<details>.*?</details>", re.S)
CITATION = re.compile(r"\b(?:19|20)\d\d\b")
# Numbers that describe the setup (chosen, not measured) or quote a paper: allowed anywhere.
SETUP = {"0.5", "1e-3"}


def quoted(markdown: str) -> list[tuple[str, str]]:
    """(number, the line it is in) for every figure in a markdown cell that must be printed above."""
    text = HIDDEN.sub("", markdown)
    text = HEADING.sub("", text)
    text = CODE.sub("", text)
    text = SECTION.sub("", text)
    found = []
    for line in text.splitlines():
        if CITATION.search(line) and "et al" in line:
            continue
        for match in NUMBER.finditer(line):
            number = match.group(1).replace(" ", "")
            if number not in SETUP:
                found.append((number, line.strip()))
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


def shown(number: str, text: str) -> bool:
    """Does ``text`` print a number that, rounded as ``number`` is written, equals it?"""
    percent = number.endswith("%")
    value = float(number.rstrip("%"))
    decimals = len(number.rstrip("%").partition(".")[2])
    for token in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?", text):
        try:
            x = float(token.rstrip("%"))
        except ValueError:
            continue
        candidates = [x]
        if percent and not token.endswith("%"):
            candidates.append(100 * x)  # 0.987 printed, "98.7%" or "99%" quoted
        if any(abs(round(c, decimals) - value) < 1e-9 or f"{c:.{decimals}f}" == f"{value:.{decimals}f}" for c in candidates):
            return True
    return False


@pytest.mark.parametrize("lesson", SOLUTIONS, ids=[l.name for l in SOLUTIONS])
def test_quoted_figures_are_printed_above(lesson):
    nb = executed(str(lesson.path), allow_errors=False)
    above = ""
    missing = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            above += "\n" + printed(cell)
        elif cell.cell_type == "markdown":
            missing += [f"{n!r} in: {line[:160]}" for n, line in quoted(cell.source) if not shown(n, above)]
    assert not missing, "figures quoted in the text that no cell above prints:\n" + "\n".join(missing)
