"""Mutation tests of the exercise checks (issue 15): realistic wrong answers and valid alternatives,
one module per lesson (``lessonNN.py``), each exposing ``MUTANTS: list[Mutant]``.

A wrong answer must fail its check with an ``AssertionError`` (never another exception); when
``names`` is given the message must match it (a *named* rejection), and at least 60% of each
lesson's wrong answers must be named ones. A valid alternative (a loop
instead of vectorised code, float32, an equivalent formula) must pass. ``tests/test_mutants.py`` runs
them all; ``benchmarks/mutations.py`` prints the table (accepted wrong answers, crashes, share of
rejections that name the mistake).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Mutant:
    check: str  # name of the check in mesakit.checks, e.g. "check_least_squares_gradient"
    answer: Callable  # what the learner passes to the check
    label: str  # the mistake (or the alternative), in a few words
    names: str | None = None  # regex a *named* rejection matches; None: any rejection (counted generic)
    valid: bool = False  # True: a correct alternative that must pass
    kwargs: dict[str, Any] = field(default_factory=dict)  # extra arguments to the check (e.g. uses=...)

    def __post_init__(self) -> None:
        if self.valid and self.names is not None:
            raise ValueError(f"{self.label}: a valid alternative passes, so it has no `names`")


def all_mutants() -> dict[str, list[Mutant]]:
    """{"lesson01": [...], ...} from every lessonNN module in this package."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("lesson"):
            out[info.name] = list(importlib.import_module(f"{__name__}.{info.name}").MUTANTS)
    return out


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # "passed", "rejected-named", "rejected-generic", "crashed"
    message: str


def run(mutant: Mutant) -> Outcome:
    """Run one mutant through its check (stdout of the check is not captured here)."""
    import re

    from mesakit import checks

    check = getattr(checks, mutant.check)
    try:
        check(mutant.answer, **mutant.kwargs)
    except AssertionError as err:
        message = str(err)
        named = mutant.names is not None and re.search(mutant.names, message, re.IGNORECASE)
        return Outcome(mutant, "rejected-named" if named else "rejected-generic", message)
    except Exception as err:  # a check must never crash on a learner's answer
        return Outcome(mutant, "crashed", f"{type(err).__name__}: {err}")
    return Outcome(mutant, "passed", "")
