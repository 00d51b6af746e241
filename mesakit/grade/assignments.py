"""The course as nbgrader sees it: its assignments, their notebooks and files, due dates and late policy.

An assignment is any folder of nbgrader's source directory (``solutions/`` here) holding notebooks:
one of this course's lessons (``01_base_and_mesa/01_base_and_mesa.ipynb``) or an instructor's own
(``quiz1/part_a.ipynb``, ``quiz1/part_b.ipynb``, ``quiz1/data.csv``). Each notebook is graded apart;
files that are not notebooks are the instructor's and are copied over the student's copies, as
``nbgrader autograde`` does. Everything is read from the course's ``nbgrader_config.py`` through
nbgrader's own classes (``CourseDirectory``, ``AssignLatePenalties``), so a course configured for
plain nbgrader needs nothing else.

Lateness is nbgrader's: the submission's ``timestamp.txt`` (written by ``nbgrader submit``, kept by
``nbgrader collect``) against the assignment's due date in the gradebook (``nbgrader db assignment
add NAME --duedate ...``) plus any extension granted to the student; the penalty is the course's
late-submission plugin (``c.AssignLatePenalties.plugin_class``; nbgrader's default
``LateSubmissionPlugin`` with ``penalty_method`` ``'none'``, no penalty, or ``'zero'``, the whole
score), clamped to [0, score] per notebook as nbgrader clamps it. A missing or empty timestamp is
on time, as in nbgrader; an unreadable one (nbgrader refuses to autograde it) is graded as on time
and flagged ``bad-timestamp`` for the instructor.
"""

from __future__ import annotations

import datetime
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..course import CourseError, read_notebook

MAX_FILE_BYTES = 50 * 1024 * 1024  # an instructor's data file copied into every sandbox
LATE_STATES = ("on-time", "late", "no-timestamp", "bad-timestamp")


@dataclass(frozen=True)
class Course:
    root: Path
    course_id: str
    source: Path  # nbgrader's source_directory (instructor's notebooks, hidden tests)
    release: Path  # release_directory (what students were given)
    feedback: Path  # feedback_directory (what `nbgrader release_feedback` hands back)
    db_url: str  # the gradebook
    ignore: tuple[str, ...]
    config: object = field(repr=False, compare=False, default=None)  # traitlets Config


def load_course(root: Path) -> Course:
    """Read ``root/nbgrader_config.py`` (if any) as nbgrader reads it."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (root / "nbgrader_config.py").is_file():
        try:
            config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        except Exception as err:  # noqa: BLE001 — the instructor's Python file
            raise CourseError(f"{root / 'nbgrader_config.py'} failed to load ({type(err).__name__}: {err})") from None
    cd = CourseDirectory(config=config, root=str(root))
    return Course(
        root=root,
        course_id=cd.course_id,
        source=root / cd.source_directory,
        release=root / cd.release_directory,
        feedback=root / cd.feedback_directory,
        db_url=cd.db_url,
        ignore=tuple(cd.ignore),
        config=config,
    )


def names(course: Course) -> list[str]:
    """Every assignment of the course: the source folders that hold at least one notebook."""
    if not course.source.is_dir():
        return []
    return sorted(
        p.name
        for p in course.source.iterdir()
        if p.is_dir() and not _ignored(course, p.name) and any(p.glob("*.ipynb"))
    )


def select(course: Course, wanted: list[str]) -> list[str]:
    """The assignments named: a full name, or for a lesson its number (``01``) or slug."""
    available = names(course)
    chosen: list[str] = []
    for name in wanted:
        matches = [a for a in available if name == a or (a[:2].isdigit() and name in (a[:2], a[3:]))]
        if not matches:
            listing = ", ".join(available) or "none"
            raise CourseError(f"no lesson or assignment {name!r} in {course.source}; the course has: {listing}")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def _ignored(course: Course, name: str) -> bool:
    return name.startswith(".") or any(fnmatch.fnmatch(name, pat) for pat in course.ignore)


def notebooks(course: Course, name: str) -> list[str]:
    """The notebooks of an assignment (names without ``.ipynb``), as nbgrader finds them."""
    return sorted(p.stem for p in (course.source / name).glob("*.ipynb") if not _ignored(course, p.name))


def extra_files(course: Course, name: str) -> tuple[tuple[str, bytes], ...]:
    """The assignment's files that are not notebooks (relative path, bytes): the instructor's data."""
    base = course.source / name
    found = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not _ignored(course, d) and not os.path.islink(os.path.join(folder, d)))
        for f in sorted(files):
            path = Path(folder) / f
            if _ignored(course, f) or f.endswith(".ipynb") or path.is_symlink():
                continue
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CourseError(
                    f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB; graders copy it into every sandbox"
                )
            found.append((path.relative_to(base).as_posix(), path.read_bytes()))
    return tuple(found)


def load(course: Course, name: str) -> list:
    """One :class:`~mesakit.grade.runner.Assignment` per notebook of assignment ``name``."""
    from .runner import Assignment

    files = extra_files(course, name)
    found = []
    for nb in notebooks(course, name):
        release = course.release / name / f"{nb}.ipynb"
        if not release.is_file():
            how = "`mesakit release`" if name[:2].isdigit() else f"`nbgrader generate_assignment {name}`"
            raise CourseError(f"{name}/{nb}.ipynb has no release in {course.release.name}/; run {how} first")
        found.append(
            Assignment(name, read_notebook(course.source / name / f"{nb}.ipynb"), read_notebook(release), nb, files)
        )
    return found


# --- lateness ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lateness:
    state: str  # one of LATE_STATES
    timestamp: datetime.datetime | None  # naive UTC, as nbgrader stores it
    seconds_late: float
    note: str = ""

    @property
    def stamp(self) -> str:
        return self.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC") if self.timestamp else ""


def read_timestamp(folder: Path) -> tuple[datetime.datetime | None, str, str]:
    """(naive UTC time, state, note) from ``folder/timestamp.txt`` as nbgrader's CourseDirectory reads it."""
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if path.is_symlink() or not path.is_file():
        return None, "no-timestamp", "no timestamp.txt in the submission: treated as on time (as nbgrader does)"
    try:
        with open(path, "rb") as f:
            text = f.read(200).decode("utf-8", "replace").strip()
    except OSError as err:
        return None, "bad-timestamp", f"timestamp.txt cannot be read ({err.strerror}): graded as on time; check it"
    if not text:
        return None, "no-timestamp", "timestamp.txt is empty: treated as on time (as nbgrader does)"
    try:
        ts = parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return (
            None,
            "bad-timestamp",
            (
                f"timestamp.txt holds {text[:40]!r}, not a time (nbgrader would refuse to "
                "autograde it): graded as on time; check it"
            ),
        )
    return (
        ts.replace(tzinfo=None) if ts.tzinfo is None else ts.astimezone(datetime.timezone.utc).replace(tzinfo=None),
        "on-time",
        "",
    )


class DueDates:
    """Due dates and extensions from nbgrader's gradebook (never created here: read only if it exists)."""

    def __init__(self, course: Course):
        self.due: dict[str, datetime.datetime | None] = {}
        self.extension: dict[tuple[str, str], datetime.timedelta] = {}
        if course.db_url.startswith("sqlite:///") and not Path(course.db_url[len("sqlite:///") :]).is_file():
            return
        from nbgrader.api import Gradebook

        try:
            with Gradebook(course.db_url, course.course_id) as gb:
                for a in gb.assignments:
                    self.due[a.name] = a.duedate
                    for s in a.submissions:
                        if s.extension is not None:
                            self.extension[(a.name, s.student.id)] = s.extension
        except Exception as err:  # noqa: BLE001 — a broken or foreign database
            raise CourseError(f"cannot read the gradebook {course.db_url} ({type(err).__name__}: {err})") from None

    def lateness(self, assignment: str, student: str, folder: Path) -> Lateness:
        ts, state, note = read_timestamp(folder)
        due = self.due.get(assignment)
        if ts is None or due is None:
            return Lateness(state, ts, 0.0, note if due is not None or state == "bad-timestamp" else "")
        due = due + self.extension.get((assignment, student), datetime.timedelta(0))
        seconds = max(0.0, (ts - due).total_seconds())
        if seconds > 0:
            return Lateness(
                "late", ts, seconds, f"submitted {_duration(seconds)} after the due date ({due:%Y-%m-%d %H:%M} UTC)"
            )
        return Lateness("on-time", ts, 0.0)


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


class LatePolicy:
    """The course's late-submission plugin, as nbgrader's AssignLatePenalties uses it."""

    def __init__(self, course: Course):
        from nbgrader.preprocessors import AssignLatePenalties

        self.assigner = AssignLatePenalties(config=course.config)
        self.assigner.init_plugin()
        plugin = self.assigner.plugin_inst
        method = getattr(plugin, "penalty_method", None)
        self.name = f"{type(plugin).__name__}" + (f" (penalty_method={method!r})" if method else "")

    def penalty(self, student: str, score: float, seconds_late: float) -> float:
        """nbgrader's penalty for one notebook: None and negative become 0, more than the score the score."""
        if seconds_late <= 0:
            return 0.0
        p = self.assigner.plugin_inst.late_submission_penalty(student, score, seconds_late)
        return 0.0 if p is None else float(min(max(p, 0.0), score))


def apply_lateness(course: Course, submitted: Path, results: list) -> list[str]:
    """Set each result's lateness and late penalty (its score becomes the score after it); return
    lines for the instructor."""
    due = DueDates(course)
    policy = None
    cache: dict[tuple[str, str], Lateness] = {}
    for r in results:
        key = (r.student, r.lesson)
        if key not in cache:
            folder = submitted / r.student / r.lesson
            linked = folder.is_symlink() or folder.parent.is_symlink()
            cache[key] = Lateness("no-timestamp", None, 0.0) if linked else due.lateness(r.lesson, r.student, folder)
        lt = cache[key]
        r.late, r.timestamp, r.seconds_late = lt.state, lt.stamp, lt.seconds_late
        if lt.note:
            r.notes.append(lt.note)
        if lt.seconds_late > 0:
            policy = policy or LatePolicy(course)
            r.late_penalty = policy.penalty(r.student, r.score, lt.seconds_late)
            if r.late_penalty:
                r.score = round(r.score - r.late_penalty, 6)
                r.notes.append(f"late penalty: {r.late_penalty:g} points ({policy.name})")
    lines = []
    late = sorted({k for k, v in cache.items() if v.state == "late"})
    if late:
        policy = policy or LatePolicy(course)
        lines.append(
            f"{len(late)} submission(s) late: {', '.join('/'.join(k) for k in late)}; late policy: {policy.name}"
        )
    for state, what in (
        ("no-timestamp", "have no timestamp.txt: treated as on time, as nbgrader does"),
        ("bad-timestamp", "have an unreadable timestamp.txt: graded as on time; check them"),
    ):
        hit = sorted(
            k for k, v in cache.items() if v.state == state and (state == "bad-timestamp" or due.due.get(k[1]))
        )
        if hit:
            lines.append(
                f"{len(hit)} submission(s) of assignments with a due date {what}: {', '.join('/'.join(k) for k in hit[:10])}"
            )
    return lines


KNOWN_FILES = ("timestamp.txt", "submission_secret.txt")


def survey(course: Course, submitted: Path, graded: list[str], results: list) -> list[str]:
    """What in the collected folder was not graded, and why: lines for the instructor; a notebook
    that is not part of its assignment is also noted on that submission's feedback."""
    lines = []
    everything = set(names(course))
    first = {}
    for r in results:
        first.setdefault((r.student, r.lesson), r)
    for entry in sorted(submitted.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or not entry.is_dir():
            lines.append(f"{entry.name}: not a student folder; ignored")
            continue
        for sub in sorted(entry.iterdir()):
            if sub.name.startswith("."):
                continue
            if not sub.is_symlink() and not sub.is_dir():
                lines.append(f"{entry.name}/{sub.name}: a file outside any assignment folder; ignored")
            elif sub.name not in everything:
                lines.append(
                    f"{entry.name}/{sub.name}: not an assignment of this course (it has: {', '.join(sorted(everything))}); not graded"
                )
            elif sub.name in graded and not sub.is_symlink():
                wanted = set(notebooks(course, sub.name))
                extra = sorted(p.name for p in sub.glob("*.ipynb") if p.stem not in wanted)
                if extra:
                    text = f"{', '.join(extra)}: not a notebook of {sub.name} (it has {', '.join(f'{w}.ipynb' for w in sorted(wanted))}); not graded"
                    lines.append(f"{entry.name}/{sub.name}/{text}")
                    if (entry.name, sub.name) in first:
                        first[entry.name, sub.name].notes.append(text)
    if len(lines) > 30:
        lines = lines[:30] + [f"... and {len(lines) - 30} more"]
    return lines
