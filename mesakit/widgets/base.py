"""One pattern for every widget: controls + an output area redrawn by a pure update function.

The figure goes into the ``Output`` widget by setting its ``outputs`` state, never by capturing
(a ``with`` block on the Output around ``display(fig)``, or its clear_output). Capturing makes a
headless runner (nbclient: ``nbgrader autograde``, ``jupyter nbconvert --execute``, papermill)
mimic the output area and send ``comm_msg`` updates back on the shell channel while it waits there
for the cell's ``execute_reply``. jupyter_client sends those through a blocking shadow of its
asyncio socket, which can swallow the wakeup for a reply that has just arrived: the reply then
sits unread until the cell's timeout (300 s under nbgrader), with the kernel idle (nbclient issue
#312; issue 17 here). Setting ``outputs`` sends nothing back, so it cannot stall; a live front end
shows the same picture.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Callable

from matplotlib.figure import Figure


def figure_output(fig: Figure) -> dict:
    """``fig`` as one nbformat ``display_data`` output (a dict for ``Output.outputs``).

    In IPython it is exactly what ``display(fig)`` would send (the shell's formatters: the inline
    backend's PNG, retina and size settings); elsewhere a PNG drawn like the inline backend does.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"a widget's update() must return a matplotlib Figure, got {type(fig).__name__}")
    from IPython import get_ipython

    shell = get_ipython()
    data, metadata = shell.display_formatter.format(fig) if shell is not None else ({}, {})
    if not any(key.startswith("image/") for key in data):  # no inline backend set up: draw it ourselves
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        data = {"image/png": buffer.getvalue(), "text/plain": repr(fig)}
    data = {k: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v for k, v in data.items()}
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def interactive_figure(update: Callable[..., Figure], controls: dict, title: str | None = None):
    """A ``VBox`` of ``controls`` (name -> ipywidget) above the figure ``update(**values)``.

    The figure is redrawn on every change; the returned box carries ``.update`` and ``.controls``
    so tests can drive it headless and read ``box.last_figure`` (and ``box.output``, the Output
    widget whose ``outputs`` hold the drawn frame).
    """
    import ipywidgets as w

    out = w.Output()
    box = w.VBox()
    frames = itertools.count()

    def redraw(_change=None) -> None:
        fig = update(**{name: c.value for name, c in controls.items()})
        box.last_figure = fig
        frame = figure_output(fig)
        # numbered, so every change replaces the picture even when it looks the same (as a redraw did)
        frame["metadata"] = {**frame["metadata"], "mesakit": {"frame": next(frames)}}
        out.outputs = (frame,)  # one state update replaces the frame: no flicker, no capture

    for control in controls.values():
        control.observe(redraw, names="value")
    header = [w.HTML(f"<b>{title}</b>")] if title else []
    box.children = [*header, w.HBox(list(controls.values())), out]
    box.update, box.controls, box.output = update, controls, out
    redraw()
    return box
