"""mesakit.core.train: the one training loop (the base optimizer of every lesson)."""

from __future__ import annotations

import pytest
import torch

from mesakit import models
from mesakit.core import metrics
from mesakit.core.tasks import RegressionTask
from mesakit.core.train import History, TrainConfig, train

TASK = RegressionTask(d=3, n_context=8)


def _model(seed: int = 0) -> models.LinearSelfAttention:
    torch.manual_seed(seed)
    return models.LinearSelfAttention(models.LSAConfig(d=3))


def _config(**kwargs) -> TrainConfig:
    return TrainConfig(**{"steps": 60, "batch_size": 64, "lr": 1e-2, "progress": False, **kwargs})


def test_training_lowers_the_loss_and_returns_a_history():
    model = _model()
    Z, y = TASK.sample(2000, seed=123)
    with torch.no_grad():
        before = metrics.loss(model(Z), y).item()
    history = train(model, TASK.sample, _config(steps=150))
    with torch.no_grad():
        after = metrics.loss(model(Z), y).item()
    assert isinstance(history, History) and len(history.loss) == 150 and history.steps[-1] == 150
    assert after < 0.8 * before
    assert history.seconds > 0 and not model.training


def test_same_seed_same_run_and_seeds_differ():
    a, b, c = _model(), _model(), _model()
    ha, hb = train(a, TASK.sample, _config(seed=3)), train(b, TASK.sample, _config(seed=3))
    hc = train(c, TASK.sample, _config(seed=4))
    assert ha.loss == hb.loss and torch.equal(a.W_KQ, b.W_KQ)
    assert ha.loss != hc.loss


def test_snapshots_are_independent_copies_at_the_right_steps():
    model = _model()
    history = train(model, TASK.sample, _config(steps=50, snapshot_every=20))
    assert [step for step, _ in history.snapshots] == [20, 40]
    first, second = history.snapshots[0][1], history.snapshots[1][1]
    assert not torch.equal(first["W_KQ"], second["W_KQ"]), "a snapshot must not alias the live weights"
    assert not torch.equal(second["W_KQ"], model.W_KQ.detach()), "training went on after the last snapshot"


def test_no_snapshots_by_default():
    assert train(_model(), TASK.sample, _config(steps=5)).snapshots == []


def test_custom_forward_and_loss_are_used():
    calls = {"forward": 0, "loss": 0}

    def forward(model, Z, generator):
        calls["forward"] += 1
        return model(Z, iterations=int(torch.randint(1, 3, (1,), generator=generator)))

    def loss_fn(pred, target):
        calls["loss"] += 1
        return ((pred - target) ** 2).mean()

    train(_model(), TASK.sample, _config(steps=7), loss_fn=loss_fn, forward=forward)
    assert calls == {"forward": 7, "loss": 7}


def test_sgd_and_gradient_clipping_run():
    history = train(_model(), TASK.sample, _config(steps=20, optimizer="sgd", lr=0.1, grad_clip=1.0))
    assert len(history.loss) == 20


def test_divergence_stops_with_a_fix_it_message():
    with pytest.raises(FloatingPointError, match="diverged at step .* lower the learning rate"):
        train(_model(), TASK.sample, _config(steps=200, optimizer="sgd", lr=1e6))


def test_a_model_without_trainable_parameters_is_refused():
    frozen = _model()
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(frozen, TASK.sample, _config())


def test_progress_bar_only_when_asked(capsys):
    train(_model(), TASK.sample, _config(steps=3))
    assert capsys.readouterr().err == ""
    train(_model(), TASK.sample, _config(steps=3, progress=True))
    assert "training" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": 0}, "steps and batch_size"),
        ({"batch_size": 0}, "steps and batch_size"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"snapshot_every": -1}, "snapshot_every"),
        ({"grad_clip": -1.0}, "grad_clip"),
    ],
)
def test_bad_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)
