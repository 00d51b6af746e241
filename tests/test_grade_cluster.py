"""`mesakit grade --scheduler`: grading on a real Dask cluster (``dask.distributed.LocalCluster``
of worker processes on 127.0.0.1) writes the same files as the local pool; a worker killed
mid-batch costs a retry, not a grade; an unreachable scheduler and a worker without bubblewrap
get clear messages. The whole fault and cheat corpus also goes through the cluster in
test_grade.py (its ``corpus`` fixture is parametrized over local and cluster)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "grading"
COURSE, SUBMISSIONS = HERE / "course", HERE / "submissions"
BWRAP = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: `make system-deps` installs it")
TIMEOUT = 60
# honest, partly right, a cheat, a fault, and the unreadable kinds: each row kind the CSV has
SAMPLE = [
    "honest",
    "partial",
    "patch_comparisons",
    "kill_kernel",
    "corrupt_json",
    "missing_notebook",
    "symlink_to_classmate",
]


def _distributed():
    try:
        import distributed
    except ImportError:
        pytest.fail("dask.distributed is missing from the venv: run `make test` (it installs requirements-dev.txt)")
    return distributed


def _local_cluster(n_workers: int = 2, env: dict | None = None):
    return _distributed().LocalCluster(
        processes=True,
        n_workers=n_workers,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
        env=env or {},
    )


@pytest.fixture(scope="module")
def dask_scheduler():
    """A 2-worker LocalCluster of worker processes on 127.0.0.1; its scheduler's address."""
    with _local_cluster() as cluster:
        yield cluster.scheduler_address


def _copy(names: list[str], into: Path, rename: dict[str, str] | None = None) -> Path:
    into.mkdir(parents=True)
    for name in names:
        shutil.copytree(SUBMISSIONS / name, into / (rename or {}).get(name, name), symlinks=True)
    return into


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
@BWRAP
def test_cluster_writes_the_same_files_as_the_local_pool(dask_scheduler, tmp_path):
    from mesakit.grade import grade

    submitted = _copy(SAMPLE, tmp_path / "submitted")
    (submitted / "honest" / "01_fixture" / "notes.txt").write_text("a file beside the notebook travels too\n")
    local = grade(submitted, COURSE, [], tmp_path / "local", workers=2, timeout=TIMEOUT)
    remote = grade(submitted, COURSE, [], tmp_path / "cluster", timeout=TIMEOUT, scheduler=dask_scheduler)
    assert (tmp_path / "cluster" / "grades.csv").read_bytes() == (tmp_path / "local" / "grades.csv").read_bytes()
    assert _files(tmp_path / "cluster") == _files(tmp_path / "local")  # the CSV and every feedback page
    by_student = {r.student: (r.score, r.status) for r in remote}
    assert by_student == {r.student: (r.score, r.status) for r in local}
    assert by_student["honest"] == (6.0, "ok") and by_student["partial"] == (4.0, "ok")
    assert by_student["patch_comparisons"][0] == 0.0 and by_student["kill_kernel"] == (0.0, "crashed")
    assert by_student["symlink_to_classmate"] == (0.0, "invalid-notebook")


@pytest.mark.slow
@BWRAP
def test_a_worker_killed_mid_batch_costs_a_retry_not_a_grade(tmp_path):
    """SIGKILL a worker process while it grades; the scheduler gives its task to the other worker
    (the nanny restarts the dead one) and every submission still gets its right grade."""
    from mesakit.grade import grade

    distributed = _distributed()
    honest = [f"honest{k}" for k in range(4)]
    submitted = _copy(["partial"], tmp_path / "submitted")
    for name in honest:
        shutil.copytree(SUBMISSIONS / "honest", submitted / name)
    with _local_cluster() as cluster, distributed.Client(cluster, set_as_default=False) as watcher:
        out, failure = {}, []

        def run() -> None:
            try:
                out["results"] = grade(
                    submitted, COURSE, [], tmp_path / "out", timeout=TIMEOUT, scheduler=cluster.scheduler_address
                )
            except BaseException as err:  # noqa: BLE001 — reported below
                failure.append(err)

        thread = threading.Thread(target=run)
        thread.start()
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and thread.is_alive():
            busy = {w: keys for w, keys in watcher.processing().items() if any("mesakit-grade" in str(k) for k in keys)}
            if busy:
                time.sleep(2.0)  # well inside the task: its sandboxes are running
                worker = sorted(busy)[0]
                if any("mesakit-grade" in str(k) for k in watcher.processing().get(worker, ())):
                    pid = watcher.run(os.getpid, workers=[worker])[worker]
                    os.kill(pid, signal.SIGKILL)
                    killed = worker
            time.sleep(0.2)
        thread.join(timeout=600)
    assert killed is not None, "no worker was seen grading, so none was killed"
    assert not failure, failure
    results = {r.student: (r.score, r.status) for r in out["results"]}
    assert results == {**{name: (6.0, "ok") for name in honest}, "partial": (4.0, "ok")}
    rows = [
        ",".join(r.split(",")[:5]) for r in (tmp_path / "out" / "grades.csv").read_text().splitlines()
    ]  # the first five columns
    assert rows[1:] == [f"{name},01_fixture,6,6,ok" for name in honest] + ["partial,01_fixture,4,6,ok"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # waits out CONNECT_TIMEOUT
def test_unreachable_scheduler_is_a_clear_error_and_overwrites_nothing(tmp_path, capsys):
    from mesakit.cli import main
    from mesakit.grade.cluster import CONNECT_TIMEOUT

    _distributed()
    submitted = _copy(["honest"], tmp_path / "submitted")
    out = tmp_path / "graded"
    out.mkdir()
    (out / "grades.csv").write_text("student,lesson,score,max_score,status\nada,01_fixture,6,6,ok\n")
    before = _files(out)
    start = time.monotonic()
    code = main(
        [
            "grade",
            str(submitted),
            "--course",
            str(COURSE),
            "--out",
            str(out),
            "--scheduler",
            f"tcp://127.0.0.1:{_free_port()}",
        ]
    )
    took = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler at 'tcp://127.0.0.1:" in err and "tcp://" in err, err
    assert took < CONNECT_TIMEOUT + 30, f"gave up only after {took:.0f} s"
    assert _files(out) == before  # the previous grades.csv is untouched, no feedback written


def test_scheduler_without_distributed_installed_says_what_to_install(tmp_path, capsys, monkeypatch):
    from mesakit.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    submitted = _copy(["honest"], tmp_path / "submitted")
    assert (
        main(
            [
                "grade",
                str(submitted),
                "--course",
                str(COURSE),
                "--out",
                str(tmp_path / "o"),
                "--scheduler",
                "tcp://127.0.0.1:1",
            ]
        )
        == 2
    )
    assert "pip install 'mesakit[cluster]'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_worker_without_bubblewrap_gives_an_explicit_status(tmp_path, capsys):
    """A real worker process started with PATH=/nonexistent (so it finds no ``bwrap``): every
    submission it gets is a ``grader-error`` row saying so, and the command exits 1."""
    from mesakit.cli import main

    submitted = _copy(["honest", "partial"], tmp_path / "submitted")
    with _local_cluster(n_workers=1, env={"PATH": "/nonexistent"}) as cluster:
        code = main(
            [
                "grade",
                str(submitted),
                "--course",
                str(COURSE),
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                cluster.scheduler_address,
                "--quiet",
            ]
        )
    captured = capsys.readouterr()
    assert code == 1, captured
    assert "has no bubblewrap" in captured.err and "the grader failed on 2" in captured.out
    rows = [
        ",".join(r.split(",")[:5]) for r in (tmp_path / "out" / "grades.csv").read_text().splitlines()
    ]  # the first five columns
    assert rows[1:] == ["honest,01_fixture,0,6,grader-error", "partial,01_fixture,0,6,grader-error"]
    page = (tmp_path / "out" / "feedback" / "honest" / "01_fixture" / "01_fixture.html").read_text()
    assert (
        "the Dask worker has no bubblewrap: install it on every worker" in page and "apt-get install bubblewrap" in page
    )
