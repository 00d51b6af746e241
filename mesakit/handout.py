"""What the student release leaves out beyond nbgrader's own stripping: worked solutions shown in a
lesson's "Solution" dropdowns.

In ``solutions/`` each exercise's help is layered: Hint 1, Hint 2, then a Solution dropdown with the
code. :class:`HideWorkedSolutions` runs inside ``nbgrader generate_assignment`` (configured in
``nbgrader_config.py``, so plain nbgrader and ``mesakit release`` agree) and replaces each Solution
dropdown's content in ``lessons/`` by a pointer to the instructor's copy: a learner handed the
lesson by an instructor does not get the answers with it.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

DROPDOWN = re.compile(r"<details><summary>Solution</summary>.*?</details>", re.S)
POINTER = (
    "<details><summary>Solution</summary>\n\n"
    "The worked solution is in the instructor's copy of this lesson, `solutions/{name}/{name}.ipynb`. "
    "Try both hints first: the check cell tells you what is still wrong.\n</details>"
)


def hide_worked_solutions(markdown: str, lesson: str) -> str:
    """``markdown`` with every Solution dropdown's content replaced by a pointer to solutions/."""
    return DROPDOWN.sub(lambda _: POINTER.format(name=lesson), markdown)


class HideWorkedSolutions(Preprocessor):
    """nbgrader preprocessor: apply :func:`hide_worked_solutions` to every markdown cell."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        self._lesson = resources.get("nbgrader", {}).get("assignment") or "NN_lesson"
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = hide_worked_solutions(cell.source, self._lesson)
        return cell, resources
