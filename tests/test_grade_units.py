"""The grader's pieces without a sandbox: the data-only wire, the plan (restoring locked cells,
noting tampering), the judge's proxies and the report."""

from __future__ import annotations

import copy
import json
import struct
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from mesakit.grade import plan, remote, report, wire
from mesakit.grade.runner import Result

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
        proxy.__array_interface__
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


def test_plan_of_the_release_runs_the_source_tests_and_notes_nothing():
    source, release = _fixture()
    p = plan.make_plan(source, release, release)
    graded = [c for c in p.cells if c["kind"] == "graded"]
    assert [c["grade_id"] for c in graded] == ["test_scale", "test_mean_square", "test_affine"]
    assert all("BEGIN HIDDEN TESTS" in c["source"] for c in graded)
    assert p.notes == [] and p.max_score == 6.0
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
    [(b"", "empty"), (b"{", "not notebook JSON"), (b'{"nbformat": 3}', "nbformat 4"), (b"\xff\xfe", "not notebook JSON")],
)
def test_unreadable_submissions_say_why(tmp_path, content, words):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(plan.InvalidNotebook, match=words):
        plan.read_submission(path)


def test_report_escapes_everything_and_hides_hidden_output(tmp_path):
    cells = [
        {"grade_id": "t1", "points": 2, "score": 0.0, "where": "hidden", "error": "<script>x</script>", "output": "HIDDEN OUT"},
        {"grade_id": "t2", "points": 1, "score": 1.0, "where": None, "error": None, "output": "✔ ok"},
    ]
    r = Result("eve<b>", "01_fixture", 1.0, 3.0, "tampered", cells, ["cell 'x' was edited"])
    html = report.render(r)
    assert "<script>" not in html and "&lt;script&gt;" in html and "HIDDEN OUT" not in html
    assert "hidden test" in html and "✔ ok" in html
    report.write_csv([r], tmp_path / "g.csv")
    assert (tmp_path / "g.csv").read_text() == "student,lesson,score,max_score,status\neve<b>,01_fixture,1,3,tampered\n"
