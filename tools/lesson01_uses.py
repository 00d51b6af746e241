"""Lesson 01: the gradient_descent and mesa_forward checks get the learner's earlier function
(`uses=`), so one mistake costs one deduction (issue 15). Idempotent: rerunning changes nothing.

    .venv/bin/python tools/lesson01_uses.py && .venv/bin/mesakit release
"""

from pathlib import Path

import nbformat

PATH = Path(__file__).resolve().parent.parent / "solutions/01_base_and_mesa/01_base_and_mesa.ipynb"

CELLS = {
    "test_gradient_descent": """checks.check_gradient_descent(gradient_descent, uses=least_squares_gradient)
### BEGIN HIDDEN TESTS
checks.check_gradient_descent(gradient_descent, seed=1, uses=least_squares_gradient)
checks.check_gradient_descent(gradient_descent, seed=2, uses=least_squares_gradient)
### END HIDDEN TESTS""",
    "test_mesa_forward": """checks.check_mesa_forward(mesa_forward, uses=gradient_descent)
### BEGIN HIDDEN TESTS
checks.check_mesa_forward(mesa_forward, seed=1, d=10, n_context=10, K=1, lr=1.5, uses=gradient_descent)
checks.check_mesa_forward(mesa_forward, seed=2, d=2, n_context=12, K=7, lr=0.8, uses=gradient_descent)
checks.check_mesa_forward(mesa_forward, seed=11, d=10, n_context=10, K=4, lr=0.7, uses=gradient_descent)
### END HIDDEN TESTS""",
}


def main() -> None:
    nb = nbformat.read(PATH, as_version=4)
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in CELLS:
            cell.source = CELLS[grade_id]
            found.add(grade_id)
    missing = set(CELLS) - found
    if missing:
        raise SystemExit(f"cells not found in {PATH.name}: {sorted(missing)}")
    nbformat.write(nb, PATH)


if __name__ == "__main__":
    main()
