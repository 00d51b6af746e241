"""The worker side of grading on a Dask cluster (``mesakit grade ... --scheduler``): :func:`grade_task`.

A Dask worker shares no filesystem with the client (:mod:`mesakit.grade.cluster`, which packs each
task and schedules it): it unpacks the submission the task carries into a scratch folder of its
own, grades it with exactly the code the local pool runs (:func:`mesakit.grade.runner.grade_one`:
its own sandboxes, cgroups and limits) and returns the :class:`~mesakit.grade.runner.Result`. A
worker process sets up its state (scratch, font cache, cgroups) at its first task and sweeps away
what a killed process on its host left behind; each task holds a sandbox slot no other grading
task on the host holds. Not here: reading submissions, talking to the scheduler, retries and the
rows of failed tasks (:mod:`mesakit.grade.cluster`); the sandboxed process itself
(:mod:`mesakit.grade.worker`).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import tempfile
import threading
from pathlib import Path

import nbformat

from . import sandbox
from .runner import Assignment, Result, box_for, build_font_cache, grade_one, grader_error, log_grader_failure

SLOT_BASE = 64  # sandbox users of cluster tasks start above the local pool's (uids UID_BASE + 2 * slot)
SLOTS = 512


def _unpack(packed: dict, into: Path) -> Path:
    """Recreate under ``into`` the submission :func:`mesakit.grade.cluster.pack` packed; return the
    notebook's path there."""
    student = into / "s"
    lesson = student / packed["lesson_dir"]
    notebook = lesson / packed["notebook"]
    nowhere = "/nonexistent/mesakit-link"  # a link is only ever refused, never followed
    if packed["link"] == "student folder":
        into.mkdir(parents=True)
        student.symlink_to(nowhere)
        return notebook
    lesson.parent.mkdir(parents=True)
    if packed["link"] == "lesson folder":
        lesson.symlink_to(nowhere)
        return notebook
    lesson.mkdir()
    if packed["link"] == "notebook":
        notebook.symlink_to(nowhere)
        return notebook
    root = lesson.resolve()
    for name, data in packed["entries"]:
        target = (lesson / name).resolve()
        if root not in target.parents:  # names come from os.scandir, but never trust a path
            continue
        if data is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return notebook


class _Worker:
    """One worker process's state, made at its first task: scratch, font cache, cgroups."""

    lock = threading.Lock()
    current: _Worker | None = None

    def __init__(self) -> None:
        sandbox.bwrap_path()  # no bubblewrap: SandboxUnavailable, and the task is retried
        sandbox.probe()
        from .cgroups import Batch

        _sweep()
        self.scratch = Path(tempfile.mkdtemp(prefix=f"mesakit-grade-dask-{os.getpid()}-"))
        self.font_cache = build_font_cache(self.scratch / "mpl")
        (self.scratch / "runs").mkdir()
        (self.scratch / "in").mkdir(mode=0o700)
        if os.geteuid() == 0:
            (self.scratch / "mpl").chmod(0o755)
            self.scratch.chmod(0o711)
            (self.scratch / "runs").chmod(0o711)
        self.batch = Batch.open()
        self.count = 0
        self.assignments: dict[str, Assignment] = {}
        atexit.register(self.close)

    @classmethod
    def get(cls) -> _Worker:
        with cls.lock:
            if cls.current is None:
                cls.current = cls()
            return cls.current

    def next_index(self) -> int:
        with self.lock:
            self.count += 1
            return self.count

    def assignment(self, payload: dict) -> Assignment:
        key = hashlib.sha256(
            repr((payload["name"], payload["notebook"], payload["files"])).encode()
            + payload["source"]
            + b"\0"
            + payload["release"]
        ).hexdigest()
        with self.lock:
            if key not in self.assignments:
                read = lambda b: nbformat.reads(b.decode(), as_version=4)  # noqa: E731
                self.assignments[key] = Assignment(
                    payload["name"],
                    read(payload["source"]),
                    read(payload["release"]),
                    payload["notebook"],
                    tuple(payload["files"]),
                )
            return self.assignments[key]

    def close(self) -> None:
        self.batch.close()
        sandbox.remove_tree(self.scratch)


def _sweep() -> None:
    """Remove what a worker process killed mid-task on this host left behind (its scratch folder)."""
    for folder in Path(tempfile.gettempdir()).glob("mesakit-grade-dask-*-*"):
        try:
            pid = int(folder.name.split("-")[3])
            os.kill(pid, 0)
        except ProcessLookupError:
            sandbox.remove_tree(folder)
        except (ValueError, IndexError, OSError):
            continue


class _Slot:
    """A sandbox slot no other grading task on this host holds (a lock file per slot), so that
    concurrent sandboxes never share a user, whichever worker process or thread runs them."""

    def __enter__(self) -> int:
        folder = Path(tempfile.gettempdir()) / "mesakit-grade-slots"
        folder.mkdir(mode=0o700, exist_ok=True)
        for k in range(SLOT_BASE, SLOT_BASE + SLOTS):
            fd = os.open(folder / f"{k}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.fd = fd
            return k
        raise RuntimeError(f"more than {SLOTS} grading tasks at once on this host")

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # releases the lock


def grade_task(task: dict) -> Result:
    """Run on a Dask worker: grade one packed submission exactly as the local pool would."""
    state = _Worker.get()
    assignment = state.assignment(task["assignment"])
    index = state.next_index()
    inbox, folder = state.scratch / "in" / f"{index:05d}", state.scratch / "runs" / f"{index:05d}"
    student, memory = task["student"], task["memory"]
    box = None
    try:
        with _Slot() as slot:
            path = _unpack(task["submission"], inbox)
            try:
                box = box_for(state.batch, index, memory)
                return grade_one(
                    student, assignment, path, task["timeout"], memory, folder, state.font_cache, slot, box
                )
            except Exception as err:  # noqa: BLE001 — as in the local pool: this row, not the batch
                note = log_grader_failure(student, assignment.name, err)
                return grader_error(student, assignment.name, assignment.source, path.stem, note)
    finally:
        if box is not None:
            box.close()
        sandbox.remove_tree(folder)
        sandbox.remove_tree(inbox)
