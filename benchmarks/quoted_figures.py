"""Report the figures quoted in each lesson's text that no code cell above them prints.

    .venv/bin/python benchmarks/quoted_figures.py [LESSON ...]

A first cut at issue 14's "a test fails if a quoted figure no longer matches": it executes each
solution notebook and lists, per lesson, every number in a markdown cell that no cell above prints.
Ranges over seeds 0-7 (reproduced by benchmarks/seeds.py), hyperparameters and section numbers still
show up as misses, so this is a report to read, not yet a test.

Original intent:

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

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mesakit.course import execute, select  # noqa: E402

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


def main(names: list[str]) -> int:
    missing = 0
    for lesson in select(ROOT, names, solutions=True):
        nb, _ = execute(lesson.path, timeout=600)
        above = ""
        for cell in nb.cells:
            if cell.cell_type == "code":
                above += "\n" + printed(cell)
            elif cell.cell_type == "markdown":
                for number, line in quoted(cell.source):
                    if not shown(number, above):
                        missing += 1
                        print(f"{lesson.name[:2]}  {number!r:>8}  {line[:150]}", flush=True)
    print(f"{missing} quoted figure(s) not printed above them")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
