"""The shape of help in a lesson (issue 15): every exercise shows its difficulty and minutes, help
comes in layers (Hint 1, Hint 2, then the code only in a Solution dropdown, never in a hint), each
lesson has Think! moments with collapsed answers, and the student release keeps worked solutions in
solutions/ only.

LAYERED lists the converted lessons (all six); the release test covers every lesson.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT

from mesakit.course import lessons
from mesakit.handout import hide_worked_solutions

LAYERED = [
    "01_base_and_mesa",
    "02_toy_mesa_optimizer",
    "03_emergence",
    "04_objective_divergence",
    "05_internal_search",
    "06_detection",
]


def _cells(kind: str, name: str):
    return nbformat.read(ROOT / kind / name / f"{name}.ipynb", as_version=4).cells


def _exercises(cells):
    """(heading cell, help cell, solution code) for every '### Exercise' heading."""
    out = []
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.source.startswith("### Exercise"):
            rest = cells[i + 1 :]
            code = next(c for c in rest if c.metadata.get("nbgrader", {}).get("solution"))
            help_ = next(c for c in rest if c.cell_type == "markdown" and "<details><summary>Hint" in c.source)
            out.append((cell, help_, code))
    return out


def _solution_lines(code) -> list[str]:
    body = code.source.partition("### BEGIN SOLUTION")[2].partition("### END SOLUTION")[0]
    return [line.strip() for line in body.splitlines() if len(line.strip()) > 12]


@pytest.mark.parametrize("name", LAYERED)
def test_every_exercise_has_level_minutes_and_layered_help(name):
    exercises = _exercises(_cells("solutions", name))
    assert exercises
    for heading, help_, code in exercises:
        title = heading.source.splitlines()[0]
        assert re.search(r"\*\*Difficulty\*\* [●○]{3} · \*\*about \d+ min\*\*", heading.source), title
        text = help_.source
        assert "<summary>Hint 1</summary>" in text and "<summary>Hint 2</summary>" in text, title
        if "<summary>Solution</summary>" in text:
            hints = text.partition("<summary>Solution</summary>")[0]
            leaked = [line for line in _solution_lines(code) if line in hints]
            assert not leaked, f"{title}: a hint contains the solution's code: {leaked}"


@pytest.mark.parametrize("name", LAYERED)
def test_think_moments_have_collapsed_answers(name):
    thinks = [c.source for c in _cells("solutions", name) if c.cell_type == "markdown" and "🤔" in c.source]
    assert len(thinks) >= 2, "a lesson needs at least two Think! moments"
    for text in thinks:
        question, _, answer = text.partition("<details><summary>Answer</summary>")
        assert answer.strip() and "</details>" in answer, f"a Think! moment without a collapsed answer: {question[:80]}"


@pytest.mark.parametrize("lesson", lessons(ROOT), ids=[l.name for l in lessons(ROOT)])
def test_the_release_keeps_worked_solutions_in_solutions(lesson):
    for cell in nbformat.read(lesson.path, as_version=4).cells:
        if cell.cell_type == "markdown" and "<summary>Solution</summary>" in cell.source:
            shown = cell.source.partition("<summary>Solution</summary>")[2].partition("</details>")[0]
            assert "```" not in shown and f"solutions/{lesson.name}/" in shown, shown


def test_hide_worked_solutions_replaces_only_the_solution_dropdowns():
    text = (
        "<details><summary>Hint 1</summary>\n\nidea\n</details>\n\n"
        "<details><summary>Solution</summary>\n\n```python\nreturn 42\n```\n</details>\n\nafter"
    )
    out = hide_worked_solutions(text, "07_demo")
    assert "idea" in out and "after" in out and "return 42" not in out
    assert "`solutions/07_demo/07_demo.ipynb`" in out
    assert hide_worked_solutions(out, "07_demo") == out
