"""Lesson 03's library: finite task pools, the memorize-or-learn model, training on a pool, the
transition, the over-training trajectory, the task-diversity experiment and its shipped checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from mesakit import models
from mesakit.core import metrics, reference
from mesakit.core.tasks import RegressionTask
from mesakit.emergence import sweep
from mesakit.emergence import trajectory as emergence
from mesakit.emergence.diversity import (
    LSAWithReadout,
    LSAWithReadoutConfig,
    TaskPool,
    locate_transition,
    sample_from_pool,
    train_on_pool,
)
from mesakit.experiments import task_diversity
from mesakit.incontext import lsa
from mesakit.moved import MovedWarning


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is faster than two fighting over a shared core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- TaskPool
def test_pool_prompts_use_the_pools_tasks():
    task = RegressionTask(d=4, n_context=6)
    pool = TaskPool(task, 3, seed=5)
    assert pool.weights.shape == (3, 4) and not pool.fresh
    Z, y = pool.sample(500, torch.Generator().manual_seed(0))
    assert Z.shape == (500, 7, 5) and y.shape == (500,)
    x = torch.cat([Z[:, :-1, :-1], Z[:, -1:, :-1]], 1)
    labels = torch.cat([Z[:, :-1, -1], y[:, None]], 1)
    err = (torch.einsum("bnd,kd->bkn", x, pool.weights) - labels[:, None]).abs().amax(-1)  # (B, M)
    assert (err.amin(1) < 1e-5).all()
    counts = torch.bincount(err.argmin(1), minlength=3)
    assert counts.min() > 100  # all three tasks used, roughly uniformly


def test_pool_is_deterministic_and_seeded():
    task = RegressionTask()
    a, b, c = TaskPool(task, 4, seed=1), TaskPool(task, 4, seed=1), TaskPool(task, 4, seed=2)
    assert torch.equal(a.weights, b.weights) and not torch.equal(a.weights, c.weights)
    Za, _ = a.sample(8, torch.Generator().manual_seed(3))
    Zb, _ = b.sample(8, torch.Generator().manual_seed(3))
    assert torch.equal(Za, Zb)


def test_fresh_pool_matches_the_task():
    task = RegressionTask()
    pool = TaskPool(task, None, seed=0)
    assert pool.fresh and pool.weights is None and "fresh" in repr(pool)
    Z, y = pool.sample(16, torch.Generator().manual_seed(4))
    Z2, y2 = task.sample(16, torch.Generator().manual_seed(4))
    assert torch.equal(Z, Z2) and torch.equal(y, y2)


def test_pool_matches_the_detector_zoos_convention():
    # lesson 06's zoo draws pools as task.sample_w(size, Generator(seed)) and picks with randint
    task = RegressionTask()
    pool = TaskPool(task, 6, seed=9)
    assert torch.equal(pool.weights, task.sample_w(6, torch.Generator().manual_seed(9)))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "4"])
def test_pool_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="num_tasks"):
        TaskPool(RegressionTask(), bad)


def test_pool_rejects_bad_task_and_seed():
    with pytest.raises(TypeError, match="RegressionTask"):
        TaskPool("default", 3)
    with pytest.raises(ValueError, match="seed"):
        TaskPool(RegressionTask(), 3, seed=1.5)


def test_sample_from_pool_rejects_a_wrong_pool_shape():
    task = RegressionTask(d=4)
    with pytest.raises(ValueError, match=r"\(M, d\)"):
        sample_from_pool(torch.zeros(3, 5), task, 8, torch.Generator())
    with pytest.raises(ValueError, match=r"\(M, d\)"):
        sample_from_pool(torch.zeros(4), task, 8, torch.Generator())


# ----------------------------------------------------------------------------- the model
def test_model_shapes_paths_and_save_load(tmp_path):
    torch.manual_seed(0)
    model = LSAWithReadout(LSAWithReadoutConfig(d=4, slots=3))
    Z, _ = RegressionTask(d=4, n_context=5).sample(7, seed=0)
    out = model(Z)
    lsa, memory = model.paths(Z)
    assert out.shape == (7,) and torch.allclose(out, lsa + memory)
    path = models.save(model, tmp_path / "m.pt")
    again = models.load(path)
    assert isinstance(again, LSAWithReadout) and again.config == model.config
    assert torch.allclose(again(Z), out)


def test_model_rejects_wrong_prompts_and_config():
    model = LSAWithReadout()
    with pytest.raises(ValueError, match=r"\(B, N\+1, 11\)"):
        model(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="slots"):
        LSAWithReadoutConfig(slots=0)


def test_memory_readout_recovers_a_stored_task_exactly():
    task = RegressionTask(d=3, n_context=8)
    pool = TaskPool(task, 2, seed=0)
    model = LSAWithReadout(LSAWithReadoutConfig(d=3, slots=2, init_std=0.0))
    with torch.no_grad():
        model.memory.copy_(pool.weights)
        model.log_beta.fill_(8.0)  # a sharp readout: picks the stored task that fits the context
    Z, y = pool.sample(64, torch.Generator().manual_seed(1))
    assert metrics.loss(model(Z), y).item() < 1e-6


@pytest.mark.slow
def test_train_on_pool_is_deterministic_and_learns():
    pool = TaskPool(RegressionTask(), 1, seed=0)
    a, history = train_on_pool(pool, seed=3, steps=150, progress=False)
    b, _ = train_on_pool(pool, seed=3, steps=150, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert len(history.loss) == 150 and history.loss[-1] < 0.5 * history.loss[0]
    with pytest.raises(TypeError, match="TaskPool"):
        train_on_pool(RegressionTask(), steps=2)


def test_train_on_pool_leaves_the_global_rng_alone():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    train_on_pool(TaskPool(RegressionTask(), 2), steps=1, progress=False)
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------- the transition
@pytest.mark.parametrize(
    "loss_fresh, expected",
    [
        ([3.0, 2.0, 0.85, 0.82], 4),
        ([3.0, 0.85, 1.5, 0.82], 8),  # a dip does not count
        ([3.0, 2.0, 1.5, 1.2], None),
        ([0.8, 0.8, 0.8, 0.8], 1),
        ([3.0, 2.0, float("nan"), 0.8], 8),
    ],
)
def test_locate_transition(loss_fresh, expected):
    assert locate_transition([1, 2, 4, 8], loss_fresh, 0.8) == expected


def test_locate_transition_rejects_bad_input():
    with pytest.raises(ValueError, match="as long"):
        locate_transition([1, 2], [1.0], 0.8)
    with pytest.raises(ValueError, match="ascending"):
        locate_transition([4, 2], [1.0, 1.0], 0.8)
    with pytest.raises(ValueError, match="gd_loss"):
        locate_transition([1, 2], [1.0, 1.0], 0.0)


# ----------------------------------------------------------------------------- over training
@pytest.mark.slow
def test_training_trajectory_sees_the_optimizer_appear():
    model, history = lsa.train_lsa(seed=0, steps=900, progress=False)
    task = RegressionTask()
    Z, y = task.sample(1000, seed=2)
    gd = lambda Z: reference.gd_predict(Z, 1.0)  # noqa: E731  (direction only matters for the cosine)
    traj = emergence.training_trajectory(model, history, Z, y, gd)
    assert traj["step"] == [s for s, _ in history.snapshots] and len(traj["loss"]) == len(history.snapshots)
    assert abs(traj["in_context_gain"][0]) < 0.1 < traj["in_context_gain"][-1]
    assert traj["loss"][-1] < traj["loss"][0]
    assert traj["sensitivity_cosine"][-1] > 0.95
    step = emergence.appearance_step(traj)
    assert step is not None and traj["step"][0] < step <= traj["step"][-1]


def test_training_trajectory_needs_snapshots():
    from mesakit.core.train import History

    with pytest.raises(ValueError, match="snapshot_every"):
        emergence.training_trajectory(
            models.LinearSelfAttention(), History(), *RegressionTask().sample(4, seed=0), lambda Z: Z[:, -1, 0]
        )


def test_appearance_step():
    traj = {"step": [10, 20, 30, 40], "sensitivity_cosine": [0.1, 0.95, 0.5, 0.97]}
    assert emergence.appearance_step(traj) == 40
    assert emergence.appearance_step({"step": [1], "sensitivity_cosine": [0.2]}) is None


# ----------------------------------------------------------------------------- the experiment
def test_experiment_json_keys_and_cli(capsys, tmp_path):
    from mesakit.cli import main

    assert main(["reproduce", "task-diversity", "--steps", "3", "--json", "--save", str(tmp_path)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) == {"num_tasks", "loss_fresh", "loss_pool", "gd_loss", "transition_num_tasks", "train_seconds"}
    assert r["num_tasks"] == sorted(r["num_tasks"]) and r["num_tasks"][0] == 1
    assert r["num_tasks"][-1] == 3 * sweep.BATCH_SIZE  # the fresh run: a new task per prompt
    assert len(r["loss_fresh"]) == len(r["loss_pool"]) == len(r["num_tasks"])
    assert 0.7 < r["gd_loss"] < 0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{sweep.pretrained_name(m)}.pt" for m in sweep.NUM_TASKS
    )
    text = task_diversity.describe(r)
    assert "fresh" in text and "transition" in text


def test_shipped_checkpoints_are_a_memorizer_and_an_in_context_learner():
    names = models.pretrained_names()
    for m in sweep.NUM_TASKS:
        assert sweep.pretrained_name(m) in names
    task = RegressionTask()
    Z, y = task.sample(2000, seed=lsa.EVAL_SEED)
    lr = reference.best_gd_lr(task, seed=lsa.LR_SEED, n_prompts=2000)
    gd_loss = metrics.loss(reference.gd_predict(Z, lr), y).item()
    memorizer = models.load_pretrained(sweep.MEMORIZER)
    learner = models.load_pretrained(sweep.IN_CONTEXT_LEARNER)
    Zp, yp = sweep.pool_for(1).sample(2000, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert metrics.loss(memorizer(Zp), yp).item() <= 0.1 * gd_loss
        assert metrics.loss(memorizer(Z), y).item() >= 1.5 * gd_loss
        assert metrics.loss(learner(Z), y).item() <= 1.05 * gd_loss
    gd = lambda Z: reference.gd_predict(Z, lr)  # noqa: E731
    # the memorizer reads its context only to recognise a stored task: it does not compute like GD
    assert metrics.sensitivity_cosine(memorizer, gd, Z) < 0.6 < 0.95 < metrics.sensitivity_cosine(learner, gd, Z)
    assert metrics.in_context_gain(learner, Z, y) > 0.5


def test_pretrained_has_one_builder_per_pool_size_training_only_its_own(monkeypatch):
    assert list(sweep.PRETRAINED) == [sweep.pretrained_name(m) for m in sweep.NUM_TASKS]
    trained = []

    def fake_train(pool, **kw):  # a stand-in for the real training keeps this fast; the next test trains
        trained.append((pool.num_tasks, kw["seed"], kw["steps"], kw["batch_size"]))
        return LSAWithReadout(), None

    monkeypatch.setattr(sweep, "train_on_pool", fake_train)
    assert isinstance(sweep.PRETRAINED["diversity_m4"](), LSAWithReadout)
    assert isinstance(sweep.PRETRAINED["diversity_fresh"](), LSAWithReadout)
    assert trained == [(4, 0, sweep.STEPS, sweep.BATCH_SIZE), (None, 0, sweep.STEPS, sweep.BATCH_SIZE)]


def test_old_names_of_the_experiment_still_resolve_with_a_warning():
    with pytest.warns(MovedWarning, match="mesakit.emergence.sweep"):
        assert task_diversity.pool_for is sweep.pool_for
    with pytest.warns(MovedWarning):
        assert task_diversity.load_pretrained_sweep is sweep.load_pretrained_sweep
    with pytest.raises(AttributeError):
        task_diversity.write_pretrained  # noqa: B018


@pytest.mark.slow
def test_shipped_checkpoint_is_what_the_sweep_trains():
    model, _ = train_on_pool(sweep.pool_for(4), seed=0, steps=sweep.STEPS, batch_size=sweep.BATCH_SIZE, progress=False)
    shipped = models.load_pretrained(sweep.pretrained_name(4))
    for name, value in shipped.state_dict().items():
        assert torch.allclose(model.state_dict()[name], value, atol=1e-3), name
