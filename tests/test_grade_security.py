"""The security review's classes of attack (issue 12), end to end on the fixture lesson: each
attack fails (scores 0, gets the right status), and honest work in the same batch gets full marks.

Two batches: one with whatever the machine offers (cgroups v2 or v1 where writable), one forced
onto the fallback without cgroups (``MESAKIT_GRADE_CGROUP=none``: RLIMIT_CPU, CPU time and PSS
of the process tree). The attacks on the real lessons (the instructor's names) are in
test_grade_lessons.py.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parent / "grading"
COURSE, SUBMISSIONS = HERE / "course", HERE / "submissions"
sys.path.insert(0, str(HERE))
from attacks import FORK_IDLE, build  # noqa: E402
from build_fixture import LESSON, solved, write_submission  # noqa: E402
from cheats import MEMORY_BOMB, with_cells  # noqa: E402
from test_grade_units import nest  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: `make system-deps` installs it"),
]
TIMEOUT = 30  # CPU seconds, as in the review (`--workers 2 --timeout 30`)
MEMORY_GB = 1.0
LONG = "x" * 250
FORMULA = '=HYPERLINK("evil.example","click")'


def _notebooks():
    release = nbformat.read(COURSE / "lessons" / LESSON / f"{LESSON}.ipynb", as_version=4)
    source = nbformat.read(COURSE / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    return release, source


def _honest_with(code: str):
    release, source = _notebooks()
    nb = solved(release, source)
    nb.cells.insert(2, nbformat.v4.new_code_cell(code))
    return nb


def _grade(submitted: Path, out: Path, env: dict[str, str]):
    """Grade with ``env`` set and a private temporary folder; return (results, scratch root)."""
    from mesakit.grade import grade

    scratch = out.parent / f"{out.name}-tmp"
    scratch.mkdir()
    saved_env = {k: os.environ.get(k) for k in env}
    saved_tmp = tempfile.tempdir
    os.environ.update(env)
    tempfile.tempdir = str(scratch)
    try:
        results = grade(submitted, COURSE, [], out, workers=2, timeout=TIMEOUT, memory_gb=MEMORY_GB)
    finally:
        tempfile.tempdir = saved_tmp
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {r.student: r for r in results}, scratch


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    release, source = _notebooks()
    submitted = tmp_path_factory.mktemp("submitted")
    # The CPU hog and the honest student sort first: they run side by side (--workers 2).
    write_submission("a_cpu_hog", build(release)["cpu_hog"], root=submitted)
    write_submission("b_honest", solved(release, source), root=submitted)
    for name, nb in build(release).items():
        if name != "cpu_hog":
            write_submission(name, nb, root=submitted)
    write_submission("fork_idle", _honest_with(FORK_IDLE), root=submitted)
    write_submission(LONG, solved(release, source), root=submitted)
    write_submission(FORMULA, solved(release, source), root=submitted)
    # 1,500 nested folders handed in beside an honest notebook
    deep = write_submission("deep_folder", solved(release, source), root=submitted).parent / "deep"
    nest(deep, 1500)
    # links at every level: a student folder, a lesson folder, a notebook
    (submitted / "link_student").symlink_to(SUBMISSIONS / "honest")
    (submitted / "link_lesson").mkdir()
    (submitted / "link_lesson" / LESSON).symlink_to(SUBMISSIONS / "honest" / LESSON)
    (submitted / "link_notebook" / LESSON).mkdir(parents=True)
    (submitted / "link_notebook" / LESSON / f"{LESSON}.ipynb").symlink_to(
        SUBMISSIONS / "honest" / LESSON / f"{LESSON}.ipynb"
    )
    out = tmp_path_factory.mktemp("graded")
    results, scratch = _grade(submitted, out / "auto", {})
    yield results, out / "auto", scratch
    from mesakit.grade.sandbox import remove_tree

    remove_tree(deep)  # pytest's own clean-up of old temporary folders recurses


@pytest.fixture(scope="session")
def fallback(tmp_path_factory):
    release, source = _notebooks()
    submitted = tmp_path_factory.mktemp("submitted_fallback")
    write_submission("a_cpu_hog", build(release)["cpu_hog"], root=submitted)
    write_submission("b_honest", solved(release, source), root=submitted)
    write_submission("fork_idle", _honest_with(FORK_IDLE), root=submitted)
    write_submission("memory_bomb", with_cells(release, solutions=MEMORY_BOMB), root=submitted)
    write_submission("processes", build(release)["processes"], root=submitted)
    out = tmp_path_factory.mktemp("graded_fallback")
    results, scratch = _grade(submitted, out / "none", {"MESAKIT_GRADE_CGROUP": "none"})
    return results, out / "none", scratch


def _assert(result, score, *statuses):
    assert result.score == score, (result.student, result.score, result.status, result.notes, result.cells)
    if statuses:
        assert result.status in statuses, (result.student, result.status, result.notes)


@pytest.mark.parametrize("which", ["batch", "fallback"])
def test_honest_work_beside_the_attacks_gets_full_marks(which, request):
    results = request.getfixturevalue(which)[0]
    _assert(results["b_honest"], 6.0, "ok")
    _assert(results["fork_idle"], 6.0, "ok")  # 12 forked children: shared pages counted once


@pytest.mark.parametrize("which", ["batch", "fallback"])
def test_a_cpu_hog_times_out_and_its_neighbour_does_not(which, request):
    results = request.getfixturevalue(which)[0]
    _assert(results["a_cpu_hog"], 0.0, "timeout")
    _assert(results["b_honest"], 6.0, "ok")


@pytest.mark.parametrize("which", ["batch", "fallback"])
def test_every_row_written_and_the_scratch_folder_removed(which, request):
    results, out, scratch = request.getfixturevalue(which)
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(results) and "grader-error" not in {r["status"] for r in rows}
    assert list(scratch.iterdir()) == [], "the grader left its scratch folder behind"
    assert not list(Path("/sys/fs/cgroup").glob(f"*/**/mesakit-grade-{os.getpid()}")), "cgroups left behind"


def test_nested_folders_stop_nothing(batch):
    results = batch[0]
    _assert(results["nested_dirs"], 0.0, "ok")
    _assert(results["deep_folder"], 6.0, "ok")


def test_limits_hold_on_the_whole_process_tree(batch):
    results = batch[0]
    _assert(results["memfd"], 0.0, "memory")  # 2 GB in memory files under --memory 1
    _assert(results["disk"], 0.0)  # 1.5 GB written in the working folder
    _assert(results["files"], 0.0, "ok", "crashed")  # 5,000 open files (out of files, its own process may die)
    _assert(results["processes"], 0.0, "ok")  # 400 processes


def test_fallback_limits(fallback):
    results = fallback[0]
    _assert(results["memory_bomb"], 0.0, "memory")
    _assert(results["processes"], 0.0, "ok")


def test_a_lying_reply_fails_one_cell_cleanly(batch):
    r = batch[0]["huge_model_reply"]
    _assert(r, 0.0, "ok", "memory")
    assert not any("not reached" in str(c.get("error")) for c in r.cells), r.cells


@pytest.mark.parametrize("name", ["module_type", "bind_raises"])
def test_a_student_cannot_force_a_grader_error(batch, name):
    _assert(batch[0][name], 0.0, "ok")


def test_deep_metadata_is_an_invalid_notebook(batch):
    _assert(batch[0]["deep_metadata"], 0.0, "invalid-notebook")


def test_long_names_and_no_host_paths_in_feedback(batch):
    results, out, _ = batch
    _assert(results[LONG], 6.0, "ok")
    for page in out.rglob("feedback/*/*/*.html"):
        text = page.read_text()
        assert "mesakit-grade-" not in text and "/tmp/" not in text and "/runs/" not in text, page


def test_feedback_never_shows_hidden_inputs(batch):
    results, out, _ = batch
    _assert(results["logger"], 0.0)
    page = (out / "feedback" / "logger" / LESSON / f"{LESSON}.html").read_text()
    # the hidden tests call scale on linspace(-1, 1, 7) and on [1.5]
    for leaked in ("0.333", "0.666", "1.5]", "called with", "inputs:"):
        assert leaked not in page, leaked
    honest = (out / "feedback" / "b_honest" / LESSON / f"{LESSON}.html").read_text()
    assert "BEGIN HIDDEN" not in honest and "linspace" not in honest


def test_formulas_are_neutralised_in_the_csv(batch):
    with open(batch[1] / "grades.csv", newline="") as f:
        students = [r["student"] for r in csv.DictReader(f)]
    assert "'" + FORMULA in students and not any(s.startswith(("=", "+", "-", "@")) for s in students)
    _assert(batch[0][FORMULA], 6.0, "ok")


@pytest.mark.parametrize("name", ["link_student", "link_lesson", "link_notebook"])
def test_links_are_refused_at_every_level(batch, name):
    r = batch[0][name]
    _assert(r, 0.0, "invalid-notebook")
    assert any("symbolic link" in n for n in r.notes), r.notes


@pytest.mark.parametrize("name", ["moved_setup", "deleted_setup", "duplicated_setup"])
def test_the_instructors_names_stay_the_instructors(batch, name):
    _assert(batch[0][name], 0.0, "tampered")
