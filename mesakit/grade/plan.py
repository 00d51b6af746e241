"""What to run for one submission: the student's cells, with every locked cell taken from the source.

The student's notebook is read as untrusted data (size-capped, nbformat 4 only, validated). Its
cells keep their order; each cell whose ``grade_id`` names a read-only or graded cell of the
instructor's source is replaced by the source's version (graded cells with their hidden tests and
the source's points), and a locked cell the student deleted is put back after its predecessor, as
``nbgrader autograde --OverwriteCells.add_missing_cells=True`` does. Solution cells and cells the
student added are the student's code. Outputs in the submission are ignored entirely.

A locked cell the student moved out of the source's order goes back to its place the same way:
the instructor's cells always run in the instructor's order. Every departure from the release —
an edited, missing or moved locked cell, changed points, metadata stripped or invented, a
duplicated id — is noted; any note makes the status ``tampered`` (the
points still come only from running the restored tests). Nothing here executes code.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


class InvalidNotebook(Exception):
    """The submission cannot be read as a notebook (message says why)."""


@dataclass
class Plan:
    cells: list[dict]  # {"kind": student|locked|graded, "source", "grade_id", "points", "hidden", "visible_source"}
    answer_names: list[str]  # names the solution cells define: always the student's
    graded: list[tuple[str, float]]  # (grade_id, points) of every graded cell, in source order
    notes: list[str] = field(default_factory=list)  # tampering found

    def to_json(self, files: tuple[tuple[str, bytes], ...] = ()) -> str:
        """The judge's input; ``files`` (the instructor's data files) are put in the judge's folder too."""
        import base64

        data = {"cells": self.cells, "answer_names": self.answer_names}
        if files:
            data["files"] = [[rel, base64.b64encode(b).decode("ascii")] for rel, b in files]
        return json.dumps(data)


def cell_meta(cell) -> dict:
    """A cell's nbgrader metadata (``{}`` when absent or not a mapping, as in a tampered notebook)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def linked(path: Path) -> str | None:
    """Which of ``<student>/<lesson>/<lesson>.ipynb`` is a symbolic link (never followed), if any."""
    for what, p in (("student folder", path.parent.parent), ("lesson folder", path.parent), ("notebook", path)):
        if p.is_symlink():
            return what
    return None


def read_submission(path: Path) -> nbformat.NotebookNode:
    """Read a submitted notebook, or raise :class:`InvalidNotebook` saying what is wrong."""
    link = linked(path)
    if link:
        raise InvalidNotebook(f"the {link} is a symbolic link; hand in the files themselves (links are never followed)")
    if not path.is_file():
        raise InvalidNotebook(
            f"no notebook {path.name} in the submission folder (expected <student>/<assignment>/{path.name})"
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as err:
        raise InvalidNotebook(f"the notebook cannot be read ({err.strerror})") from None
    if not data:
        raise InvalidNotebook("the notebook file is empty")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"the notebook is larger than the {MAX_NOTEBOOK_BYTES // 2**20} MB allowed")
    try:
        text = data.decode("utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidNotebook(f"the file is not notebook JSON ({str(err)[:200]})") from None
    except (RecursionError, MemoryError):
        raise InvalidNotebook("the notebook's JSON is nested too deeply to read") from None
    if not isinstance(raw, dict) or raw.get("nbformat") != 4:
        found = raw.get("nbformat") if isinstance(raw, dict) else type(raw).__name__
        raise InvalidNotebook(f"notebook format {found!r}; expected nbformat 4 (save it with Jupyter again)")
    if _depth(raw) > MAX_DEPTH:
        raise InvalidNotebook(f"the notebook's JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)  # joins multi-line sources
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 — jsonschema errors, missing keys, recursion...
        first = (str(err).splitlines() or [""])[0][:300]
        raise InvalidNotebook(f"the notebook does not validate as nbformat 4 ({type(err).__name__}: {first})") from None
    return nb


MAX_DEPTH = 100  # nesting of the notebook's JSON (real notebooks: under 10)


def _depth(value) -> int:
    """How deeply ``value`` nests, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            return d
        if isinstance(v, dict):
            stack += [(x, d + 1) for x in v.values()]
        elif isinstance(v, list):
            stack += [(x, d + 1) for x in v]
    return deepest


def _hidden_range(source: str) -> list[int] | None:
    lines = source.splitlines()
    begin = [i for i, l in enumerate(lines, 1) if HIDDEN_BEGIN in l]
    end = [i for i, l in enumerate(lines, 1) if HIDDEN_END in l]
    return [begin[0], end[-1] if end else len(lines)] if begin else None


def _answer_names(sources: list[str]) -> list[str]:
    """Functions, classes and variables a solution cell defines at top level (not its imports)."""
    found: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    found.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return sorted(found)


def make_plan(source: nbformat.NotebookNode, release: nbformat.NotebookNode, submitted: nbformat.NotebookNode) -> Plan:
    src_cells = [c for c in source.cells if cell_meta(c).get("grade_id")]
    by_id = {cell_meta(c)["grade_id"]: c for c in src_cells}
    released = {cell_meta(c).get("grade_id"): c for c in release.cells if cell_meta(c).get("grade_id")}
    locked_ids = [
        i
        for i, c in by_id.items()
        if c.cell_type == "code"
        and (cell_meta(c).get("grade") or cell_meta(c).get("locked"))
        and not cell_meta(c).get("solution")
    ]
    notes: list[str] = []
    out: list[tuple[str | None, dict]] = []  # (grade_id restored, cell)
    seen: set[str] = set()

    for cell in submitted.cells:
        meta = cell_meta(cell)
        gid = meta.get("grade_id")
        if gid in by_id and gid in locked_ids and gid not in seen and cell.cell_type == "code":
            seen.add(gid)
            out.append((gid, _restored(by_id[gid])))
            notes += _compare(gid, cell, released.get(gid), by_id[gid])
            continue
        if gid in locked_ids and gid in seen:
            notes.append(f"cell {gid!r} appears more than once; the copy runs as your own code")
        elif gid in locked_ids:
            notes.append(f"graded/read-only cell {gid!r} was turned into a {cell.cell_type} cell")
        elif gid and gid not in by_id and (meta.get("grade") or meta.get("locked")):
            notes.append(f"cell {gid!r} is not part of the assignment; it is not graded")
        elif gid in by_id and meta.get("solution") is not True and cell_meta(by_id[gid]).get("solution"):
            notes.append(f"solution cell {gid!r} has changed metadata")
        if cell.cell_type == "code":
            # a solution cell stays an anchor for putting back the test that follows it
            anchor = gid if gid in by_id and gid not in locked_ids and gid not in seen else None
            if anchor:
                seen.add(anchor)
            out.append((anchor, {"kind": "student", "source": str(cell.source), "grade_id": anchor}))

    order = [cell_meta(c)["grade_id"] for c in src_cells]
    # A locked cell out of the source's order was moved: take it out, to be put back in its place.
    placed = [gid for gid, c in out if c["kind"] != "student"]
    moved = set(placed) - set(_in_order(placed, {g: k for k, g in enumerate(order)}))
    out = [(gid, c) for gid, c in out if not (c["kind"] != "student" and gid in moved)]
    seen -= moved
    # Put back the locked cells the student deleted (or moved), after the cell that precedes them in the source.
    for gid in locked_ids:
        if gid in seen or any(r == gid for r, _ in out):
            continue
        if gid in moved:
            notes.append(f"cell {gid!r} was moved; it runs in its original place")
        else:
            notes.append(f"cell {gid!r} was missing; it was put back")
        prior = order[: order.index(gid)]
        at = 0
        for k, (restored, _) in enumerate(out):
            if restored in prior:
                at = k + 1
        out.insert(at, (gid, _restored(by_id[gid])))
        seen.add(gid)

    solutions = [str(c.source) for c in source.cells if c.cell_type == "code" and cell_meta(c).get("solution")]
    graded = [
        (i, float(cell_meta(by_id[i]).get("points", 0)))
        for i in order
        if i in locked_ids and cell_meta(by_id[i]).get("grade")
    ]
    cells = [c for _, c in out]
    for c in cells:
        if c["kind"] != "student":
            c["order"] = order.index(c["grade_id"])
        if c["kind"] == "graded":
            c["visible_source"] = str(released[c["grade_id"]].source) if c["grade_id"] in released else ""
    return Plan(cells=cells, answer_names=_answer_names(solutions), graded=graded, notes=notes)


def _in_order(ids: list[str], position: dict[str, int]) -> list[str]:
    """The longest run of ``ids`` (not necessarily contiguous) in the source's order."""
    best: list[list[str]] = []
    for gid in ids:
        longest = max((b for b in best if position[b[-1]] < position[gid]), key=len, default=[])
        best.append([*longest, gid])
    return max(best, key=len, default=[])


def _restored(src_cell) -> dict:
    meta = cell_meta(src_cell)
    if meta.get("grade"):
        return {
            "kind": "graded",
            "source": str(src_cell.source),
            "grade_id": meta["grade_id"],
            "points": float(meta.get("points", 0)),
            "hidden": _hidden_range(str(src_cell.source)),
        }
    return {"kind": "locked", "source": str(src_cell.source), "grade_id": meta["grade_id"]}


def _compare(gid: str, cell, released, src_cell) -> list[str]:
    notes = []
    meta, src_meta = cell_meta(cell), cell_meta(src_cell)
    if released is not None and str(cell.source).strip() != str(released.source).strip():
        notes.append(f"cell {gid!r} was edited; the original was restored")
    if src_meta.get("grade") and (
        not meta.get("grade") or float(meta.get("points", -1)) != float(src_meta.get("points", 0))
    ):
        notes.append(f"the points or metadata of {gid!r} were changed; the original was restored")
    if not meta.get("locked"):
        notes.append(f"cell {gid!r} was unlocked; the original was restored")
    return notes


# --- what nbgrader counts: every grade cell and task cell, autograded or left for the instructor --


def _is_manual(cell) -> bool:
    """Graded by hand in nbgrader: an answer cell with points (code or markdown) or a task cell."""
    m = cell_meta(cell)
    return bool(m.get("task")) or (bool(m.get("grade")) and (bool(m.get("solution")) or cell.cell_type != "code"))


def graded_cells(source: nbformat.NotebookNode) -> list[tuple[str, float]]:
    """(grade_id, points) of every cell nbgrader gives points for (tests, manual answers, tasks), in order."""
    return [
        (cell_meta(c)["grade_id"], float(cell_meta(c).get("points", 0)))
        for c in source.cells
        if cell_meta(c).get("grade_id") and (cell_meta(c).get("grade") or cell_meta(c).get("task"))
    ]


def max_score(source: nbformat.NotebookNode) -> float:
    """The notebook's max score as nbgrader counts it: grade cells of any kind plus task cells (the
    one count used for ``grades.csv``'s ``max_score``, whether the submission ran or not)."""
    return sum(p for _, p in graded_cells(source))


def manual_verdicts(
    source: nbformat.NotebookNode, release: nbformat.NotebookNode, submitted: nbformat.NotebookNode
) -> list[dict]:
    """The cells left for the instructor, scored as ``nbgrader autograde`` scores them: an answer
    left as released gets 0 ("No response."), any other answer no autoscore (0 until graded by hand)."""
    released = {cell_meta(c).get("grade_id"): c for c in release.cells if cell_meta(c).get("grade_id")}
    handed = {}
    for c in submitted.cells:
        handed.setdefault(cell_meta(c).get("grade_id"), c)
    out = []
    for c in source.cells:
        if not (cell_meta(c).get("grade_id") and _is_manual(c)):
            continue
        gid, points = cell_meta(c)["grade_id"], float(cell_meta(c).get("points", 0))
        mine, given = handed.get(gid), released.get(gid)
        if cell_meta(c).get("task"):
            verdict = (True, "a task graded by your instructor")
        elif mine is None:
            verdict = (False, "the answer cell was deleted: no response")
        elif given is not None and mine.cell_type == given.cell_type and str(mine.source) == str(given.source):
            verdict = (False, "no response (the cell is as it was handed out)")
        else:
            verdict = (True, "graded by your instructor (not autograded)")
        out.append(
            {
                "grade_id": gid,
                "points": points,
                "score": 0.0,
                "where": "manual",
                "manual": verdict[0],
                "error": verdict[1],
                "task": bool(cell_meta(c).get("task")),
            }
        )
    return out
