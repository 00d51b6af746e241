"""Every lesson, end to end: solutions run clean and pass nbgrader's validation; the released
lessons are exactly what `mesakit release` makes and, run as-is, fail every graded cell."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import figures
import nbformat
import pytest
from conftest import ROOT, executed

from mesakit.course import lessons, release

SOLUTIONS = lessons(ROOT, solutions=True)


def _ids(items):
    return [l.name for l in items]


def test_there_are_lessons():
    assert SOLUTIONS, "solutions/ holds no lessons"
    assert _ids(SOLUTIONS) == _ids(lessons(ROOT)), "lessons/ and solutions/ hold different lessons"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_runs_clean(lesson):
    nb = executed(str(lesson.path), allow_errors=False)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("lesson", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_has_graded_exercises(lesson):
    nb = nbformat.read(lesson.path, as_version=4)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    assert any(m.get("solution") for m in meta), "no solution cells"
    assert any(m.get("grade") and m.get("points", 0) > 0 for m in meta), "no graded test cells"
    assert any("BEGIN HIDDEN TESTS" in c.source for c in nb.cells), "no hidden tests"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    for part in ("learning objectives", "prerequisites", "summary", "further reading"):
        assert part in text, f"the lesson has no '{part}' section"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_every_quoted_figure_is_printed_recorded_or_sourced(lesson):
    """A sentence quoting a figure the shipped checkpoint (or the seed record) no longer gives fails
    here, naming the sentence (tests/figures.py says what counts as shown)."""
    nb = executed(str(lesson.path), allow_errors=False)
    misses = figures.unshown(lesson.name, nb)
    assert not misses, (
        "figures quoted in the text that no cell prints, no seed record holds and "
        "tests/figure_sources.py does not derive:\n" + "\n".join(misses)
    )


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lessons(ROOT), ids=_ids(lessons(ROOT)))
def test_released_lesson_fails_every_graded_cell(lesson):
    nb = executed(str(lesson.path), allow_errors=True)
    graded = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert graded
    passing = [
        c.metadata["nbgrader"]["grade_id"] for c in graded if not any(o.output_type == "error" for o in c.outputs)
    ]
    assert not passing, f"graded cells that pass on the unsolved lesson: {passing}"
    assert all("BEGIN HIDDEN TESTS" not in c.source for c in nb.cells), "hidden tests leaked into the release"
    assert all("BEGIN SOLUTION" not in c.source for c in nb.cells), "a solution leaked into the release"


def test_lessons_are_in_sync_with_release(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    release(tmp_path)
    again = release(tmp_path)
    assert all(line.startswith("unchanged") for line in again), "release is not deterministic"
    cmp = filecmp.dircmp(tmp_path / "lessons", ROOT / "lessons", ignore=[".ipynb_checkpoints", "__pycache__"])

    def diffs(c, prefix=""):
        out = [prefix + f for f in c.diff_files + c.left_only + c.right_only]
        for name, sub in c.subdirs.items():
            out += diffs(sub, prefix + name + "/")
        return out

    assert not diffs(cmp), f"lessons/ is out of date; run `mesakit release` (differs: {diffs(cmp)})"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_nbgrader_validate_passes_on_solution(lesson):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(lesson.path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0 and "Success!" in done.stdout, done.stdout + done.stderr
