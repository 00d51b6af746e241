"""`mesakit grade` inside nbgrader's own workflow (issue 17), with nbgrader's real commands, no mocks.

A temporary course (the fixture lesson ``01_fixture`` and an instructor's own quiz with two
notebooks, a data file, partial credit and manually graded cells: tests/grading/quiz.py) and a
temporary exchange: ``nbgrader generate_assignment`` / ``release_assignment`` → four students
``fetch_assignment``, work (honest, partial, cheating, broken), ``submit`` (one after the due
date) → ``nbgrader collect`` → ``mesakit grade --gradebook`` → ``nbgrader export`` shows the scores
(and the late policy's penalty) → a score the instructor enters by hand survives a re-grade →
``nbgrader release_feedback`` → each student's ``fetch_feedback`` gets mesakit's page. The same
honest submissions autograded by plain ``nbgrader autograde`` get the same score in every cell.
"""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parent / "grading"
sys.path.insert(0, str(HERE))
import quiz  # noqa: E402

FIXTURE_COURSE, FIXTURE_SUBMISSIONS = HERE / "course", HERE / "submissions"
LESSON = "01_fixture"
BIN = Path(sys.executable).parent
ENV = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")  # nbgrader shells out to alembic
# who hands in what: the fixture lesson from tests/grading/submissions, the quiz from quiz.ANSWERS
STUDENTS = {"ada": "honest", "bob": "partial", "carl": "patch_comparisons", "dan": "corrupt_json"}
QUIZ_STUDENTS = {"ada": "honest", "bob": "partial"}
LATE = "bob"  # hands in the lesson after its due date; the course's late policy is nbgrader's 'zero'

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap missing: `make system-deps` installs it"
)


def run(args: list[str], cwd: Path, check: bool = True, home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(ENV, HOME=str(home or cwd), JUPYTER_CONFIG_DIR=str((home or cwd) / ".jupyter"), OMP_NUM_THREADS="1")
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def nbgrader(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run([str(BIN / "nbgrader"), *args], cwd, check)


def mesakit(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run([str(BIN / "mesakit"), *args], cwd, check)


def export(course: Path, name: str) -> dict[tuple[str, str], dict]:
    nbgrader("export", "--to", name, cwd=course)
    with open(course / name, newline="") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


def make_course(tmp: Path) -> tuple[Path, Path]:
    course, exchange = tmp / "course", tmp / "exchange"
    shutil.copytree(FIXTURE_COURSE, course)
    exchange.mkdir()
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Exchange.root = {str(exchange)!r}\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    quiz.write_source(course)
    return course, exchange


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """The classroom flow up to `nbgrader collect`, then `mesakit grade --gradebook`."""
    tmp = tmp_path_factory.mktemp("classroom")
    course, exchange = make_course(tmp)
    for name in (LESSON, quiz.NAME):
        nbgrader("generate_assignment", name, "--force", cwd=course)
        nbgrader("release_assignment", name, cwd=course)
    homes = {}
    for student in STUDENTS:
        home = homes[student] = tmp / "home" / student
        home.mkdir(parents=True)
        (home / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.Exchange.cache = {str(home / '.cache')!r}\n"
            "c.CourseDirectory.course_id = 'mesakit'\n"
        )
    order = [s for s in STUDENTS if s != LATE]
    for student in order + [LATE]:
        home = homes[student]
        if student == LATE:  # the due date passes between the others' submissions and this one
            due = datetime.datetime.now(datetime.timezone.utc)
            nbgrader("db", "assignment", "add", LESSON, f"--duedate={due:%Y-%m-%d %H:%M:%S.%f} UTC", cwd=course)
            time.sleep(1.5)
        nbgrader("fetch_assignment", LESSON, cwd=home)
        mine = FIXTURE_SUBMISSIONS / STUDENTS[student] / LESSON / f"{LESSON}.ipynb"
        shutil.copyfile(mine, home / LESSON / f"{LESSON}.ipynb")  # the student's work
        nbgrader("submit", LESSON, "--student", student, cwd=home)
        if student in QUIZ_STUDENTS:
            nbgrader("fetch_assignment", quiz.NAME, cwd=home)
            folder = home / quiz.NAME
            for nb in ("part_a", "part_b"):
                fetched = nbformat.read(folder / f"{nb}.ipynb", as_version=4)
                nbformat.write(quiz.answer(fetched, QUIZ_STUDENTS[student]), folder / f"{nb}.ipynb")
            (folder / "data.csv").write_text("5,5\n5,5\n")  # graded with the instructor's copy, as in nbgrader
            nbgrader("submit", quiz.NAME, "--student", student, cwd=home)
    for name in (LESSON, quiz.NAME):
        nbgrader("collect", name, cwd=course)
    pristine = tmp / "pristine"  # the course as collected, before any grading (for plain nbgrader)
    shutil.copytree(course, pristine)
    graded = mesakit(
        "grade",
        "submitted",
        "--gradebook",
        "--out",
        str(tmp / "graded"),
        "--workers",
        "2",
        "--timeout",
        "120",
        cwd=course,
    )
    return {"tmp": tmp, "course": course, "homes": homes, "pristine": pristine, "first": graded, "due": due}


def read_csv(path: Path) -> dict[tuple[str, str, str], dict]:
    with open(path, newline="") as f:
        return {(r["student"], r["lesson"], r["notebook"]): r for r in csv.DictReader(f)}


@needs_bwrap
@pytest.mark.slow
def test_collected_layout_is_graded_with_timestamps_and_lateness(classroom):
    course, tmp = classroom["course"], classroom["tmp"]
    assert (course / "submitted" / "ada" / LESSON / "timestamp.txt").is_file()  # as `nbgrader collect` leaves it
    rows = read_csv(tmp / "graded" / "grades.csv")
    lesson = {s: rows[(s, LESSON, LESSON)] for s in STUDENTS}
    assert {s: r["score"] for s, r in lesson.items()} == {"ada": "6", "bob": "0", "carl": "0", "dan": "0"}
    assert (lesson["ada"]["status"], lesson["bob"]["status"], lesson["dan"]["status"]) == (
        "ok",
        "ok",
        "invalid-notebook",
    )
    assert [lesson[s]["late"] for s in STUDENTS] == ["on-time", "late", "on-time", "on-time"]
    assert float(lesson["bob"]["seconds_late"]) > 1 and lesson["bob"]["late_penalty"] == "4"  # 'zero': all 4 points
    assert lesson["ada"]["timestamp"].endswith(" UTC")
    qa = rows[("ada", quiz.NAME, "part_a")]
    assert (qa["score"], qa["max_score"], qa["manual"], qa["late"]) == (
        "4",
        "6",
        "2",
        "on-time",
    )  # no due date: on time
    page = (tmp / "graded" / "feedback" / "bob" / LESSON / f"{LESSON}.html").read_text()
    assert "Submitted late" in page and "4 points taken off" in page
    err = classroom["first"].stderr
    assert "1 submission(s) late: bob/01_fixture; late policy: LateSubmissionPlugin (penalty_method='zero')" in err


@needs_bwrap
@pytest.mark.slow
def test_scores_reach_nbgrader_export(classroom):
    rows = export(classroom["course"], "export1.csv")
    got = {k: (r["raw_score"], r["late_submission_penalty"], r["score"], r["max_score"]) for k, r in rows.items()}
    assert got[("ada", LESSON)] == ("6.0", "0.0", "6.0", "6.0")
    assert got[("bob", LESSON)] == ("4.0", "4.0", "0.0", "6.0")  # partly right, late, policy 'zero'
    assert got[("carl", LESSON)][0] == "0.0" and got[("dan", LESSON)][0] == "0.0"  # cheat, broken notebook
    assert got[("ada", quiz.NAME)] == ("5.0", "0.0", "5.0", "9.0")  # 4 + 1 autograded; 3 points left for the instructor
    assert got[("bob", quiz.NAME)] == ("2.0", "0.0", "2.0", "9.0")
    assert rows[("bob", LESSON)]["timestamp"] and rows[("bob", LESSON)]["duedate"]


@needs_bwrap
@pytest.mark.slow
def test_same_cell_scores_as_nbgrader_autograde(classroom):
    """Plain `nbgrader autograde` on the same collected honest submissions: every cell, same score."""
    from nbgrader.api import Gradebook

    plain = classroom["pristine"]
    for name, students in ((quiz.NAME, QUIZ_STUDENTS), (LESSON, {"ada": 1, "bob": 1})):
        for student in students:
            nbgrader("autograde", name, "--student", student, "--force", cwd=plain)

    def cells(course: Path) -> dict:
        out = {}
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "mesakit") as gb:
            for name, students in ((quiz.NAME, QUIZ_STUDENTS), (LESSON, {"ada": 1, "bob": 1})):
                for student in students:
                    sub = gb.find_submission(name, student)
                    for nb in sub.notebooks:
                        out[(student, name, nb.name)] = (
                            nb.late_submission_penalty or 0.0,
                            {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                        )
        return out

    ours, theirs = cells(classroom["course"]), cells(plain)
    assert ours == theirs
    for kind, notebooks in quiz.EXPECTED.items():  # and both are what the quiz says they should be
        student = next(s for s, k in QUIZ_STUDENTS.items() if k == kind)
        for nb, expected in notebooks.items():
            assert {g: s for g, (s, _) in ours[(student, quiz.NAME, nb)][1].items()} == expected


@needs_bwrap
@pytest.mark.slow
def test_hand_grades_survive_and_feedback_goes_back_through_the_exchange(classroom):
    from nbgrader.api import Gradebook

    course, homes = classroom["course"], classroom["homes"]
    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db, "mesakit") as gb:  # the instructor grades by hand in formgrader
        gb.find_grade("explain", "part_a", quiz.NAME, "ada").manual_score = 1.5
        gb.find_grade("test_total", "part_a", quiz.NAME, "bob").manual_score = 1.0  # overrides an autograded 0
        gb.find_comment("explain", "part_a", quiz.NAME, "ada").manual_comment = "Good."
        gb.db.commit()
    again = mesakit(
        "grade",
        "submitted",
        "--assignment",
        quiz.NAME,
        "--gradebook",
        "--out",
        str(classroom["tmp"] / "again"),
        cwd=course,
    )
    assert "kept 2 scores the instructor entered by hand" in again.stderr
    with Gradebook(db, "mesakit") as gb:
        ada = gb.find_grade("explain", "part_a", quiz.NAME, "ada")
        bob = gb.find_grade("test_total", "part_a", quiz.NAME, "bob")
        assert (ada.manual_score, ada.auto_score, ada.needs_manual_grade) == (1.5, None, True)
        assert (bob.manual_score, bob.auto_score, bob.needs_manual_grade) == (1.0, 0.0, True)
        assert gb.find_comment("explain", "part_a", quiz.NAME, "ada").manual_comment == "Good."
    rows = export(course, "export2.csv")
    assert rows[("ada", quiz.NAME)]["score"] == "6.5" and rows[("bob", quiz.NAME)]["score"] == "3.0"

    for name in (LESSON, quiz.NAME):
        nbgrader("release_feedback", name, cwd=course)
    for student in STUDENTS:
        nbgrader("fetch_feedback", LESSON, "--student", student, cwd=homes[student])
        pages = list((homes[student] / LESSON / "feedback").glob(f"*/{LESSON}.html"))
        assert len(pages) == 1, (student, list((homes[student] / LESSON).rglob("*")))
        text = pages[0].read_text()
        assert f"Student: <b>{student}</b>" in text and "BEGIN HIDDEN" not in text
    assert "6 / 6 points" in next((homes["ada"] / LESSON / "feedback").glob("*/*.html")).read_text()
    nbgrader("fetch_feedback", quiz.NAME, "--student", "ada", cwd=homes["ada"])
    part_a = next((homes["ada"] / quiz.NAME / "feedback").glob("*/part_a.html")).read_text()
    assert "week1_quiz / part_a: 4 / 6 points" in part_a and "to be graded" in part_a


@needs_bwrap
@pytest.mark.slow
def test_bad_input_says_what_is_wrong_and_overwrites_nothing(classroom, tmp_path):
    course = classroom["course"]
    unknown = mesakit("grade", "submitted", "--assignment", "week9_quiz", cwd=course, check=False)
    assert (
        unknown.returncode == 2
        and "no lesson or assignment 'week9_quiz'" in unknown.stderr
        and "week1_quiz" in unknown.stderr
    )

    # A copy of what was collected, handled by hand: stray files, a missing timestamp, an unknown folder.
    messy = tmp_path / "submitted"
    shutil.copytree(course / "submitted", messy)
    for student in ("bob", "carl", "dan"):
        shutil.rmtree(messy / student)
    (messy / "ada" / LESSON / "timestamp.txt").unlink()
    (messy / "ada" / LESSON / f"{LESSON}-Copy1.ipynb").write_text("{}")
    (messy / "ada" / "notes.txt").write_text("x")
    (messy / "ada" / "week2_quiz").mkdir()
    (messy / "README.md").write_text("x")
    done = mesakit("grade", str(messy), "--assignment", LESSON, "--out", str(tmp_path / "out"), cwd=course)
    rows = read_csv(tmp_path / "out" / "grades.csv")
    assert (rows[("ada", LESSON, LESSON)]["score"], rows[("ada", LESSON, LESSON)]["late"]) == ("6", "no-timestamp")
    for words in (
        "README.md: not a student folder",
        "ada/notes.txt: a file outside any assignment folder",
        "ada/week2_quiz: not an assignment of this course",
        f"{LESSON}-Copy1.ipynb: not a notebook of {LESSON}",
        "1 submission(s) of assignments with a due date have no timestamp.txt: treated as on time",
    ):
        assert words in done.stderr, (words, done.stderr)
    page = (tmp_path / "out" / "feedback" / "ada" / LESSON / f"{LESSON}.html").read_text()
    assert "no timestamp.txt in the submission: treated as on time" in page

    # An assignment the gradebook does not know: refused before anything is graded or written.
    fresh = tmp_path / "fresh"
    shutil.copytree(course, fresh, ignore=shutil.ignore_patterns("gradebook.db", "feedback"))
    refused = mesakit("grade", "submitted", "--assignment", quiz.NAME, "--gradebook", cwd=fresh, check=False)
    assert refused.returncode == 2 and "no nbgrader gradebook" in refused.stderr
    assert "nbgrader generate_assignment week1_quiz" in refused.stderr
    nbgrader("generate_assignment", LESSON, "--force", cwd=fresh)  # a gradebook that knows the lesson, not the quiz
    before = sorted(p.name for p in fresh.iterdir())
    refused = mesakit("grade", "submitted", "--assignment", quiz.NAME, "--gradebook", cwd=fresh, check=False)
    assert refused.returncode == 2 and "has no assignment 'week1_quiz'" in refused.stderr
    assert "nbgrader generate_assignment week1_quiz" in refused.stderr
    assert sorted(p.name for p in fresh.iterdir()) == before  # nothing graded, nothing written


def test_timestamps_read_as_nbgrader_reads_them(tmp_path):
    from mesakit.grade.assignments import read_timestamp

    assert read_timestamp(tmp_path)[1:] == (
        "no-timestamp",
        "no timestamp.txt in the submission: treated as on time (as nbgrader does)",
    )
    (tmp_path / "timestamp.txt").write_text("\n")
    assert read_timestamp(tmp_path)[1] == "no-timestamp"
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    ts, state, note = read_timestamp(tmp_path)
    assert ts is None and state == "bad-timestamp" and "'yesterday-ish'" in note
    (tmp_path / "timestamp.txt").write_text("2026-11-29 04:00:00.5 America/Los_Angeles\n")  # nbgrader's format
    assert read_timestamp(tmp_path)[:2] == (datetime.datetime(2026, 11, 29, 12, 0, 0, 500000), "on-time")


def test_late_policy_is_the_courses(tmp_path):
    from traitlets.config import Config

    from mesakit.grade.assignments import Course, LatePolicy

    def policy(method):
        cfg = Config()
        if method:
            cfg.LateSubmissionPlugin.penalty_method = method
        return LatePolicy(Course(tmp_path, "c", tmp_path, tmp_path, tmp_path, "sqlite://", (), cfg))

    assert policy(None).penalty("ada", 5.0, 3600) == 0.0  # nbgrader's default: 'none'
    assert policy("zero").penalty("ada", 5.0, 3600) == 5.0 and policy("zero").penalty("ada", 5.0, 0) == 0.0
    assert "penalty_method='zero'" in policy("zero").name


def test_manual_cells_count_as_nbgrader_counts_them():
    import copy

    from mesakit.grade import plan

    source_a, source_b = quiz._notebook(quiz.PART_A), quiz._notebook(quiz.PART_B)
    assert (plan.max_score(source_a), plan.max_score(source_b)) == (6.0, 3.0)  # tests + manual answers + tasks
    assert [g for g, _ in plan.graded_cells(source_a)] == ["test_total", "test_mean", "explain"]
    release = copy.deepcopy(source_a)
    explain = next(c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "explain")
    explain.source = "YOUR ANSWER HERE"
    verdict = plan.manual_verdicts(source_a, release, release)
    assert [(v["grade_id"], v["score"], v["manual"]) for v in verdict] == [("explain", 0.0, False)]  # "No response."
    answered = copy.deepcopy(release)
    next(c for c in answered.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "explain").source = "10 / 4"
    assert plan.manual_verdicts(source_a, release, answered)[0]["manual"] is True  # waits for the instructor
    answered.cells = [c for c in answered.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "explain"]
    assert "deleted" in plan.manual_verdicts(source_a, release, answered)[0]["error"]
    task = plan.manual_verdicts(source_b, source_b, source_b)
    assert [(v["grade_id"], v["manual"], v["task"]) for v in task] == [
        ("describe", False, False),
        ("task_plot", True, True),
    ]


def test_any_folder_of_notebooks_is_an_assignment(tmp_path):
    from mesakit.course import CourseError
    from mesakit.grade import assignments

    course_dir = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course_dir)
    quiz.write_source(course_dir)
    (course_dir / "solutions" / "notes").mkdir()  # no notebook: not an assignment
    course = assignments.load_course(course_dir)
    assert (course.source.name, course.release.name, course.course_id) == ("solutions", "lessons", "mesakit")
    assert assignments.names(course) == [LESSON, quiz.NAME]
    assert assignments.select(course, ["01", quiz.NAME]) == [LESSON, quiz.NAME]
    with pytest.raises(CourseError, match=r"no lesson or assignment 'week9'.*the course has: 01_fixture, week1_quiz"):
        assignments.select(course, ["week9"])
    with pytest.raises(CourseError, match="nbgrader generate_assignment week1_quiz"):
        assignments.load(course, quiz.NAME)  # not released yet
    shutil.copytree(course_dir / "solutions" / quiz.NAME, course_dir / "lessons" / quiz.NAME)
    loaded = assignments.load(course, quiz.NAME)
    assert [(a.name, a.notebook_name, a.files) for a in loaded] == [
        (quiz.NAME, nb, (("data.csv", quiz.DATA.encode()),)) for nb in ("part_a", "part_b")
    ]


def test_instructor_files_replace_the_students(tmp_path):
    from mesakit.grade import sandbox

    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "data.csv").write_text("the student's")
    (work / "sub" / "more.txt").symlink_to("/etc/passwd")
    sandbox.add_files(
        work, (("data.csv", b"1,2"), ("sub/more.txt", b"x"), ("../escape.txt", b"no"), ("new/deep.txt", b"y"))
    )
    assert (work / "data.csv").read_bytes() == b"1,2" and (work / "new" / "deep.txt").read_bytes() == b"y"
    assert not (work / "sub" / "more.txt").is_symlink() and (work / "sub" / "more.txt").read_bytes() == b"x"
    assert not (tmp_path / "escape.txt").exists()
