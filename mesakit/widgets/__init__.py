"""Interactive widgets of the lessons. Each wraps a pure ``update(...) -> Figure`` function (tested
headless) in ipywidgets controls; building a widget draws its first frame immediately, so it also
shows something useful in a static render of the notebook."""
