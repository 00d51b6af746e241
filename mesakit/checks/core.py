"""The machinery behind every ``check_<exercise>(student_fn)``: call the learner's code safely,
compare with the reference, and when they differ, say *which* likely mistake explains it.

A check builds fixed-seed inputs, runs the reference and the learner's function, and calls
:func:`expect_close` with a few ``diagnoses``: outputs of known wrong implementations (wrong sign,
off by one, forgotten normalisation...) paired with the message to show when the learner's output
matches one of them. Checks raise ``AssertionError`` (so nbgrader counts a failed test) and print a
one-line success. The lesson-specific checks live in ``<topic>.py`` beside this file (docs/architecture.md).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


class CheckFailed(AssertionError):
    """A failed check, as the learner sees it: in IPython (JupyterLab, nbgrader) the message alone,
    plus the learner's own lines when their code crashed, instead of a traceback through this package
    (IPython shows ``_render_traceback_``'s lines in place of the traceback)."""

    def _render_traceback_(self) -> list[str]:
        lines = []
        cause = self.__cause__
        if cause is not None:
            package = str(Path(__file__).resolve().parent.parent)
            theirs = [f for f in traceback.extract_tb(cause.__traceback__) if not f.filename.startswith(package)]
            lines += ["Your code raised an error while the check ran it:"]
            lines += [_where(f) + (f"\n    {f.line}" if f.line else "") for f in theirs]
            lines += [f"{type(cause).__name__}: {cause}", ""]
        return lines + [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


def _where(frame: traceback.FrameSummary) -> str:
    """'Cell In[3], line 2, in fn' for notebook code (as IPython writes it), else the file."""
    try:
        from IPython import get_ipython

        cell = get_ipython().compile.format_code_name(frame.filename)
    except Exception:  # not in IPython, or an IPython without cell names
        cell = None
    place = f"{cell[0]} {cell[1]}" if cell else f'File "{frame.filename}"'
    return f"  {place}, line {frame.lineno}, in {frame.name}"


def learner_facing(check: Callable) -> Callable:
    """Wrap a ``check_<exercise>`` so that a failure raises :class:`CheckFailed` with the same message
    (still an ``AssertionError``, so nbgrader and pytest see a failed test). When the learner's own
    code crashed, that crash stays attached as the cause, so they still see the line that failed."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except CheckFailed:
            raise
        except AssertionError as err:
            cause = err.__cause__ if not isinstance(err.__cause__, AssertionError) else None
            raise CheckFailed(*err.args) from cause

    return wrapper


def call(fn: Callable, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call the learner's ``fn``; turn "not implemented" and crashes into a readable failure."""
    name = name or getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise AssertionError(
            f"expected a function for {name}, got {type(fn).__name__}: pass the function itself, not its result"
        )
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(
            f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code"
        ) from None
    except AssertionError:
        raise
    except Exception as err:
        raise AssertionError(f"{name} raised {type(err).__name__}: {err}") from err


def expect_tensor(out: Any, shape: Sequence[int], name: str, hint: str = "") -> torch.Tensor:
    """Fail unless ``out`` is a tensor of ``shape``, with a message naming both shapes."""
    if not isinstance(out, torch.Tensor):
        raise AssertionError(f"{name} should return a torch.Tensor of shape {tuple(shape)}, got {type(out).__name__}")
    if tuple(out.shape) != tuple(shape):
        raise AssertionError(
            f"{name} returned shape {tuple(out.shape)}, expected {tuple(shape)}" + (f": {hint}" if hint else "")
        )
    if not torch.isfinite(out).all():
        raise AssertionError(f"{name} returned NaN or Inf values; look for a division by zero or a diverging loop")
    return out


def expect_number(value: Any, name: str) -> float:
    """A Python float from a float or a one-element tensor, else a failure naming what came back."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.generic):  # a NumPy scalar (np.float32...) is a number too
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AssertionError(f"{name} should return a number (a Python float), got {type(value).__name__}")
    if not math.isfinite(value):
        raise AssertionError(f"{name} returned {value}; look for a division by zero or a diverging loop")
    return float(value)


def is_close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    return a.shape == b.shape and torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol)


def expect_close(
    out: torch.Tensor,
    expected: torch.Tensor,
    name: str,
    diagnoses: Sequence[tuple[torch.Tensor, str]] = (),
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> None:
    """Fail unless ``out ≈ expected``; if ``out`` matches a known mistake, say which one."""
    out = expect_tensor(out, expected.shape, name)
    if is_close(out, expected, rtol, atol):
        return
    for wrong, message in diagnoses:
        if is_close(out, wrong, rtol, atol):
            raise AssertionError(f"{name}: {message}")
    error = (out.double() - expected.double()).abs()
    where = tuple(int(i) for i in torch.nonzero(error == error.max())[0])
    raise AssertionError(
        f"{name} differs from the reference: largest error {error.max().item():.3g} at index {where} "
        f"(got {out.double()[where].item():.6g}, expected {expected.double()[where].item():.6g})"
    )


# ---------------------------------------------------------------- one mistake, one deduction (``uses=``)


def earlier_fails(check: Callable, fn: Callable | None) -> str | None:
    """The message of ``check(fn)`` if the learner's earlier function fails it (quietly), else None."""
    if fn is None:
        return None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(fn)
    except AssertionError as err:
        return str(err)
    return None


def with_theirs(out: torch.Tensor, theirs: Callable[[], torch.Tensor], name: str, earlier: str) -> bool:
    """True when ``out`` is exactly what this exercise gives on top of the learner's (failing) earlier
    function: this exercise is then right, and only the earlier one needs fixing (one mistake, one
    deduction). Prints a note saying so."""
    try:
        expected = theirs()
    except Exception:  # their earlier function crashes on these inputs: nothing to compare with
        return False
    if not (isinstance(out, torch.Tensor) and isinstance(expected, torch.Tensor) and is_close(out, expected)):
        return False
    print(f"⚠ {name} itself is right, but it uses your {earlier}, which fails its check: fix that first")
    return True


def blame_earlier(err: AssertionError, earlier: str | None, name: str) -> AssertionError:
    if earlier is None:
        return err
    return AssertionError(
        f"{err}\n(note: {name} uses your {earlier}, which fails its own check; "
        f"fix that first, then run this check again)"
    )


@contextlib.contextmanager
def swapped(fn: Callable, pairs: Sequence[tuple[Callable, Callable]]):
    """Run ``fn`` with each learner's earlier function (``theirs``) replaced by the reference
    (``ours``) in ``fn``'s own globals (the notebook's namespace), so that a later exercise can be
    tested on its own: ``pairs`` is ``[(theirs, ours), ...]``."""
    space = getattr(fn, "__globals__", {})
    ours = {id(theirs): reference for theirs, reference in pairs}
    saved = {k: v for k, v in space.items() if id(v) in ours}
    space.update({k: ours[id(v)] for k, v in saved.items()})
    try:
        yield
    finally:
        space.update(saved)


def check_with_references(
    check: Callable, fn: Callable, pairs: Sequence[tuple[Callable, Callable]], name: str, earlier: str
) -> None:
    """Run ``check(fn)`` quietly with the learner's failing earlier functions replaced by the references
    (``pairs`` as in :func:`swapped`). A failure keeps the check's message and adds a note naming
    ``earlier``; a pass says that only the earlier exercise needs fixing (one mistake, one deduction)."""
    with swapped(fn, pairs):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(fn)
        except AssertionError as err:
            raise AssertionError(
                f"{err}\n(note: {name} also uses your {earlier}, which fails its own check; fix that first)"
            ) from None
    print(f"⚠ {name} itself is right, but it uses your {earlier}, which fails its check: fix that first")


def passed(message: str) -> None:
    """The one-line success every check prints."""
    print(f"✔ {message}")
