"""0.1's import paths keep working for one release (issue 16): every import statement and every
moved name the released 0.1 lessons used resolves to the new home's object, with a MovedWarning
that names the new path. The statements are those of lessons/ and solutions/ at 0.1 (commit 70d41b4)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mesakit import moved

# Each test starts a fresh interpreter (imports are cached per process): the slow tier.
SUBPROCESS = pytest.mark.slow

# Every `import mesakit...` / `from mesakit... import ...` line of the 0.1 notebooks.
STATEMENTS_0_1 = [
    "from mesakit import checks, detect, metrics, models, plots, reference, zoo",
    "from mesakit import checks, emergence, metrics, models, plots, reference",
    "from mesakit import checks, gridworld, metrics, models, plots, reference",
    "from mesakit import checks, handbuilt, metrics, reference, scenarios",
    "from mesakit import checks, metrics, models, plots, reference",
    "from mesakit import checks, models, plots",
    "from mesakit import mazes",
    "from mesakit import planner as planner_lib",
    "from mesakit import solvers",
    "from mesakit.checks import heldout",
    "from mesakit.diversity import LSAWithReadout, TaskPool, train_on_pool",
    "from mesakit.diversity import locate_transition as _reference_transition",
    "from mesakit.experiments import detector, task_diversity",
    "from mesakit.experiments import goal_misgeneralization, scale_shift",
    "from mesakit.experiments import lsa_gd, multistep",
    "from mesakit.experiments import thinking_time",
    "from mesakit.experiments.lsa_gd import LR_SEED",
    "from mesakit.gridpolicy import GridPolicy",
    "from mesakit.gridpolicy import goal_rates as library_goal_rates",
    "from mesakit.gridworld import Episode, Level",
    "from mesakit.handbuilt import HandBuiltConfig, HandBuiltMesaOptimizer",
    "from mesakit.mazes import distance_map, generate_mazes, path_lengths",
    "from mesakit.planner import RecurrentPlanner, solve_rate",
    "from mesakit.plots import inner as inner_plots",
    "from mesakit.probe import open_square_features, probe_value_map, r2_score",
    "from mesakit.tasks import RegressionTask",
    "from mesakit.train import TrainConfig, train",
    "from mesakit.widgets.detection import kernel_explorer, leaderboard",
    "from mesakit.widgets.emergence import diversity_frame, pool_size_explorer",
    "from mesakit.widgets.gridworld import episode_frame, episode_pairs, episode_viewer",
    "from mesakit.widgets.inner import inner_loop_explorer",
    "from mesakit.widgets.search import thinking_stepper",
    "from mesakit.widgets.training import snapshot_scrubber",
    "import mesakit.tasks as _tasks",
]

# Names the 0.1 notebooks read off modules that still exist but lost them (module alias -> names).
ATTRIBUTES_0_1 = {
    "lsa_gd": ["EVAL_SEED", "LR_SEED", "learned_step_size", "train_lsa"],
    "multistep": ["LR_PROMPTS", "TRAIN_K"],
    "task_diversity": ["TOLERANCE", "evaluate", "load_pretrained_sweep", "num_tasks_seen", "pool_for"],
    "thinking_time": ["iteration_grid", "max_supervised_iterations", "score_drift", "train_planner"],
    "scale_shift": ["evaluate"],
    "goal_misgeneralization": ["ROLLOUT_SEED", "test_levels"],
    "detector": ["analyse_zoo", "summarise"],
    "emergence": ["appearance_step", "training_trajectory"],
    "heldout": ["heldout_auroc", "points"],
    "gridworld": ["distances", "make_level", "pursued_goal", "render", "rollout"],
    "mazes": ["generate_mazes"],
    "planner_lib": ["solve_rate_by_length"],
    "solvers": ["KernelRidge", "KernelRidgeConfig"],
    "zoo": ["KernelConfig", "KernelSmoother", "LabelAverage", "MLPConfig", "NearestNeighbour", "ZOO", "entry", "load"],
    "detect": ["analyze_model_behavior", "combine_signals", "context_gain", "fresh_task_prompts", "auroc"],
    "models": ["LSAConfig", "LinearSelfAttention", "load_pretrained", "load", "save"],
}


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@SUBPROCESS
def test_every_0_1_import_and_name_still_works_with_a_warning_naming_the_new_path():
    code = textwrap.dedent(f"""
        import warnings
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            for statement in {STATEMENTS_0_1!r}:
                exec(statement, globals())
            for alias, names in {ATTRIBUTES_0_1!r}.items():
                for name in names:
                    getattr(globals()[alias], name)
        moved = [str(w.message) for w in caught if type(w.message).__name__ == "MovedWarning"]
        print(len(moved))
        print("\\n".join(moved))
    """)
    done = _run(code)
    assert done.returncode == 0, done.stderr[-3000:]
    count, *messages = done.stdout.strip().splitlines()
    assert int(count) >= 20 and all("moved to mesakit." in m and "0.3" in m for m in messages)


@SUBPROCESS
def test_old_and_new_paths_give_the_same_objects_and_each_old_path_warns():
    code = textwrap.dedent(f"""
        import importlib, sys, warnings
        bad = []
        for old, new in {moved.MOVED_MODULES!r}.items():
            sys.modules.pop(old, None)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                module = importlib.import_module(old)
            if module is not importlib.import_module(new):
                bad.append(f"{{old}} is not {{new}}")
            if not any(new in str(w.message) for w in caught):
                bad.append(f"{{old}}: no warning naming {{new}}")
        for module, names in {moved.MOVED_NAMES!r}.items():
            for name, new in names.items():
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    obj = getattr(importlib.import_module(module), name)
                if obj is not getattr(importlib.import_module(new), name):
                    bad.append(f"{{module}}.{{name}} is not {{new}}.{{name}}")
                if not any(new in str(w.message) for w in caught):
                    bad.append(f"{{module}}.{{name}}: no warning")
        print("\\n".join(bad))
    """)
    done = _run(code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "", done.stdout


@SUBPROCESS
def test_the_warning_points_at_the_learners_line_and_can_be_made_an_error():
    done = _run("import mesakit.gridworld\n")
    assert "<string>:1: MovedWarning: mesakit.gridworld moved to mesakit.divergence.gridworld" in done.stderr
    done = _run("import warnings, mesakit; warnings.simplefilter('error')\nimport mesakit.zoo\n")
    assert done.returncode == 1 and "MovedWarning" in done.stderr


@SUBPROCESS
def test_new_paths_do_not_warn():
    done = _run(
        "import warnings; warnings.simplefilter('error')\n"
        "from mesakit import checks, models, detect, plots, widgets\n"
        "from mesakit.divergence import gridworld\nfrom mesakit.core import tasks\n"
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_unknown_name_on_a_module_with_moved_names_is_still_an_attribute_error():
    from mesakit.experiments import lsa_gd

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lsa_gd.nope  # noqa: B018


def old_paths_in(source: str, aliases: dict[str, str] | None = None) -> list[str]:
    """The 0.1 paths a piece of notebook code uses: old modules, and moved names read off a module.
    ``aliases`` (name -> module) carries the imports of earlier cells and is updated."""
    import ast
    import re

    tree = ast.parse(re.sub(r"^(\s*)[%!]", r"\1#", source, flags=re.M))  # IPython magics are not Python
    found = []
    aliases = {} if aliases is None else aliases
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mesakit"):
            if node.module in moved.MOVED_MODULES:
                found.append(node.module)
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in moved.MOVED_MODULES:
                    found.append(full)
                elif a.name in moved.MOVED_NAMES.get(node.module, {}):
                    found.append(full)
                aliases[a.asname or a.name] = full
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in moved.MOVED_MODULES:
                    found.append(a.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            module = aliases[node.value.id]
            if node.attr in moved.MOVED_NAMES.get(module, {}):
                found.append(f"{module}.{node.attr}")
    return found


def test_the_finder_of_old_paths_finds_them():
    assert old_paths_in(
        "from mesakit import gridworld\nfrom mesakit.experiments import lsa_gd\nlsa_gd.train_lsa(0)"
    ) == ["mesakit.gridworld", "mesakit.experiments.lsa_gd.train_lsa"]
    aliases: dict[str, str] = {}
    assert old_paths_in("from mesakit.experiments import lsa_gd", aliases) == []
    assert old_paths_in("lsa_gd.LR_SEED", aliases) == ["mesakit.experiments.lsa_gd.LR_SEED"]
    assert (
        old_paths_in("from mesakit.divergence import gridworld\nfrom mesakit.incontext import lsa\nlsa.train_lsa(0)")
        == []
    )


def test_the_course_notebooks_use_only_the_new_paths():
    from pathlib import Path

    import nbformat

    root = Path(__file__).resolve().parent.parent
    bad = []
    for path in sorted(root.glob("solutions/*/*.ipynb")):
        aliases: dict[str, str] = {}
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code":
                bad += [f"{path.name} cell {i}: {p}" for p in old_paths_in(cell.source, aliases)]
    assert not bad, "notebooks still use 0.1 paths (see mesakit/moved.py for the new ones):\n" + "\n".join(bad)


def without_compat_tests(source: str) -> str:
    """``source`` with the test functions that exercise old paths on purpose (they expect a MovedWarning) blanked."""
    import ast

    lines = source.splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and "MovedWarning" in ast.unparse(node):
            for i in range(node.lineno - 1, node.end_lineno):
                lines[i] = ""
    return "\n".join(lines)


def test_the_repository_uses_only_the_new_paths():
    """Library, tests, benchmarks and tools import the new homes (only this file tests the old ones)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    skip = {Path(__file__).resolve(), root / "tools" / "relayout.py", root / "mesakit" / "moved.py"}
    bad = []
    for folder in ("mesakit", "tests", "benchmarks", "tools"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.resolve() not in skip:
                bad += [f"{path.relative_to(root)}: {p}" for p in old_paths_in(without_compat_tests(path.read_text()))]
    assert not bad, "0.1 paths in the repository:\n" + "\n".join(bad)
