"""Interactive widgets of the lessons. Each wraps a pure ``update(...) -> Figure`` function (tested
headless) in ipywidgets controls; building a widget draws its first frame immediately, so it also
shows something useful in a static render of the notebook.

- ``inner``: ``inner_loop_explorer(Z, y_q, K, lr)``, lesson 01's sliders for K, η and the prompt (the inner loss falling, the prediction moving).
- ``training``: ``snapshot_scrubber(history, gd_loss, gd_lr)``, lesson 02's slider through training snapshots.
- ``emergence``: ``pool_size_explorer(sweep)``, lesson 03's slider over pretraining pool sizes (which solution wins).
- ``gridworld``: ``episode_viewer(pairs)``, lesson 04's step-through of the agent's episodes, training level beside the same level with the coin moved.
- ``search``: ``thinking_stepper(model, probe, mazes)``, lesson 05's sliders over thinking iterations and mazes (the path forming, the probe's value map beside the BFS truth).
- ``detection``: ``leaderboard(rows)`` and ``kernel_explorer(Z)``, lesson 06's zoo leaderboard and the kernel smoother that probes the detector's limits.
"""
