"""Every check against realistic wrong answers and valid alternatives (tests/mutants/): wrong answers
fail with a message naming the mistake, alternatives pass, nothing crashes, and at least 60% of
rejections in each lesson name the mistake (issue 15)."""

from __future__ import annotations

import pytest
from mutants import all_mutants, run

MUTANTS = [(lesson, m) for lesson, ms in all_mutants().items() for m in ms]
NAMED_SHARE = 0.6
# Checks that play or train for a second or more per call: `make check` runs each one's first valid
# alternative and first two wrong answers (both ways, every check); `make test` runs them all.
COSTLY = {"check_goal_rates", "check_shift_losses", "check_solve_rates"}


def _cases():
    seen = {}
    for lesson, m in MUTANTS:
        seen[m.check, m.valid] = n = seen.get((m.check, m.valid), 0) + 1
        slow = m.check in COSTLY and n > (1 if m.valid else 2)
        yield pytest.param(lesson, m, marks=[pytest.mark.slow] if slow else [], id=f"{lesson}:{m.check}:{m.label}")


@pytest.mark.parametrize("lesson, mutant", list(_cases()))
def test_mutant(lesson, mutant, capsys):
    outcome = run(mutant)
    if mutant.valid:
        assert outcome.status == "passed", f"a valid alternative was rejected: {outcome.message}"
    else:
        assert outcome.status != "crashed", f"the check crashed instead of failing: {outcome.message}"
        assert outcome.status != "passed", "a wrong answer was accepted"
        if mutant.names is not None:
            assert outcome.status == "rejected-named", f"the message does not name '{mutant.names}': {outcome.message}"


@pytest.mark.parametrize("lesson", sorted(all_mutants()))
def test_each_lesson_has_both_kinds_of_mutant(lesson):
    ms = all_mutants()[lesson]
    assert any(m.valid for m in ms), "add at least one valid alternative"
    assert sum(not m.valid for m in ms) >= 5, "add realistic wrong answers"
    checked = {m.check for m in ms}
    assert all(any(m.check == c and m.valid for m in ms) for c in checked), (
        f"every check needs a valid alternative: {sorted(c for c in checked if not any(m.check == c and m.valid for m in ms))}"
    )


@pytest.mark.parametrize("lesson", sorted(all_mutants()))
def test_most_rejections_name_the_mistake(lesson):
    wrong = [m for m in all_mutants()[lesson] if not m.valid]
    named = sum(m.names is not None for m in wrong)  # each of these is held to its name above
    assert named / len(wrong) >= NAMED_SHARE, f"{named}/{len(wrong)} wrong answers get a named message"
