"""`mesakit grade` end to end on the fixture assignment (tests/grading/course) and its corpus of
honest, adversarial and faulty submissions (tests/grading/submissions, built by
tests/grading/build_fixture.py and tests/grading/cheats.py).

Every trick must score 0, the honest submission full marks, the partly right one exactly what
nbgrader gives it; the submissions are never modified, the package and the course are never
written, feedback never shows hidden tests, and a re-run writes the same CSV.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT

HERE = Path(__file__).resolve().parent / "grading"
COURSE, SUBMISSIONS = HERE / "course", HERE / "submissions"
sys.path.insert(0, str(HERE))
from cheats import CHEATS  # noqa: E402
from test_grade_cluster import dask_scheduler  # noqa: E402, F401 — the corpus also goes through a Dask cluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: `make system-deps` installs it"),
]
TIMEOUT = 60  # s per submission: the fixture needs a few (more on a busy machine)
LOOPS = ("infinite_loop", "ignore_sigint", "slow_when_called")  # graded apart, with a short timeout
LOOP_TIMEOUT = 8

EXPECTED_STATUS = {
    "infinite_loop": "timeout",
    "ignore_sigint": "timeout",
    "slow_when_called": "timeout",
    "memory_bomb": "memory",
    "os_exit": "crashed",
    "kill_kernel": "crashed",
    "segfault": "crashed",
    "exit_when_called": "crashed",
    "corrupt_json": "invalid-notebook",
    "empty_file": "invalid-notebook",
    "binary_garbage": "invalid-notebook",
    "json_list": "invalid-notebook",
    "nbformat_3": "invalid-notebook",
    "nbformat_5": "invalid-notebook",
    "bad_cell_type": "invalid-notebook",
    "missing_notebook": "missing",
    "symlink_to_classmate": "invalid-notebook",
    **{name: "tampered" for name in CHEATS if name.startswith("tamper_")},
}


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module", params=["local", "cluster"])
def corpus(request, tmp_path_factory):
    """Grade the whole corpus once (two at a time) with the local pool, and once on a 2-worker
    Dask LocalCluster (``--scheduler``); note what the filesystem looked like before."""
    from mesakit.grade import grade

    scheduler = request.getfixturevalue("dask_scheduler") if request.param == "cluster" else None

    before = {name: _tree_hash(path) for name, path in _guarded().items()}
    main, loops = tmp_path_factory.mktemp("main"), tmp_path_factory.mktemp("loops")
    for student in SUBMISSIONS.iterdir():  # copies: a linked student folder is refused
        shutil.copytree(student, (loops if student.name in LOOPS else main) / student.name, symlinks=True)
    out = tmp_path_factory.mktemp("graded")
    results = grade(main, COURSE, [], out, workers=2, timeout=TIMEOUT, scheduler=scheduler)
    results += grade(loops, COURSE, [], out / "loops", workers=2, timeout=LOOP_TIMEOUT, scheduler=scheduler)
    after = {name: _tree_hash(path) for name, path in _guarded().items()}
    return {r.student: r for r in results}, out, before, after


def _guarded() -> dict[str, Path]:
    return {"submissions": SUBMISSIONS, "course": COURSE}


def test_every_submission_gets_a_row(corpus):
    results, out, _, _ = corpus
    students = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir())
    rows = []
    for csv_path in (out / "grades.csv", out / "loops" / "grades.csv"):
        with open(csv_path, newline="") as f:
            rows += list(csv.DictReader(f))
    assert list(rows[0])[:5] == [
        "student",
        "lesson",
        "score",
        "max_score",
        "status",
    ]  # then nbgrader's extras (issue 17)
    assert sorted(r["student"] for r in rows) == students
    assert all(r["max_score"] == "6" for r in rows)
    for r in results.values():
        folder = out / "loops" if r.student in LOOPS else out
        assert (folder / "feedback" / r.student / "01_fixture" / "01_fixture.html").is_file()


def test_honest_submission_scores_full_marks(corpus):
    results = corpus[0]
    assert (results["honest"].score, results["honest"].status) == (6.0, "ok"), results["honest"].cells


def test_partly_right_submission_scores_what_nbgrader_gives(corpus):
    # scale passes the visible checks and fails the hidden ones: 0 of 2; the rest 4 of 4.
    partial = corpus[0]["partial"]
    assert partial.score == 4.0 and partial.status == "ok"
    scale = next(c for c in partial.cells if c["grade_id"] == "test_scale")
    assert scale["where"] == "hidden"


def test_unsolved_release_scores_zero(corpus):
    assert corpus[0]["unsolved"].score == 0.0


@pytest.mark.parametrize("name", sorted([*CHEATS, "missing_notebook", "symlink_to_classmate"]))
def test_trick_earns_nothing(corpus, name):
    result = corpus[0][name]
    assert result.score == 0.0, f"{name} earned {result.score}: {result.cells}"
    if name in EXPECTED_STATUS:
        assert result.status == EXPECTED_STATUS[name], (result.status, result.notes)


def test_nothing_outside_the_sandbox_changed(corpus):
    import sysconfig

    import mesakit

    _, _, before, after = corpus
    assert before == after, "grading changed the submissions or the course"
    # The poisoner appends this line to mesakit, torch, sitecustomize...: it must be nowhere.
    marker = "_t.allclose = lambda"
    package = Path(mesakit.__file__).parent
    assert not [p for p in package.rglob("*.py") if marker in p.read_text(errors="replace")]
    purelib = Path(sysconfig.get_paths()["purelib"])
    assert marker not in (purelib / "torch" / "__init__.py").read_text()
    assert not (purelib / "sitecustomize.py").exists() and not (purelib / "zz_poison.pth").exists()
    assert not (ROOT / "solutions" / "poison.txt").exists()


def test_feedback_names_hidden_tests_but_never_shows_them(corpus):
    _, out, _, _ = corpus
    pages = {p.parent.parent.name: p.read_text() for p in out.rglob("feedback/*/*/*.html")}
    for student, text in pages.items():
        assert "linspace(-1, 1, 7" not in text and "BEGIN HIDDEN" not in text, student
        assert "(0.25 + 4 + 9)" not in text, student
        assert "<script" not in text.lower(), student
    assert "hidden test" in pages["partial"]
    assert "not implemented yet" in pages["unsolved"]  # a visible check says what to do
    assert "tampered" in pages["tamper_edit_tests"] and "was edited" in pages["tamper_edit_tests"]


def test_rerun_writes_the_same_csv(corpus, tmp_path):
    """A second run (a few submissions, one at a time) writes the same rows as the first."""
    from mesakit.grade import grade

    results, out, _, _ = corpus
    subset = tmp_path / "submitted"
    picked = ["honest", "patch_comparisons", "corrupt_json"]
    for name in picked:
        shutil.copytree(SUBMISSIONS / name, subset / name)
    again = grade(subset, COURSE, [], tmp_path / "out", workers=2, timeout=TIMEOUT)
    first = [l for l in (out / "grades.csv").read_text().splitlines() if l.split(",")[0] in picked]
    second = (tmp_path / "out" / "grades.csv").read_text().splitlines()[1:]
    assert first == second
    assert [r.score for r in again] == [results[n].score for n in sorted(picked)]


def test_cli_usage_errors(tmp_path, capsys):
    from mesakit.cli import main

    assert main(["grade", str(tmp_path / "nope"), "--course", str(COURSE)]) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "sub").mkdir()
    assert main(["grade", str(tmp_path / "sub"), "--course", str(COURSE), "--lesson", "99"]) == 2
    assert "no lesson" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "sub"), "--course", str(COURSE), "--workers", "0"]) == 2
