"""``mesakit progress``: where a self-paced learner stands, read from their *saved* notebook.

Nothing is executed: each exercise (a solution cell and the graded check cells after it) is judged
from the outputs saved with the notebook. A check prints a line starting with ``✔`` when it passes
and raises when it fails, so

* **passed** — every check cell of the exercise shows a ``✔`` line and no error;
* **failed** — a check cell (or the solution cell) shows an error; its last line is quoted;
* **not attempted** — the solution cell still holds the stub ``raise NotImplementedError``, or the
  checks were never run (no output).

The result reflects the last time the learner ran the cells and saved; run the checks, save, then
ask again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import CourseError, read_notebook

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
MARKS = {PASSED: "✔", FAILED: "✗", NOT_ATTEMPTED: "·"}
STUB = re.compile(r"^\s*raise NotImplementedError\b", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Exercise:
    title: str  # "Exercise 1.1 — explained-share gain", or the solution cell's grade_id
    grade_id: str
    status: str  # PASSED, FAILED or NOT_ATTEMPTED
    points: float  # what its graded cells are worth
    message: str = ""  # for a failure: the error's last line


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _solution_body(source: str) -> str:
    """The learner's part of a solution cell (between the markers, when the release kept them)."""
    if "### BEGIN SOLUTION" in source:
        return source.partition("### BEGIN SOLUTION")[2].partition("### END SOLUTION")[0]
    return source


def _error(cell) -> str | None:
    """The last line of an error saved in ``cell``'s outputs, else None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
            return ANSI.sub("", text).strip().splitlines()[-1] if text.strip() else "an error"
    return None


def _passed(cell) -> bool:
    for out in cell.get("outputs", []):
        text = out.get("text") if out.get("output_type") == "stream" else out.get("data", {}).get("text/plain")
        if isinstance(text, list):
            text = "".join(text)
        if text and any(line.lstrip().startswith("✔") for line in text.splitlines()):
            return True
    return False


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """Every exercise of a (saved) lesson notebook, in order, with its status."""
    found, title = [], None
    cells = nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            m = re.search(r"^#{2,4}\s*(Exercise\b.*)$", cell.source, re.M)
            if m:
                title = m.group(1).strip()
            continue
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        checks = []
        for later in cells[i + 1 :]:
            later_meta = _nbgrader(later)
            if later.cell_type == "code" and later_meta.get("solution"):
                break
            if later.cell_type == "code" and later_meta.get("grade"):
                checks.append(later)
        if not checks:  # a solution cell without a check of its own (e.g. a helper): not an exercise
            continue
        points = sum(float(_nbgrader(c).get("points", 0)) for c in checks)
        name = title or meta.get("grade_id", f"cell {i}")
        title = None  # a heading names only the first exercise after it
        errors = [e for e in (_error(c) for c in [cell, *checks]) if e]
        if STUB.search(_solution_body(cell.source)):
            status, message = NOT_ATTEMPTED, ""
        elif errors:
            status, message = FAILED, errors[0]
        elif all(_passed(c) for c in checks):
            status, message = PASSED, ""
        else:
            status, message = NOT_ATTEMPTED, ""  # never run (or run before the checks existed)
        found.append(Exercise(name, meta.get("grade_id", ""), status, points, message))
    return found


def lesson_progress(path: Path) -> list[Exercise]:
    """Read ``path`` (never written) and list its exercises; a missing or corrupt file raises CourseError."""
    nb = read_notebook(path)
    found = exercises(nb)
    if not found:
        raise CourseError(
            f"{path} has no exercises (no solution cell followed by a graded check): is it a lesson notebook?"
        )
    return found


def describe(name: str, path: Path, found: list[Exercise]) -> str:
    """The report printed by ``mesakit progress`` for one lesson."""
    width = max(len(e.title) for e in found)
    lines = [f"{name}  ({path})"]
    for e in found:
        line = f"  {MARKS[e.status]} {e.status:13}  {e.title:{width}}  {e.points:g} pt"
        lines.append(line + (f"\n      {e.message[:200]}" if e.message else ""))
    counts = {s: sum(e.status == s for e in found) for s in (PASSED, FAILED, NOT_ATTEMPTED)}
    earned = sum(e.points for e in found if e.status == PASSED)
    total = sum(e.points for e in found)
    lines.append(
        f"  {counts[PASSED]} passed, {counts[FAILED]} failed, {counts[NOT_ATTEMPTED]} not attempted "
        f"(of {len(found)}); checks passed for {earned:g} of {total:g} points — hidden tests may still differ"
    )
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "progress",
        help="list each exercise of your saved lesson notebooks: passed / failed / not attempted",
        description="Read your saved notebooks in lessons/ (without running them) and list each exercise as "
        "passed, failed or not attempted, from the saved outputs of its check cells.",
    )
    p.add_argument("lessons", nargs="*", metavar="LESSON", help="e.g. 01 or 01_base_and_mesa (default: all)")
    p.add_argument("--course", type=Path, help="course folder (default: found from the current folder)")
    p.set_defaults(func=_progress)


def _progress(args) -> int:
    import sys

    from .course import find_root, select

    try:
        root = args.course.resolve() if args.course else find_root()
        chosen = select(root, args.lessons)
        if not chosen:
            raise CourseError(f"no lessons in {root / 'lessons'}")
        reports = [describe(l.name, l.path, lesson_progress(l.path)) for l in chosen]
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n\n".join(reports))
    return 0
