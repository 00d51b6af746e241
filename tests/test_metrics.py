"""mesakit.core.metrics: loss, sensitivity and its cosine, prediction difference, in-context gain."""

from __future__ import annotations

import pytest
import torch

from mesakit.core import metrics, reference
from mesakit.core.tasks import RegressionTask


@pytest.fixture()
def data():
    return RegressionTask().sample(256, seed=0, dtype=torch.float64)


def gd(Z):
    return reference.gd_predict(Z, 1.5)


def test_loss_is_half_the_mean_squared_error():
    assert metrics.loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0])).item() == pytest.approx(0.5 * (1 + 4) / 2)
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(2, 1\)"):
        metrics.loss(torch.zeros(2), torch.zeros(2, 1))


def test_predict_checks_the_model_output(data):
    Z, _ = data
    assert metrics.predict(gd, Z).shape == (256,)
    with pytest.raises(ValueError, match=r"predictions \(B,\) = \(256,\); got \(256, 1\)"):
        metrics.predict(lambda Z: gd(Z)[:, None], Z)
    with pytest.raises(ValueError, match="got float"):
        metrics.predict(lambda Z: 0.0, Z)


def test_sensitivity_of_a_gd_step_is_its_weight_vector(data):
    Z, _ = data
    s = metrics.sensitivity(gd, Z)
    assert s.shape == (256, 10)
    assert torch.allclose(s, reference.gd_weights(Z, 1.5))
    assert not Z.requires_grad, "the caller's prompts are left alone"


def test_sensitivity_of_a_model_that_ignores_its_input_is_zero(data):
    Z, _ = data
    assert torch.all(metrics.sensitivity(lambda Z: torch.zeros(Z.shape[0], dtype=Z.dtype), Z) == 0)


def test_sensitivity_cosine(data):
    Z, _ = data
    assert metrics.sensitivity_cosine(gd, gd, Z) == pytest.approx(1.0)
    assert metrics.sensitivity_cosine(gd, lambda Z: -2 * gd(Z), Z) == pytest.approx(-1.0)
    assert metrics.sensitivity_cosine(gd, lambda Z: 3 * gd(Z), Z) == pytest.approx(1.0), "scale does not matter"


def test_prediction_diff_is_the_rms_difference(data):
    Z, _ = data
    assert metrics.prediction_diff(gd, gd, Z) == 0
    assert metrics.prediction_diff(gd, lambda Z: gd(Z) + 0.25, Z) == pytest.approx(0.25)


def test_shuffle_labels_moves_only_the_context_labels(data):
    Z, _ = data
    shuffled = metrics.shuffle_labels(Z)
    assert torch.equal(shuffled[:, :, :-1], Z[:, :, :-1]) and torch.equal(shuffled[:, -1], Z[:, -1])
    assert torch.equal(shuffled[1:, :-1, -1], Z[:-1, :-1, -1]) and torch.equal(shuffled[0, :-1, -1], Z[-1, :-1, -1])
    with pytest.raises(ValueError, match="at least 2 prompts"):
        metrics.shuffle_labels(Z[:1])


def test_in_context_gain_separates_learners_from_query_only_models(data):
    Z, y = data
    assert metrics.in_context_gain(gd, Z, y) > 0.5
    query_only = lambda Z: Z[:, -1, :-1].sum(-1)  # noqa: E731
    assert metrics.in_context_gain(query_only, Z, y) == 0


def test_metrics_refuse_bad_prompts(data):
    Z, _ = data
    bad = Z.clone()
    bad[0, 0, 0] = float("inf")
    for fn in (lambda: metrics.sensitivity(gd, bad), lambda: metrics.prediction_diff(gd, gd, bad)):
        with pytest.raises(ValueError, match="NaN or Inf"):
            fn()
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\)"):
        metrics.sensitivity(gd, Z[0])
