"""Write each lesson's estimated time (benchmarks/walkthrough.py) into its Time line and into the
README's lesson table, so the two always agree. Idempotent:

    .venv/bin/python tools/lesson_times.py [--run] && .venv/bin/mesakit release

``--run`` measures the notebooks' own run time (else 1 minute each, which is what they take).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from walkthrough import estimate  # noqa: E402

from mesakit.course import execute, select  # noqa: E402

TIME = re.compile(
    r"\*\*Time[.:]?\*\*[.:]?\s*[—:-]?\s*(?:\*\*)?\s*(?:~|About |about )?\d+(?:–\d+)?\s*min(?:utes)?\.?(?: \([^)]*\)\.?)?"
)


def line(e) -> str:
    parts = [f"reading ~{round(e.reading)} min", f"the {e.n_exercises} exercises ~{round(e.exercises)} min"]
    if e.think:
        parts.append(f"Think! moments ~{round(e.think)} min")
    return f"**Time.** ~{e.total} min ({'; '.join(parts)}: estimated by `benchmarks/walkthrough.py`)."


def main(argv: list[str]) -> int:
    readme = (ROOT / "README.md").read_text()
    for lesson in select(ROOT, [], solutions=True):
        seconds = execute(lesson.path, timeout=600)[1] if "--run" in argv else 60.0
        e = estimate(lesson.path, seconds)
        nb = nbformat.read(lesson.path, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "markdown" and TIME.search(c.source))
        new = TIME.sub(line(e), cell.source, count=1)
        if new != cell.source:
            cell.source = new
            nbformat.write(nb, lesson.path)
        row = re.compile(rf"(\| {lesson.name[:2]} \|.*\| )[^|]*min[^|]*( \|)$", re.M)
        readme = row.sub(rf"\g<1>{e.total} min\g<2>", readme)
        print(f"{lesson.name}: {e.total} min")
    (ROOT / "README.md").write_text(readme)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
