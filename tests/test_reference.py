"""mesakit.core.reference: K-step gradient descent on a prompt, its best step size, and the LSA
construction that runs it."""

from __future__ import annotations

import pytest
import torch

from mesakit.core import metrics, reference
from mesakit.core.tasks import RegressionTask, split_prompt


def _prompts(B=64, d=3, n=8, seed=0):
    return RegressionTask(d=d, n_context=n).sample(B, seed=seed, dtype=torch.float64)


def test_one_step_is_the_closed_form():
    Z, _ = _prompts()
    x, y, x_q = split_prompt(Z)
    w1 = 0.7 / x.shape[1] * torch.einsum("bn,bnd->bd", y, x)
    assert torch.allclose(reference.gd_weights(Z, 0.7), w1)
    assert torch.allclose(reference.gd_predict(Z, 0.7), (w1 * x_q).sum(-1))


def test_k_steps_follow_the_gradient_of_the_context_loss():
    Z, _ = _prompts(B=4)
    x, y, _ = split_prompt(Z)
    w = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.4)
    for _ in range(3):
        opt.zero_grad()
        # sum over prompts of 1/(2N) Σ_i (w·x_i - y_i)^2: each prompt's gradient is its own
        (0.5 * ((torch.einsum("bnd,bd->bn", x, w) - y) ** 2).mean(-1).sum()).backward()
        opt.step()
    assert torch.allclose(reference.gd_weights(Z, 0.4, steps=3), w.detach())


def test_zero_steps_predict_zero_and_negative_steps_are_refused():
    Z, _ = _prompts()
    assert torch.all(reference.gd_predict(Z, 1.0, steps=0) == 0)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        reference.gd_weights(Z, 1.0, steps=-1)


def test_many_steps_recover_the_task_exactly():
    Z, y = _prompts(B=16, d=3, n=20)  # noise-free and N > d: least squares finds w itself
    assert torch.allclose(reference.gd_predict(Z, 1.5, steps=400), y, atol=1e-6)


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_the_construction_runs_exactly_k_gd_steps(iterations):
    Z, _ = _prompts(d=4)
    model = reference.gd_construction(d=4, lr=0.6, iterations=iterations).double()
    with torch.no_grad():
        assert torch.allclose(model(Z), reference.gd_predict(Z, 0.6, steps=iterations), atol=1e-12)
    W_KQ, W_PV = model.W_KQ[0], model.W_PV[0]
    assert torch.equal(W_KQ[:4, :4], torch.eye(4, dtype=W_KQ.dtype)) and W_KQ.abs().sum() == 4
    assert W_PV[4, 4].item() == pytest.approx(-0.6) and W_PV.abs().sum().item() == pytest.approx(0.6)


def test_best_lr_matches_the_closed_form_for_one_step():
    Z, y = _prompts(B=3000, d=10, n=10, seed=1)
    g = reference.gd_predict(Z, 1.0)
    closed = ((g * y).sum() / (g * g).sum()).item()
    assert reference.best_gd_lr(Z=Z, y=y) == pytest.approx(closed, rel=1e-6)


def test_best_lr_on_the_default_task_matches_the_course_figures():
    task = RegressionTask()
    lr = reference.best_gd_lr(task, n_prompts=5000, seed=3)
    Z, y = task.sample(5000, seed=4)
    gd = metrics.loss(reference.gd_predict(Z, lr), y).item()
    zero = metrics.loss(torch.zeros_like(y), y).item()
    assert 1.3 < lr < 1.7
    assert zero == pytest.approx(1.67, abs=0.05) and gd == pytest.approx(0.82, abs=0.03)


def test_best_lr_is_a_minimum_for_several_steps():
    Z, y = _prompts(B=1000, d=5, n=10, seed=2)
    lr = reference.best_gd_lr(steps=3, Z=Z, y=y)

    def loss(step: float) -> float:
        return metrics.loss(reference.gd_predict(Z, step, steps=3), y).item()

    assert loss(lr) < loss(0.95 * lr) and loss(lr) < loss(1.05 * lr)


def test_best_lr_is_deterministic_for_a_seed():
    task = RegressionTask(d=4)
    assert reference.best_gd_lr(task, n_prompts=500, seed=7) == reference.best_gd_lr(task, n_prompts=500, seed=7)


def test_best_lr_refuses_bad_prompts():
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\)"):
        reference.best_gd_lr(Z=torch.zeros(5, 4), y=torch.zeros(5))
