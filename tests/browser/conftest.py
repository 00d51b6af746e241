"""JupyterLab and a headless Chromium for the real-browser suite, and the driver that runs a notebook
the way a learner does (open it, Run ▸ Run All Cells, wait for the kernel) and reads back what
rendered.

The server runs from ``.venv`` on loopback with a random token, on a temporary copy of the course
(``solutions/`` plus ``fixtures/``), with its own config, data, runtime and settings folders, so
nothing in the repo or in ``~/.jupyter`` is read or written. Chromium is Debian's (``make test``
installs it with apt); Playwright only drives it — never ``playwright install``.

Set ``MESAKIT_SKIP_BROWSER=1`` to skip the suite explicitly; a missing Chromium is a failure that
says what to install, never a silent skip. ``MESAKIT_CHROMIUM`` overrides the browser's path.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 900}  # a laptop screen, file browser open: "notebook width"
MAX_SCREENSHOT_HEIGHT = 30000  # px; longer notebooks are cut off at the bottom of the picture
TIMINGS: dict[str, dict[str, float]] = {}  # notebook -> phase -> seconds, for the summary
SUITE_START = SUITE_END = 0.0  # the server's start and the last browser test's end (monotonic s)

# Lab settings for the test server only: no news/update pop-ups in the screenshots, and every cell
# kept in the DOM (no windowing) so the whole notebook can be inspected and photographed.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_path() -> str:
    for candidate in (
        os.environ.get("MESAKIT_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "the browser suite needs Debian's Chromium: `apt-get install chromium` (make test does it when "
        "run as root), or point MESAKIT_CHROMIUM at a Chromium binary; MESAKIT_SKIP_BROWSER=1 skips the suite",
        pytrace=False,
    )


def pytest_collection_modifyitems(config, items):
    if os.environ.get("MESAKIT_SKIP_BROWSER"):
        skip = pytest.mark.skip(reason="MESAKIT_SKIP_BROWSER is set")
        for item in items:
            if "tests/browser/" in item.nodeid.replace(os.sep, "/"):
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    lines = [
        f"{name:<24} {phases.get('test', 0):6.1f} s  ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items() if k != "test")
        + ")"
        for name, phases in TIMINGS.items()
    ]
    lines.append(f"{'suite wall time':<24} {SUITE_END - SUITE_START:6.1f} s  (server start to the last test's end)")
    terminalreporter.write_sep("-", "browser suite: seconds per notebook test (the next notebook runs ahead meanwhile)")
    for line in lines:
        terminalreporter.write_line(line)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.txt").write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------------------------
# The server


@dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT
    token: str
    root: Path  # the temporary copy the server serves
    log: Path

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every session (and so its kernel) so the next notebook starts with the CPU to itself."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Lab:
    venv_bin = Path(sys.executable).parent
    jupyter = venv_bin / "jupyter"
    if not jupyter.is_file():
        pytest.fail(f"no {jupyter}: run the suite with the venv's Python (make test)", pytrace=False)
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "course"
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(FIXTURES, root / "fixtures", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for rel, values in LAB_SETTINGS.items():
        target = base / "settings" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel draws inline, as for a learner
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    global SUITE_START
    SUITE_START = time.monotonic()
    token, port = secrets.token_hex(16), _free_port()
    cmd = [
        str(jupyter),
        "lab",
        "--no-browser",
        f"--ServerApp.token={token}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: read kernel state and cell outputs
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI runs as root
    log = base / "jupyterlab.log"
    with open(log, "wb") as log_file:
        server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    found = Lab(f"http://127.0.0.1:{port}", token, root, log)
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}:\n{found.log_tail()}", pytrace=False)
        try:
            found.api("GET", "/api/status")
            break
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                pytest.fail(f"JupyterLab did not answer within 120 s:\n{found.log_tail()}", pytrace=False)
            time.sleep(0.5)
    yield found
    try:
        found.shutdown_kernels()
    except OSError:
        pass
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        chromium.close()


# ----------------------------------------------------------------------------------------------
# The driver: run one notebook in Lab and read back what the learner would see.

# Kernel state of the notebook in front (window.jupyterapp is exposed by the test server only).
KERNEL_STATUS_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return kernel ? kernel.status : null;
}"""
BUSY_JS = """() => {
  const pending = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .filter(p => p.textContent.includes('*')).length;
  return {status: (KERNEL_STATUS)(), pending};
}""".replace("KERNEL_STATUS", KERNEL_STATUS_JS)

# Every cell with its outputs as the kernel sent them (the notebook model) beside what the DOM shows
# for each top-level output.
INSPECT_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const short = s => (s || '').slice(0, 2000);
  const join = t => Array.isArray(t) ? t.join('') : (t || '');
  return panel.content.widgets.map((widget, i) => {
    const cell = widget.model.toJSON();
    const area = widget.node.querySelector('.jp-Cell-outputArea');
    const children = area ? [...area.children].filter(c => c.classList.contains('jp-OutputArea-child')) : [];
    const outputs = (cell.outputs || []).map((out, j) => {
      const dom = children[j];
      const node = dom ? dom.querySelector('.jp-OutputArea-output') : null;
      if (node) node.setAttribute('data-mesakit-output', `${i}-${j}`);  // for the slider checks
      const images = node ? [...node.querySelectorAll('img')].map(img => ({
        natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
        room: area.getBoundingClientRect().width })) : [];
      const bars = node ? [...node.querySelectorAll('.widget-hprogress, .widget-vprogress')].map(b => {
        const bar = b.querySelector('.progress-bar');
        return {cls: bar ? bar.className : '', width: bar ? bar.getBoundingClientRect().width : 0,
                text: (b.parentElement ? b.parentElement.innerText : '').replace(/\\s+/g, ' ').trim()};
      }) : [];
      return {
        type: out.output_type, name: out.name || '', mimes: Object.keys(out.data || {}),
        plain: short(join(out.data && out.data['text/plain'])), text: short(join(out.text)),
        ename: out.ename || '', evalue: short(out.evalue || ''),
        rendered: !!node, domMime: node ? (node.getAttribute('data-mime-type') || '') : '',
        domText: node ? short(node.innerText) : '',
        widgetNodes: node ? node.querySelectorAll('.jupyter-widgets').length : 0,
        sliders: node ? node.querySelectorAll('.widget-slider').length : 0,
        bars, images,
      };
    });
    return {index: i, type: cell.cell_type, source: short(join(cell.source)),
            count: cell.execution_count === undefined ? null : cell.execution_count, outputs};
  });
}"""


@dataclass
class NotebookRun:
    """What one notebook showed in the browser."""

    name: str
    cells: list[dict]  # INSPECT_JS's records, after Run All
    page: object  # the Playwright page, still open (for the slider checks)
    console_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> seconds


def describe(cell: dict) -> str:
    first = next((line for line in cell["source"].splitlines() if line.strip() and not line.startswith("#")), "")
    first = first.strip()
    return f"cell {cell['index'] + 1} ({first[:60] + ('…' if len(first) > 60 else '')!r})"


def _wait_until(page, condition, timeout: float, what: str, stable: float = 0.0) -> None:
    """Poll ``condition(page) -> bool`` until it holds for ``stable`` seconds, or fail saying ``what``."""
    deadline = time.monotonic() + timeout
    held_since = None
    while True:
        if condition(page):
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= stable:
                return
        else:
            held_since = None
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_RENDER_TIMEOUT = 30.0  # s for widget views to appear after the kernel went idle


def _settled_cells(page) -> list[dict]:
    """INSPECT_JS once every widget output has rendered (or failed to): widget views are built
    asynchronously after their cell finished. An output still empty after the timeout is reported
    as it is (a widget the kernel closed, such as tqdm(leave=False), stays empty for good)."""
    deadline = time.monotonic() + WIDGET_RENDER_TIMEOUT
    while True:
        cells = page.evaluate(INSPECT_JS)
        waiting = [
            out
            for cell in cells
            for out in cell["outputs"]
            if (
                WIDGET_MIME in out["mimes"]
                and not out["widgetNodes"]
                and (not out["domText"].strip() or out["domText"].strip().startswith("Loading widget"))
            )
            or any(not image["natural"] for image in out["images"])
        ]
        if not waiting or time.monotonic() > deadline:
            return cells
        page.wait_for_timeout(250)


class Runner:
    """Runs the session's notebooks in Lab one ahead: while a test inspects notebook N (figures,
    sliders, screenshot), notebook N+1 already runs in a second tab, on the second core.

    Each notebook gets its own browser context and Lab workspace (``?reset``: Lab reopens nothing
    from earlier notebooks), is run with Run ▸ Run All Cells as a learner would, and is closed, its
    kernel shut down, when its test ends. ``order`` is the session's notebooks in test order (from
    the ``notebook`` markers), so only selected notebooks are run ahead.
    """

    def __init__(self, lab: Lab, browser, order: list[tuple[str, str]]):
        self.lab, self.browser, self.order = lab, browser, order
        self.live: dict[str, dict] = {}  # name -> context, page, errors, relpath, times, mark

    def _start(self, relpath: str, name: str) -> None:
        if name in self.live:
            return
        context = self.browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        entry = {"context": context, "page": page, "errors": [], "relpath": relpath, "times": {}}
        self.live[name] = entry
        page.on("console", lambda m: entry["errors"].append(m.text[:500]) if m.type == "error" else None)
        page.on("pageerror", lambda e: entry["errors"].append(f"page error: {e}"[:500]))
        start = time.monotonic()
        page.goto(f"{self.lab.url}/lab/workspaces/{name}/tree/{relpath}?reset&token={self.lab.token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=OPEN_LAB_TIMEOUT * 1000)
        _wait_until(page, lambda p: p.evaluate(KERNEL_STATUS_JS) == "idle", 120, f"the kernel of {relpath} to start")
        entry["times"]["open"] = time.monotonic() - start
        # Run ▸ Run All Cells, as a learner would.
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        entry["mark"] = mark = time.monotonic()
        _wait_until(
            page, lambda p: p.evaluate(BUSY_JS)["pending"] > 0 or time.monotonic() - mark > 5, 10, "Run All to start"
        )

    def run(self, relpath: str, name: str, timeout: float = 300) -> NotebookRun:
        self._start(relpath, name)
        names = [n for _, n in self.order]
        ahead = self.order[names.index(name) + 1 : names.index(name) + 2] if name in names else []
        for next_relpath, next_name in ahead:
            try:
                self._start(next_relpath, next_name)
            except Exception:  # its own test starts it again and reports what goes wrong
                self.close(next_name)
        entry = self.live[name]
        page = entry["page"]

        def finished(p) -> bool:
            state = p.evaluate(BUSY_JS)
            return state["status"] == "idle" and state["pending"] == 0

        try:
            _wait_until(
                page,
                finished,
                max(1.0, timeout - (time.monotonic() - entry["mark"])),
                "all cells to finish running",
                stable=1.5,
            )
        except AssertionError as err:
            raise AssertionError(f"{name}: {err} (kernel: {page.evaluate(KERNEL_STATUS_JS)})") from None
        entry["times"]["run all"] = time.monotonic() - entry["mark"]
        cells = _settled_cells(page)
        return NotebookRun(name, cells, page, list(entry["errors"]), entry["times"])

    def close(self, name: str) -> None:
        entry = self.live.pop(name, None)
        if entry is None:
            return
        try:
            entry["context"].close()
        finally:
            for session in self.lab.api("GET", "/api/sessions"):
                if session.get("path") == entry["relpath"]:
                    self.lab.api("DELETE", f"/api/sessions/{session['id']}")


OPEN_LAB_TIMEOUT = 120  # s for Lab's page to load (its JavaScript is large; CI has 2 slow cores)


def pytest_configure(config):
    config.addinivalue_line("markers", "notebook(relpath, name): the notebook a browser test runs in Lab")


@pytest.fixture(scope="session")
def runner(request, lab, browser):
    order = [m.args for item in request.session.items if (m := item.get_closest_marker("notebook"))]
    found = Runner(lab, browser, order)
    yield found
    for name in list(found.live):
        found.close(name)


@pytest.fixture
def run_in_lab(request, runner):
    """``run_in_lab()``: run this test's notebook (its ``notebook`` marker) in Lab and return a
    :class:`NotebookRun`; the notebook stays open until the test ends."""
    relpath, name = request.node.get_closest_marker("notebook").args
    start = time.monotonic()
    yield lambda: runner.run(relpath, name)
    runner.close(name)
    TIMINGS.setdefault(name, {})["test"] = time.monotonic() - start
    global SUITE_END
    SUITE_END = time.monotonic()


def screenshot(run: NotebookRun, path: Path) -> None:
    """The whole notebook in one picture: grow the window to the notebook's height, then shoot."""
    page = run.page
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("""() => {
      const panel = window.jupyterapp.shell.currentWidget.node;
      const scroller = panel.querySelector('.jp-WindowedPanel-outer') || panel.querySelector('.jp-Notebook');
      if (!scroller) return 0;
      scroller.scrollTop = 0;  // Run All leaves it at the last cell
      return scroller.scrollHeight - scroller.clientHeight;
    }""")
    page.set_viewport_size(
        {"width": VIEWPORT["width"], "height": min(VIEWPORT["height"] + int(height), MAX_SCREENSHOT_HEIGHT)}
    )
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
