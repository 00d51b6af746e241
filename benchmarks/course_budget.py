"""Budget of every lesson on a Binder-sized machine: run each solution notebook on ONE core and
print its wall time and the kernel's peak memory. Budget: ≤ 60 s and < 1.5 GB per lesson.

    .venv/bin/python benchmarks/course_budget.py [LESSON ...]

Exit status 1 if a lesson fails or is over budget. Prints figures; asserts nothing else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mesakit.course import CourseError, execute, select  # noqa: E402

MAX_SECONDS = 60.0
MAX_MB = 1536.0
PEAK = "import resource as _r; print('PEAK_KB', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss)"


def measure(path: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of the kernel that ran ``path``."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    executed, seconds = execute(path, timeout=600, env=env, extra_cells=(PEAK,))
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    kb = int(text.split("PEAK_KB")[1].split()[0])
    return seconds, kb / 1024


def main(names: list[str]) -> int:
    if any(n in ("-h", "--help") for n in names):
        print(__doc__)
        return 0
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, inherited by kernels
    bad = 0
    try:
        chosen = select(ROOT, names, solutions=True)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{'lesson':32} {'wall s':>8} {'peak MB':>8}  budget ({MAX_SECONDS:.0f} s, {MAX_MB:.0f} MB)")
    for lesson in chosen:
        try:
            seconds, mb = measure(lesson.path)
        except CourseError as err:
            print(f"{lesson.name:32} FAILED: {err}")
            bad += 1
            continue
        ok = seconds <= MAX_SECONDS and mb < MAX_MB
        bad += not ok
        print(f"{lesson.name:32} {seconds:8.1f} {mb:8.0f}  {'ok' if ok else 'OVER BUDGET'}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
