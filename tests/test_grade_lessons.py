"""`mesakit grade` on the real lessons: the solutions, handed in as a student would (the release
with the solution code filled in), earn full marks; the release as handed out earns nothing.

A lesson is tested once both solutions/<lesson> and lessons/<lesson> exist (until then its test is
skipped). Equality with `nbgrader autograde` on many submissions is measured by
benchmarks/grading.py.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from mesakit.course import lessons

sys.path.insert(0, str(Path(__file__).resolve().parent / "grading"))
from attacks import STAND_INS, move_setup  # noqa: E402
from build_fixture import solved, write_submission  # noqa: E402

ATTACKED = ("01_base_and_mesa", "02_toy_mesa_optimizer")  # the review's attack on the instructor's names

NAMES = [
    "01_base_and_mesa",
    "02_toy_mesa_optimizer",
    "03_emergence",
    "04_objective_divergence",
    "05_internal_search",
    "06_detection",
]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: `make system-deps` installs it"),
]


def _ready() -> list[str]:
    released = {l.name for l in lessons(ROOT)}
    return [l.name for l in lessons(ROOT, solutions=True) if l.name in released]


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    from mesakit.grade import grade

    ready = _ready()
    if not ready:
        return {}
    submitted = tmp_path_factory.mktemp("submitted")
    for name in ready:
        release = nbformat.read(ROOT / "lessons" / name / f"{name}.ipynb", as_version=4)
        source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
        write_submission("solved", solved(release, source), name, submitted)
        write_submission("unsolved", release, name, submitted)
        if name in ATTACKED:  # stand-ins first, the setup cell moved after the last graded cell
            write_submission("moved_setup", move_setup(release, STAND_INS, ("setup",)), name, submitted)
            write_submission("deleted_setup", move_setup(release, STAND_INS, ("setup",), how="delete"), name, submitted)
        if name == "01_base_and_mesa":  # one scenario of the concept check wrong: partial credit
            write_submission("one_scenario_wrong", _one_scenario_wrong(solved(release, source)), name, submitted)
            write_submission("one_scenario_answered", _one_scenario_answered(solved(release, source)), name, submitted)
            write_submission("gradient_sign", _gradient_sign(solved(release, source)), name, submitted)
    results = grade(submitted, ROOT, ready, tmp_path_factory.mktemp("out"), workers=2)
    return {(r.student, r.lesson): r for r in results}


def _one_scenario_wrong(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "concept_check":
            right = '"spam": {"base_optimizer": "d"'
            assert right in cell.source
            cell.source = cell.source.replace(right, '"spam": {"base_optimizer": "a"')
            return nb
    raise AssertionError("lesson 01 has no concept_check cell")


def _one_scenario_answered(nb):
    """Only "evolution" answered (right); the other three scenarios left as None."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "concept_check":
            head, _, _ = cell.source.partition("    return {")
            blank = '{"base_optimizer": None, "base_objective": None, "mesa_objective": None}'
            cell.source = (
                head
                + '    return {"evolution": {"base_optimizer": "b", "base_objective": "a", "mesa_objective": "c"},\n'
                f'            "handbuilt": {blank}, "coinrun": {blank}, "spam": {blank}}}\n'
            )
            return nb
    raise AssertionError("lesson 01 has no concept_check cell")


def _gradient_sign(nb):
    """One mistake: the sign of least_squares_gradient (gradient_descent and mesa_forward build on it)."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "least_squares_gradient":
            right = 'return torch.einsum("bn,bnd->bd", residual, x)'
            assert right in cell.source
            cell.source = cell.source.replace(right, "return -" + right[len("return ") :])
            return nb
    raise AssertionError("lesson 01 has no least_squares_gradient cell")


def test_one_mistake_costs_one_deduction(graded):
    if "01_base_and_mesa" not in _ready():
        pytest.skip("lesson 01 is not written yet")
    r = graded[("gradient_sign", "01_base_and_mesa")]
    failed = [c["grade_id"] for c in r.cells if c.get("error")]
    assert r.status == "ok" and failed == ["test_least_squares_gradient"], r.cells
    assert r.score == r.max_score - 2


def test_one_scenario_answered_earns_that_scenario(graded):
    if "01_base_and_mesa" not in _ready():
        pytest.skip("lesson 01 is not written yet")
    r = graded[("one_scenario_answered", "01_base_and_mesa")]
    concept = {c["grade_id"]: not c.get("error") for c in r.cells if c["grade_id"].startswith("test_concept_")}
    assert concept == {
        "test_concept_evolution": True,
        "test_concept_handbuilt": False,
        "test_concept_coinrun": False,
        "test_concept_spam": False,
    }, r.cells
    assert r.status == "ok" and r.score == r.max_score - 3 * 0.75


def test_concept_check_gives_partial_credit(graded):
    if "01_base_and_mesa" not in _ready():
        pytest.skip("lesson 01 is not written yet")
    r = graded[("one_scenario_wrong", "01_base_and_mesa")]
    failed = [c["grade_id"] for c in r.cells if c.get("error")]
    assert r.status == "ok" and failed == ["test_concept_spam"], r.cells
    assert r.score == r.max_score - 0.75


@pytest.mark.parametrize("lesson", NAMES)
def test_solutions_earn_full_marks_and_the_release_nothing(graded, lesson):
    if lesson not in _ready():
        pytest.skip(f"{lesson} is not written yet (no solutions/ and lessons/ notebook)")
    solved_ = graded[("solved", lesson)]
    assert solved_.status == "ok" and solved_.score == solved_.max_score > 0, [
        c for c in solved_.cells if c.get("error")
    ]
    unsolved = graded[("unsolved", lesson)]
    assert unsolved.score == 0 and unsolved.status == "ok", unsolved.cells


@pytest.mark.parametrize("lesson", ATTACKED)
@pytest.mark.parametrize("how", ["moved_setup", "deleted_setup"])
def test_stand_ins_for_the_instructors_names_earn_nothing(graded, lesson, how):
    if lesson not in _ready():
        pytest.skip(f"{lesson} is not written yet")
    r = graded[(how, lesson)]
    assert r.score == 0 and r.status == "tampered", (
        r.score,
        r.status,
        r.notes,
        [c for c in r.cells if not c.get("error")],
    )
    assert graded[("solved", lesson)].score == graded[("solved", lesson)].max_score  # honest work, same batch
