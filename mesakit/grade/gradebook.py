"""``mesakit grade --gradebook``: the grades into nbgrader's gradebook, the feedback into its feedback folder.

Written through nbgrader's own API (:class:`nbgrader.api.Gradebook`) with ``nbgrader autograde``'s
semantics, so ``nbgrader export``, formgrader and ``nbgrader release_feedback`` see them as theirs:

* the student and the submission (with ``timestamp.txt``'s time) are created or updated;
* each graded cell's ``auto_score`` is what mesakit's judge gave; ``needs_manual_grade`` is set
  when there is no autoscore (an answer left for the instructor) or the instructor already graded
  it by hand. The instructor's ``manual_score`` (and ``manual_comment``, ``extra_credit``) is never
  written: a score entered by hand stays, and stays the one nbgrader reports (its ``score`` is the
  manual score when there is one);
* an answer cell left as released gets the auto-comment "No response.", as nbgrader gives it;
* each notebook's ``late_submission_penalty`` comes from the course's late policy on the
  notebook's score, as nbgrader's ``AssignLatePenalties`` computes it;
* a missing notebook scores 0 and needs no manual grade (nbgrader's rule); a submission the
  grader failed on (``grader-error``) is left as it was.

The feedback page of each notebook goes to ``feedback/<student>/<assignment>/<notebook>.html``
with the submission's ``timestamp.txt`` and ``submission_secret.txt`` beside it, which is what
``nbgrader release_feedback`` reads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..course import CourseError
from .assignments import Course, LatePolicy, read_timestamp
from .plan import InvalidNotebook, cell_meta, read_submission
from .report import render
from .runner import Result


def check(course: Course, assignment_names: list[str]) -> None:
    """Refuse (before grading) an assignment nbgrader's gradebook does not know, saying how to add it."""
    from nbgrader.api import Gradebook, MissingEntry

    if course.db_url.startswith("sqlite:///") and not Path(course.db_url[len("sqlite:///") :]).is_file():
        raise CourseError(
            f"there is no nbgrader gradebook at {course.db_url[len('sqlite:///') :]}: run `nbgrader generate_assignment "
            f"{assignment_names[0] if assignment_names else 'NAME'}` in {course.root} first (it creates it)"
        )
    with Gradebook(course.db_url, course.course_id) as gb:
        for name in assignment_names:
            try:
                a = gb.find_assignment(name)
            except MissingEntry:
                raise CourseError(
                    f"nbgrader's gradebook ({course.db_url}) has no assignment {name!r}: run `nbgrader generate_assignment "
                    f"{name}` in {course.root} first (it records the notebooks and graded cells nbgrader keeps scores for)"
                ) from None
            known = {nb.name for nb in a.notebooks}
            from .assignments import notebooks

            missing = [nb for nb in notebooks(course, name) if nb not in known]
            if missing:
                raise CourseError(
                    f"nbgrader's gradebook has {name!r} without the notebook(s) {', '.join(missing)}: "
                    f"run `nbgrader generate_assignment {name} --force` to update it"
                )


def record(course: Course, submitted: Path, results: list[Result], release: dict) -> list[str]:
    """Write ``results`` into the gradebook and the feedback folder; return one line per thing to tell.
    ``release`` maps (assignment, notebook) to the released notebook (to tell unanswered cells)."""
    from nbgrader.api import Gradebook, MissingEntry

    policy = LatePolicy(course)
    told: list[str] = []
    kept = 0
    with Gradebook(course.db_url, course.course_id) as gb:
        done_submissions: set[tuple[str, str]] = set()
        for r in results:
            if r.status == "grader-error":
                told.append(f"{r.student}/{r.lesson}/{r.notebook}: grader-error, the gradebook was left as it was")
                continue
            folder = submitted / r.student / r.lesson
            if (r.student, r.lesson) not in done_submissions:
                gb.update_or_create_student(r.student)
                ts, _, _ = read_timestamp(folder) if not folder.is_symlink() else (None, "", "")
                gb.update_or_create_submission(r.lesson, r.student, **({"timestamp": ts} if ts else {}))
                done_submissions.add((r.student, r.lesson))
            nb = r.notebook or r.lesson
            answered = _unanswered(folder / f"{nb}.ipynb", release.get((r.lesson, nb)))
            for cell in r.cells:
                if cell.get("task") and r.status != "missing":
                    continue  # nbgrader autograde leaves task cells to the instructor untouched
                try:
                    grade = gb.find_grade(cell["grade_id"], nb, r.lesson, r.student)
                except MissingEntry:
                    told.append(
                        f"{r.student}/{r.lesson}/{nb}: the gradebook has no cell {cell['grade_id']!r}; not recorded"
                    )
                    continue
                if r.status == "missing":
                    auto = 0.0
                elif cell.get("where") == "manual":
                    auto = None if cell.get("manual") else 0.0
                else:
                    auto = float(cell["score"])
                grade.auto_score = auto
                grade.needs_manual_grade = grade.manual_score is not None or auto is None
                if grade.manual_score is not None:
                    kept += 1
            for gid, unchanged in answered.items():
                try:
                    comment = gb.find_comment(gid, nb, r.lesson, r.student)
                except MissingEntry:
                    continue
                comment.auto_comment = "No response." if unchanged else None
            gb.db.commit()
            notebook = gb.find_submission_notebook(nb, r.lesson, r.student)
            submission = gb.find_submission(r.lesson, r.student)
            notebook.late_submission_penalty = None
            if submission.total_seconds_late > 0:
                p = policy.penalty(r.student, float(notebook.score), submission.total_seconds_late)
                notebook.late_submission_penalty = p if p else None
            gb.db.commit()
            _feedback(course, folder, r)
    told.append(
        f"recorded {len(results)} notebooks in nbgrader's gradebook ({course.db_url})"
        + (f"; kept {kept} scores the instructor entered by hand" if kept else "")
    )
    told.append(f"feedback is in {course.feedback}: `nbgrader release_feedback ASSIGNMENT` hands it back")
    return told


def _unanswered(path: Path, release) -> dict[str, bool]:
    """For each answer cell of the release: is the submitted one as released (nbgrader's "No response.")."""
    if release is None:
        return {}
    given = {
        cell_meta(c)["grade_id"]: c
        for c in release.cells
        if cell_meta(c).get("grade_id") and cell_meta(c).get("solution")
    }
    try:
        nb = read_submission(path)
    except InvalidNotebook:
        return {gid: True for gid in given}
    handed = {}
    for c in nb.cells:
        handed.setdefault(cell_meta(c).get("grade_id"), c)
    return {
        gid: gid not in handed or (handed[gid].cell_type == c.cell_type and str(handed[gid].source) == str(c.source))
        for gid, c in given.items()
    }


def _feedback(course: Course, folder: Path, r: Result) -> None:
    dest = course.feedback / r.student / r.lesson
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{r.notebook or r.lesson}.html").write_text(render(r), encoding="utf-8")
    for name in ("timestamp.txt", "submission_secret.txt"):
        src = folder / name
        if not folder.is_symlink() and src.is_file() and not src.is_symlink():
            shutil.copyfile(src, dest / name)
