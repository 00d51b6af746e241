"""How long each lesson takes a learner, estimated from the notebook itself (issue 15).

    .venv/bin/python benchmarks/walkthrough.py [LESSON ...] [--run]

No learner was timed: the estimate adds up what the notebook asks of one.
* reading: the prose outside dropdowns, at 150 words a minute (technical text, read with the cells
  beside it), plus the code a learner reads but does not write, at 30 lines a minute;
* exercises: the minutes each exercise heading announces (`**about N min**`);
* Think! moments: 2 minutes each (predict, then open the answer);
* running: the notebook's own execution time on this machine (`--run`; else 1 minute).
tools/lesson_times.py writes the result into each lesson's Time line and the README's table.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mesakit.course import execute, select  # noqa: E402

WORDS_PER_MIN = 150
CODE_LINES_PER_MIN = 30
THINK_MIN = 2
HIDDEN = re.compile(r"<details>.*?</details>", re.S)
MINUTES = re.compile(r"\*\*about (\d+) min\*\*")


@dataclass(frozen=True)
class Estimate:
    reading: float  # minutes
    exercises: float
    think: float
    running: float
    n_exercises: int

    @property
    def total(self) -> int:
        return int(5 * round((self.reading + self.exercises + self.think + self.running) / 5))


def estimate(path: Path, running_s: float = 60.0) -> Estimate:
    nb = nbformat.read(path, as_version=4)
    words = code = think = 0
    minutes = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            words += len(HIDDEN.sub("", cell.source).split())
            think += "🤔" in cell.source
            minutes += [int(m) for m in MINUTES.findall(cell.source)]
        elif not cell.metadata.get("nbgrader", {}).get("solution"):
            code += sum(1 for line in cell.source.splitlines() if line.strip() and "HIDDEN" not in line)
    reading = words / WORDS_PER_MIN + code / CODE_LINES_PER_MIN
    return Estimate(reading, sum(minutes), THINK_MIN * think, running_s / 60, len(minutes))


def main(argv: list[str]) -> int:
    run = "--run" in argv
    names = [a for a in argv if a != "--run"]
    print(f"{'lesson':28} {'reading':>7} {'exercises':>9} {'think':>5} {'running':>7} {'total':>6}")
    for lesson in select(ROOT, names, solutions=True):
        seconds = execute(lesson.path, timeout=600)[1] if run else 60.0
        e = estimate(lesson.path, seconds)
        print(
            f"{lesson.name:28} {e.reading:6.0f}m {e.exercises:6.0f}m({e.n_exercises}) {e.think:4.0f}m "
            f"{e.running:6.1f}m {e.total:5d}m"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
