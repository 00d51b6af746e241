"""Mutation table of the exercise checks (issue 15): per lesson, how many realistic wrong answers
are rejected, how many rejections name the mistake, how many wrong answers slip through or crash the
check, and how many valid alternatives pass. The mutants live in tests/mutants/.

    .venv/bin/python benchmarks/mutations.py [lesson01 lesson02 ...]
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mutants import all_mutants, run  # noqa: E402


def main(argv: list[str]) -> int:
    lessons = all_mutants()
    chosen = argv or sorted(lessons)
    print(f"{'lesson':9} {'wrong':>5} {'named':>6} {'generic':>7} {'accepted':>8} {'crashed':>7} {'valid ok':>8}")
    totals = Counter()
    bad = []
    for lesson in chosen:
        c = Counter()
        for m in lessons[lesson]:
            with contextlib.redirect_stdout(io.StringIO()):
                o = run(m)
            if m.valid:
                c["valid"] += 1
                c["valid ok"] += o.status == "passed"
                if o.status != "passed":
                    bad.append(f"{lesson} {m.check}: valid '{m.label}' rejected: {o.message[:100]}")
                continue
            c["wrong"] += 1
            c[o.status] += 1
            if o.status in ("passed", "crashed") or (m.names and o.status != "rejected-named"):
                bad.append(f"{lesson} {m.check}: '{m.label}' -> {o.status}: {o.message[:100]}")
        totals.update(c)
        share = c["rejected-named"] / max(c["wrong"], 1)
        print(
            f"{lesson:9} {c['wrong']:5d} {c['rejected-named']:4d} {share:4.0%} {c['rejected-generic']:5d} "
            f"{c['passed']:8d} {c['crashed']:7d} {c['valid ok']:4d}/{c['valid']}"
        )
    share = totals["rejected-named"] / max(totals["wrong"], 1)
    print(
        f"{'all':9} {totals['wrong']:5d} {totals['rejected-named']:4d} {share:4.0%} {totals['rejected-generic']:5d} "
        f"{totals['passed']:8d} {totals['crashed']:7d} {totals['valid ok']:4d}/{totals['valid']}"
    )
    for line in bad:
        print("  ✗", line)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
