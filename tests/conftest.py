"""Shared fixtures: the course root, and executed notebooks cached for the whole session (each
notebook runs once however many tests read it)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")  # library tests draw figures without a display


@functools.cache
def executed(path: str, allow_errors: bool):
    from mesakit.course import execute

    nb, seconds = execute(Path(path), timeout=600, allow_errors=allow_errors)
    return nb


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
