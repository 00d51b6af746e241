"""Old import paths that keep working for one release (0.2), with a deprecation warning.

Release 0.2 moved the lesson-topic modules from the package root into one subpackage per topic
(``docs/architecture.md``). A learner's saved notebook may still say ``from mesakit import
gridworld`` or ``lsa_gd.train_lsa``: :data:`MOVED_MODULES` maps each old module path to its new
home, and :data:`MOVED_NAMES` maps names that left a module that still exists (the experiments now
hold only ``run`` and ``describe``). Both resolve to the *same* objects as the new paths and warn
with :class:`MovedWarning`, which names the new path. ``mesakit/__init__.py`` installs the finder;
nothing is imported until an old path is used. Remove this module in 0.3.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

REMOVED_IN = "0.3"

# old module -> new module (the same module object is returned)
MOVED_MODULES: dict[str, str] = {
    "mesakit.tasks": "mesakit.core.tasks",
    "mesakit.train": "mesakit.core.train",
    "mesakit.metrics": "mesakit.core.metrics",
    "mesakit.reference": "mesakit.core.reference",
    "mesakit.handbuilt": "mesakit.inner.handbuilt",
    "mesakit.scenarios": "mesakit.inner.scenarios",
    "mesakit.scenarios_feedback": "mesakit.inner.scenarios_feedback",
    "mesakit.diversity": "mesakit.emergence.diversity",
    "mesakit.bayes": "mesakit.emergence.bayes",
    "mesakit.gridworld": "mesakit.divergence.gridworld",
    "mesakit.gridpolicy": "mesakit.divergence.gridpolicy",
    "mesakit.mazes": "mesakit.search.mazes",
    "mesakit.planner": "mesakit.search.planner",
    "mesakit.probe": "mesakit.search.probe",
    "mesakit.signals": "mesakit.detection.signals",
    "mesakit.zoo": "mesakit.detection.zoo",
    "mesakit.solvers": "mesakit.detection.solvers",
    "mesakit.transformer": "mesakit.detection.transformer",
    "mesakit.checks.lesson01": "mesakit.checks.inner",
    "mesakit.checks.lesson02": "mesakit.checks.incontext",
    "mesakit.checks.lesson02_analysis": "mesakit.checks.incontext_analysis",
    "mesakit.checks.lesson03": "mesakit.checks.emergence",
    "mesakit.checks.lesson03_reading": "mesakit.checks.emergence_reading",
    "mesakit.checks.lesson04": "mesakit.checks.divergence",
    "mesakit.checks.lesson05": "mesakit.checks.search",
    "mesakit.checks.lesson05_control": "mesakit.checks.search_control",
    "mesakit.checks.lesson06": "mesakit.checks.detection",
    "mesakit.checks.heldout": "mesakit.checks.detection_heldout",
    "mesakit.plots.training": "mesakit.plots.incontext",
    "mesakit.widgets.training": "mesakit.widgets.incontext",
    "mesakit.widgets.gridworld": "mesakit.widgets.divergence",
}

# module that still exists -> {old attribute: new module holding it}
MOVED_NAMES: dict[str, dict[str, str]] = {
    "mesakit.experiments.lsa_gd": dict.fromkeys(
        ["EVAL_PROMPTS", "EVAL_SEED", "LR_SEED", "train_lsa", "evaluate", "learned_step_size"], "mesakit.incontext.lsa"
    ),
    "mesakit.experiments.multistep": dict.fromkeys(
        [
            "TRAIN_K",
            "TEST_K",
            "LR_PROMPTS",
            "STEPS",
            "CURRICULUM",
            "INIT_STD",
            "LR",
            "BATCH_SIZE",
            "WARMUP_BATCH_SIZE",
            "GRAD_CLIP",
            "curriculum_steps",
            "train_tied",
        ],
        "mesakit.incontext.multistep",
    ),
    "mesakit.experiments.task_diversity": dict.fromkeys(
        [
            "NUM_TASKS",
            "STEPS",
            "BATCH_SIZE",
            "TOLERANCE",
            "EVAL_PROMPTS",
            "POOL_SEED_OFFSET",
            "MEMORIZER",
            "IN_CONTEXT_LEARNER",
            "pool_for",
            "pretrained_name",
            "num_tasks_seen",
            "train_sweep",
            "evaluate",
            "load_pretrained_sweep",
        ],
        "mesakit.emergence.sweep",
    ),
    "mesakit.experiments.goal_misgeneralization": dict.fromkeys(
        ["EVAL_LEVELS", "TEST_SEED", "SHIFT_SEED", "ROLLOUT_SEED", "STEPS", "test_levels", "evaluate", "train_both"],
        "mesakit.divergence.goals",
    ),
    "mesakit.experiments.scale_shift": dict.fromkeys(
        ["SCALES", "EVAL_PROMPTS", "trained_lsa", "baked_step_size", "losses_at_scale", "evaluate"],
        "mesakit.divergence.shift",
    ),
    "mesakit.experiments.thinking_time": dict.fromkeys(
        [
            "TRAIN_SIZE",
            "LARGE_SIZE",
            "TRAIN_LOOPS",
            "CHANNELS",
            "TRAIN_ITERATIONS",
            "STEPS",
            "FEEDFORWARD_STEPS",
            "BATCH",
            "LR",
            "SMOOTHING",
            "OFFSET_PENALTY",
            "FEEDFORWARD_DEPTH",
            "EVAL_SEED",
            "N_EVAL",
            "N_LARGE",
            "N_PROBE",
            "LONG_FACTOR",
            "iteration_grid",
            "move_loss",
            "maze_sampler",
            "max_supervised_iterations",
            "thinking_forward",
            "thinking_loss",
            "feedforward_forward",
            "train_planner",
            "train_feedforward",
            "score_drift",
            "evaluate",
        ],
        "mesakit.search.thinking",
    ),
    # checks.lesson01/02/02_analysis/04/05/06 (now checks.inner, incontext, incontext_analysis,
    # divergence, search, detection) were split by idea
    "mesakit.checks.inner": dict.fromkeys(
        ["check_learn_step_size", "check_step_size_converges"], "mesakit.checks.inner_training"
    ),
    "mesakit.checks.incontext": dict.fromkeys(
        ["check_train_step", "check_gd_predict", "check_best_lr"], "mesakit.checks.incontext_training"
    ),
    "mesakit.checks.incontext_analysis": dict.fromkeys(
        ["check_gd_construction", "check_learned_step_size", "check_tied_lsa_forward"],
        "mesakit.checks.incontext_weights",
    ),
    "mesakit.checks.divergence": dict.fromkeys(
        ["check_pursued_goal", "check_goal_rates", "check_coin_anywhere"], "mesakit.checks.divergence_goals"
    ),
    "mesakit.checks.search": {
        **dict.fromkeys(["check_fit_ridge", "check_r_squared"], "mesakit.checks.search_probe"),
        **dict.fromkeys(["check_solve_rates", "check_solve_rate_by_length"], "mesakit.checks.search_rates"),
    },
    "mesakit.experiments.detector": dict.fromkeys(
        ["BATCH", "PROMPT_SEED", "TRANSFORMER_STEPS", "BUILDERS", "build", "analyse_zoo", "summarise", "per_family"],
        "mesakit.detection.builders",
    ),
    "mesakit.checks.detection": {
        **dict.fromkeys(
            ["check_learning_curve", "check_analyze_model_behavior", "EARLIER"], "mesakit.checks.detection_capstone"
        ),
        **dict.fromkeys(["check_auroc", "check_choose_threshold"], "mesakit.checks.detection_scoring"),
    },
    # the old ``mesakit.signals`` (now ``mesakit.detection.signals``) lost its planner half
    "mesakit.detection.signals": dict.fromkeys(
        [
            "PLANNER_SIGNALS",
            "PLANNER_ITERATIONS",
            "MAX_MAZES",
            "PLANNER_CONTRACT",
            "takes_iterations",
            "call_planner",
            "planner_signals",
        ],
        "mesakit.detection.signals_planner",
    ),
    # the old ``mesakit.emergence`` module became the package; its two functions moved one level down
    "mesakit.emergence": {
        "training_trajectory": "mesakit.emergence.trajectory",
        "appearance_step": "mesakit.emergence.trajectory",
    },
}


# model class -> module, for checkpoints written by 0.1 (they did not record their class's module)
MODEL_MODULES: dict[str, str] = {
    "LinearSelfAttention": "mesakit.core.models",
    "LSAWithReadout": "mesakit.emergence.diversity",
    "HandBuiltMesaOptimizer": "mesakit.inner.handbuilt",
    "RecurrentPlanner": "mesakit.search.planner",
    "FeedForwardPlanner": "mesakit.search.planner",
    "GridPolicy": "mesakit.divergence.gridpolicy",
    "RidgeSolver": "mesakit.detection.solvers",
    "ConjugateGradient": "mesakit.detection.solvers",
    "NewtonSolver": "mesakit.detection.solvers",
    "KernelRidge": "mesakit.detection.solvers",
    "ICLTransformer": "mesakit.detection.transformer",
    "NearestNeighbour": "mesakit.detection.baselines",
    "LabelAverage": "mesakit.detection.baselines",
    "KernelSmoother": "mesakit.detection.baselines",
    "QueryMLP": "mesakit.detection.baselines",
    "SetMLP": "mesakit.detection.baselines",
    "FlatMLP": "mesakit.detection.baselines",
}


class MovedWarning(DeprecationWarning):
    """An old mesakit import path was used; the message names the new one."""


def _warn(message: str) -> None:
    # Attribute the warning to the learner's line: skip this module's frames and ``__getattr__``
    # (the import system's frozen frames are skipped by ``warnings`` itself and not counted).
    frame, level = sys._getframe(1), 2
    while frame is not None:
        name = frame.f_code.co_filename
        if "importlib" not in name:
            if name != __file__ and frame.f_code.co_name != "__getattr__":
                break
            level += 1
        frame = frame.f_back
    warnings.warn(f"{message}; the old path stops working in mesakit {REMOVED_IN}", MovedWarning, stacklevel=level)


def moved_name(module: str, name: str) -> object:
    """For a module's ``__getattr__``: the object that moved away under ``name``, with a warning."""
    new = MOVED_NAMES.get(module, {}).get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    _warn(f"{module}.{name} moved to {new}.{name}")
    return getattr(importlib.import_module(new), name)


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        _warn(f"{spec.name} moved to {self.new}: import it from there")
        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:  # the new module is already executed
        pass


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old module paths of :data:`MOVED_MODULES` and returns the new modules."""

    def find_spec(self, fullname, path, target=None):
        new = MOVED_MODULES.get(fullname)
        return None if new is None else importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    """Resolve the old paths; show their warnings (DeprecationWarning is otherwise hidden outside
    ``__main__``, and these are meant for learners). A filter set later, e.g. ``error``, wins."""
    warnings.filterwarnings("default", category=MovedWarning)
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedFinder())
