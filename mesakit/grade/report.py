"""What the grader writes: ``grades.csv`` and one feedback HTML page per submission.

The CSV has the columns ``student,lesson,score,max_score,status`` then
``notebook,timestamp,late,seconds_late,late_penalty,manual``: one row per submitted notebook (a
lesson has one; an nbgrader assignment may have several), sorted, with scores printed the same way every run (so a re-run gives the same file);
a name that a spreadsheet would read as a formula is written with a leading ``'``.
Feedback tells the student, per graded cell, the points earned and — when a check failed — what it
said; hidden tests are named and their outcome given, never their code. Everything the student or
the checks wrote is HTML-escaped.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from .runner import Result

COLUMNS = (
    "student",
    "lesson",
    "score",
    "max_score",
    "status",
    "notebook",
    "timestamp",
    "late",
    "seconds_late",
    "late_penalty",
    "manual",
)

STATUS_TEXT = {
    "ok": "graded",
    "tampered": "graded, but the notebook was changed where it should not be (the original tests were restored)",
    "timeout": "stopped: it ran longer than the time allowed",
    "memory": "stopped: it used more memory than allowed",
    "crashed": "the notebook's process ended early (exit, crash or kill)",
    "invalid-notebook": "the file could not be read as a Jupyter notebook",
    "missing": "no notebook was found for this lesson",
    "grader-error": "the grader itself failed on this submission",
}


def _number(x: float) -> str:
    return f"{x:g}"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet will not run: one starting like a formula gets a leading ``'``
    (as OWASP advises for CSV injection), so ``=HYPERLINK(...)`` is shown, never evaluated."""
    text = str(text)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text.replace("\r", " ")  # a bare CR would end the row for some readers


def write_csv(results: list[Result], path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(results, key=lambda r: (r.student, r.lesson, r.notebook)):
        writer.writerow(
            [
                csv_cell(r.student),
                csv_cell(r.lesson),
                _number(r.score),
                _number(r.max_score),
                csv_cell(r.status),
                csv_cell(r.notebook or r.lesson),
                r.timestamp,
                r.late,
                _number(round(r.seconds_late, 3)),
                _number(r.late_penalty),
                _number(manual_points(r)),
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def manual_points(r: Result) -> float:
    """Points in cells left for the instructor to grade by hand (answered, so not autograded)."""
    return sum(float(c.get("points", 0)) for c in r.cells if c.get("where") == "manual" and c.get("manual"))


def feedback_path(out: Path, result: Result) -> Path:
    return out / "feedback" / result.student / result.lesson / f"{result.notebook or result.lesson}.html"


def write_feedback(result: Result, out: Path) -> Path:
    path = feedback_path(out, result)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result), encoding="utf-8")
    return path


def render(r: Result) -> str:
    e = html.escape
    rows = []
    for c in r.cells:
        ok = float(c.get("score", 0)) >= float(c.get("points", 0)) and not c.get("error")
        verdict = "passed" if ok else "failed"
        where = c.get("where")
        if where == "manual":
            verdict, detail = ("to be graded" if c.get("manual") else "no response"), e(str(c.get("error", "")))
        elif ok:
            detail = "all checks passed (visible and hidden)"
        elif where == "hidden":
            detail = "the visible checks passed; a <b>hidden test</b> failed: " + e(str(c.get("error", "")))
        elif where == "visible":
            detail = "a visible check failed: " + e(str(c.get("error", "")))
        else:
            detail = e(str(c.get("error") or "partial credit"))
        output = c.get("output") or ""
        shown = f"<pre>{e(output)}</pre>" if output and where != "hidden" else ""
        rows.append(
            f"<tr class='{verdict.replace(' ', '-')}'><td><code>{e(str(c.get('grade_id')))}</code></td>"
            f"<td>{_number(float(c.get('score', 0)))} / {_number(float(c.get('points', 0)))}</td>"
            f"<td>{verdict}</td><td>{detail}{shown}</td></tr>"
        )
    notes = "".join(f"<li>{e(n)}</li>" for n in r.notes)
    title = r.lesson if (r.notebook or r.lesson) == r.lesson else f"{r.lesson} / {r.notebook}"
    extra = ""
    if r.late == "late":
        extra += f" Submitted late ({e(r.timestamp)})" + (
            f": {_number(r.late_penalty)} points taken off by the course's late policy." if r.late_penalty else "."
        )
    if manual_points(r):
        extra += f" {_number(manual_points(r))} more points are graded by your instructor."
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {e(title)} ({e(r.student)})</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #ccc; padding: .4rem; vertical-align: top; text-align: left; }}
tr.passed td:nth-child(3) {{ color: #0072B2; font-weight: bold; }} tr.to-be-graded td:nth-child(3) {{ color: #555; font-weight: bold; }} tr.failed td:nth-child(3) {{ color: #D55E00; font-weight: bold; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: .3rem; }}
</style></head><body>
<h1>{e(title)}: {_number(r.score)} / {_number(r.max_score)} points</h1>
<p>Student: <b>{e(r.student)}</b>. Status: <b>{e(r.status)}</b> — {e(STATUS_TEXT.get(r.status, r.status))}.{extra}</p>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<h2>Graded cells</h2>
<table><tr><th>cell</th><th>points</th><th>result</th><th>details</th></tr>
{"".join(rows)}
</table>
<p>Each graded cell runs its visible checks (the ones in your notebook) and hidden tests (other
inputs, same idea). Fix a failing check in your notebook first; it usually explains the hidden
failure too.</p>
</body></html>
"""
