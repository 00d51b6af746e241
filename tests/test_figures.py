"""The quoted-figures rule itself (tests/figures.py), on small made-up notebooks: a figure the cells
print passes, a drifted one fails and is named, and a seed record or figure_sources entry can show it."""

from __future__ import annotations

import figures
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output


def _nb(markdown: str, printed: str):
    code = new_code_cell("print(...)", outputs=[new_output("stream", name="stdout", text=printed)])
    return new_notebook(cells=[code, new_markdown_cell(markdown)])


def test_a_printed_figure_passes_and_a_drifted_one_is_named():
    assert figures.unshown("xx", _nb("The loss falls to 0.52, and 98% are solved.", "loss 0.5213\nsolved 0.981")) == []
    misses = figures.unshown("xx", _nb("The loss falls to 0.52.", "loss 0.5391"))
    assert len(misses) == 1 and "0.52" in misses[0] and "The loss falls" in misses[0]


def test_sections_code_latex_citations_and_dropdowns_are_not_figures():
    text = (
        "Exercise 2.1 uses `lr = 0.25` and $\\eta = 0.1$ (section 3.2, (1.2)).\n"
        "Smith et al. (2022) report 0.75.\n<details><summary>Answer</summary>\n\n0.33\n</details>"
    )
    assert figures.quoted(text) == []


def test_a_seed_record_shows_a_range_only_in_a_cell_naming_its_command(tmp_path, monkeypatch):
    (tmp_path / "exp.json").write_text('{"0": {"rate": 0.954}, "1": {"rate": 0.966}}')
    monkeypatch.setattr(figures, "RESULTS", tmp_path)
    named = "Across seeds, `mesakit reproduce exp --seed S` gives 0.954 to 0.966."
    assert figures.unshown("xx", _nb(named, "")) == []
    assert len(figures.unshown("xx", _nb(named.replace("0.966", "0.970"), ""))) == 1
    assert len(figures.unshown("xx", _nb("Across seeds it gives 0.954 to 0.966.", ""))) == 2


def test_rounding_follows_the_written_decimals():
    assert figures.matches("0.98", 0.9812) and not figures.matches("0.98", 0.9851)
    assert figures.matches("98%", 0.981) and figures.matches("12%", 12.0)
