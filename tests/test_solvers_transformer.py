"""mesakit.detection.solvers (classical optimizers in a forward pass) and mesakit.detection.transformer (softmax attention)."""

from __future__ import annotations

import pytest
import torch

from mesakit import models
from mesakit.core.tasks import RegressionTask
from mesakit.detection import solvers
from mesakit.detection.transformer import ICLTransformer, TransformerConfig, train_transformer


@pytest.fixture(scope="module")
def data():
    return RegressionTask(d=4, n_context=12).sample(32, seed=1, dtype=torch.float64)


def _lstsq(Z):
    w = torch.linalg.lstsq(Z[:, :-1, :-1], Z[:, :-1, -1:]).solution.squeeze(-1)
    return (w * Z[:, -1, :-1]).sum(-1)


def test_least_squares_ridge_cg_and_newton_agree_where_they_should(data):
    Z, y = data
    exact = _lstsq(Z)
    assert torch.allclose(exact, y, atol=1e-8)  # noiseless and N > d: least squares recovers the task
    assert torch.allclose(solvers.RidgeSolver(solvers.SolverConfig(d=4))(Z), exact, atol=1e-8)
    assert torch.allclose(solvers.RidgeSolver(solvers.SolverConfig(d=4, ridge=1e-9))(Z), exact, atol=1e-5)
    assert torch.allclose(
        solvers.ConjugateGradient(solvers.SolverConfig(d=4, steps=4))(Z), exact, atol=1e-6
    )  # d steps: exact
    newton = solvers.NewtonSolver(solvers.SolverConfig(d=4, ridge=0.1, steps=1, damping=1.0))(Z)
    assert torch.allclose(newton, solvers.RidgeSolver(solvers.SolverConfig(d=4, ridge=0.1))(Z), atol=1e-8)
    # one CG step is an exactly line-searched GD step: w = α Xᵀy/N with α = |b|² / bᵀHb
    H, b, x_q = solvers.normal_equations(Z)
    alpha = (b * b).sum(-1) / torch.einsum("bd,bde,be->b", b, H, b)
    one_cg = solvers.ConjugateGradient(solvers.SolverConfig(d=4, steps=1))(Z)
    assert torch.allclose(one_cg, alpha * (b * x_q).sum(-1), atol=1e-10)


def test_minimum_norm_least_squares_when_n_is_below_d():
    Z, _ = RegressionTask(d=6, n_context=3).sample(8, seed=2, dtype=torch.float64)
    out = solvers.RidgeSolver(solvers.SolverConfig(d=6))(Z)
    assert torch.isfinite(out).all() and out.shape == (8,)


def test_kernel_ridge_fits_its_context():
    Z, _ = RegressionTask(d=3, n_context=8).sample(16, seed=3, dtype=torch.float64)
    model = solvers.KernelRidge(solvers.KernelRidgeConfig(bandwidth=1.0, ridge=1e-8))
    probe = Z.clone()
    probe[:, -1, :-1] = Z[:, 0, :-1]  # query = the first context input: the solver reproduces its label
    assert torch.allclose(model(probe), Z[:, 0, -1], atol=1e-4)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: solvers.SolverConfig(ridge=-1.0),
        lambda: solvers.SolverConfig(steps=0),
        lambda: solvers.SolverConfig(damping=1.5),
        lambda: solvers.KernelRidgeConfig(bandwidth=0.0),
        lambda: TransformerConfig(d_model=30, n_heads=4),
        lambda: TransformerConfig(max_len=1),
    ],
)
def test_configs_validate(bad):
    with pytest.raises(ValueError):
        bad()


@pytest.mark.parametrize(
    "model",
    [
        solvers.RidgeSolver(solvers.SolverConfig(d=4, ridge=0.1)),
        solvers.ConjugateGradient(solvers.SolverConfig(d=4)),
        solvers.NewtonSolver(solvers.SolverConfig(d=4)),
        solvers.KernelRidge(),
        ICLTransformer(TransformerConfig(d=4, d_model=16, n_layers=1, n_heads=2, d_ff=16)),
    ],
)
def test_any_n_and_round_trip(model, tmp_path):
    for n in (2, 7):
        Z, _ = RegressionTask(d=4, n_context=n).sample(5, seed=n)
        assert model(Z).shape == (5,)
    loaded = models.load(models.save(model, tmp_path / "m.pt"))
    Z, _ = RegressionTask(d=4).sample(5, seed=0)
    assert torch.allclose(loaded(Z), model(Z))


def test_transformer_with_a_positional_table_accepts_only_its_length():
    model = ICLTransformer(TransformerConfig(d=3, d_model=16, n_layers=1, n_heads=2, d_ff=16, max_len=6))
    assert model(RegressionTask(d=3, n_context=5).sample(4, seed=0)[0]).shape == (4,)
    with pytest.raises(ValueError, match="exactly 6 tokens.*got prompts of 4 tokens"):
        model(RegressionTask(d=3, n_context=3).sample(4, seed=0)[0])


def test_half_precision_checkpoint_loads_as_float32(tmp_path):
    model = ICLTransformer(TransformerConfig(d=3, d_model=16, n_layers=1, n_heads=2, d_ff=16))
    loaded = models.load(models.save(model.half(), tmp_path / "h.pt"))
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


def test_training_is_seeded_and_lowers_the_loss():
    task = RegressionTask(d=3, n_context=8)
    cfg = TransformerConfig(d=3, d_model=16, n_layers=1, n_heads=2, d_ff=16)
    a, b = (train_transformer(cfg, task.sample, 60, seed=5) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    Z, y = task.sample(256, seed=9)
    with torch.no_grad():
        assert ((a(Z) - y) ** 2).mean() < ((ICLTransformer(cfg)(Z) - y) ** 2).mean()
