"""The Binder path: one pinned list serves `make lab`, `make test` and Binder, with CPU-only torch,
and repo2docker (without Docker, `--no-build`) accepts the folder and picks the intended Python."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

BINDER = ROOT / "binder"


def _requirement_lines(path: Path) -> list[str]:
    return [l.strip() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]


def test_runtime_is_the_tested_python():
    assert BINDER.joinpath("runtime.txt").read_text().strip() == "python-3.11"


def test_requirements_are_pinned_and_cpu_only():
    lines = _requirement_lines(BINDER / "requirements.txt")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines, "torch must come from the CPU wheel index"
    packages = [l for l in lines if not l.startswith("-")]
    unpinned = [l for l in packages if not re.match(r"^[A-Za-z0-9_.\-\[\]]+==[\w.+!-]+$", l)]
    assert not unpinned, f"unpinned requirements: {unpinned}"
    assert "torch==2.13.0" in packages
    assert not [l for l in packages if l.lower().startswith(("nvidia-", "triton"))], "CUDA packages in the pins"


def test_make_lab_installs_the_binder_pins():
    makefile = (ROOT / "Makefile").read_text()
    assert "binder/requirements.txt" in makefile and "-r $(VENV)/pins.txt" in makefile
    assert "-r binder/requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    postbuild = (BINDER / "postBuild").read_text()
    assert "--no-deps" in postbuild and "-e ." in postbuild, "postBuild must add mesakit without changing the pins"


def test_repo2docker_accepts_the_folder(tmp_path):
    repo2docker = Path(sys.executable).parent / "repo2docker"
    if not repo2docker.exists():
        pytest.fail("repo2docker is missing from the venv: run `make test` (it installs requirements-dev.txt)")
    # Only what git tracks goes to Binder.
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    done = subprocess.run(
        [str(repo2docker), "--no-build", "--debug", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "python=3.11" in log, "repo2docker did not pick Python 3.11 from binder/runtime.txt"
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in log
    assert "./binder/postBuild" in log
