"""Lesson 02's checks, both ways: the reference solution passes, and realistic wrong solutions fail
with a message that names the mistake."""

from __future__ import annotations

import pytest
import torch

from mesakit import checks
from mesakit.checks import incontext as lesson02
from mesakit.checks import incontext_analysis as lesson02_analysis
from mesakit.checks import incontext_training as lesson02_training
from mesakit.checks import incontext_weights as lesson02_weights
from mesakit.core import metrics
from mesakit.core.tasks import RegressionTask

# ---------------------------------------------------------------- reference solutions (as in the lesson)


def build_prompt(x, y, x_q):
    context = torch.cat([x, y.unsqueeze(-1)], dim=-1)
    query = torch.cat([x_q, torch.zeros_like(x_q[:, :1])], dim=-1)
    return torch.cat([context, query.unsqueeze(1)], dim=1)


def lsa_forward(Z, W_KQ, W_PV):
    N = Z.shape[1] - 1
    context = Z[:, :N]
    moment = context.transpose(1, 2) @ context / N
    out = Z + Z @ W_KQ.T @ moment @ W_PV.T
    return -out[:, N, -1]


def train_step(model, optimizer, Z, y):
    optimizer.zero_grad()
    loss = 0.5 * ((model(Z) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def gd_predict(Z, lr):
    x, y, x_q = Z[:, :-1, :-1], Z[:, :-1, -1], Z[:, -1, :-1]
    w = lr / x.shape[1] * torch.einsum("bn,bnd->bd", y, x)
    return (w * x_q).sum(-1)


def best_lr(Z, y):
    g = gd_predict(Z, 1.0)  # the prediction is linear in the step size: ŷ = η·g
    return ((g * y).sum() / (g * g).sum()).item()


def sensitivity(model, Z):
    Z = Z.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(Z).sum(), Z)
    return grad[:, -1, :-1]


def compare_with_gd(model, gd, Z, y):
    with torch.no_grad():
        p_model, p_gd = model(Z), gd(Z)
    cos = torch.nn.functional.cosine_similarity(sensitivity(model, Z), sensitivity(gd, Z), dim=-1)
    return {
        "model_loss": 0.5 * ((p_model - y) ** 2).mean().item(),
        "gd_loss": 0.5 * ((p_gd - y) ** 2).mean().item(),
        "sensitivity_cosine": cos.mean().item(),
        "prediction_diff": ((p_model - p_gd) ** 2).mean().sqrt().item(),
    }


def gd_construction_weights(d, lr):
    W_KQ = torch.zeros(d + 1, d + 1)
    W_KQ[:d, :d] = torch.eye(d)
    W_PV = torch.zeros(d + 1, d + 1)
    W_PV[d, d] = -lr
    return W_KQ, W_PV


def learned_step_size(W_KQ, W_PV):
    d = W_KQ.shape[0] - 1
    return (-W_PV[d, d] * torch.diagonal(W_KQ[:d, :d]).mean()).item()


def tied_lsa_forward(Z, W_KQ, W_PV, K):
    N = Z.shape[1] - 1
    for _ in range(K):
        context = Z[:, :N]
        Z = Z + Z @ W_KQ.T @ (context.transpose(1, 2) @ context / N) @ W_PV.T
    return -Z[:, N, -1]


REFERENCES = {
    "check_build_prompt": build_prompt,
    "check_lsa_forward": lsa_forward,
    "check_train_step": train_step,
    "check_gd_predict": gd_predict,
    "check_best_lr": best_lr,
    "check_sensitivity": sensitivity,
    "check_compare_with_gd": compare_with_gd,
    "check_gd_construction": gd_construction_weights,
    "check_learned_step_size": learned_step_size,
    "check_tied_lsa_forward": tied_lsa_forward,
}


@pytest.mark.parametrize("check", list(REFERENCES))
def test_reference_passes(check, capsys):
    getattr(checks, check)(REFERENCES[check])
    assert capsys.readouterr().out.startswith("✔")


def test_every_check_is_exported_and_tested():
    modules = (lesson02, lesson02_training, lesson02_analysis, lesson02_weights)
    assert sorted(name for module in modules for name in module.__all__) == sorted(REFERENCES)


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("check", list(REFERENCES))
def test_unsolved_stub_fails(check):
    with pytest.raises(AssertionError, match="not implemented yet"):
        getattr(checks, check)(_stub)


# ---------------------------------------------------------------- wrong solutions


def test_build_prompt_mistakes():
    def query_first(x, y, x_q):
        Z = build_prompt(x, y, x_q)
        return torch.cat([Z[:, -1:], Z[:, :-1]], dim=1)

    def label_first(x, y, x_q):
        context = torch.cat([y.unsqueeze(-1), x], -1)
        query = torch.cat([torch.zeros_like(x_q[:, :1]), x_q], -1)
        return torch.cat([context, query.unsqueeze(1)], 1)

    def no_query(x, y, x_q):
        return torch.cat([x, y.unsqueeze(-1)], -1)

    def query_label_one(x, y, x_q):
        Z = build_prompt(x, y, x_q)
        Z[:, -1, -1] = 1
        return Z

    for wrong, match in [
        (query_first, "query row must come LAST"),
        (label_first, "label goes in the LAST column"),
        (no_query, "query row .* is missing"),
        (query_label_one, "label slot must be 0"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_build_prompt(wrong)


def test_lsa_forward_mistakes():
    def plus_sign(Z, W_KQ, W_PV):
        return -lsa_forward(Z, W_KQ, W_PV)

    def query_in_keys(Z, W_KQ, W_PV):
        N = Z.shape[1] - 1
        moment = Z.transpose(1, 2) @ Z / N
        return -(Z + Z @ W_KQ.T @ moment @ W_PV.T)[:, N, -1]

    def no_normalisation(Z, W_KQ, W_PV):
        N = Z.shape[1] - 1
        return N * lsa_forward(Z, W_KQ, W_PV)

    def transposed(Z, W_KQ, W_PV):
        return lsa_forward(Z, W_KQ.T, W_PV.T)

    for wrong, match in [
        (plus_sign, "wrong sign"),
        (query_in_keys, "N context tokens only"),
        (no_normalisation, "forgot the 1/N"),
        (transposed, "row form use e @ W.T"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_lsa_forward(wrong)


def test_train_step_mistakes():
    def no_zero_grad(model, optimizer, Z, y):
        loss = 0.5 * ((model(Z) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    def plain_mse(model, optimizer, Z, y):
        optimizer.zero_grad()
        loss = ((model(Z) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    def no_step(model, optimizer, Z, y):
        optimizer.zero_grad()
        loss = 0.5 * ((model(Z) - y) ** 2).mean()
        loss.backward()
        return loss.item()

    def returns_tensor(model, optimizer, Z, y):  # returning the loss tensor itself is fine
        optimizer.zero_grad()
        loss = metrics.loss(model(Z), y)
        loss.backward()
        optimizer.step()
        return loss

    for wrong, match in [
        (no_zero_grad, "zero_grad"),
        (plain_mse, "0.5·MSE"),
        (no_step, "optimizer.step"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_train_step(wrong)
    checks.check_train_step(returns_tensor)


def test_gd_predict_mistakes():
    for wrong, match in [
        (lambda Z, lr: -gd_predict(Z, lr), "wrong sign"),
        (lambda Z, lr: gd_predict(Z, lr) * (Z.shape[1] - 1), "forgot the 1/N"),
        (lambda Z, lr: gd_predict(Z, lr) * (Z.shape[1] - 1) / Z.shape[1], "not N\\+1"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_gd_predict(wrong)


def test_best_lr_mistakes():
    def upside_down(Z, y):
        return 1 / best_lr(Z, y)

    def coarse_grid(Z, y):
        grid = torch.tensor([0.5, 1.0, 2.0, 4.0])
        losses = [0.5 * ((gd_predict(Z, lr.item()) - y) ** 2).mean() for lr in grid]
        return grid[int(torch.stack(losses).argmin())].item()

    def returns_loss(Z, y):
        return 0.5 * ((gd_predict(Z, best_lr(Z, y)) - y) ** 2).mean().item()

    for wrong, match in [
        (upside_down, "upside down"),
        (coarse_grid, "finer grid"),
        (returns_loss, "lowest LOSS"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_best_lr(wrong)


def test_sensitivity_mistakes():
    def first_row(model, Z):
        Z = Z.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Z).sum(), Z)
        return grad[:, 0, :-1]

    def with_label(model, Z):
        Z = Z.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Z).sum(), Z)
        return grad[:, -1]

    def mean_not_sum(model, Z):
        Z = Z.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(Z).mean(), Z)
        return grad[:, -1, :-1]

    for wrong, match in [
        (first_row, "first context example"),
        (with_label, "drop the label slot"),
        (mean_not_sum, "not .mean"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_sensitivity(wrong)


def test_compare_with_gd_mistakes():
    def flat_cosine(model, gd, Z, y):
        out = compare_with_gd(model, gd, Z, y)
        a, b = sensitivity(model, Z).flatten(), sensitivity(gd, Z).flatten()
        out["sensitivity_cosine"] = torch.nn.functional.cosine_similarity(a, b, dim=0).item()
        return out

    def mse_diff(model, gd, Z, y):
        out = compare_with_gd(model, gd, Z, y)
        out["prediction_diff"] = out["prediction_diff"] ** 2
        return out

    def plain_mse(model, gd, Z, y):
        out = compare_with_gd(model, gd, Z, y)
        out["model_loss"] *= 2
        return out

    def missing_key(model, gd, Z, y):
        out = compare_with_gd(model, gd, Z, y)
        del out["prediction_diff"]
        return out

    for wrong, match in [
        (flat_cosine, "cosine per prompt"),
        (mse_diff, "take the sqrt"),
        (plain_mse, "0.5·MSE"),
        (missing_key, "lacks the keys"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_compare_with_gd(wrong)


def test_gd_construction_mistakes():
    def plus_lr(d, lr):
        W_KQ, W_PV = gd_construction_weights(d, lr)
        return W_KQ, -W_PV

    def full_identity(d, lr):
        W_KQ, W_PV = gd_construction_weights(d, lr)
        return torch.eye(d + 1), W_PV

    def forgot_lr(d, lr):
        return gd_construction_weights(d, 1.0)

    def wrong_shape(d, lr):
        return torch.eye(d), torch.eye(d)

    for wrong, match in [
        (plus_lr, "predicts MINUS the GD step"),
        (full_identity, "applied twice .* label a part in the attention score"),
        (forgot_lr, "step of size 1 whatever lr is"),
        (wrong_shape, "expected \\(11, 11\\)"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_gd_construction(wrong)


def test_gd_construction_accepts_any_equivalent_scaling():
    def scaled(d, lr):  # a·I and -lr/a: the same function, as training finds it
        W_KQ, W_PV = gd_construction_weights(d, lr)
        return 1.25 * W_KQ, W_PV / 1.25

    checks.check_gd_construction(scaled)


def test_learned_step_size_mistakes():
    def no_sign(W_KQ, W_PV):
        return -learned_step_size(W_KQ, W_PV)

    def trace(W_KQ, W_PV):
        d = W_KQ.shape[0] - 1
        return (-W_PV[d, d] * torch.trace(W_KQ[:d, :d])).item()

    def label_entry(W_KQ, W_PV):
        return (-W_PV[-1, -1] * W_KQ[-1, -1]).item()

    def pv_only(W_KQ, W_PV):
        return -W_PV[-1, -1].item()

    for wrong, match in [
        (no_sign, "wrong sign"),
        (trace, "MEAN of its diagonal"),
        (label_entry, "label-label entry"),
        (pv_only, "multiply by the scale"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_learned_step_size(wrong)


def test_tied_lsa_forward_mistakes():
    def once(Z, W_KQ, W_PV, K):
        return tied_lsa_forward(Z, W_KQ, W_PV, 1)

    def off_by_one(Z, W_KQ, W_PV, K):
        return tied_lsa_forward(Z, W_KQ, W_PV, K - 1)

    def frozen_moment(Z, W_KQ, W_PV, K):
        N = Z.shape[1] - 1
        moment = Z[:, :N].transpose(1, 2) @ Z[:, :N] / N
        for _ in range(K):
            Z = Z + Z @ W_KQ.T @ moment @ W_PV.T
        return -Z[:, N, -1]

    def no_residual(Z, W_KQ, W_PV, K):
        N = Z.shape[1] - 1
        for _ in range(K):
            context = Z[:, :N]
            Z = Z @ W_KQ.T @ (context.transpose(1, 2) @ context / N) @ W_PV.T
        return -Z[:, N, -1]

    for wrong, match in [
        (once, "ONE application"),
        (off_by_one, "K-1"),
        (frozen_moment, "UPDATED context tokens"),
        (no_residual, "residual connection"),
    ]:
        with pytest.raises(AssertionError, match=match):
            checks.check_tied_lsa_forward(wrong)


def test_tied_construction_is_k_gd_steps():
    from mesakit.core import reference

    model = reference.gd_construction(4, 0.5)
    Z, _ = RegressionTask(d=4).sample(8, seed=0, dtype=torch.float64)
    out = tied_lsa_forward(Z, model.W_KQ[0].detach().double(), model.W_PV[0].detach().double(), 3)
    assert torch.allclose(out, reference.gd_predict(Z, 0.5, 3))


def test_checks_reject_non_functions():
    with pytest.raises(AssertionError, match="expected a function"):
        checks.check_gd_predict(torch.zeros(3))


def test_checks_leave_the_notebook_global_seed_alone():
    state = torch.random.get_rng_state()
    for check, reference_fn in REFERENCES.items():
        getattr(checks, check)(reference_fn)
    assert torch.equal(state, torch.random.get_rng_state())


def test_best_lr_accepts_the_fine_grid_search_the_hint_suggests():
    def grid(Z, y):
        lrs = torch.linspace(0, 5, 5001, dtype=Z.dtype)
        losses = torch.stack([0.5 * ((gd_predict(Z, lr.item()) - y) ** 2).mean() for lr in lrs])
        return lrs[losses.argmin()].item()

    checks.check_best_lr(grid)
