"""`mesakit grade --self LESSON`: the learner's own notebook, graded in the instructor's sandbox with
the hidden tests; the score line and the feedback page's path are printed, the notebook is never
changed, and no browser opens without --open."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from mesakit.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent / "grading"))
from build_fixture import solved  # noqa: E402

NAME = "01_base_and_mesa"


def test_usage_errors_need_no_sandbox(tmp_path, capsys):
    assert (
        main(
            [
                "grade",
                "--self",
                "01",
                "--notebook",
                str(tmp_path / "missing.ipynb"),
                "--course",
                str(ROOT),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "notebook not found" in capsys.readouterr().err
    assert main(["grade", "--self", "09", "--course", str(ROOT)]) == 2
    assert "no lesson '09'" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--self", "01"]) == 2
    assert main(["grade", "--open"]) == 2
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing: `make system-deps` installs it")
@pytest.mark.parametrize("which, expect_full", [("solved", True), ("released", False)])
def test_self_grade(tmp_path, capsys, monkeypatch, which, expect_full):
    import webbrowser

    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: pytest.fail("a browser was opened without --open"))
    release = nbformat.read(ROOT / "lessons" / NAME / f"{NAME}.ipynb", as_version=4)
    source = nbformat.read(ROOT / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    path = tmp_path / "mine.ipynb"
    nbformat.write(solved(release, source) if which == "solved" else release, path)
    before = path.read_bytes()
    out = tmp_path / "graded"
    assert main(["grade", "--self", "01", "--notebook", str(path), "--course", str(ROOT), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert path.read_bytes() == before  # the learner's notebook is never modified
    score_line = printed.splitlines()[0]
    page = out / "feedback" / "me" / NAME / f"{NAME}.html"
    assert f"feedback: {page.resolve()}" in printed and page.is_file()
    score, _, rest = score_line.partition(f"{NAME}: ")[2].partition(" / ")
    maximum = float(rest.split()[0])
    assert maximum == 13 and float(score) == (maximum if expect_full else 0.0), printed
    assert f"{float(score):g} / {maximum:g} points" in page.read_text()


def test_open_only_when_asked(tmp_path, capsys, monkeypatch):
    import webbrowser

    from mesakit.grade import selfgrade
    from mesakit.grade.runner import Result

    page = tmp_path / "feedback.html"
    monkeypatch.setattr(selfgrade, "grade_self", lambda *a, **k: (Result("me", NAME, 13.0, 13.0, "ok"), page))
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url))
    assert main(["grade", "--self", "01", "--course", str(ROOT)]) == 0
    assert opened == [] and f"{NAME}: 13 / 13 points (ok)" in capsys.readouterr().out
    assert main(["grade", "--self", "01", "--course", str(ROOT), "--open"]) == 0
    assert opened == [page.resolve().as_uri()]
