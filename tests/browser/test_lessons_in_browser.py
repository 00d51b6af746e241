"""Every lesson's solution, run in JupyterLab in a real (headless) Chromium, as a learner sees it.

For each notebook: Run ▸ Run All Cells, wait for the kernel, then assert that no cell shows an
error or writes to stderr, every cell ran, every widget rendered (its DOM nodes exist; no "Error
displaying widget", no text fallback from a missing or mismatched lab extension), every tqdm
progress bar rendered as a bar and did not end in error, every figure fits the notebook width
without being shrunk illegibly, no figure shows as "<Figure size ...>" text, each figure's first
appearance has a "What to look for" caption beside it, and moving each slider (arrow keys on its
handle) redraws the figure it drives. A full-page screenshot per notebook goes to
``test-artifacts/browser/<lesson>.png``; per-notebook times to ``timings.txt`` beside them.
Failures name the cell (number and first line) and the widget or slider.

Two fixture notebooks check the checker: one where everything must pass, one with an error, a
warning, a broken widget and a slider that changes nothing, each of which must be reported.
"""

from __future__ import annotations

import re
import time

import pytest

from mesakit.course import lessons

from .conftest import ARTIFACTS, ROOT, TIMINGS, NotebookRun, describe, screenshot

SOLUTIONS = lessons(ROOT, solutions=True)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TQDM_TEXT = re.compile(r"\d+%\||\d+/\d+ \[|it/s\]|\?it/s")
FIGURE_AS_TEXT = re.compile(r"^<(matplotlib\.figure\.)?Figure( size \d+x\d+)?( with \d+ Axes)?>$")
MIN_SCALE = 0.75  # a figure shown below 75 % of its drawn size has text too small to read
SLIDER_REDRAW_TIMEOUT = 30.0  # s for one redraw after a slider moves

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def problems_in_outputs(run: NotebookRun) -> tuple[list[str], dict[str, int]]:
    """Everything wrong with the notebook's outputs after Run All, and counts of what was seen."""
    problems: list[str] = []
    seen = {"widgets": 0, "progress bars": 0, "figures": 0, "sliders": 0}
    failed_before = None
    for cell in run.cells:
        if cell["type"] != "code":
            continue
        where = describe(cell)
        if cell["count"] is None and cell["source"].strip():
            after = f" (it comes after the failing {failed_before})" if failed_before else ""
            problems.append(f"{where} did not run{after}")
        for out in cell["outputs"]:
            if out["type"] == "error":
                failed_before = failed_before or where
                problems.append(f"{where} raised {out['ename']}: {out['evalue']}")
                continue
            if out["type"] == "stream" and out["name"] == "stderr":
                kind = (
                    "a text progress bar (tqdm fell back to text: ipywidgets missing?)"
                    if TQDM_TEXT.search(out["text"])
                    else "to stderr"
                )
                problems.append(f"{where} wrote {kind}: {out['text'].strip()[:300]!r}")
                continue
            if "Error displaying widget" in out["domText"]:
                problems.append(f"{where}: {out['domText'].strip()[:200]!r}{_console(run)}")
                continue
            if FIGURE_AS_TEXT.match(out["plain"].strip()) and not any(m.startswith("image/") for m in out["mimes"]):
                problems.append(
                    f"{where} shows {out['plain'].strip()!r} as text instead of the picture "
                    "(does the setup cell run `%matplotlib inline`?)"
                )
            if WIDGET_MIME in out["mimes"]:
                problems += _widget_problems(run, where, out, seen)
            for image in out["images"]:
                seen["figures"] += 1
                problems += _figure_problems(where, image)
    return problems, seen


def figure_functions() -> set[str]:
    """Names of every public function in mesakit.plots.* and mesakit.widgets.* (figure makers)."""
    import importlib
    import inspect
    import pkgutil

    import mesakit.plots
    import mesakit.widgets

    names = set()
    for package in (mesakit.plots, mesakit.widgets):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            names |= {
                n
                for n, f in inspect.getmembers(module, inspect.isfunction)
                if not n.startswith("_") and f.__module__ == module.__name__
            }
    return names - {"figure"}


def caption_problems(run: NotebookRun) -> list[str]:
    """A figure's first appearance needs a caption: a markdown cell right before or after the cell
    that shows it, saying "What to look for". A later cell showing figures from the same plot or
    widget functions as an earlier captioned one needs none."""
    makers, problems, shown = figure_functions(), [], set()
    cells = run.cells
    for i, cell in enumerate(cells):
        if cell["type"] != "code" or not any(out["images"] for out in cell["outputs"]):
            continue
        called = set(re.findall(r"\b(\w+)\s*\(", cell["source"])) & makers
        neighbours = [cells[j] for j in (i - 1, i + 1) if 0 <= j < len(cells) and cells[j]["type"] == "markdown"]
        captioned = any("what to look for" in c["source"].lower() for c in neighbours)
        if not captioned and not (called and called <= shown):
            made_by = f" (made by {', '.join(sorted(called))})" if called else ""
            problems.append(
                f"{describe(cell)} shows a figure{made_by} without a caption: put a one-line "
                "'*What to look for:* ...' markdown cell right before or after it"
            )
        shown |= called
    return problems


def _console(run: NotebookRun) -> str:
    return f" (browser console: {' | '.join(run.console_errors[:3])})" if run.console_errors else ""


def _widget_problems(run: NotebookRun, where: str, out: dict, seen: dict) -> list[str]:
    if not out["rendered"]:
        return [f"{where}: a widget output is missing from the page"]
    if out["widgetNodes"] == 0:
        if out["domText"].strip().startswith("Loading widget"):
            return [
                f"{where}: a widget never finished loading (the page still shows 'Loading widget...')" + _console(run)
            ]
        if not out["domText"].strip() and not out["domMime"]:
            return []  # a widget the kernel closed (e.g. tqdm(leave=False)): nothing to show, by design
        return [
            f"{where}: widget did not render, the page shows {out['domText'].strip()[:120]!r} instead "
            f"(shown as {out['domMime'] or 'nothing'}; is jupyterlab_widgets installed and matching ipywidgets?)"
            + _console(run)
        ]
    seen["widgets"] += 1
    seen["sliders"] += out["sliders"]
    found: list[str] = []
    if TQDM_TEXT.search(out["plain"]):  # a tqdm.auto progress bar
        if not out["bars"]:
            found.append(f"{where}: the progress bar {out['plain'][:80]!r} rendered without a bar")
        for bar in out["bars"]:
            seen["progress bars"] += 1
            if "danger" in bar["cls"]:
                found.append(f"{where}: the progress bar ended in error: {bar['text'][:120]!r}")
    return found


def _figure_problems(where: str, image: dict) -> list[str]:
    if not image["natural"]:
        return [f"{where}: a figure did not load (empty image)"]
    scale = image["shown"] / image["natural"]
    if scale < MIN_SCALE:
        return [
            f"{where}: a figure {image['natural']} px wide is shrunk to {scale:.0%} to fit the "
            f"{image['room']:.0f} px notebook column, too small to read; draw it narrower "
            f"(at most about {image['shown'] / MIN_SCALE / 100:.1f} in wide at the course's 100 dpi)"
        ]
    return []


def slider_problems(run: NotebookRun, redraw_timeout: float = SLIDER_REDRAW_TIMEOUT) -> list[str]:
    """Move every slider one step with the keyboard; each must redraw the figure in its widget."""
    page, problems = run.page, []
    for cell in run.cells:
        for j, out in enumerate(cell["outputs"]):
            if not out.get("sliders") or out["widgetNodes"] == 0:
                continue
            where = describe(cell)
            widget = page.locator(f'[data-mesakit-output="{cell["index"]}-{j}"]')
            sliders = widget.locator(".widget-slider")
            for k in range(sliders.count()):
                slider = sliders.nth(k)
                label = slider.locator(".widget-label").inner_text().strip() or f"slider {k + 1}"
                pressed: list[str] = []
                problem = _move_slider(page, widget, slider, redraw_timeout, pressed)
                _restore(page, widget, slider, pressed, redraw_timeout)  # test each slider from the notebook's state
                if problem:
                    problems.append(f"{where}: moving the slider {label!r} {problem}")
    return problems


def _images(widget) -> list[str]:
    return widget.evaluate("n => [...n.querySelectorAll('img')].map(i => i.complete && i.naturalWidth ? i.src : '')")


MARK_IMAGES_JS = "n => n.querySelectorAll('img').forEach(i => { i.dataset.mesakitOld = '1'; })"
IMAGES_STATE_JS = """n => {
  const imgs = [...n.querySelectorAll('img')];
  return {redrawn: !imgs.some(i => i.dataset.mesakitOld),
          ready: imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0),
          srcs: imgs.map(i => i.src)};
}"""
PLATEAU_STEPS = 4  # a slider may sit on a plateau (an agent standing still): try this many steps


def _value(handle) -> str:
    """The slider's value as the page states it ("147.0" -> "147")."""
    text = handle.get_attribute("aria-valuenow") or "?"
    return text[:-2] if text.endswith(".0") else text


OPPOSITE = {"ArrowRight": "ArrowLeft", "ArrowLeft": "ArrowRight"}


def _restore(page, widget, slider, pressed: list[str], redraw_timeout: float) -> None:
    """Undo the key presses that moved the slider, and wait for the redraw."""
    if not pressed:
        return
    widget.evaluate(MARK_IMAGES_JS)
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for key in reversed(pressed):
        handle.press(OPPOSITE[key])
        page.wait_for_timeout(100)
    deadline = time.monotonic() + redraw_timeout
    while time.monotonic() < deadline:
        state = widget.evaluate(IMAGES_STATE_JS)
        if state["redrawn"] and state["ready"]:
            return
        page.wait_for_timeout(200)


def _move_slider(page, widget, slider, redraw_timeout: float, pressed: list[str]) -> str | None:
    """Press the arrow keys on the slider's handle, one step at a time (up to PLATEAU_STEPS), until
    the figure in the widget changes. Each step must redraw (the image is replaced)."""
    before = _images(widget)
    if not any(before):
        text = widget.inner_text()
        as_text = re.search(r"<Figure[^>]*>", text)
        if as_text:
            return f"drives a figure shown as text {as_text.group(0)!r}, not a picture (does the setup cell run `%matplotlib inline`?)"
        return "drives no figure (the widget shows no image)"
    handle = slider.locator(".noUi-handle").first
    first_value = _value(handle)
    keys = ["ArrowRight", "ArrowLeft"]
    for _ in range(PLATEAU_STEPS):
        widget.evaluate(MARK_IMAGES_JS)
        old_value = _value(handle)
        handle.focus()
        for key in list(keys):  # at an end of its range, go the other way from then on
            handle.press(key)
            page.wait_for_timeout(100)
            if _value(handle) != old_value:
                pressed.append(key)
                break
            keys.reverse()
        else:
            return f"did not change its value with the arrow keys (stuck at {old_value})"
        new_value = _value(handle)
        deadline = time.monotonic() + redraw_timeout
        while True:
            state = widget.evaluate(IMAGES_STATE_JS)
            if state["redrawn"] and state["ready"]:
                break
            if time.monotonic() > deadline:
                return f"from {old_value} to {new_value} did not redraw the figure within {redraw_timeout:.0f} s"
            page.wait_for_timeout(200)
        if state["srcs"] != before:
            return None
    return (
        f"from {first_value} to {new_value} ({PLATEAU_STEPS} steps) redrew the very same picture each time: "
        "the figure does not show what the slider sets"
    )


def check_notebook(run_in_lab, redraw_timeout: float = SLIDER_REDRAW_TIMEOUT) -> tuple[list[str], dict[str, int]]:
    run = run_in_lab()
    name = run.name
    TIMINGS[name] = run.seconds
    start = time.monotonic()
    screenshot(run, ARTIFACTS / f"{name}.png")
    problems, seen = problems_in_outputs(run)
    problems += caption_problems(run)
    run.seconds["checks"] = time.monotonic() - start
    start = time.monotonic()
    problems += slider_problems(run, redraw_timeout)
    run.seconds["sliders"] = time.monotonic() - start
    return problems, seen


def report(name: str, problems: list[str], seen: dict) -> str:
    counts = ", ".join(f"{n} {what}" for what, n in seen.items())
    listing = "\n".join(f"  - {p}" for p in problems)
    return f"{name} in JupyterLab ({counts}; screenshot {ARTIFACTS / name}.png):\n{listing}"


LESSON_PARAMS = [
    pytest.param(l, marks=pytest.mark.notebook(f"solutions/{l.name}/{l.path.name}", l.name), id=l.name)
    for l in SOLUTIONS
]


@pytest.mark.parametrize("lesson", LESSON_PARAMS)
def test_lesson_runs_and_renders_in_jupyterlab(run_in_lab, lesson):
    problems, seen = check_notebook(run_in_lab)
    assert not problems, report(lesson.name, problems, seen)


@pytest.mark.notebook("fixtures/fixture_widgets.ipynb", "fixture_widgets")
def test_fixture_notebook_renders_everything(run_in_lab):
    """The checker sees widgets, sliders, a progress bar and figures where they exist."""
    problems, seen = check_notebook(run_in_lab)
    assert not problems, report("fixture_widgets", problems, seen)
    assert seen == {"widgets": 2, "progress bars": 1, "figures": 2, "sliders": 2}, seen


@pytest.mark.notebook("fixtures/fixture_broken.ipynb", "fixture_broken")
def test_checker_reports_what_is_broken(run_in_lab):
    """Each fault planted in the broken fixture is reported, naming its cell."""
    problems, seen = check_notebook(run_in_lab)
    text = "\n".join(problems)
    expected = {
        "error": r"cell 6 \('raise ValueError.*raised ValueError: a cell that fails",
        "stderr": r"cell 5 .* wrote to stderr: .*something the learner should not see",
        "broken widget": r"cell 4 .*(Error displaying widget|never finished loading)",
        "dead slider": r"cell 3 .*moving the slider 'level' from 1 to 5 \(4 steps\) redrew the very same picture",
        "not run": r"cell 7 .* did not run \(it comes after the failing cell 6",
        "no caption": r"cell 3 .* shows a figure \(made by interactive_figure\) without a caption",
    }
    missed = [what for what, pattern in expected.items() if not re.search(pattern, text)]
    assert not missed, f"the checker missed: {missed}; it reported:\n{text}"
    assert len(problems) == len(expected), f"unexpected reports:\n{text}"
