"""An instructor's own nbgrader assignment, unlike this course's lessons, for the nbgrader tests.

``week1_quiz`` has two notebooks whose names are not the assignment's (``part_a``, ``part_b``), a
data file the student's code reads (``data.csv``, the instructor's copy is the one graded, as in
nbgrader), a test cell that gives partial credit, a manually graded markdown answer, a manually
graded code answer and a task cell: everything ``nbgrader autograde`` handles. Max score: part_a
2 + 2 + 2 (manual) = 6, part_b 1 + 1 (manual) + 1 (task) = 3.

    write_source(course)             # course/solutions/week1_quiz/{part_a,part_b}.ipynb, data.csv
    answer(release, source, "honest")   # a student's notebook: "honest" or "partial"
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from build_fixture import meta

NAME = "week1_quiz"
DATA = "1,2\n3,4\n"  # sum 10, mean 2.5


_meta = meta  # the fixture's cell metadata, manual and task cells included


PART_A = [
    ("markdown", None, None, None, "# Week 1 quiz, part A\nThe numbers are in `data.csv`."),
    ("code", "readonly", "load", None, 'import numpy as np\nvalues = np.loadtxt("data.csv", delimiter=",").ravel()'),
    (
        "code",
        "solution",
        "total",
        None,
        "def total(xs):\n    ### BEGIN SOLUTION\n    return float(np.sum(xs))\n    ### END SOLUTION",
    ),
    (
        "code",
        "test",
        "test_total",
        2,
        'assert total(values) == 10.0, "the numbers in data.csv add up to 10"\n'
        "### BEGIN HIDDEN TESTS\nassert total(np.array([1.0, -1.0])) == 0.0\n### END HIDDEN TESTS",
    ),
    (
        "code",
        "solution",
        "mean",
        None,
        "def mean(xs):\n    ### BEGIN SOLUTION\n    return float(np.mean(xs))\n    ### END SOLUTION",
    ),
    (
        "code",
        "test",
        "test_mean",
        2,  # partial credit: the cell's value is the score
        "score = 0.0\nif abs(mean(values) - 2.5) < 1e-9:\n    score += 1.0\n"
        "if abs(mean(np.array([2.0, 4.0, 9.0])) - 5.0) < 1e-9:\n    score += 1.0\nscore",
    ),
    (
        "markdown",
        "manual",
        "explain",
        2,
        "Why is the mean of `values` 2.5?\n\n### BEGIN SOLUTION\nBecause 10 / 4 = 2.5.\n### END SOLUTION",
    ),
]

PART_B = [
    ("markdown", None, None, None, "# Week 1 quiz, part B"),
    ("code", "readonly", "imports", None, "import numpy as np"),
    (
        "code",
        "solution",
        "double",
        None,
        "def double(xs):\n    ### BEGIN SOLUTION\n    return 2 * np.asarray(xs)\n    ### END SOLUTION",
    ),
    ("code", "test", "test_double", 1, "assert list(double([1, 2])) == [2, 4]"),
    (
        "code",
        "manual",
        "describe",
        1,
        'def describe():\n    """One sentence on what double does."""\n    ### BEGIN SOLUTION\n    return "it doubles"\n    ### END SOLUTION',
    ),
    ("markdown", "task", "task_plot", 1, "**Task:** plot `double` on [0, 1] in a cell below (graded by hand)."),
]


def _notebook(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (ctype, kind, gid, points, source) in enumerate(cells):
        cell = nbformat.v4.new_markdown_cell(source) if ctype == "markdown" else nbformat.v4.new_code_cell(source)
        cell.id = f"cell-{i}"
        if kind:
            cell.metadata = _meta(kind, gid, points)
        nb.cells.append(cell)
    return nb


def write_source(course: Path) -> Path:
    folder = course / "solutions" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(_notebook(PART_A), folder / "part_a.ipynb")
    nbformat.write(_notebook(PART_B), folder / "part_b.ipynb")
    (folder / "data.csv").write_text(DATA)
    return folder


ANSWERS = {
    "honest": {
        "total": "def total(xs):\n    return float(np.sum(xs))",
        "mean": "def mean(xs):\n    return float(np.mean(xs))",
        "explain": "The four numbers add up to 10, and 10 / 4 = 2.5.",
        "double": "def double(xs):\n    return 2 * np.asarray(xs)",
        "describe": 'def describe():\n    return "it multiplies by two"',
    },
    # right on data.csv only: total fails the hidden test (0 of 2), mean earns 1 of 2; no written answer
    "partial": {
        "total": "def total(xs):\n    return 10.0",
        "mean": "def mean(xs):\n    return 2.5",
        "double": "def double(xs):\n    return 2 * np.asarray(xs)",
    },
}


def answer(release: nbformat.NotebookNode, kind: str) -> nbformat.NotebookNode:
    """The released notebook with the answers of a student of ``kind`` typed in."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ANSWERS[kind]:
            cell.source = ANSWERS[kind][gid]
    return nb


# per-cell auto scores nbgrader gives these (None: left for the instructor), for reference in tests
EXPECTED = {
    "honest": {
        "part_a": {"test_total": 2.0, "test_mean": 2.0, "explain": None},
        "part_b": {"test_double": 1.0, "describe": None, "task_plot": None},
    },
    "partial": {
        "part_a": {"test_total": 0.0, "test_mean": 1.0, "explain": 0.0},
        "part_b": {"test_double": 1.0, "describe": 0.0, "task_plot": None},
    },
}
