"""The widgets are safe to run headless under nbclient (`nbgrader autograde`, nbconvert, papermill).

Issue 17: `nbgrader autograde` stalled for the cell's whole timeout (300 s) on lesson 02's widget
cell. nbclient mimics the ``Output`` widget: when a kernel *captures* output into one
(``with out: display(fig)``), nbclient sends ``comm_msg`` state updates back on the shell channel
while it waits on that same channel for the cell's ``execute_reply``; jupyter_client sends them
through a blocking shadow of the asyncio socket, which can consume the wakeup of a reply that has
just arrived, so the reply is read only when the poll times out. ``widgets.base`` now sets the
Output widget's ``outputs`` instead of capturing, so nbclient never writes to the shell channel.
The stall rate itself is measured by ``benchmarks/nbgrader_stall.py``.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import ipywidgets as w
import matplotlib

matplotlib.use("Agg")
import nbformat  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mesakit.widgets.base import figure_output, interactive_figure  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _line(k: int) -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, k])
    ax.set_title(f"k = {k}")
    return fig


def _png(output: dict) -> bytes:
    return base64.b64decode(output["data"]["image/png"])


def test_figure_output_is_a_display_data_with_a_png_outside_ipython():
    out = figure_output(_line(1))
    assert out["output_type"] == "display_data" and out["metadata"] == {}
    assert _png(out).startswith(PNG_MAGIC)
    assert out["data"]["text/plain"].startswith("<Figure size") or "Figure" in out["data"]["text/plain"]
    nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[nbformat.from_dict(out)])]))


def test_figure_output_names_what_came_when_update_returns_no_figure():
    with pytest.raises(TypeError, match="must return a matplotlib Figure, got NoneType"):
        figure_output(None)


def test_the_frame_lives_in_the_output_widget_state_and_is_replaced_on_each_change():
    slider = w.IntSlider(value=1, min=1, max=3)
    box = interactive_figure(_line, {"k": slider}, title="t")
    (first,) = box.output.outputs
    assert _png(first).startswith(PNG_MAGIC) and box.last_figure.axes[0].get_title() == "k = 1"
    slider.value = 2
    (second,) = box.output.outputs  # replaced, not appended
    assert box.last_figure.axes[0].get_title() == "k = 2" and _png(second) != _png(first)
    assert box.output.msg_id == ""  # never captured


def test_a_change_that_draws_the_same_picture_still_replaces_the_frame():
    """A front end redraws on every change (the browser suite tells a dead slider by it)."""
    slider = w.IntSlider(value=1, min=1, max=3)
    box = interactive_figure(lambda k: _line(1), {"k": slider})
    (first,) = box.output.outputs
    slider.value = 2
    (second,) = box.output.outputs
    assert _png(second) == _png(first) and second != first


WIDGET_CELL = """\
import ipywidgets as w
from matplotlib.figure import Figure
from IPython.display import display
from mesakit.widgets.base import interactive_figure

def frame(k):
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [0, k])
    return fig

display(interactive_figure(frame, {"k": w.IntSlider(value=1, min=1, max=3)}, title="frames"))"""


@pytest.mark.slow
def test_under_nbclient_a_widget_cell_sends_nothing_on_the_shell_channel(monkeypatch):
    """The condition of the stall: nbclient's Output mimic writing to the shell channel mid-cell."""
    from nbclient import NotebookClient
    from nbclient.output_widget import OutputWidget

    sent = []
    original = OutputWidget._publish_msg

    def spy(self, msg_type, *args, **kwargs):
        sent.append(msg_type)
        return original(self, msg_type, *args, **kwargs)

    monkeypatch.setattr(OutputWidget, "_publish_msg", spy)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("%matplotlib inline"), nbformat.v4.new_code_cell(WIDGET_CELL)]
    )
    client = NotebookClient(nb, kernel_name="python3", timeout=120)
    client.execute()
    assert sent == [], f"nbclient sent {len(sent)} message(s) on the shell channel during the widget cell: {sent}"
    assert [o.output_type for o in nb.cells[1].outputs] == ["display_data"]  # the widget view, no stray figure
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    (output_model,) = [m for m in state.values() if m["model_name"] == "OutputModel"]
    (frame,) = output_model["state"]["outputs"]
    assert frame["output_type"] == "display_data" and _png(frame).startswith(PNG_MAGIC)


CAPTURE = re.compile(r"\.clear_output\s*\(|\.capture\s*\(|^\s*with\s+(out|output|\w+_out|\w+\.output)\s*:", re.M)


def test_no_widget_or_lesson_captures_output_into_an_output_widget():
    """Capturing (``with out:``, ``out.clear_output()``, ``@out.capture``) is what let nbclient stall."""
    root = Path(__file__).resolve().parent.parent
    sources = {str(p.relative_to(root)): p.read_text() for p in sorted((root / "mesakit").rglob("*.py"))}
    for nb_path in sorted((root / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                sources[f"{nb_path.relative_to(root)} cell {i}"] = cell.source
    assert len(sources) > 20  # the scan saw the package and the lessons
    found = [f"{where}: {m.group(0).strip()!r}" for where, text in sources.items() for m in CAPTURE.finditer(text)]
    assert not found, (
        "these capture output into an ipywidgets Output, which makes nbclient (nbgrader autograde) send "
        "on the shell channel mid-cell and can stall it for the cell's whole timeout; draw through "
        f"mesakit.widgets.base.interactive_figure (it sets Output.outputs) instead: {found}"
    )
