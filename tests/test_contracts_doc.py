"""docs/contracts.md against the code, where that is cheap: the CLI's commands and flags (both ways),
the grades.csv header and statuses, the detector's verdict strings and signal names, the experiments'
JSON keys against their seed records. A contract changed in one place and not the other fails here."""

from __future__ import annotations

import argparse
import json
import re

import pytest
from conftest import ROOT

DOC = ROOT / "docs" / "contracts.md"


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text under the heading ``title`` (any level), up to the next heading of any level."""
    text = _doc()
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert match, f"docs/contracts.md has no section {title!r}"
    return match.group(1)


def _blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)


def _flags(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


def _parser_commands() -> dict[str, set[str]]:
    """{command: its flags} from mesakit's parser ("" for the top level), -h/--help left out."""
    from mesakit.cli import _parser

    def flags(p: argparse.ArgumentParser) -> set[str]:
        return {o for a in p._actions for o in a.option_strings if o.startswith("--") and o != "--help"}

    parser = _parser()
    found = {"": flags(parser)}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update({name: flags(sub) for name, sub in action.choices.items()})
    return found


def _doc_commands() -> dict[str, set[str]]:
    synopsis = _blocks(_section("Command line"))[0]
    found = {}
    for line in synopsis.splitlines():
        words = line.split()
        assert words[0] == "mesakit", f"not a synopsis line: {line!r}"
        command = words[1] if len(words) > 1 and not words[1].startswith("[") else ""
        found[command] = _flags(line)
    return found


def test_every_command_and_flag_in_the_doc_is_the_parsers_and_back():
    doc, code = _doc_commands(), _parser_commands()
    assert set(doc) == set(code), (
        f"commands: only in the doc {set(doc) - set(code)}, only in the parser {set(code) - set(doc)}"
    )
    for command in code:
        assert doc[command] == code[command], (
            f"`mesakit {command}` flags: only in the doc {sorted(doc[command] - code[command])}, "
            f"only in the parser {sorted(code[command] - doc[command])}"
        )


def test_the_doc_test_sees_a_missing_flag():
    """The comparison above can fail: a synopsis without --timeout differs from the parser."""
    doc = _doc_commands()
    doc["run"].discard("--timeout")
    assert doc["run"] != _parser_commands()["run"]


def test_every_flag_the_prose_names_exists():
    known = set().union(*_parser_commands().values()) | {"--help"}
    prose = _flags(_section("Command line")) | _flags(_section("`mesakit reproduce EXPERIMENT --json` keys"))
    assert prose <= known, f"the doc names flags mesakit does not have: {sorted(prose - known)}"


def test_grades_csv_header_and_statuses_are_the_codes():
    from mesakit.grade import add_parser, assignments, report, runner

    section = _section("`grades.csv`")
    header = ",".join(report.COLUMNS)
    assert _blocks(section)[0].strip() == header
    statuses = re.search(r"`status`, one of: (.*?)\(`grade\.runner\.STATUSES`\)", section, re.S).group(1)
    assert tuple(re.findall(r"`([a-z-]+)`", statuses)) == runner.STATUSES
    late = re.search(r"`late`: (.*?)\(`grade\.assignments\.LATE_STATES`\)", section, re.S).group(1)
    assert tuple(re.findall(r"`([a-z-]+)`", late)) == assignments.LATE_STATES
    # `mesakit grade --help` names the columns too
    sub = argparse.ArgumentParser().add_subparsers()
    add_parser(sub)
    assert header in " ".join(sub.choices["grade"].description.split())


def test_grade_and_run_defaults_are_the_documented_ones():
    from mesakit import course, grade
    from mesakit.grade import meter

    section = _section("Command line")
    assert f"(default {grade.DEFAULT_TIMEOUT}, `grade.DEFAULT_TIMEOUT`" in section
    assert f"{meter.WALL_FACTOR:g}× that in wall-clock seconds" in section
    assert f"(default {course.CELL_TIMEOUT}, `course.CELL_TIMEOUT`)" in section


def test_verdict_strings_threshold_and_signal_names_are_the_detectors():
    from mesakit import detect

    section = _section("Detector report")
    assert f'`"{detect.DETECTED}"` (`detect.DETECTED`)' in section
    assert f'`"{detect.STANDARD}"` (`detect.STANDARD`)' in section
    assert f"`detect.THRESHOLD` = {detect.THRESHOLD:g}" in section
    for constant in ("IN_CONTEXT_SIGNALS", "PLANNER_SIGNALS"):
        listed = re.search(rf"((?:`[a-z_]+`,?\s*(?:and\s*)?)+)\(`signals\.{constant}`\)", section).group(1)
        assert tuple(re.findall(r"`([a-z_]+)`", listed)) == getattr(detect, constant)
    for old in detect.DEPRECATED_SIGNALS:
        assert f"`{old}`" in section


def _documented_keys() -> dict[str, list[str]]:
    section = _section("`mesakit reproduce EXPERIMENT --json` keys")
    return {m[1]: re.findall(r"`([a-z_0-9]+)`", m[2]) for m in re.finditer(r"^- `([a-z-]+)`: (.*)$", section, re.M)}


def test_every_experiment_has_its_keys_documented():
    from mesakit.experiments import EXPERIMENTS

    assert list(_documented_keys()) == list(EXPERIMENTS)


RECORDS = sorted((ROOT / "benchmarks" / "results").glob("*.json"))


@pytest.mark.parametrize("record", RECORDS, ids=[p.stem for p in RECORDS])
def test_seed_records_hold_exactly_the_documented_keys(record):
    keys = _documented_keys()
    assert record.stem in keys, f"{record.name}: no experiment {record.stem!r} in docs/contracts.md"
    seeds = json.loads(record.read_text())
    assert list(seeds) == sorted(seeds, key=int), f"{record.name}: seeds not in order"
    for seed, figures in seeds.items():
        assert sorted(figures) == sorted(keys[record.stem]), f"{record.name} seed {seed}"


def test_progress_statuses_and_marks_are_the_codes():
    from mesakit import progress

    marks = ", ".join(f"`{progress.MARKS[s]}`" for s in (progress.PASSED, progress.FAILED, progress.NOT_ATTEMPTED))
    expected = f"`{progress.PASSED}`, `{progress.FAILED}` or `{progress.NOT_ATTEMPTED}` (marks {marks})"
    assert expected in " ".join(_section("Command line").split())
