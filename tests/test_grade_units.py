"""The grader's pieces without a sandbox: the data-only wire, the plan (restoring locked cells,
noting tampering), the judge's proxies and the report."""

from __future__ import annotations

import copy
import json
import os
import struct
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from mesakit.grade import plan, remote, report, wire
from mesakit.grade.runner import Result, grader_error, log_grader_failure

HERE = Path(__file__).resolve().parent / "grading"
sys.path.insert(0, str(HERE))


def _roundtrip(value, keep=lambda obj: wire.Handle(id(obj), type(obj).__name__)):
    return wire.decode(wire.encode(value, keep))


def test_wire_round_trips_plain_data():
    value = {"a": [1, 2.5, None, True, "s", b"b", (3, 4j)], 7: torch.arange(6.0).reshape(2, 3), "n": np.arange(3)}
    out = _roundtrip(value)
    assert out["a"] == [1, 2.5, None, True, "s", b"b", (3, 4j)]
    assert torch.equal(out[7], value[7]) and type(out[7]) is torch.Tensor
    assert np.array_equal(out["n"], value["n"])


def test_wire_strips_tensor_subclasses_and_sends_other_objects_as_handles():
    class Liar(torch.Tensor):
        pass

    sub = torch.zeros(3).as_subclass(Liar)
    out = _roundtrip([sub, lambda: 1, float])
    assert isinstance(out[1], wire.Handle) and isinstance(out[2], wire.Handle)
    assert isinstance(out[0], wire.Handle)  # a subclass is not plain data: it stays behind
    out = _roundtrip(torch.nn.Parameter(torch.ones(2)))
    assert type(out) is torch.Tensor


def test_wire_rebuilds_mesakit_models_from_the_judges_own_classes():
    from mesakit import models

    model = models.LinearSelfAttention(models.LSAConfig(d=3))
    out = _roundtrip(model)
    assert type(out) is models.LinearSelfAttention and torch.equal(out.W_KQ, model.W_KQ)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"garbage",
        struct.pack("<Q", 5) + b"nojso",
        struct.pack("<Q", 17) + b'{"pickle": "x"}  ',
        struct.pack("<Q", 38) + b'{"tensor": ["object", [1], 0]}        ',
        struct.pack("<Q", 30) + b'{"mesakit_dataclass": ["os", "system", {"dict": []}]}'[:30],
    ],
)
def test_wire_rejects_malformed_frames(frame):
    with pytest.raises(wire.WireError):
        wire.decode(frame)


def test_wire_refuses_classes_outside_mesakit():
    tree = json.dumps({"mesakit_dataclass": ["subprocess", "Popen", {"dict": []}]}).encode()
    with pytest.raises(wire.WireError, match="refusing"):
        wire.decode(struct.pack("<Q", len(tree)) + tree)


def test_remote_refuses_protocol_dunders():
    proxy = remote.Remote(remote.Link(-1, -1), wire.Handle(1, "function"))
    with pytest.raises(AttributeError):
        proxy.__array_interface__  # noqa: B018
    with pytest.raises(AttributeError):
        proxy.x = 1


def test_functions_of_the_judge_travel_by_value():
    import pickle

    scale = 3.0
    fn = lambda z: torch.as_tensor(z) * scale  # noqa: E731 — a check's local lambda
    buf = __import__("io").BytesIO()
    remote._Pickler(buf).dump(fn)
    again = pickle.loads(buf.getvalue())
    assert torch.equal(again(torch.ones(2)), torch.full((2,), 3.0))


def _fixture():
    source = nbformat.read(HERE / "course" / "solutions" / "01_fixture" / "01_fixture.ipynb", as_version=4)
    release = nbformat.read(HERE / "course" / "lessons" / "01_fixture" / "01_fixture.ipynb", as_version=4)
    return source, release


def test_a_grader_failure_is_one_row_with_the_maximum_kept_and_a_logged_traceback(capsys):
    source, _ = _fixture()
    try:
        raise KeyError("boom")
    except KeyError as err:
        note = log_grader_failure("ann", "01_fixture", err)
    err_text = capsys.readouterr().err
    assert "the grader failed on ann/01_fixture" in err_text and "KeyError: 'boom'" in err_text
    assert note == "the grader failed on this submission (KeyError); please report it"
    row = grader_error("ann", "01_fixture", source, "01_fixture", note)
    assert (row.score, row.max_score, row.status, row.notes, row.notebook) == (
        0.0,
        6.0,
        "grader-error",
        [note],
        "01_fixture",
    )


def test_plan_of_the_release_runs_the_source_tests_and_notes_nothing():
    source, release = _fixture()
    p = plan.make_plan(source, release, release)
    graded = [c for c in p.cells if c["kind"] == "graded"]
    assert [c["grade_id"] for c in graded] == ["test_scale", "test_mean_square", "test_affine"]
    assert all("BEGIN HIDDEN TESTS" in c["source"] for c in graded)
    assert p.notes == [] and sum(points for _, points in p.graded) == plan.max_score(source) == 6.0
    assert set(p.answer_names) == {"scale", "mean_square", "Affine"}


def test_plan_puts_back_deleted_tests_and_restores_edited_ones():
    source, release = _fixture()
    nb = copy.deepcopy(release)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_scale"]
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test_affine":
            c.source = "pass"
            c.metadata["nbgrader"]["points"] = 99.0
    p = plan.make_plan(source, release, nb)
    ids = [c.get("grade_id") for c in p.cells]
    assert ids.index("test_scale") == ids.index("scale") + 1  # back after its exercise
    affine = next(c for c in p.cells if c.get("grade_id") == "test_affine")
    assert affine["points"] == 1.0 and "BEGIN HIDDEN" in affine["source"]
    assert any("missing" in n for n in p.notes) and any("edited" in n for n in p.notes)


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"{", "not notebook JSON"),
        (b'{"nbformat": 3}', "nbformat 4"),
        (b"\xff\xfe", "not notebook JSON"),
    ],
)
def test_unreadable_submissions_say_why(tmp_path, content, words):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(plan.InvalidNotebook, match=words):
        plan.read_submission(path)


def test_report_escapes_everything_and_hides_hidden_output(tmp_path):
    cells = [
        {
            "grade_id": "t1",
            "points": 2,
            "score": 0.0,
            "where": "hidden",
            "error": "<script>x</script>",
            "output": "HIDDEN OUT",
        },
        {"grade_id": "t2", "points": 1, "score": 1.0, "where": None, "error": None, "output": "✔ ok"},
    ]
    r = Result("eve<b>", "01_fixture", 1.0, 3.0, "tampered", cells, ["cell 'x' was edited"])
    html = report.render(r)
    assert "<script>" not in html and "&lt;script&gt;" in html and "HIDDEN OUT" not in html
    assert "hidden test" in html and "✔ ok" in html
    report.write_csv([r], tmp_path / "g.csv")
    assert (tmp_path / "g.csv").read_text() == (
        "student,lesson,score,max_score,status,notebook,timestamp,late,seconds_late,"
        "late_penalty,manual\neve<b>,01_fixture,1,3,tampered,01_fixture,,,0,0,0\n"
    )


# ------------------------------------------------------------------ issue 12: hardening, unit level
def nest(path, depth: int) -> None:
    """``path/d/d/.../d`` ``depth`` deep, with a file at the bottom (no recursion, no long paths)."""
    path.mkdir()
    fd = os.open(path, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    os.close(fd)


def test_csv_neutralises_formulas(tmp_path):
    rows = [
        Result(name, "01_fixture", 1.0, 3.0, "ok") for name in ("=cmd()", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ada")
    ]
    report.write_csv(rows, tmp_path / "g.csv")
    import csv

    with open(tmp_path / "g.csv", newline="") as f:
        students = [r["student"] for r in csv.DictReader(f)]
    assert sorted(students) == sorted(["'=cmd()", "'+1", "'-1", "'@SUM(A1)", "'\tx", "' x", "ada"])


def test_plan_puts_a_moved_locked_cell_back_in_its_place_and_notes_it():
    source, release = _fixture()
    nb = copy.deepcopy(release)
    setup = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup"]
    nb.cells = [c for c in nb.cells if c not in setup] + setup  # after the last graded cell
    p = plan.make_plan(source, release, nb)
    ids = [c.get("grade_id") for c in p.cells if c["kind"] != "student"]
    assert ids.index("setup") < ids.index("test_scale")
    assert any("moved" in n for n in p.notes)
    assert [c["order"] for c in p.cells if c["kind"] != "student"] == sorted(
        c["order"] for c in p.cells if c["kind"] != "student"
    )
    honest = plan.make_plan(source, release, release)
    assert honest.notes == []


def test_reader_refuses_deep_nesting_and_links(tmp_path):
    source, release = _fixture()
    text = nbformat.writes(release).replace(
        '"metadata": {', '"metadata": {"deep": ' + "[" * 100_000 + "]" * 100_000 + ", ", 1
    )
    path = tmp_path / "s" / "l" / "l.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(plan.InvalidNotebook, match="nested"):
        plan.read_submission(path)
    path.write_text(nbformat.writes(release))
    assert plan.read_submission(path).cells  # the honest file reads
    (tmp_path / "t").symlink_to(tmp_path / "s")
    with pytest.raises(plan.InvalidNotebook, match="student folder is a symbolic link"):
        plan.read_submission(tmp_path / "t" / "l" / "l.ipynb")


def test_submissions_behind_links_are_listed_never_followed(tmp_path):
    from mesakit.grade.runner import find_submissions

    (tmp_path / "real" / "01").mkdir(parents=True)
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "01").symlink_to(tmp_path / "real" / "01")
    found = {s: p for s, _, p in find_submissions(tmp_path, ["01"])}
    assert set(found) == {"real", "linked", "half"}
    assert plan.linked(found["linked"]) == "student folder" and plan.linked(found["half"]) == "lesson folder"
    assert plan.linked(found["real"]) is None


def test_hidden_parts_run_apart_and_never_speak():
    from mesakit.grade import judge

    code = "a = 1\nprint('visible')\n### BEGIN HIDDEN TESTS\nb = 2\nprint('secret')\n### END HIDDEN TESTS\nc = 3"
    parts = judge.segments(code, plan._hidden_range(code))
    assert [h for h, _ in parts] == [False, True, False]
    assert "secret" in parts[1][1] and "secret" not in parts[0][1] + parts[2][1]
    assert parts[1][1].count("\n") >= 3  # line numbers kept
    err = ValueError("hidden input 0.333")
    assert "0.333" not in judge._message(err, True) and "0.333" in judge._message(err, False)
    student = remote._rebuild(["ValueError", "inputs 0.333", False])
    assert type(student) is ValueError and "0.333" not in str(student)
    assert judge._message(student, False) == "your code raised ValueError"
    other = remote._rebuild(["Weird<script>Error", "x", False])
    assert "<" not in judge._message(other, False)
    proxy = remote.Remote(remote.Link(-1, -1), wire.Handle(1, "Secret 0.333 <b>"))
    assert "0.333" not in repr(proxy) and "<b>" not in repr(proxy)


def test_functions_of_graded_cells_are_lent_as_callbacks_without_their_code():
    import io
    import pickle

    from mesakit.grade import worker

    ns: dict = {}
    exec(compile("secret = lambda z: z * 41.5", remote.CELL_FILE, "exec"), ns)
    link = remote.Link(-1, -1)
    buf = io.BytesIO()
    remote._Pickler(buf, link).dump(ns["secret"])
    payload = buf.getvalue()
    assert b"41.5" not in payload and ns["secret"].__code__.co_code not in payload
    lent = pickle.loads(payload)  # resolves mesakit.grade.worker.judge_function, as the worker does
    assert type(lent) is worker._JudgeFunction and repr(lent) == "<a function of the grader's tests>"
    assert link.callbacks[id(ns["secret"])] is ns["secret"]
    # the backward pass of a callback runs here too
    grads = remote._vjp(ns["secret"], [torch.ones(3)], {}, torch.ones(3))
    assert torch.equal(grads[0], torch.full((3,), 41.5))


def test_wire_checks_sizes_before_allocating():
    tree = json.dumps({"tensor": ["float64", [10**6, 10**6], 0]}).encode()
    with pytest.raises(wire.WireError, match="came with"):
        wire.decode(struct.pack("<Q", len(tree)) + tree + struct.pack("<Q", 8) + b"\0" * 8)
    huge = {"mesakit_model": ["LinearSelfAttention", {"dict": [[{"str": "d"}, {"int": "60000"}]]}, {"dict": []}, True]}
    tree = json.dumps(huge).encode()
    assert len(tree) < 300
    with pytest.raises(wire.WireError, match="do not match"):
        wire.decode(struct.pack("<Q", len(tree)) + tree)


def test_remove_tree_handles_deep_folders(tmp_path):
    from mesakit.grade import sandbox

    path = tmp_path / "top"
    nest(path, 1500)
    assert sandbox.remove_tree(path) and not path.exists()
    copied = sandbox.prepare_workdir(tmp_path, tmp_path.parent / (tmp_path.name + "-copy"))
    assert copied.is_dir()
    sandbox.remove_tree(copied)


def test_without_cgroups_the_box_does_nothing_and_says_so(monkeypatch):
    from mesakit.grade import cgroups

    monkeypatch.setenv(cgroups.ENV, "none")
    batch = cgroups.Batch.open()
    box = batch.box("0", 2**30, 64)
    assert batch.kind == box.kind == "none" and box.cpu_seconds() is None and not box.oom("worker")
    box.join("worker")()  # a no-op
    box.close()
    batch.close()


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_cgroups_count_a_process_trees_cpu_and_clean_up(kind):
    import subprocess

    from mesakit.grade import cgroups

    batch = cgroups.Batch.open(kind)
    if batch.kind == "none":
        pytest.skip(f"cgroup {kind} is not writable here")
    box = batch.box("0", 256 * 2**20, 16)
    try:
        spin = "import os\nfor _ in range(2):\n    os.fork()\nt = 0\nfor i in range(1_000_000):\n    t += i\n"
        subprocess.run([sys.executable, "-c", spin], preexec_fn=box.join("worker"), check=True)
        assert box.cpu_seconds() > 0.05  # the forked children's time is counted too
        bomb = "x = bytearray(512 * 2**20)\nx[::4096] = b'y' * len(x[::4096])"
        assert subprocess.run([sys.executable, "-c", bomb], preexec_fn=box.join("worker")).returncode != 0
        assert box.oom("worker") and not box.oom("judge")
    finally:
        box.close()
        batch.close()
    assert not any(root.exists() for root in batch.roots.values())


@pytest.mark.slow  # starts the grading worker and judge processes
def test_a_hidden_tests_lambda_runs_in_the_judge_and_autograd_goes_through_it():
    """Worker and judge as plain processes (no sandbox): the student's sensitivity differentiates
    through a hidden test's lambda that never leaves the judge."""
    import subprocess

    student = (
        "import torch\n_seen = []\n"
        "def sensitivity(model, Z):\n    _seen.append(repr(model))\n    Z = Z.detach().clone().requires_grad_(True)\n"
        "    (g,) = torch.autograd.grad(model(Z).sum(), Z)\n    return g[:, -1, :-1]\n"
    )
    test = (
        "x = 1\n### BEGIN HIDDEN TESTS\nZ = torch.randn(2, 4, 3, dtype=torch.float64)\n"
        "assert torch.allclose(sensitivity(lambda Z: reference.gd_predict(Z, 0.9), Z), reference.gd_weights(Z, 0.9))\n"
        "### END HIDDEN TESTS"
    )
    plan_ = {
        "answer_names": ["sensitivity"],
        "cells": [
            {
                "kind": "locked",
                "source": "import torch\nfrom mesakit import reference",
                "grade_id": "setup",
                "order": 0,
            },
            {"kind": "student", "source": student, "grade_id": None},
            {
                "kind": "graded",
                "source": test,
                "grade_id": "t",
                "points": 1.0,
                "hidden": [2, 5],
                "visible_source": "x = 1",
                "order": 1,
            },
        ],
    }
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    e_r, e_w = os.pipe()
    worker = subprocess.Popen([sys.executable, "-m", "mesakit.grade.worker", str(a_r), str(b_w)], pass_fds=(a_r, b_w))
    judge = subprocess.Popen(
        [sys.executable, "-m", "mesakit.grade.judge", str(e_w), str(a_w), str(b_r)],
        pass_fds=(e_w, a_w, b_r),
        stdin=subprocess.PIPE,
    )
    for fd in (a_r, a_w, b_r, b_w, e_w):
        os.close(fd)
    judge.communicate(json.dumps(plan_).encode(), timeout=300)
    worker.kill()
    worker.wait()
    with os.fdopen(e_r) as f:
        events = [json.loads(line) for line in f]
    assert events[0]["score"] == 1.0, events
