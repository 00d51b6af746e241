"""The course tooling on a tiny throwaway course: lesson lookup, headless runs, release — and bad
input (unknown lesson, corrupt or missing notebook) answered with a message, never lost files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from mesakit.cli import main
from mesakit.course import CourseError, execute, find_root, read_notebook, release, select


def _nbgrader(cell, kind, grade_id, points=None):
    meta = {
        "grade": kind == "test",
        "grade_id": grade_id,
        "locked": kind != "solution",
        "schema_version": 3,
        "solution": kind == "solution",
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def _lesson() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny lesson"),
        _nbgrader(
            nbformat.v4.new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
            "solution",
            "double",
        ),
        _nbgrader(
            nbformat.v4.new_code_cell(
                "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(3) == 6\n### END HIDDEN TESTS"
            ),
            "test",
            "test_double",
            points=1,
        ),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


@pytest.fixture
def course(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    folder = tmp_path / "solutions" / "01_tiny"
    folder.mkdir(parents=True)
    nbformat.write(_lesson(), folder / "01_tiny.ipynb")
    return tmp_path


def test_find_root_walks_up(course):
    (course / "solutions" / "01_tiny" / "deep").mkdir()
    assert find_root(course / "solutions" / "01_tiny" / "deep") == course


def test_unknown_lesson_lists_the_lessons(course):
    with pytest.raises(CourseError, match="no lesson '07'; the lessons are: 01_tiny"):
        select(course, ["07"], solutions=True)
    assert [l.name for l in select(course, ["01", "tiny"], solutions=True)] == ["01_tiny", "01_tiny"]


def test_corrupt_and_missing_notebooks_are_named(course):
    bad = course / "solutions" / "01_tiny" / "01_tiny.ipynb"
    bad.write_text("{ not json")
    with pytest.raises(CourseError, match="01_tiny.ipynb is not a valid notebook"):
        read_notebook(bad)
    with pytest.raises(CourseError, match="notebook not found"):
        read_notebook(course / "nope.ipynb")


@pytest.mark.slow  # runs nbgrader; the real course's release sync (test_notebooks.py) stays fast
def test_release_is_deterministic_and_leaves_solutions_alone(course):
    source = (course / "solutions" / "01_tiny" / "01_tiny.ipynb").read_bytes()
    first = release(course)
    assert first == ["rewrote    lessons/01_tiny/01_tiny.ipynb"]
    assert release(course) == ["unchanged  lessons/01_tiny/01_tiny.ipynb"]
    assert (course / "solutions" / "01_tiny" / "01_tiny.ipynb").read_bytes() == source
    released = (course / "lessons" / "01_tiny" / "01_tiny.ipynb").read_text()
    assert "raise NotImplementedError()" in released and "return 2 * x" not in released
    assert "HIDDEN" not in released and "double(3)" not in released


@pytest.mark.slow  # runs nbgrader; the real course's release sync (test_notebooks.py) stays fast
def test_release_of_a_corrupt_source_changes_nothing(course, capsys):
    release(course)
    before = (course / "lessons" / "01_tiny" / "01_tiny.ipynb").read_bytes()
    (course / "solutions" / "01_tiny" / "01_tiny.ipynb").write_text("")
    assert main(["release", "--course", str(course)]) == 2
    assert "is not a valid notebook" in capsys.readouterr().err
    assert (course / "lessons" / "01_tiny" / "01_tiny.ipynb").read_bytes() == before


@pytest.mark.slow
def test_run_reports_each_lesson_and_never_writes(course, capsys):
    path = course / "solutions" / "01_tiny" / "01_tiny.ipynb"
    before = path.read_bytes()
    assert main(["run", "--solutions", "--course", str(course)]) == 0
    out = capsys.readouterr().out
    assert "01_tiny ... ok (" in out and "1 passed, 0 failed" in out
    release(course)
    assert main(["run", "01", "--course", str(course)]) == 1  # the unsolved stub fails
    assert "FAILED" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_run_unknown_lesson_exits_2_and_lists(course, capsys):
    assert main(["run", "99", "--solutions", "--course", str(course)]) == 2
    assert "the lessons are: 01_tiny" in capsys.readouterr().err


def test_execute_does_not_modify_the_file(course):
    path = course / "solutions" / "01_tiny" / "01_tiny.ipynb"
    before = path.read_bytes()
    nb, seconds = execute(path)
    assert seconds > 0 and path.read_bytes() == before
    assert not any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "mesakit.cli", "--help"], capture_output=True, text=True).stdout
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()}
    for command in ("release", "run", "reproduce", "grade"):
        assert command in listed, f"`mesakit --help` does not list the {command} command"


def test_run_prints_only_the_progress_lines(course, capfd):
    """The kernel's own stderr goes straight to the terminal: ipykernel's "running over TCP without
    encryption" warning used to follow every lesson's progress line."""
    assert main(["run", "--solutions", "--course", str(course)]) == 0
    out, err = capfd.readouterr()
    assert "without encryption" not in out + err and "IPKernelApp" not in err, err
    assert err == "", f"`mesakit run` wrote to stderr: {err!r}"
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("01_tiny ... ok (") and lines[1] == "1 passed, 0 failed", out


def test_kernels_run_with_encrypted_transport_where_supported():
    import zmq

    from mesakit.course import kernel_config

    if zmq.has("curve"):  # the pinned pyzmq wheels have it; CurveZMQ is what silences the warning
        assert kernel_config().KernelManager.transport_encryption == "auto"
    else:
        assert "KernelManager" not in kernel_config()
