"""Lesson 03's Bayes-optimal yardsticks: ridge (Gaussian prior over all tasks) and dMMSE (the pool)."""

from __future__ import annotations

import pytest
import torch

from mesakit.core import metrics
from mesakit.core.tasks import RegressionTask
from mesakit.emergence import bayes


def _brute_posterior_mean(x, y, x_q, noise_var, w_var):
    """Gaussian posterior mean written from the textbook formula Σ_post = (XᵀX/σ² + I/s²)⁻¹."""
    d = x.shape[-1]
    cov = torch.linalg.inv(x.T @ x / noise_var + torch.eye(d, dtype=x.dtype) / w_var)
    return x_q @ (cov @ x.T @ y / noise_var)


def test_ridge_is_the_gaussian_posterior_mean():
    Z, _ = RegressionTask(d=3, n_context=5, noise=0.3).sample(6, seed=1, dtype=torch.float64)
    got = bayes.ridge_predict(Z, noise_var=0.09, w_var=2.0)
    for b in range(6):
        want = _brute_posterior_mean(Z[b, :-1, :-1], Z[b, :-1, -1], Z[b, -1, :-1], 0.09, 2.0)
        assert torch.allclose(got[b], want, atol=1e-10)


def test_ridge_recovers_noise_free_tasks_and_a_large_lambda_shrinks():
    task = RegressionTask()  # N = d = 10, noise-free: the interpolant is w itself
    Z, y = task.sample(2000, seed=3)
    assert metrics.loss(bayes.ridge_predict(Z, noise_var=1e-8), y.double()).item() < 1e-4
    assert metrics.loss(bayes.ridge_predict(Z, noise_var=1.0), y.double()).item() > 0.1  # a big λ shrinks w


def test_ridge_is_best_on_noisy_gaussian_tasks():
    task = RegressionTask(d=4, n_context=6, x_dist="normal", noise=0.5)
    Z, y = task.sample(20_000, seed=4, dtype=torch.float64)
    right = metrics.loss(bayes.ridge_predict(Z, noise_var=0.25), y).item()
    for wrong in (0.01, 2.0):  # the Bayes estimator with the true σ² beats mis-specified ones
        assert right < metrics.loss(bayes.ridge_predict(Z, noise_var=wrong), y).item()


def test_dmmse_identifies_pool_tasks_and_averages_when_unsure():
    task = RegressionTask(d=4, n_context=6)
    pool = task.sample_w(5, torch.Generator().manual_seed(0))
    Z, y = task.sample(50, seed=2, w=pool[torch.arange(50) % 5])
    assert torch.allclose(bayes.dmmse_predict(Z, pool), y.double(), atol=1e-6)
    # an enormous assumed noise ignores the context: the prediction is the pool's mean task
    flat = bayes.dmmse_predict(Z, pool, noise_var=1e12)
    assert torch.allclose(flat, Z[:, -1, :-1].double() @ pool.double().mean(0), atol=1e-6)


def test_dmmse_matches_a_hand_written_posterior():
    task = RegressionTask(d=2, n_context=3)
    pool = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    Z, _ = task.sample(4, seed=7)
    x, y, x_q = Z[:, :-1, :-1].double(), Z[:, :-1, -1].double(), Z[:, -1, :-1].double()
    for b in range(4):
        logp = torch.stack([-((x[b] @ w.double() - y[b]) ** 2).sum() / (2 * 0.5) for w in pool])
        p = torch.softmax(logp, 0)
        want = sum(p[k] * (pool[k].double() @ x_q[b]) for k in range(3))
        assert torch.allclose(bayes.dmmse_predict(Z[b : b + 1], pool, noise_var=0.5)[0], want, atol=1e-10)


def test_bad_input_is_refused_with_a_message():
    Z, _ = RegressionTask(d=3).sample(2, seed=0)
    with pytest.raises(ValueError, match="noise_var must be"):
        bayes.ridge_predict(Z, noise_var=0.0)
    with pytest.raises(ValueError, match="w_var must be"):
        bayes.ridge_predict(Z, w_var=-1.0)
    with pytest.raises(ValueError, match=r"pool_w must be a tensor of task vectors \(M, d\) = \(M, 3\)"):
        bayes.dmmse_predict(Z, torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\)"):
        bayes.ridge_predict(Z[0])
