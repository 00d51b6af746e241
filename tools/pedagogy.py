"""Shared helpers of the idempotent pedagogy scripts (tools/lessonNN_pedagogy.py): layered help
(Hint 1, Hint 2, Solution dropdowns), difficulty and minutes lines, cell lookup by id, splitting a
cell at a marker, sentence-level replacements, Think! cells, and the validate-and-write step.
Notebooks are read and written with nbformat only (through nbedit)."""

from __future__ import annotations

import re

import nbformat
from nbedit import read, write  # noqa: F401  (re-exported: the scripts read and write through here)


def help_cell(hint1: str, hint2: str, solution: str) -> str:
    return (
        f"<details><summary>Hint 1</summary>\n\n{hint1.strip()}\n</details>\n\n"
        f"<details><summary>Hint 2</summary>\n\n{hint2.strip()}\n</details>\n\n"
        f"<details><summary>Solution</summary>\n\n```python\n{solution.strip()}\n```\n</details>"
    )


def level_line(difficulty: int, minutes: int) -> str:
    return f"**Difficulty** {'●' * difficulty}{'○' * (3 - difficulty)} · **about {minutes} min**"


def exercise(title: str, difficulty: int, minutes: int, goal: str) -> str:
    return f"### Exercise {title}\n\n{level_line(difficulty, minutes)}\n\n{goal.strip()}"


def set_level(cell, difficulty: int, minutes: int) -> None:
    """The difficulty line right under the cell's first line (an older one is dropped)."""
    head, _, rest = cell.source.partition("\n")
    rest = "\n".join(line for line in rest.split("\n") if not line.startswith("**Difficulty**")).lstrip("\n")
    cell.source = f"{head}\n\n{level_line(difficulty, minutes)}" + (f"\n\n{rest}" if rest else "")


def solution_code(nb, grade_id: str) -> str:
    """The worked solution of an exercise, from its own solution cell (one source of truth)."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return cell.source.partition("### BEGIN SOLUTION")[2].partition("### END SOLUTION")[0]


def dedent_body(code: str) -> str:
    lines = [line[4:] if line.startswith("    ") else line for line in code.strip("\n").split("\n")]
    return "\n".join(lines)


def help_from_solution(nb, grade_id: str, hint1: str, hint2: str) -> str:
    """Layered help whose Solution dropdown is the body of the exercise's own solution cell."""
    return help_cell(hint1, hint2, dedent_body(solution_code(nb, grade_id)))


def cells_by_id(nb) -> dict:
    return {c.get("id"): c for c in nb.cells}


def set_sources(nb, texts: dict) -> None:
    """Cell id -> its whole text."""
    cells = cells_by_id(nb)
    for cell_id, text in texts.items():
        cells[cell_id].source = text


def set_levels(nb, levels: dict) -> None:
    """Exercise heading cell id -> (difficulty 1-3, minutes)."""
    cells = cells_by_id(nb)
    for cell_id, (difficulty, minutes) in levels.items():
        set_level(cells[cell_id], difficulty, minutes)


def set_help_from_solutions(nb, help_: dict) -> None:
    """Help cell id -> (grade id of the exercise, hint 1, hint 2): the Solution dropdown is the solution cell's body."""
    cells = cells_by_id(nb)
    for cell_id, (grade_id, hint1, hint2) in help_.items():
        cells[cell_id].source = help_from_solution(nb, grade_id, hint1, hint2)


def split(nb, cell_id: str, marker: str, new_id: str, *, rstrip: str | None = None, lstrip_new: bool = False) -> None:
    """Move the text of ``cell_id`` from ``marker`` on into a new markdown cell ``new_id`` after it
    (nothing to do once ``new_id`` exists). ``rstrip``: the characters stripped from the end of the
    text left behind (default whitespace); ``lstrip_new``: strip leading newlines of the moved text."""
    cells = cells_by_id(nb)
    if new_id in cells:
        return
    cell = cells[cell_id]
    before, found, after = cell.source.partition(marker)
    if not found:
        raise SystemExit(f"{cell_id}: {marker!r} not found")
    cell.source = before.rstrip(rstrip)
    moved = found + after
    new = nbformat.v4.new_markdown_cell(moved.lstrip("\n") if lstrip_new else moved)
    new["id"] = new_id
    nb.cells.insert(nb.cells.index(cell) + 1, new)


def apply_replacements(nb, replacements) -> None:
    """(cell id, old text, new text) edits, skipped once applied (an empty new text: once ``old`` is gone)."""
    for cell_id, old, new in replacements:
        cell = cells_by_id(nb)[cell_id]
        if new and new in cell.source or (not new and old not in cell.source):
            continue
        if old not in cell.source:
            raise SystemExit(f"{cell_id}: text to replace not found: {old[:60]!r}")
        cell.source = cell.source.replace(old, new)


def require(nb, ids, path) -> None:
    """Stop when a cell the script edits is missing from the notebook at ``path``."""
    missing = set(ids) - set(cells_by_id(nb))
    if missing:
        raise SystemExit(f"cells not found in {path.name}: {sorted(missing)}")


def think_targets(think: dict) -> set:
    """The cells the Think! moments go before."""
    return {before for before, _ in think.values()}


def insert_think(nb, think: dict) -> None:
    """Think! cells (new id -> (insert before this cell id, text)): inserted once, their text kept current."""
    for new_id, (before, text) in think.items():
        cells = cells_by_id(nb)
        if new_id in cells:
            cells[new_id].source = text
            continue
        cell = nbformat.v4.new_markdown_cell(text)
        cell["id"] = new_id
        nb.cells.insert(nb.cells.index(cells[before]), cell)


def assert_no_one_level_hint(nb) -> None:
    assert not any(re.search(r"<summary>Hint</summary>", c.source) for c in nb.cells), "an old one-level hint is left"


def grade_meta(grade_id: str, *, solution: bool, points: float | None = None) -> dict:
    """nbgrader metadata: a solution cell (no points) or a graded, locked check cell."""
    meta = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": points is not None,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def finish_with_solution_help(nb, path, levels: dict, help_: dict, think: dict) -> None:
    """The common last step of lessons 04 and 05: check the cells exist, set the difficulty lines, the
    layered help (Solution from the solution cells) and the Think! cells, make sure no one-level hint is
    left, validate and write."""
    require(nb, set(levels) | set(help_) | think_targets(think), path)
    set_levels(nb, levels)
    set_help_from_solutions(nb, help_)
    insert_think(nb, think)
    assert_no_one_level_hint(nb)
    write(nb, path)
