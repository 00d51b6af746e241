"""mesakit.core.tasks: the in-context regression sampler and prompt validation."""

from __future__ import annotations

import math

import pytest
import torch

from mesakit.core.tasks import RegressionTask, build_prompt, check_prompts, split_prompt


def test_default_prompts_follow_the_contract():
    task = RegressionTask()
    Z, y = task.sample(64, seed=0)
    assert Z.shape == (64, 11, 11) and y.shape == (64,)
    assert Z.dtype == torch.float32
    assert torch.all(Z[:, -1, -1] == 0), "the query's label slot must be 0"
    assert Z[:, :, :-1].abs().max() <= 1.0, "default inputs are U(-1, 1)"


def test_labels_are_linear_in_the_inputs_with_the_given_task():
    task = RegressionTask(d=4, n_context=6)
    w = torch.randn(5, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    Z, y = task.sample(5, seed=2, w=w, dtype=torch.float64)
    x, labels, x_q = split_prompt(Z)
    assert torch.allclose(labels, torch.einsum("bnd,bd->bn", x, w))
    assert torch.allclose(y, torch.einsum("bd,bd->b", x_q, w))


def test_same_seed_same_prompts_and_generator_equals_seed():
    task = RegressionTask()
    a, ya = task.sample(8, seed=5)
    b, yb = task.sample(8, seed=5)
    c, yc = task.sample(8, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.equal(ya, yb) and torch.equal(a, c) and torch.equal(ya, yc)
    d, _ = task.sample(8, seed=6)
    assert not torch.equal(a, d)


def test_a_shared_generator_gives_fresh_prompts_each_call():
    g = torch.Generator().manual_seed(0)
    first, _ = RegressionTask().sample(4, g)
    second, _ = RegressionTask().sample(4, g)
    assert not torch.equal(first, second)


def test_every_draw_needs_a_seed_or_a_generator():
    with pytest.raises(ValueError, match="seed"):
        RegressionTask().sample(4)
    with pytest.raises(ValueError, match="either a generator or a seed"):
        RegressionTask().sample(4, torch.Generator(), seed=1)


@pytest.mark.parametrize("d, n", [(1, 1), (3, 25), (20, 5)])
def test_any_dimension_and_context_length(d, n):
    Z, y = RegressionTask(d=d, n_context=n).sample(3, seed=0)
    assert Z.shape == (3, n + 1, d + 1) and y.shape == (3,)


def test_input_distribution_and_scales():
    n = 20_000
    Z, _ = RegressionTask(d=2, n_context=1, x_dist="normal", x_scale=3.0).sample(n, seed=0, dtype=torch.float64)
    assert abs(Z[:, :, :-1].std().item() - 3.0) < 0.05
    Z, _ = RegressionTask(d=2, n_context=1, x_scale=0.5).sample(n, seed=0)
    assert Z[:, :, :-1].abs().max() <= 0.5 and Z[:, :, :-1].abs().max() > 0.49
    task = RegressionTask(d=2, w_scale=4.0)
    w = task.sample_w(n, torch.Generator().manual_seed(0), torch.float64)
    assert abs(w.std().item() - 4.0) < 0.1


def test_label_noise_applies_to_context_and_target():
    task = RegressionTask(d=3, n_context=4, noise=0.5)
    w = torch.ones(2000, 3, dtype=torch.float64)
    Z, y = task.sample(2000, seed=0, w=w, dtype=torch.float64)
    x, labels, x_q = split_prompt(Z)
    residual = labels - torch.einsum("bnd,bd->bn", x, w)
    assert abs(residual.std().item() - 0.5) < 0.02
    assert abs((y - x_q.sum(-1)).std().item() - 0.5) < 0.03


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"d": 0}, "d >= 1"),
        ({"n_context": 0}, "n_context >= 1"),
        ({"x_dist": "gaussian"}, "x_dist"),
        ({"noise": -0.1}, "noise"),
        ({"x_scale": math.nan}, "x_scale"),
        ({"w_scale": math.inf}, "w_scale"),
    ],
)
def test_bad_task_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RegressionTask(**kwargs)


def test_w_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"w must have shape \(batch, d\) = \(4, 10\), got \(4, 3\)"):
        RegressionTask().sample(4, seed=0, w=torch.zeros(4, 3))


def test_build_and_split_are_inverse():
    g = torch.Generator().manual_seed(0)
    x, y, x_q = torch.randn(2, 5, 3, generator=g), torch.randn(2, 5, generator=g), torch.randn(2, 3, generator=g)
    Z = build_prompt(x, y, x_q)
    assert Z.shape == (2, 6, 4) and torch.all(Z[:, -1, -1] == 0)
    x2, y2, xq2 = split_prompt(Z)
    assert torch.equal(x, x2) and torch.equal(y, y2) and torch.equal(x_q, xq2)


def test_build_prompt_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"expected x \(B, N, d\), y \(B, N\), x_q \(B, d\)"):
        build_prompt(torch.zeros(2, 5, 3), torch.zeros(2, 4), torch.zeros(2, 3))


@pytest.mark.parametrize("shape", [(11, 11), (4, 11, 11, 1), (4, 1, 11)])
def test_prompts_of_the_wrong_rank_name_the_expected_shape(shape):
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\).*got " + re_shape(shape)):
        check_prompts(torch.zeros(shape))


def test_prompts_of_the_wrong_width_name_both_shapes():
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\) = \(B, N\+1, 11\).*got \(4, 11, 6\)"):
        check_prompts(torch.zeros(4, 11, 6), d=10)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_prompts_are_refused(bad):
    Z, _ = RegressionTask().sample(3, seed=0)
    Z[1, 2, 3] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        check_prompts(Z)


def test_non_tensor_and_integer_prompts_are_refused():
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_prompts([[0.0]])
    with pytest.raises(ValueError, match="float tensor"):
        check_prompts(torch.zeros(2, 3, 4, dtype=torch.long))


def re_shape(shape) -> str:
    import re

    return re.escape(str(tuple(shape)))
