"""What a learner sees when a check fails: the message (and their own crashing line), never a
traceback through mesakit's internals."""

from __future__ import annotations

import re

import nbformat
import pytest
import torch

from mesakit import checks
from mesakit.checks.core import CheckFailed


def test_every_exported_check_is_learner_facing():
    names = [n for n in dir(checks) if n.startswith("check_")]
    assert len(names) > 20
    for name in names:
        fn = getattr(checks, name)
        assert fn.__wrapped__ is not None, f"checks.{name} is not wrapped by learner_facing"


def test_a_failed_check_is_still_an_assertion_error_with_the_same_message():
    def stub(w, x, y):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented yet") as err:
        checks.check_least_squares_gradient(stub)
    assert type(err.value) is CheckFailed
    lines = err.value._render_traceback_()
    assert lines[-1].endswith(
        "least_squares_gradient is not implemented yet: replace `raise NotImplementedError()` with your code"
    )
    assert not any("mesakit" in line for line in lines), lines


def test_a_crash_in_the_learner_code_shows_their_line_and_no_library_frames():
    def crashes(w, x, y):
        return x @ torch.ones(99)  # a shape mistake the learner made

    with pytest.raises(AssertionError, match="raised RuntimeError") as err:
        checks.check_least_squares_gradient(crashes)
    text = "\n".join(err.value._render_traceback_())
    assert "x @ torch.ones(99)" in text and "in crashes" in text
    assert "mesakit/checks" not in text, text
    assert len(text.splitlines()) <= 8


@pytest.mark.slow
def test_in_a_notebook_the_learner_sees_only_the_message():
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from mesakit import checks\ndef least_squares_gradient(w, x, y):\n    raise NotImplementedError()"
        ),
        nbformat.v4.new_code_cell("checks.check_least_squares_gradient(least_squares_gradient)"),
    ]
    NotebookClient(nb, allow_errors=True, kernel_name="python3").execute()
    (error,) = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    shown = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in error.traceback]
    assert shown == [
        "CheckFailed: least_squares_gradient is not implemented yet: replace `raise NotImplementedError()` with your code"
    ]
