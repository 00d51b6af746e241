"""Release 0.2's package re-layout (docs/architecture.md): move the modules, rewrite every import.

Moves each old module of :data:`mesakit.moved.MOVED_MODULES` to its new path with ``git mv`` and
rewrites the imports of every Python file (mesakit/, tests/, benchmarks/, tools/) and of the code
cells of ``solutions/*/*.ipynb`` to the new paths. Relative imports inside the package are
recomputed from each file's new place. Dotted names in strings and docstrings (``"mesakit.zoo"``)
follow. Notebooks keep the contract paths ``mesakit.models`` and ``mesakit.detect`` (COURSE.md);
the library imports their new homes. Run once from the repository root, then ``mesakit release``:

    python tools/relayout.py [--notebooks-only]
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from mesakit.moved import MOVED_MODULES, MOVED_NAMES  # noqa: E402

# Contract paths (COURSE.md): kept in notebooks, tests and prose; the library imports the new homes.
STABLE = {"mesakit.models": "mesakit.core.models", "mesakit.detect": "mesakit.detection.detector"}
# Old module ``mesakit.emergence`` is now a package; its content is ``emergence.trajectory``.
RENAMED_TO_PACKAGE = {"mesakit.emergence": "mesakit.emergence.trajectory"}


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_of(module: str, is_init: bool) -> str:
    return module if is_init else module.rpartition(".")[0]


def new_name(old: str, library: bool) -> str:
    table = {**MOVED_MODULES, **RENAMED_TO_PACKAGE, **(STABLE if library else {})}
    return table.get(old, old)


def is_submodule(module: str) -> bool:
    path = ROOT / module.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def resolve(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def relative(target: str, package: str) -> tuple[int, str]:
    """``from <dots><rest> import`` reaching ``target`` from inside ``package``."""
    here, there = package.split("."), target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    return len(here) - common + 1, ".".join(there[common:])


def render(node: ast.ImportFrom, package: str, new_package: str, library: bool, old_modules: set[str]) -> str | None:
    """The rewritten statement(s), or None when nothing in it moved (``new_package``: the file's package
    after the move, from which relative imports are written)."""
    source = resolve(node, package)
    groups: dict[str, list[str]] = {}
    changed = False
    for alias in node.names:
        full = f"{source}.{alias.name}"
        if full in old_modules or (library and full in STABLE):
            target = new_name(full, library)
            parent, _, name = target.rpartition(".")
            text = name if (alias.asname or alias.name) == name else f"{name} as {alias.asname or alias.name}"
            groups.setdefault(parent, []).append(text)
            changed = True
        else:
            target_module = new_name(source, library)
            if source in RENAMED_TO_PACKAGE and is_submodule(f"{source}.{alias.name}"):
                target_module = source  # already the new layout: mesakit.emergence.diversity
            if alias.name in MOVED_NAMES.get(source, {}):  # a name that left a module that stays
                target_module, changed = MOVED_NAMES[source][alias.name], True
            changed |= target_module != source
            text = alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"
            groups.setdefault(target_module, []).append(text)
    if not changed:
        return None
    lines = []
    for module, names in groups.items():
        if node.level and module.startswith("mesakit"):
            dots, rest = relative(module, new_package)
            module = "." * dots + rest
        lines.append(f"from {module} import {', '.join(names)}")
    return "\n".join(lines)


def rewrite_source(text: str, module: str, is_init: bool, library: bool, new_module: str | None = None) -> str:
    package = package_of(module, is_init)
    new_package = package_of(new_module or module, is_init)
    old_modules = set(MOVED_MODULES) | set(RENAMED_TO_PACKAGE)
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            new = render(node, package, new_package, library, old_modules)
            if new is None and node.level and new_package != package:
                # a relative import in a moved file: same target, new dots
                source = resolve(node, package)
                names = ", ".join(a.name if a.asname is None else f"{a.name} as {a.asname}" for a in node.names)
                dots, rest = relative(source, new_package) if source.startswith("mesakit") else (0, source)
                new = f"from {'.' * dots + rest} import {names}"
        elif isinstance(node, ast.Import):
            parts = []
            changed = False
            for a in node.names:
                target = new_name(a.name, library)
                changed |= target != a.name
                parts.append(target if a.asname is None else f"{target} as {a.asname}")
            new = f"import {', '.join(parts)}" if changed else None
        else:
            continue
        if new is not None:
            edits.append((node.lineno, node.end_lineno, node.col_offset, node.end_col_offset, new))
    for start, end, col, end_col, new in sorted(edits, reverse=True):
        indent = lines[start - 1][:col]
        rest = lines[end - 1][end_col:].strip()
        comment = "  " + rest if rest.startswith("#") else ""
        body = "\n".join(indent + line if i else line for i, line in enumerate(new.split("\n")))
        lines[start - 1 : end] = [indent + body + comment + "\n"]
    return dotted("".join(lines), library)


def dotted(text: str, library: bool) -> str:
    """Dotted module names in strings, comments and docstrings."""
    table = {**MOVED_MODULES, **RENAMED_TO_PACKAGE, **(STABLE if library else {})}
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)) + r")\b(?![\w/])"
    )

    def new(m: re.Match) -> str:
        old = m.group(1)
        # ``mesakit.emergence.<x>`` is already the new package (diversity, bayes, trajectory)
        # (and ``from mesakit.emergence import x`` is the import pass's business)
        if old in RENAMED_TO_PACKAGE and (text[m.end() : m.end() + 1] == "." or text[m.end() :].startswith(" import")):
            return old
        return table[old]

    return pattern.sub(new, text)


def move_files() -> dict[Path, Path]:
    moves = {}
    for old, new in {**MOVED_MODULES, **RENAMED_TO_PACKAGE, **STABLE}.items():
        src = ROOT / (old.replace(".", "/") + ".py")
        dst = ROOT / (new.replace(".", "/") + ".py")
        moves[src] = dst
    return moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks-only", action="store_true")
    args = parser.parse_args()
    if not args.notebooks_only:
        moves = move_files()
        sources = [
            p
            for d in ("mesakit", "tests", "benchmarks", "tools")
            for p in (ROOT / d).rglob("*.py")
            if ".venv" not in p.parts and p.name not in ("relayout.py", "moved.py")
        ]
        texts = {}
        for path in sources:
            library = path.relative_to(ROOT).parts[0] == "mesakit"
            module = module_of(path)
            new_path = moves.get(path, path)
            texts[new_path] = rewrite_source(
                path.read_text(), module, path.name == "__init__.py", library, module_of(new_path)
            )
        for src, dst in moves.items():
            dst.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "mv", str(src), str(dst)], cwd=ROOT, check=True)
        for path, text in texts.items():
            path.write_text(text)
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if cell.cell_type == "code":
                # IPython magics (%matplotlib, !pip) are not Python: park them in comments meanwhile
                masked = re.sub(r"^(\s*)([%!])", r"\1#MAGIC\2", cell.source, flags=re.M)
                new = re.sub(
                    r"^(\s*)#MAGIC([%!])", r"\1\2", rewrite_source(masked, "__main__", False, library=False), flags=re.M
                )
            else:
                new = dotted(cell.source, library=False)
            if new != cell.source:
                cell.source, changed = new, True
        if changed:
            nbformat.write(nb, path)
            print(f"rewrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
