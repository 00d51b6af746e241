"""mesakit.detection.zoo: the labelled zoo (entries, halves, prompts, shipped checkpoints) and its model classes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from mesakit import detect, models
from mesakit.core import metrics, reference
from mesakit.core.seeding import seeded
from mesakit.core.tasks import RegressionTask
from mesakit.detection import builders, zoo


def test_entries_are_labelled_and_split():
    names = [e.name for e in zoo.ZOO]
    assert len(names) == len(set(names))
    for half in ("design", "holdout"):
        part = zoo.entries(half)
        assert any(e.positive for e in part) and any(not e.positive for e in part)
    assert len(zoo.entries()) == len(zoo.ZOO)
    assert all(e.half in ("design", "holdout") for e in zoo.ZOO)
    families = {e.family for e in zoo.entries(positive=False)}
    assert {
        "random weights",
        "query-only MLP",
        "fit to one fixed task",
        "memorizer",
        "context-using non-optimizer",
    } <= families
    assert set(builders.BUILDERS) == set(names)


def test_halves_are_split_by_family():
    design = {e.family for e in zoo.entries("design")}
    holdout = {e.family for e in zoo.entries("holdout")}
    assert not design & holdout, f"families in both halves: {design & holdout}"
    assert {
        "softmax transformer",
        "exact least squares / ridge",
        "conjugate gradient / Newton",
        "fixed-context-length model",
    } <= holdout
    transformers = [e for e in zoo.ZOO if e.family == "softmax transformer"]
    assert {e.positive for e in transformers} == {True, False}  # negatives of the same architecture too


def test_shipped_transformers_learn_in_context_better_than_one_gd_step():
    Z, y = RegressionTask().sample(2048, seed=21)
    gd = metrics.loss(reference.gd_predict(Z, reference.best_gd_lr()), y).item()
    for name in ("transformer_1layer", "transformer_2layer", "transformer_4layer", "transformer_fixed_length"):
        with torch.no_grad():
            loss = metrics.loss(zoo.load(name)(Z), y).item()
        assert loss < (1.02 if name == "transformer_1layer" else 0.9) * gd, (name, loss, gd)
    with torch.no_grad():  # the memorizer and the fixed-task model do not: on fresh tasks they are worse than GD
        for name in ("transformer_memorizer", "transformer_fixed_task", "transformer_untrained"):
            assert metrics.loss(zoo.load(name)(Z), y).item() > 1.2 * gd


def test_flat_mlp_accepts_only_its_context_length():
    model = zoo.FlatMLP(zoo.FlatMLPConfig(d=3, n_context=4))
    assert model(RegressionTask(d=3, n_context=4).sample(5, seed=0)[0]).shape == (5,)
    with pytest.raises(ValueError, match="exactly N = 4"):
        model(RegressionTask(d=3, n_context=6).sample(5, seed=0)[0])
    with pytest.raises(ValueError, match="n_context"):
        zoo.FlatMLPConfig(n_context=0)


def test_bad_lookups():
    with pytest.raises(KeyError, match="no zoo model 'nope'"):
        zoo.entry("nope")
    with pytest.raises(ValueError, match="half must be"):
        zoo.entries("train")


def test_prompts_follow_each_entrys_task():
    fixed = zoo.entry("lsa_fixed_task")
    Z, y = fixed.prompts(32, seed=0)
    assert Z.shape == (32, 11, 11)
    w = torch.linalg.lstsq(Z[:, :-1, :-1], Z[:, :-1, -1:]).solution[..., 0]
    assert torch.allclose(w, zoo.fixed_task(fixed.task, 7).expand(32, -1), atol=1e-2)
    pool = zoo.entry("memorizer_m2")
    Z, _ = pool.prompts(64, seed=0)
    w = torch.linalg.lstsq(Z[:, :-1, :-1], Z[:, :-1, -1:]).solution[..., 0]
    tasks = zoo.task_pool(pool.task, *pool.pool)
    assert torch.cdist(w, tasks).min(1).values.max() < 1e-2
    small = zoo.entry("lsa_small_task")
    assert small.prompts(8, seed=1)[0].shape == (8, 21, 6)
    a, b = small.prompts(8, seed=1), small.prompts(8, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("entry", zoo.ZOO, ids=[e.name for e in zoo.ZOO])
def test_shipped_checkpoint_honours_the_contract(entry):
    model = zoo.load(entry.name)
    assert isinstance(model, torch.nn.Module) and not model.training
    Z, _ = entry.prompts(16, seed=5)
    with torch.no_grad():
        out = model(Z)
    assert out.shape == (16,) and torch.isfinite(out).all()


@pytest.mark.parametrize(
    "model",
    [
        zoo.NearestNeighbour(zoo.NearestNeighbourConfig(k=3)),
        zoo.LabelAverage(),
        zoo.QueryMLP(zoo.MLPConfig(d=4)),
        zoo.SetMLP(zoo.MLPConfig(d=4)),
        zoo.KernelSmoother(),
    ],
)
def test_zoo_classes_shapes_any_n_and_round_trip(model, tmp_path):
    for n in (1, 5, 12):
        Z, _ = RegressionTask(d=4, n_context=n).sample(6, seed=n)
        assert model(Z).shape == (6,)
    path = models.save(model, tmp_path / "m.pt")
    again = models.load(path)
    Z, _ = RegressionTask(d=4, n_context=5).sample(6, seed=0)
    assert torch.allclose(again(Z), model(Z))


def test_zoo_classes_reject_bad_input():
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\)"):
        zoo.NearestNeighbour()(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"\(B, N\+1, 5\)"):
        zoo.QueryMLP(zoo.MLPConfig(d=4))(torch.zeros(3, 4, 3))
    for bad in (
        lambda: zoo.NearestNeighbourConfig(k=0),
        lambda: zoo.LabelAverageConfig(window=-1),
        lambda: zoo.KernelConfig(bandwidth=0.0),
        lambda: zoo.MLPConfig(hidden=0),
    ):
        with pytest.raises(ValueError):
            bad()


def test_nearest_neighbour_and_averages_compute_what_they_say():
    x = torch.tensor([[[0.0], [1.0], [5.0]]])
    y = torch.tensor([[10.0, 20.0, 30.0]])
    Z = torch.cat([torch.cat([x, y[..., None]], -1), torch.tensor([[[0.9, 0.0]]])], 1)
    assert zoo.NearestNeighbour()(Z).item() == 20.0
    assert zoo.NearestNeighbour(zoo.NearestNeighbourConfig(k=2))(Z).item() == 15.0
    assert zoo.LabelAverage()(Z).item() == 20.0
    assert zoo.LabelAverage(zoo.LabelAverageConfig(window=1))(Z).item() == 30.0
    assert zoo.KernelSmoother(zoo.KernelConfig(bandwidth=0.01))(Z).item() == pytest.approx(20.0)
    assert zoo.KernelSmoother(zoo.KernelConfig(bandwidth=1e4))(Z).item() == pytest.approx(20.0, abs=1e-3)


def test_summary_of_rows():
    rows = [
        {
            "name": "a",
            "half": "design",
            "positive": True,
            "score": 0.9,
            "detected": True,
            "signals": {"s": 0.8},
            "seconds": 0.1,
        },
        {
            "name": "b",
            "half": "design",
            "positive": False,
            "score": 0.6,
            "detected": True,
            "signals": {"s": 0.9},
            "seconds": 0.1,
        },
        {
            "name": "c",
            "half": "holdout",
            "positive": False,
            "score": 0.1,
            "detected": False,
            "signals": {"s": 0.1},
            "seconds": 0.1,
        },
    ]
    out = builders.summarise(rows)
    assert out == {"auroc": 1.0, "accuracy": pytest.approx(2 / 3), "per_signal_auroc": {"s": 0.5}}
    rows[2]["signals"] = {}  # a signal one model could not measure is scored on the others
    rows.append(
        {
            "name": "d",
            "half": "holdout",
            "positive": True,
            "score": 0.7,
            "detected": True,
            "signals": {"s": 0.95},
            "seconds": 0.1,
        }
    )
    assert builders.summarise(rows)["per_signal_auroc"] == {"s": 0.5}
    fam = builders.per_family([{**r, "family": "f" if r["name"] in "ab" else "g"} for r in rows])
    assert fam["f"] == {
        "half": "design",
        "n_mesa": 1,
        "n_other": 1,
        "min_mesa_score": 0.9,
        "max_other_score": 0.6,
        "accuracy": 0.5,
    }


@pytest.mark.slow
def test_reproduce_detector_json_on_the_shipped_zoo():
    done = subprocess.run(
        [sys.executable, "-m", "mesakit.cli", "reproduce", "detector", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert {"auroc", "holdout_auroc", "per_family", "accuracy", "per_signal_auroc", "seconds_per_model"} <= set(result)
    assert set(result["per_signal_auroc"]) == set(detect.IN_CONTEXT_SIGNALS)
    assert len(result["models"]) == len(zoo.ZOO)
    assert set(result["per_family"]) == {e.family for e in zoo.ZOO}
    assert result["holdout_auroc"] >= 0.95 and result["accuracy"] >= 0.9
    assert result["design"]["auroc"] >= 0.98


@pytest.mark.parametrize(
    "name",
    ["gd_construction", "set_mlp_random", "lsa_random_large", "nearest_neighbour_3", "newton", "flat_mlp_random"],
)
def test_shipped_checkpoints_are_reproducible(name, tmp_path):
    with seeded(0, threads=1):  # as tools/pretrained.py builds them
        rebuilt = builders.PRETRAINED[f"zoo_{name}"]()
    path = models.save(rebuilt, tmp_path / f"zoo_{name}.pt")
    rebuilt, shipped = models.load(path), zoo.load(name)
    assert type(rebuilt) is type(shipped) and rebuilt.config == shipped.config
    a, b = rebuilt.state_dict(), shipped.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
