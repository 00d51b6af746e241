"""mesakit.models: the linear self-attention model, and saving/loading checkpoints."""

from __future__ import annotations

import pytest
import torch

from mesakit import models
from mesakit.core import metrics, reference
from mesakit.core.tasks import RegressionTask
from mesakit.models import LinearSelfAttention, LSAConfig


def explicit_lsa(Z: torch.Tensor, W_KQ: torch.Tensor, W_PV: torch.Tensor, iterations: int = 1, damping: float = 0.0):
    """The update written token by token, e_j += W_PV (1/N Σ_i e_i e_iᵀ) W_KQ e_j, as a test oracle."""
    Z = Z.clone()
    B, T, _ = Z.shape
    N = T - 1
    for k in range(iterations):
        for layer in range(W_KQ.shape[0]):
            new = Z.clone()
            for b in range(B):
                M = sum(torch.outer(Z[b, i], Z[b, i]) for i in range(N)) / N
                for j in range(T):
                    new[b, j] = Z[b, j] + (W_PV[layer] @ M @ W_KQ[layer] @ Z[b, j]) / (1 + damping * k)
            Z = new
    return -Z[:, -1, -1]


def _model(**kwargs) -> LinearSelfAttention:
    torch.manual_seed(0)
    return LinearSelfAttention(LSAConfig(**{"d": 3, "init_std": 0.3, **kwargs})).double()


def test_output_shape_for_any_batch_and_context_length():
    model = LinearSelfAttention()
    for B, N in ((1, 1), (7, 10), (3, 40)):
        Z, _ = RegressionTask(n_context=N).sample(B, seed=0)
        assert model(Z).shape == (B,)
        assert model.transform(Z).shape == (B, N + 1, 11)


@pytest.mark.parametrize("n_layers, iterations, damping", [(1, 1, 0.0), (2, 1, 0.0), (1, 3, 0.0), (2, 2, 0.5)])
def test_forward_matches_the_token_by_token_formula(n_layers, iterations, damping):
    model = _model(n_layers=n_layers, iterations=iterations, damping=damping)
    Z, _ = RegressionTask(d=3, n_context=5).sample(4, seed=1, dtype=torch.float64)
    with torch.no_grad():
        expected = explicit_lsa(Z, model.W_KQ, model.W_PV, iterations, damping)
        assert torch.allclose(model(Z), expected, atol=1e-10)


def test_iterations_argument_overrides_the_config():
    model = _model(iterations=1)
    Z, _ = RegressionTask(d=3).sample(4, seed=2, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(model(Z, iterations=3), explicit_lsa(Z, model.W_KQ, model.W_PV, 3), atol=1e-10)
    with pytest.raises(ValueError, match="iterations must be >= 1"):
        model(Z, iterations=0)


def test_damping_leaves_the_first_iteration_alone():
    plain, damped = _model(iterations=3), _model(iterations=3, damping=1.0)
    Z, _ = RegressionTask(d=3).sample(4, seed=3, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(plain(Z, iterations=1), damped(Z, iterations=1))
        assert not torch.allclose(plain(Z), damped(Z))


def test_the_query_label_never_leaks_into_keys_and_values():
    model = _model()
    Z, _ = RegressionTask(d=3).sample(4, seed=4, dtype=torch.float64)
    context_only = model.transform(Z)[:, :-1]
    Z2 = Z.clone()
    Z2[:, -1, :-1] += 1.0  # move the query: the context tokens' update must not change
    assert torch.allclose(model.transform(Z2)[:, :-1], context_only)


def test_bad_prompts_raise_clear_errors():
    model = LinearSelfAttention()
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\).*got \(4, 11, 5\)"):
        model(torch.zeros(4, 11, 5))
    with pytest.raises(ValueError, match=r"\(B, N\+1, d\+1\).*got \(11, 11\)"):
        model(torch.zeros(11, 11))
    Z, _ = RegressionTask().sample(2, seed=0)
    Z[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        model(Z)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"d": 0}, ">= 1"),
        ({"n_layers": 0}, ">= 1"),
        ({"iterations": 0}, ">= 1"),
        ({"damping": -1}, "damping"),
        ({"init_std": -1}, "init_std"),
    ],
)
def test_bad_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSAConfig(**kwargs)


def test_save_then_load_gives_the_same_model(tmp_path):
    model = LinearSelfAttention(LSAConfig(d=4, n_layers=2, iterations=3, damping=0.1, init_std=0.1))
    path = models.save(model, tmp_path / "sub" / "m.pt")
    loaded = models.load(path)
    assert isinstance(loaded, LinearSelfAttention) and loaded.config == model.config
    assert not loaded.training, "load returns the model in eval mode"
    Z, _ = RegressionTask(d=4).sample(5, seed=0)
    with torch.no_grad():
        assert torch.equal(loaded(Z), model(Z))


def test_load_refuses_files_that_are_not_checkpoints(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a mesakit checkpoint"):
        models.load(text)
    plain = tmp_path / "plain.pt"
    torch.save({"W": torch.zeros(2)}, plain)
    with pytest.raises(ValueError, match="not a mesakit checkpoint"):
        models.load(plain)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        models.load(tmp_path / "missing.pt")


def test_load_refuses_an_unknown_model_class(tmp_path):
    path = models.save(LinearSelfAttention(), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["class"] = "NoSuchModel"
    torch.save(payload, path)
    with pytest.raises(ValueError, match="NoSuchModel"):
        models.load(path)


def test_save_refuses_unregistered_models(tmp_path):
    with pytest.raises(TypeError, match="cannot save a Linear"):
        models.save(torch.nn.Linear(2, 1), tmp_path / "x.pt")


def test_shipped_checkpoints_are_small_and_load():
    from importlib import resources

    names = models.pretrained_names()
    assert {"lsa_1layer", "lsa_tied"} <= set(names)
    for name in ("lsa_1layer", "lsa_tied"):
        size = (resources.files("mesakit") / "pretrained" / f"{name}.pt").stat().st_size
        assert size < 20_000, f"{name}.pt is {size} bytes; checkpoints ship in the package, keep them small"
    assert models.load_pretrained("lsa_tied").config.iterations == 4
    with pytest.raises(ValueError, match="no pretrained model 'nope'; shipped: .*lsa_1layer"):
        models.load_pretrained("nope")


def test_shipped_one_layer_model_is_a_gd_step():
    model = models.load_pretrained("lsa_1layer")
    task = RegressionTask()
    Z, y = task.sample(2000, seed=99)
    lr = reference.best_gd_lr(task, n_prompts=2000)
    gd = lambda Z: reference.gd_predict(Z, lr)  # noqa: E731
    with torch.no_grad():
        assert metrics.loss(model(Z), y) <= 1.02 * metrics.loss(gd(Z), y)
    assert metrics.sensitivity_cosine(model, gd, Z) > 0.99


def test_shipped_tied_model_improves_with_iterations():
    model = models.load_pretrained("lsa_tied")
    Z, y = RegressionTask().sample(2000, seed=98)
    with torch.no_grad():
        losses = [metrics.loss(model(Z, iterations=k), y).item() for k in (1, 2, 3, 4)]
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[3] <= 0.75 * losses[0]


def test_load_imports_the_module_the_checkpoint_names(tmp_path, monkeypatch):
    """The core knows no lesson: a checkpoint of a class nobody imported yet loads from its recorded module."""
    import sys

    from mesakit.inner.handbuilt import HandBuiltConfig, HandBuiltMesaOptimizer

    path = models.save(HandBuiltMesaOptimizer(HandBuiltConfig(d=3)), tmp_path / "h.pt")
    monkeypatch.delitem(models._REGISTRY, "HandBuiltMesaOptimizer")
    monkeypatch.delitem(sys.modules, "mesakit.inner.handbuilt")
    loaded = models.load(path)
    assert type(loaded).__name__ == "HandBuiltMesaOptimizer" and loaded.config.d == 3


def test_a_0_1_checkpoint_without_a_module_still_loads(tmp_path):
    from mesakit.inner.handbuilt import HandBuiltConfig, HandBuiltMesaOptimizer

    path = models.save(HandBuiltMesaOptimizer(HandBuiltConfig(d=3)), tmp_path / "h.pt")
    payload = torch.load(path, weights_only=True)
    del payload["module"]
    torch.save({**payload, "version": 1}, path)
    assert models.load(path).config.d == 3


def test_a_checkpoint_naming_a_module_outside_mesakit_is_not_imported(tmp_path):
    path = models.save(models.LinearSelfAttention(), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "class": "Evil", "module": "os"}, path)
    with pytest.raises(ValueError, match="does not know"):
        models.load(path)
