"""Grade a batch: one sandboxed worker + one sandboxed judge per submission, a few at a time.

For each ``SUBMITTED/<student>/<lesson>/<lesson>.ipynb``: read and reconcile the notebook
(:mod:`~mesakit.grade.plan`), copy its folder to a throw-away place, start the student's worker
and the judge in two sandboxes (and cgroups, :mod:`~mesakit.grade.cgroups`) joined by two pipes,
feed the judge the plan, and collect its streamed verdicts until it is done or a limit stops it
(:mod:`~mesakit.grade.meter`). Whatever happens to one submission becomes its row's ``status``,
its scratch folder is removed right after, and the batch goes on: nothing one submission leaves
behind can stop the others' rows or feedback.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import DEFAULT_MEMORY_GB, DEFAULT_TIMEOUT, sandbox
from .cgroups import Batch, Box
from .meter import WALL_FACTOR, Meter
from .plan import InvalidNotebook, graded_cells, linked, make_plan, manual_verdicts, max_score, read_submission

STATUSES = ("ok", "tampered", "crashed", "memory", "timeout", "invalid-notebook", "missing", "grader-error")


@dataclass
class Result:
    student: str
    lesson: str
    score: float
    max_score: float
    status: str
    cells: list[dict] = field(default_factory=list)  # the judge's verdicts (see judge.Judge._grade)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notebook: str = ""  # the notebook graded (an assignment may have several); "" = the lesson's name
    late: str = ""  # assignments.LATE_STATES, set by grade() from timestamp.txt; "" = not looked at
    timestamp: str = ""
    seconds_late: float = 0.0
    late_penalty: float = 0.0  # points taken off by the course's late policy (score is after it)


def grader_error(student: str, lesson: str, source: nbformat.NotebookNode, notebook: str, note: str) -> Result:
    """The row of a submission the grader itself failed on: no points, the assignment's maximum kept."""
    return Result(student, lesson, 0.0, max_score(source), "grader-error", [], [note], 0.0, notebook)


def log_grader_failure(student: str, lesson: str, err: BaseException) -> str:
    """Print the failure with its traceback for the instructor; return the note the student sees."""
    print(f"mesakit grade: the grader failed on {student}/{lesson}:", file=sys.stderr)
    traceback.print_exception(err, file=sys.stderr)
    return f"the grader failed on this submission ({type(err).__name__}); please report it"


@dataclass(frozen=True)
class Assignment:
    name: str
    source: nbformat.NotebookNode  # solutions/ (hidden tests included)
    release: nbformat.NotebookNode  # lessons/ (what students were given)
    notebook: str = ""  # the notebook's name without .ipynb (default: the assignment's name)
    files: tuple[tuple[str, bytes], ...] = ()  # the instructor's other files, copied over the student's

    @property
    def notebook_name(self) -> str:
        return self.notebook or self.name


def build_font_cache(into: Path) -> Path | None:
    """Build matplotlib's font list once, so sandboxes (fresh /tmp) do not each rebuild it."""
    env = dict(os.environ, MPLCONFIGDIR=str(into))
    subprocess.run(
        [sys.executable, "-I", "-c", "import matplotlib.font_manager"], env=env, capture_output=True, timeout=300
    )
    found = sorted(into.glob("fontlist-*.json"))
    return found[0] if found else None


def grade_one(
    student: str,
    assignment: Assignment,
    path: Path,
    timeout: float,
    memory: int,
    folder: Path,
    font_cache: Path | None,
    slot: int = 0,
    box: Box | None = None,
) -> Result:
    """Grade one notebook, using (and leaving behind) the scratch ``folder``."""
    start = time.perf_counter()
    full_marks = max_score(assignment.source)
    empty = [
        {"grade_id": g, "points": p, "score": 0.0, "where": None, "error": "not graded"}
        for g, p in graded_cells(assignment.source)
    ]
    try:
        submitted = read_submission(path)
    except InvalidNotebook as err:
        status = "missing" if not linked(path) and not path.is_file() else "invalid-notebook"
        return Result(
            student,
            assignment.name,
            0.0,
            full_marks,
            status,
            empty,
            [str(err)],
            time.perf_counter() - start,
            assignment.notebook_name,
        )
    plan = make_plan(assignment.source, assignment.release, submitted)
    # Worker and judge never share a user: a fork bomb in one cannot starve the other's threads.
    judge_uid, worker_uid = sandbox.UID_BASE + 2 * slot, sandbox.UID_BASE + 2 * slot + 1
    workdir = sandbox.prepare_workdir(path.parent, folder / "work", uid=worker_uid)
    sandbox.add_files(workdir, assignment.files, uid=worker_uid)
    box = box or Batch("none", {}).box("", memory, sandbox.MAX_PROCESSES)
    verdicts, state = _run(
        plan.to_json(assignment.files), workdir, timeout, memory, font_cache, judge_uid, worker_uid, box
    )
    by_id = {v["grade_id"]: v for v in verdicts}
    cells = []
    for gid, points in plan.graded:
        v = by_id.get(gid) or {
            "grade_id": gid,
            "points": points,
            "score": 0.0,
            "where": None,
            "error": "not reached: the submission stopped before this test ran",
        }
        cells.append(v)
    manual = manual_verdicts(assignment.source, assignment.release, submitted)
    if manual:
        order = [gid for gid, _ in graded_cells(assignment.source)]
        cells = sorted(
            cells + manual, key=lambda v: order.index(v["grade_id"]) if v["grade_id"] in order else len(order)
        )
    notes = list(plan.notes)
    if state == "timeout":
        notes.append(
            f"the submission used more than the {timeout:g} s of CPU time allowed (or {WALL_FACTOR * timeout:g} s "
            "of wall-clock time) and was stopped"
        )
    elif state == "memory":
        notes.append(f"the submission used more than {memory / 2**30:g} GB of memory and was stopped")
    elif state == "crashed":
        notes.append("the notebook's process ended before grading finished (exit, crash or kill)")
    elif state == "grader-error":
        notes.append("the grader failed on this submission; please report it")
    status = state if state != "ok" else ("tampered" if plan.notes else "ok")
    score = round(sum(float(v["score"]) for v in cells), 6)
    return Result(
        student,
        assignment.name,
        score,
        full_marks,
        status,
        cells,
        notes,
        time.perf_counter() - start,
        assignment.notebook_name,
    )


def _run(
    plan_json: str,
    workdir: Path,
    timeout: float,
    memory: int,
    font_cache: Path | None,
    judge_uid: int,
    worker_uid: int,
    box: Box,
) -> tuple[list[dict], str]:
    """Run worker and judge; return (verdicts, state) with state ok|timeout|memory|crashed|grader-error."""
    j2w_r, j2w_w = os.pipe()
    w2j_r, w2j_w = os.pipe()
    ev_r, ev_w = os.pipe()
    extra = {f"/tmp/matplotlib/{font_cache.name}": str(font_cache)} if font_cache else {}
    env = sandbox.environment()
    py = [sys.executable, "-I"]
    worker_cmd = sandbox.command(
        py + ["-m", "mesakit.grade.worker", str(j2w_r), str(w2j_w)], workdir, extra, uid=worker_uid
    )
    judge_cmd = sandbox.command(
        py + ["-m", "mesakit.grade.judge", str(ev_w), str(j2w_w), str(w2j_r)], None, extra, uid=judge_uid
    )
    log = workdir.parent / "judge.log"
    with open(os.devnull, "wb") as null, open(log, "wb") as judge_log:
        worker = subprocess.Popen(
            worker_cmd,
            stdin=subprocess.DEVNULL,
            stdout=null,
            stderr=null,
            env=env,
            pass_fds=(j2w_r, w2j_w),
            preexec_fn=sandbox.limits(memory, timeout, box.join("worker")),
        )
        judge = subprocess.Popen(
            judge_cmd,
            stdin=subprocess.PIPE,
            stdout=judge_log,
            stderr=judge_log,
            env=env,
            pass_fds=(ev_w, j2w_w, w2j_r),
            preexec_fn=sandbox.limits(memory, timeout, box.join("judge")),
        )
    for fd in (j2w_r, j2w_w, w2j_r, w2j_w, ev_w):
        os.close(fd)

    def stop() -> None:
        for proc in (judge, worker):
            sandbox.kill(proc)
        box.kill()

    meter = Meter((worker, judge), box, timeout, memory, stop)
    meter.start()
    events: list[dict] = []
    reader = threading.Thread(target=_read_events, args=(ev_r, events), daemon=True)
    reader.start()
    try:
        judge.stdin.write(plan_json.encode())
        judge.stdin.close()
    except OSError:
        pass
    state = "ok"
    try:
        judge.wait(timeout=WALL_FACTOR * timeout + 30)  # the meter stops it sooner; this is a backstop
    except subprocess.TimeoutExpired:
        state = "timeout"
    finally:
        meter.stop()
        stop()
        for proc in (judge, worker):
            proc.wait()
        reader.join(timeout=5)
    done = [e for e in events if e.get("event") == "done"]
    if meter.reason == "timeout":
        state = "timeout"
    elif meter.reason == "memory" or box.oom("worker") or box.oom("judge"):
        state = "memory"
    elif state == "ok" and not done:
        state = "grader-error"
    elif state == "ok" and done[0].get("worker_dead"):
        state = "memory" if done[0].get("memory") else "crashed"
    elif state == "ok" and done[0].get("memory"):
        state = "memory"
    return [e for e in events if e.get("event") == "cell"], state


def _read_events(fd: int, into: list[dict]) -> None:
    with os.fdopen(fd, "rb") as stream:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                into.append(event)


def find_submissions(submitted: Path, lessons: list) -> list[tuple[str, str, Path]]:
    """(student, lesson, notebook path) for every student folder and every lesson asked for
    (a name: its notebook is ``<lesson>.ipynb``; an :class:`Assignment`: each of its notebooks).

    Links are never followed: a student folder or lesson folder that is a symbolic link is listed
    (its notebook path is then refused by :func:`~mesakit.grade.plan.read_submission`)."""
    found = []
    for student in sorted(submitted.iterdir()):
        if student.name.startswith(".") or not (student.is_symlink() or student.is_dir()):
            continue
        for lesson in lessons:
            name, notebook = (lesson, lesson) if isinstance(lesson, str) else (lesson.name, lesson.notebook_name)
            folder = student / name
            if student.is_symlink() or folder.is_symlink() or folder.is_dir():
                found.append((student.name, name, folder / f"{notebook}.ipynb"))
    return found


def grade_all(
    submitted: Path,
    assignments: list[Assignment],
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    memory: int = int(DEFAULT_MEMORY_GB * 1024**3),
    progress=None,
    scheduler: str | None = None,
) -> list[Result]:
    """Grade every submission; results sorted by (student, lesson). ``progress(result)`` per row.
    With ``scheduler`` (a Dask scheduler's address) the cluster grades them instead of this machine."""
    if scheduler:
        from .cluster import grade_all as on_cluster

        return on_cluster(submitted, assignments, scheduler, timeout, memory, progress)
    by_name = {(a.name, a.notebook_name): a for a in assignments}  # an assignment may have several notebooks
    todo = find_submissions(submitted, assignments)
    scratch = Path(tempfile.mkdtemp(prefix="mesakit-grade-"))
    batch = Batch.open()
    try:
        font_cache = build_font_cache(scratch / "mpl")
        if os.geteuid() == 0:
            (scratch / "mpl").chmod(0o755)
            scratch.chmod(0o711)
        (scratch / "runs").mkdir()
        if os.geteuid() == 0:
            (scratch / "runs").chmod(0o711)
        slots: queue.Queue[int] = queue.Queue()
        for k in range(max(1, workers)):
            slots.put(k)

        def one(numbered):
            index, (student, lesson, path) = numbered
            slot = slots.get()
            folder = scratch / "runs" / f"{index:05d}"  # not the student's name: any length, any characters
            box = None
            try:
                box = box_for(batch, index, memory)
                result = grade_one(
                    student, by_name[lesson, path.stem], path, timeout, memory, folder, font_cache, slot, box
                )
            except Exception as err:  # noqa: BLE001 — one submission never stops the batch
                note = log_grader_failure(student, lesson, err)
                result = grader_error(student, lesson, by_name[lesson, path.stem].source, path.stem, note)
            finally:
                if box is not None:
                    box.close()
                sandbox.remove_tree(folder)
                slots.put(slot)
            if progress:
                progress(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = list(pool.map(one, enumerate(todo)))
    finally:
        batch.close()
        if not sandbox.remove_tree(scratch):
            print(f"mesakit grade: could not remove the scratch folder {scratch}", file=sys.stderr)
    return sorted(results, key=lambda r: (r.student, r.lesson, r.notebook))


def box_for(batch: Batch, index: int, memory: int) -> Box:
    """Submission ``index``'s cgroup in ``batch``; where none can be made, a box that measures the process tree."""
    try:
        return batch.box(f"{index:05d}", memory, sandbox.MAX_PROCESSES)
    except OSError:  # the cgroup could not be made: fall back to measuring the process tree
        return Batch("none", {}).box("", memory, sandbox.MAX_PROCESSES)
