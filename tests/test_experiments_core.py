"""`mesakit reproduce lsa-gd` and `mesakit reproduce multistep`: JSON keys, --save, exit codes and
errors (few training steps: these test the plumbing; benchmarks/experiments.py checks the figures)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from mesakit import experiments, models
from mesakit.cli import main
from mesakit.experiments import multistep
from mesakit.incontext import lsa
from mesakit.incontext import multistep as tied
from mesakit.moved import MovedWarning

LSA_GD_KEYS = {"model_loss", "gd_loss", "gd_lr", "sensitivity_cosine", "prediction_diff", "train_seconds"}


def _json(capsys, argv) -> dict:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one line"
    return json.loads(out)


def test_lsa_gd_json_has_exactly_the_contract_keys(capsys, tmp_path):
    path = tmp_path / "lsa.pt"
    result = _json(capsys, ["reproduce", "lsa-gd", "--steps", "20", "--seed", "3", "--json", "--save", str(path)])
    assert set(result) == LSA_GD_KEYS
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.values())
    assert 1.3 < result["gd_lr"] < 1.7 and result["gd_loss"] < result["model_loss"]
    # --save wrote the model that was measured: models.load gives it back, same figures
    model = models.load(path)
    assert isinstance(model, models.LinearSelfAttention)
    assert lsa.evaluate(model)["model_loss"] == pytest.approx(result["model_loss"], rel=1e-6)


def test_lsa_gd_is_deterministic_for_a_seed():
    a, _ = lsa.train_lsa(seed=5, steps=15, progress=False)
    b, _ = lsa.train_lsa(seed=5, steps=15, progress=False)
    c, _ = lsa.train_lsa(seed=6, steps=15, progress=False)
    assert torch.equal(a.W_KQ, b.W_KQ) and not torch.equal(a.W_KQ, c.W_KQ)


def test_lsa_gd_human_output(capsys, tmp_path):
    assert main(["reproduce", "lsa-gd", "--steps", "10", "--save", str(tmp_path / "m.pt")]) == 0
    out = capsys.readouterr().out
    assert "One LSA layer vs one step of gradient descent" in out and "sensitivity cosine" in out
    assert f"saved the trained model to {tmp_path / 'm.pt'}" in out


@pytest.mark.slow
def test_multistep_json(capsys, tmp_path):
    result = _json(capsys, ["reproduce", "multistep", "--steps", "10", "--json", "--save", str(tmp_path / "t.pt")])
    assert {"loss_by_k", "gd_loss_by_k", "train_seconds"} <= set(result)
    assert result["k"] == list(range(1, 9)) and result["trained_k"] == [1, 2, 3, 4]
    assert len(result["loss_by_k"]) == len(result["gd_loss_by_k"]) == 8
    assert all(v is None or math.isfinite(v) for v in result["loss_by_k"])
    gd = result["gd_loss_by_k"]
    assert all(b < a for a, b in zip(gd, gd[1:])), "more GD steps, lower loss"
    assert models.load(tmp_path / "t.pt").config.iterations == 4


def test_multistep_curriculum_covers_every_step_and_ends_on_the_trained_k(monkeypatch):
    assert sum(tied.curriculum_steps(3000)) == 3000 and tied.curriculum_steps(3000)[0] == 1000
    assert sum(tied.curriculum_steps(10)) == 10 and min(tied.curriculum_steps(4)) >= 1
    assert tied.CURRICULUM[0][1] == (1,) and tied.CURRICULUM[-1][1] == tied.TRAIN_K
    seen = []
    real = models.LinearSelfAttention.forward

    def spy(self, Z, iterations=None):
        seen.append(iterations)
        return real(self, Z, iterations)

    monkeypatch.setattr(models.LinearSelfAttention, "forward", spy)
    model, history = tied.train_tied(seed=0, steps=12, progress=False)
    n = tied.curriculum_steps(12)
    assert len(history.loss) == 12 and history.seconds > 0
    assert set(seen[: n[0]]) == {1}, "the first phase trains one GD step only"
    assert set(seen[n[0] : n[0] + n[1]]) <= {1, 2} and max(seen[-n[-1] :]) <= 4
    again, _ = tied.train_tied(seed=0, steps=12, progress=False)
    assert torch.equal(model.W_KQ, again.W_KQ), "a seed fixes the whole run"


def test_old_names_of_multistep_still_resolve_with_a_warning():
    with pytest.warns(MovedWarning, match="mesakit.incontext.multistep"):
        assert multistep.train_tied is tied.train_tied
    with pytest.warns(MovedWarning):
        assert multistep.LR_PROMPTS == tied.LR_PROMPTS
    with pytest.raises(AttributeError):
        multistep.write_pretrained  # noqa: B018


def test_multistep_reports_divergence_as_null():
    text = multistep.describe(
        {"k": [1, 5], "trained_k": [1], "loss_by_k": [0.9, None], "gd_loss_by_k": [0.8, 0.4], "train_seconds": 1.0}
    )
    assert "diverged" in text and "beyond training" in text


def test_unknown_experiment_lists_the_experiments(capsys):
    assert main(["reproduce", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no experiment 'nope'" in err and "lsa-gd" in err and "multistep" in err
    with pytest.raises(KeyError, match="lsa-gd"):
        experiments.get("nope")


def test_bad_steps_is_a_usage_error(capsys):
    assert main(["reproduce", "lsa-gd", "--steps", "0"]) == 2
    assert "--steps must be >= 1" in capsys.readouterr().err


def test_the_installed_command_exits_2_on_unknown_experiment():
    done = subprocess.run([sys.executable, "-m", "mesakit.cli", "reproduce", "nope"], capture_output=True, text=True)
    assert done.returncode == 2 and "lsa-gd" in done.stderr


def test_every_experiment_module_defines_only_run_and_describe():
    """Recipes live in the topic packages (docs/architecture.md); an experiment only runs and describes."""
    import inspect

    for name in experiments.EXPERIMENTS:
        module = experiments.get(name)
        assert callable(module.run) and callable(module.describe)
        own = [
            n
            for n, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not n.startswith("__")
        ]
        assert sorted(own) == ["describe", "run"], (
            f"{name}: move {sorted(set(own) - {'run', 'describe'})} to its topic package"
        )


def test_learned_step_size_reads_the_construction():
    from mesakit.core import reference

    model = reference.gd_construction(5, 0.8)
    assert lsa.learned_step_size(2 * model.W_KQ[0].detach(), model.W_PV[0].detach() / 2) == pytest.approx(0.8)
    with pytest.raises(ValueError, match=r"two \(d\+1, d\+1\) matrices"):
        lsa.learned_step_size(torch.zeros(3, 3), torch.zeros(4, 4))
