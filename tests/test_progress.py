"""`mesakit progress`: each exercise of a saved notebook as passed / failed / not attempted, read from
the saved outputs (nothing executed, nothing written)."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT, executed

from mesakit import progress
from mesakit.cli import main


def _solution(grade_id, body):
    cell = nbformat.v4.new_code_cell(f"def f():\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION")
    cell.metadata["nbgrader"] = {
        "grade_id": grade_id,
        "solution": True,
        "grade": False,
        "locked": False,
        "schema_version": 3,
        "task": False,
    }
    return cell


def _check(grade_id, points, outputs):
    cell = nbformat.v4.new_code_cell(f"checks.check_{grade_id}(f)")
    cell.metadata["nbgrader"] = {
        "grade_id": f"test_{grade_id}",
        "solution": False,
        "grade": True,
        "locked": True,
        "points": points,
        "schema_version": 3,
        "task": False,
    }
    cell.outputs = outputs
    return cell


OK = [nbformat.v4.new_output("stream", name="stdout", text="✔ it works\n")]
ERR = [nbformat.v4.new_output("error", ename="CheckFailed", evalue="\x1b[0;31mf: wrong sign\x1b[0m", traceback=[])]


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## 1. Part\n\n### Exercise 1.1 — a passing one\nGoal."),
        _solution("a", "return 1"),
        _check("a", 2, OK),
        nbformat.v4.new_markdown_cell("### Exercise 1.2 — a failing one"),
        _solution("b", "return 2"),
        _check("b", 1, ERR),
        nbformat.v4.new_markdown_cell("### Exercise 1.3 — a stub"),
        _solution("c", "raise NotImplementedError()"),
        _check("c", 3, ERR),
        nbformat.v4.new_markdown_cell("### Exercise 1.4 — never run"),
        _solution("d", "return 4"),
        _check("d", 1, []),
        _solution("e", "return 5"),
        _check("e", 1, OK),
        _check("e2", 1, []),  # one of two checks not run: not passed
    ]
    return nb


def test_statuses_from_saved_outputs():
    found = progress.exercises(_notebook())
    assert [(e.title, e.status) for e in found] == [
        ("Exercise 1.1 — a passing one", "passed"),
        ("Exercise 1.2 — a failing one", "failed"),
        ("Exercise 1.3 — a stub", "not attempted"),
        ("Exercise 1.4 — never run", "not attempted"),
        ("e", "not attempted"),
    ]
    assert found[1].message == "CheckFailed: f: wrong sign"  # colour codes stripped
    assert [e.points for e in found] == [2, 1, 3, 1, 2]


def test_cli_reads_without_writing(tmp_path, capsys):
    folder = tmp_path / "lessons" / "07_demo"
    folder.mkdir(parents=True)
    (tmp_path / "solutions").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("")
    path = folder / "07_demo.ipynb"
    nbformat.write(_notebook(), path)
    before = path.read_bytes()
    assert main(["progress", "07", "--course", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "✔ passed" in out and "✗ failed" in out and "f: wrong sign" in out
    assert "1 passed, 1 failed, 3 not attempted (of 5)" in out and "2 of 9 points" in out
    assert path.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["07_demo.ipynb"]


@pytest.mark.parametrize("content, words", [(None, "notebook not found"), ("{not json", "not a valid notebook")])
def test_missing_or_corrupt_notebook_is_a_clear_error(tmp_path, capsys, content, words):
    folder = tmp_path / "lessons" / "07_demo"
    folder.mkdir(parents=True)
    (tmp_path / "nbgrader_config.py").write_text("")
    if content is not None:
        (folder / "07_demo.ipynb").write_text(content)
    listing = sorted(p.name for p in folder.iterdir())
    assert main(["progress", "07_demo", "--course", str(tmp_path)]) == 2
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == listing


@pytest.mark.parametrize("name", ["01_base_and_mesa", "06_detection"])
def test_a_released_lesson_is_all_not_attempted(name):
    found = progress.lesson_progress(ROOT / "lessons" / name / f"{name}.ipynb")
    assert len(found) >= 5 and {e.status for e in found} == {"not attempted"}


@pytest.mark.slow
def test_an_executed_solution_notebook_is_all_passed():
    nb = executed(str(ROOT / "solutions" / "01_base_and_mesa" / "01_base_and_mesa.ipynb"), False)
    found = progress.exercises(nb)
    assert len(found) == 5 and {e.status for e in found} == {"passed"}, [(e.title, e.status, e.message) for e in found]
