"""mesakit.inner.handbuilt: least-squares GD from scratch, the hand-built mesa optimizer, and SGD tuning its
inner step size."""

from __future__ import annotations

import pytest
import torch

from mesakit import models
from mesakit.core import metrics, reference
from mesakit.core.tasks import RegressionTask, split_prompt
from mesakit.inner import handbuilt
from mesakit.inner.handbuilt import HandBuiltConfig, HandBuiltMesaOptimizer


def _problem(B=3, N=12, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, N, d, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.randn(B, N, generator=g, dtype=torch.float64)
    return x, y


# ---------------------------------------------------------------- least squares from scratch


def test_gradient_matches_autograd():
    x, y = _problem()
    w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    handbuilt.least_squares_loss(w, x, y).sum().backward()
    assert torch.allclose(handbuilt.least_squares_gradient(w.detach(), x, y), w.grad)


def test_gradient_descent_agrees_with_reference_gd_weights():
    Z, _ = RegressionTask(d=4, n_context=7).sample(5, seed=2, dtype=torch.float64)
    x, y, _ = split_prompt(Z)
    for steps in (0, 1, 4):
        assert torch.allclose(handbuilt.gradient_descent(x, y, 0.6, steps), reference.gd_weights(Z, 0.6, steps))


def test_gradient_descent_lowers_the_loss_and_reaches_least_squares():
    x, y = _problem(N=30, d=3)
    losses = [handbuilt.least_squares_loss(handbuilt.gradient_descent(x, y, 1.0, k), x, y) for k in range(6)]
    assert all((a > b).all() for a, b in zip(losses, losses[1:]))
    w_ls = torch.linalg.lstsq(x, y.unsqueeze(-1)).solution.squeeze(-1)
    assert torch.allclose(handbuilt.gradient_descent(x, y, 1.0, 600), w_ls, atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x, y: handbuilt.least_squares_gradient(torch.zeros(3, 5), x, y), r"w must have shape \(B, d\)"),
        (lambda x, y: handbuilt.least_squares_loss(torch.zeros(3, 4), x, y[:, :-1]), r"y must have shape \(B, N\)"),
        (lambda x, y: handbuilt.gradient_descent(x[0], y[0], 0.1, 2), r"x must be a tensor of shape \(B, N, d\)"),
        (lambda x, y: handbuilt.gradient_descent(x, y, 0.1, -1), "steps must be >= 0"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    x, y = _problem()
    with pytest.raises(ValueError, match=message):
        call(x, y)


# ---------------------------------------------------------------- the hand-built mesa optimizer


def test_model_is_k_gd_steps_on_the_context():
    Z, _ = RegressionTask().sample(16, seed=0, dtype=torch.float64)
    model = HandBuiltMesaOptimizer(HandBuiltConfig(steps=3, init_lr=0.7)).double()
    out = model(Z)
    assert out.shape == (16,)
    assert torch.allclose(out, reference.gd_predict(Z, 0.7, 3))
    assert torch.allclose(model(Z, steps=0), torch.zeros(16, dtype=torch.float64))


def test_model_ignores_the_query_label_slot_and_works_for_any_n():
    Z, _ = RegressionTask(d=3, n_context=25).sample(4, seed=1)
    model = HandBuiltMesaOptimizer(HandBuiltConfig(d=3, steps=2, init_lr=0.5))
    poked = Z.clone()
    poked[:, -1, -1] = 100.0  # whatever sits in the placeholder must not matter
    assert torch.allclose(model(Z), model(poked))


def test_more_inner_steps_lower_the_query_loss():
    Z, y = RegressionTask().sample(2000, seed=3)
    losses = [
        metrics.loss(HandBuiltMesaOptimizer(HandBuiltConfig(steps=K, init_lr=0.5))(Z), y).item() for K in (0, 1, 2, 5)
    ]
    assert abs(losses[0] - 1.67) < 0.1  # predicting 0 (COURSE.md's reference figure)
    assert losses == sorted(losses, reverse=True)


def test_step_size_is_the_only_parameter_and_gets_a_gradient():
    model = HandBuiltMesaOptimizer(HandBuiltConfig(steps=2))
    assert [name for name, _ in model.named_parameters()] == ["lr"]
    Z, y = RegressionTask().sample(32, seed=0)
    metrics.loss(model(Z), y).backward()
    assert model.lr.grad is not None and model.lr.grad.abs() > 0


def test_model_round_trips_through_save_and_load(tmp_path):
    model = HandBuiltMesaOptimizer(HandBuiltConfig(d=5, steps=4, init_lr=1.25))
    path = models.save(model, tmp_path / "handbuilt.pt")
    assert torch.load(path, weights_only=True)["module"] == "mesakit.inner.handbuilt"
    loaded = models.load(path)
    assert isinstance(loaded, HandBuiltMesaOptimizer) and loaded.config == model.config
    assert loaded.lr.item() == pytest.approx(1.25)


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(d=0), "d must be >= 1"), (dict(steps=-1), "steps"), (dict(init_lr=float("nan")), "init_lr")],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HandBuiltConfig(**kwargs)


def test_model_rejects_prompts_of_the_wrong_dimension():
    Z, _ = RegressionTask(d=4).sample(2, seed=0)
    with pytest.raises(ValueError, match=r"\(B, N\+1, 11\)"):
        HandBuiltMesaOptimizer()(Z)


# ---------------------------------------------------------------- learning the step size


def test_learn_step_size_is_deterministic_and_returns_the_trajectory():
    model, traj = handbuilt.learn_step_size(K=1, steps=20, seed=4)
    _, again = handbuilt.learn_step_size(K=1, steps=20, seed=4)
    assert traj == again
    assert len(traj) == 21 and traj[0] == 0.1
    assert model.lr.item() == pytest.approx(traj[-1])
    assert traj[-1] > traj[0]  # from 0.1 the query loss pulls the step size up


@pytest.mark.slow
def test_learned_step_size_approaches_the_line_searched_best():
    _, traj = handbuilt.learn_step_size(K=1, steps=200, seed=0)
    learned = sum(traj[-50:]) / 50
    best = handbuilt.best_step_size(1)
    assert abs(learned - best) < 0.03 * best


def test_best_step_size_is_cached_line_search():
    first = handbuilt.best_step_size(1, n_prompts=500)
    assert handbuilt.best_step_size(1, n_prompts=500) == first
    assert first == pytest.approx(reference.best_gd_lr(steps=1, n_prompts=500))


# ---------------------------------------------------------------- what the plots show


def test_inner_run_shapes_and_first_step():
    Z, _ = RegressionTask().sample(3, seed=0, dtype=torch.float64)
    losses, preds = handbuilt.inner_run(Z, 0.5, 4)
    assert losses.shape == (5, 3) and preds.shape == (5, 3)
    assert torch.allclose(preds[0], torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(preds[-1], reference.gd_predict(Z, 0.5, 4))
    assert (losses[1:] < losses[:-1]).all()  # a small step size always lowers the inner loss
    with pytest.raises(ValueError, match="K must be >= 0"):
        handbuilt.inner_run(Z, 0.5, -1)


def test_objective_curves_have_different_minima():
    Z, y = RegressionTask().sample(2000, seed=5, dtype=torch.float64)
    lrs = torch.linspace(0.5, 2.0, 31)
    query = handbuilt.query_loss_curve(lrs, 1, Z, y)
    context = handbuilt.context_loss_curve(lrs, 1, Z)
    assert query.shape == context.shape == (31,)
    assert lrs[query.argmin()] > lrs[context.argmin()] + 0.1
    with pytest.raises(ValueError, match="y must have shape"):
        handbuilt.query_loss_curve(lrs, 1, Z, y[:-1])
