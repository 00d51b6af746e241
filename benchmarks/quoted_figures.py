"""Report the figures quoted in each lesson's text that nothing shows (issue 14).

    .venv/bin/python benchmarks/quoted_figures.py [LESSON ...]

Executes each solution notebook and lists every quoted figure that no cell prints, no seed record
(benchmarks/results/, from `benchmarks/seeds.py --record`) holds and tests/figure_sources.py does not
derive. The same rule is a test: tests/test_notebooks.py::test_every_quoted_figure_is_printed_recorded_or_sourced;
tests/figures.py says what counts as a quoted figure.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import figures  # noqa: E402

from mesakit.course import execute, select  # noqa: E402


def main(names: list[str]) -> int:
    missing = 0
    for lesson in select(ROOT, names, solutions=True):
        nb, _ = execute(lesson.path, timeout=600)
        for line in figures.unshown(lesson.name, nb):
            missing += 1
            print(f"{lesson.name[:2]}  {line}", flush=True)
    print(f"{missing} quoted figure(s) not shown")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
