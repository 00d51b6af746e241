"""One pattern for every widget: controls + an output area redrawn by a pure update function."""

from __future__ import annotations

from typing import Callable

from matplotlib.figure import Figure


def interactive_figure(update: Callable[..., Figure], controls: dict, title: str | None = None):
    """A ``VBox`` of ``controls`` (name -> ipywidget) above the figure ``update(**values)``.

    The figure is redrawn on every change; the returned box carries ``.update`` and ``.controls``
    so tests can drive it headless and read ``box.last_figure``.
    """
    import ipywidgets as w
    from IPython.display import display

    out = w.Output()
    box = w.VBox()

    def redraw(_change=None) -> None:
        fig = update(**{name: c.value for name, c in controls.items()})
        box.last_figure = fig
        out.clear_output(wait=True)
        with out:
            display(fig)

    for control in controls.values():
        control.observe(redraw, names="value")
    header = [w.HTML(f"<b>{title}</b>")] if title else []
    box.children = [*header, w.HBox(list(controls.values())), out]
    box.update, box.controls = update, controls
    redraw()
    return box
