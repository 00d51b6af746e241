"""The layout rules of docs/architecture.md that a script can check: the core imports no lesson
topic, no module reaches for another module's private name, and no module grows past the size a
reader takes in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mesakit"
TOPICS = ("inner", "incontext", "emergence", "divergence", "search", "detection")
APP = ("experiments", "checks", "plots", "widgets", "grade", "cli", "course", "progress", "handout", "models", "detect")
MAX_LINES = 360  # the guide's "~350 lines"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) of every import in ``path``."""
    tree = ast.parse(path.read_text())
    inside = path.is_relative_to(PACKAGE)
    package = (
        "" if not inside else module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((a.name, [], node.lineno) for a in node.names)
    return found


def private_uses(path: Path) -> list[str]:
    """Private names of other mesakit modules used in ``path``: imported, or read as ``module._x``."""
    bad, aliases = [], {}
    for module, names, line in imports(path):
        if not module.startswith("mesakit"):
            continue
        for name in names:
            if name.startswith("_") and not name.startswith("__"):
                bad.append(f"line {line}: from {module} import {name}")
            aliases[name] = f"{module}.{name}"
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            bad.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return bad


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_rules_see_every_module():
    assert len(SOURCES) > 60 and PACKAGE / "core" / "models.py" in SOURCES


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_topic_and_no_app_code(path):
    targets = [
        (f"{module}.{n}" if module == "mesakit" else module, line)
        for module, names, line in imports(path)
        for n in (names or [""])
    ]
    outside = [
        f"line {line}: {module}"
        for module, line in targets
        if module.startswith("mesakit") and not module.startswith("mesakit.core") and module != "mesakit.moved"
    ]  # 0.1 checkpoints (mesakit.moved.MODEL_MODULES), until 0.3
    assert not outside, f"{path.relative_to(PACKAGE)} imports outside the core: {outside}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_crosses_modules(path):
    assert not private_uses(path), f"{path.relative_to(PACKAGE)} uses private names: {private_uses(path)}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_reads_in_one_sitting(path):
    if path.name == "scenarios_feedback.py":
        pytest.skip("sealed data written by tools/concept_feedback.py, not code")
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines (> {MAX_LINES}): split it by idea"


def test_the_rules_catch_what_they_forbid(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from mesakit.checks.incontext import _lsa\nfrom mesakit.core import models\nmodels._REGISTRY\n")
    assert len(private_uses(bad)) == 2
    good = tmp_path / "good.py"
    good.write_text("from mesakit.core import models\nfrom __future__ import annotations\nmodels.registered('x')\n")
    assert private_uses(good) == []


SEEDING = ("torch.manual_seed(", "torch.random.fork_rng(", "torch.set_num_threads(", "torch.random.set_rng_state(")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_one_seeding_idiom(path):
    """Global RNG and thread settings change only inside core.seeding.seeded (which restores them);
    everything else takes a seed or a torch.Generator."""
    if path == PACKAGE / "core" / "seeding.py":
        return
    code = [line.split("#")[0] for line in path.read_text().splitlines()]
    found = [f"line {i}: {line.strip()}" for i, line in enumerate(code, 1) if any(s in line for s in SEEDING)]
    assert not found, f"{path.relative_to(PACKAGE)}: use mesakit.core.seeding.seeded instead of {found}"
