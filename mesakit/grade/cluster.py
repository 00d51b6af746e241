"""Grading on a Dask cluster: ``mesakit grade ... --scheduler tcp://HOST:PORT``.

The client (the instructor's machine) reads each submission's folder, packs what a worker needs
into the task itself as bytes — the assignment's source and release notebooks, and the
submission's files with the same rules the sandbox copies them by (plain files only, no links,
200 MB and 32 folders deep at most) — and sends it to the scheduler. A worker shares no
filesystem with the client: it unpacks the task into a scratch folder of its own, grades it with
exactly the code the local pool runs (:func:`mesakit.grade.runner.grade_one`: its own sandboxes,
cgroups and limits) and returns the :class:`~mesakit.grade.runner.Result`; the client writes
``grades.csv`` and the feedback as a local run does, so both write the same bytes.

A worker needs only the ``mesakit`` package (with ``mesakit[cluster]``) and bubblewrap. Where a
worker has no bubblewrap the task fails there, is retried (perhaps elsewhere), and at last its row
says so (``grader-error``: "the Dask worker has no bubblewrap"). A worker that dies mid-task
costs a retry, not a grade: the scheduler gives its tasks to the others (a grading task is pure,
so running it twice is harmless). Tasks are sent a few per worker thread at a time, so neither the
client nor the scheduler ever holds the whole class in memory. dask-jobqueue (SLURM, PBS...) and
dask-kubernetes clusters give a scheduler address like any other: nothing here knows about them.

This module is the client: packing submissions, scheduling the tasks, and the rows of tasks that
failed. What runs on a worker (unpacking, its scratch and sandbox slots, :func:`grade_task`) is
:mod:`mesakit.grade.cluster_worker`.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import nbformat

from . import DEFAULT_MEMORY_GB, DEFAULT_TIMEOUT, sandbox
from .cluster_worker import grade_task
from .plan import MAX_NOTEBOOK_BYTES, linked
from .runner import Assignment, Result, find_submissions, grader_error

CONNECT_TIMEOUT = 10.0  # s to reach the scheduler before giving up (nothing is written then)
WORKER_WAIT = 120.0  # s to wait for a first worker (dask-jobqueue workers may sit in a queue)
RETRIES = 2  # a task that raised (a worker's own fault, not the student's) runs up to 3 times
COPY_BYTES = 200 * 1024 * 1024  # as sandbox.prepare_workdir copies


class ClusterUnavailable(RuntimeError):
    """The scheduler cannot be reached, has no workers, or dask.distributed is not installed."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterUnavailable(
            "--scheduler needs dask.distributed, which is not installed: `pip install 'mesakit[cluster]'` "
            "(or `pip install distributed`) on this machine and on every worker"
        ) from None
    return distributed


def pack(path: Path) -> dict:
    """What a worker needs of one submission ``<student>/<lesson>/<lesson>.ipynb``, as bytes.

    ``links`` says which level is a symbolic link (recreated as a dangling link, never followed);
    ``files`` holds the lesson folder's plain files and folders as the sandbox would copy them."""
    out = {"lesson_dir": path.parent.name, "notebook": path.name, "link": linked(path), "entries": []}
    if out["link"] or not path.parent.is_dir():
        return out
    total, full = 0, False
    for folder, _, entries in sandbox.walk(path.parent):
        rel = folder.relative_to(path.parent)
        for entry in entries:
            if entry.name.startswith(".ipynb_checkpoints") or entry.is_symlink():
                continue
            name = str(rel / entry.name)
            if entry.is_dir(follow_symlinks=False):
                out["entries"].append((name, None))
            elif entry.is_file(follow_symlinks=False):
                notebook = name == path.name
                if full and not notebook:
                    continue  # past the copy's size cap: the sandbox copies no more either
                cap = MAX_NOTEBOOK_BYTES + 1 if notebook else COPY_BYTES - total
                try:
                    with open(os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
                        data = f.read(cap + 1)
                except OSError:
                    continue  # unreadable: as if it were not there
                if not notebook and len(data) > cap:
                    full = True
                    continue
                total += len(data)
                out["entries"].append((name, data))
    return out


def _assignment_bytes(a: Assignment) -> dict:
    return {
        "name": a.name,
        "source": nbformat.writes(a.source).encode(),
        "release": nbformat.writes(a.release).encode(),
        "notebook": a.notebook,
        "files": tuple(a.files),
    }


def grade_all(
    submitted: Path,
    assignments: list[Assignment],
    scheduler: str,
    timeout: float = DEFAULT_TIMEOUT,
    memory: int = int(DEFAULT_MEMORY_GB * 1024**3),
    progress=None,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> list[Result]:
    """Grade every submission on the Dask cluster at ``scheduler``; results sorted by (student, lesson)."""
    distributed = _distributed()
    by_name = {(a.name, a.notebook_name): a for a in assignments}  # an assignment may have several notebooks
    todo = find_submissions(submitted, assignments)
    payloads = {key: _assignment_bytes(a) for key, a in by_name.items()}
    try:
        client = distributed.Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {scheduler!r} within {connect_timeout:g} s ({type(err).__name__}: "
            f"{str(err)[:200]}); expected the address a running scheduler prints, e.g. tcp://10.0.0.5:8786"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except (TimeoutError, OSError):
            raise ClusterUnavailable(
                f"the Dask scheduler at {scheduler} has had no worker for {WORKER_WAIT:g} s; start some "
                "(`dask worker {scheduler}`, or scale your dask-jobqueue/dask-kubernetes cluster)"
            ) from None
        return sorted(
            _run(client, distributed, todo, by_name, payloads, timeout, memory, progress),
            key=lambda r: (r.student, r.lesson, r.notebook),
        )
    finally:
        client.close()


def _run(client, distributed, todo, by_name, payloads, timeout, memory, progress) -> list[Result]:
    batch = uuid.uuid4().hex[:12]
    pending = list(enumerate(todo))[::-1]
    futures, results, warned = {}, [], set()
    done = distributed.as_completed(loop=client.loop)

    def submit_more() -> None:
        # A few tasks per worker thread in flight: the queue stays full, memory stays bounded.
        room = max(4, 2 * sum(client.nthreads().values())) - len(futures)
        for _ in range(room):
            if not pending:
                return
            index, (student, lesson, path) = pending.pop()
            task = {
                "student": student,
                "assignment": payloads[lesson, path.stem],
                "submission": pack(path),
                "timeout": timeout,
                "memory": memory,
            }
            future = client.submit(
                grade_task, task, key=f"mesakit-grade-{batch}-{index:05d}", retries=RETRIES, pure=False, priority=-index
            )
            futures[future.key] = (student, lesson, path.stem)
            done.add(future)

    submit_more()
    for future in done:
        student, lesson, notebook = futures.pop(future.key)
        try:
            result = future.result()
        except Exception as err:  # noqa: BLE001 — one submission never stops the batch
            result = grader_error(student, lesson, by_name[lesson, notebook].source, notebook, _failure(err))
            if type(err).__name__ not in warned:
                warned.add(type(err).__name__)
                print(f"mesakit grade: on the Dask cluster, {student}/{lesson}: {_failure(err)}", file=sys.stderr)
        results.append(result)
        if progress:
            progress(result)
        submit_more()
    return results


def _failure(err: BaseException) -> str:
    if isinstance(err, sandbox.SandboxUnavailable):
        return f"the Dask worker has no bubblewrap: install it on every worker ({err})"
    if type(err).__name__ == "KilledWorker":
        return (
            "the Dask workers grading this submission died each time it ran (out of memory on the worker's "
            "host?); the grader failed on this submission; please report it"
        )
    return f"the grader failed on this submission on a Dask worker ({type(err).__name__}: {str(err)[:200]}); please report it"
