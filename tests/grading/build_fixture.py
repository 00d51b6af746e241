"""Build the grading test fixtures: a tiny nbgrader assignment and the corpus of submissions.

    python tests/grading/build_fixture.py      # rewrites tests/grading/course/ and submissions/

``course/`` is a miniature course (nbgrader_config.py, solutions/01_fixture, lessons/01_fixture made
by `mesakit release`). ``submissions/<student>/01_fixture/01_fixture.ipynb`` holds an honest
submission (``honest``) and one submission per trick in ``CHEATS`` below: adversarial and faulty
notebooks, every one of which must score 0. Run it again after changing either.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
COURSE = HERE / "course"
SUBMISSIONS = HERE / "submissions"
LESSON = "01_fixture"


def meta(kind=None, gid=None, points=None):
    m = {"grade": False, "grade_id": gid, "locked": False, "schema_version": 3, "solution": False, "task": False}
    if kind == "readonly":
        m["locked"] = True
    elif kind == "solution":
        m["solution"] = True
    elif kind == "test":
        m.update(grade=True, locked=True, points=float(points))
    elif kind == "manual":  # an answer graded by hand
        m.update(grade=True, solution=True, points=float(points))
    elif kind == "task":
        m.update(task=True, locked=True, points=float(points))
    return {"nbgrader": m}


CELLS = [
    ("markdown", None, None, None, "# Lesson 01 — fixture\nA tiny assignment for the grader's tests."),
    (
        "code",
        "readonly",
        "setup",
        None,
        "%matplotlib inline\nimport math\nimport numpy as np\nimport torch\nfrom mesakit.checks import core\ntorch.manual_seed(0)",
    ),
    ("code", "readonly", "fixed_inputs", None, "X_FIXED = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)"),
    (
        "code",
        "solution",
        "scale",
        None,
        'def scale(x: torch.Tensor, a: float) -> torch.Tensor:\n    """x (n,) -> (n,): every entry times a."""\n'
        "    ### BEGIN SOLUTION\n    return a * x\n    ### END SOLUTION",
    ),
    (
        "code",
        "test",
        "test_scale",
        2,
        'x = torch.arange(5.0)\ncore.expect_close(core.call(scale, x, 2.0), 2.0 * x, "scale")\n'
        'assert torch.allclose(scale(X_FIXED, -1.0), -X_FIXED), "scale(x, -1) should be -x"\ncore.passed("scale works")\n'
        "### BEGIN HIDDEN TESTS\ny = torch.linspace(-1, 1, 7, dtype=torch.float64)\n"
        "np.testing.assert_allclose(scale(y, 3.0).numpy(), 3.0 * y.numpy())\n"
        "assert math.isclose(float(scale(torch.tensor([1.5]), 2.0)[0]), 3.0)\n### END HIDDEN TESTS",
    ),
    (
        "code",
        None,
        None,
        None,
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1], [0, 1])\nplt.show()",
    ),
    (
        "code",
        "solution",
        "mean_square",
        None,
        'def mean_square(x: torch.Tensor) -> float:\n    """x (n,) -> float: the mean of x**2."""\n'
        "    ### BEGIN SOLUTION\n    return float((x ** 2).mean())\n    ### END SOLUTION",
    ),
    (
        "code",
        "test",
        "test_mean_square",
        3,
        'assert math.isclose(mean_square(torch.tensor([1.0, 3.0])), 5.0), "mean of [1, 9] is 5"\n'
        "### BEGIN HIDDEN TESTS\nassert math.isclose(mean_square(X_FIXED), (0.25 + 4 + 9) / 3)\n### END HIDDEN TESTS",
    ),
    (
        "code",
        "solution",
        "affine",
        None,
        'class Affine(torch.nn.Module):\n    """x (B, d) -> (B, d): x * w + 1 with w initialised to ones."""\n\n'
        "    def __init__(self, d: int):\n        super().__init__()\n"
        "        ### BEGIN SOLUTION\n        self.w = torch.nn.Parameter(torch.ones(d))\n        ### END SOLUTION\n\n"
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
        "        ### BEGIN SOLUTION\n        return x * self.w + 1\n        ### END SOLUTION",
    ),
    (
        "code",
        "test",
        "test_affine",
        1,
        'm = Affine(3)\nout = m(torch.zeros(2, 3))\nassert torch.equal(out, torch.ones(2, 3)), f"Affine(3)(0) should be 1, got {out}"\n'
        "### BEGIN HIDDEN TESTS\nassert torch.equal(m(torch.ones(1, 3)), torch.full((1, 3), 2.0))\n### END HIDDEN TESTS",
    ),
    ("markdown", None, None, None, "## Summary\nDone."),
]


def build_course() -> None:

    if COURSE.exists():
        shutil.rmtree(COURSE)
    (COURSE / "solutions" / LESSON).mkdir(parents=True)
    (COURSE / "nbgrader_config.py").write_text((HERE.parent.parent / "nbgrader_config.py").read_text())
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (ctype, kind, gid, points, source) in enumerate(CELLS):
        cell = nbformat.v4.new_markdown_cell(source) if ctype == "markdown" else nbformat.v4.new_code_cell(source)
        cell.id = f"cell-{i}"
        if kind:
            cell.metadata = meta(kind, gid, points)
        nb.cells.append(cell)
    nbformat.write(nb, COURSE / "solutions" / LESSON / f"{LESSON}.ipynb")
    from mesakit.course import release

    for line in release(COURSE):
        print(line)


def solved(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release with every solution cell filled in with the source's code (markers removed)."""
    import copy

    nb = copy.deepcopy(release)
    sol = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in sol:
            cell.source = "\n".join(
                l for l in sol[gid].splitlines() if "### BEGIN SOLUTION" not in l and "### END SOLUTION" not in l
            )
    return nb


def write_submission(student: str, nb, lesson: str = LESSON, root: Path = SUBMISSIONS) -> Path:
    path = root / student / lesson / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, (bytes, str)):
        path.write_bytes(nb if isinstance(nb, bytes) else nb.encode())
    else:
        nbformat.write(nb, path)
    return path


def build_submissions() -> None:
    from cheats import CHEATS, FILES  # noqa: E402 — beside this file

    if SUBMISSIONS.exists():
        shutil.rmtree(SUBMISSIONS)
    release = nbformat.read(COURSE / "lessons" / LESSON / f"{LESSON}.ipynb", as_version=4)
    source = nbformat.read(COURSE / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    write_submission("honest", solved(release, source))
    # Right on the visible checks, wrong on the hidden ones for scale: 4 of 6 points.
    partial = solved(release, source)
    for cell in partial.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "scale":
            cell.source = "def scale(x, a):\n    return a * x if a in (2.0, -1.0) else x"
    write_submission("partial", partial)
    write_submission("unsolved", release)
    for name, make in CHEATS.items():
        path = write_submission(name, make(release))
        for file, text in FILES.get(name, {}).items():
            (path.parent / file).write_text(text)
    (SUBMISSIONS / "missing_notebook" / LESSON).mkdir(parents=True)
    (SUBMISSIONS / "missing_notebook" / LESSON / "README.txt").write_text("handed in the folder, not the notebook\n")
    # Hands in a link to a classmate's notebook.
    (SUBMISSIONS / "symlink_to_classmate" / LESSON).mkdir(parents=True)
    (SUBMISSIONS / "symlink_to_classmate" / LESSON / f"{LESSON}.ipynb").symlink_to(
        f"../../honest/{LESSON}/{LESSON}.ipynb"
    )
    print(f"wrote {len(CHEATS) + 1} submissions to {SUBMISSIONS}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    build_course()
    build_submissions()
