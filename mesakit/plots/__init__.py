"""Every figure of the course. Each function returns a matplotlib ``Figure`` in the course style
(``mesakit.plots.style``); lessons display it, tests inspect it. Topic modules: ``training``
(loss curves, weights) and the lessons' own modules listed below."""

from .detection import (  # noqa: F401
    compare_roc,
    gain_curves,
    leaderboard,
    roc,
    score_sweep,
    signal_bars,
    signal_heatmap,
    thinking_curves,
)
from .divergence import draw_level, episodes, goal_bars, scale_shift  # noqa: F401
from .emergence import solution_bars, task_diversity_curves, training_emergence  # noqa: F401
from .incontext import loss_curve, losses_by_k, sensitivity_scatter, step_size_curve, training_snapshot, weight_heatmaps
from .inner import context_shuffle, gd_path, inner_loop, step_size_learning, two_objectives  # noqa: F401
from .search import maze, probe_scatter, solve_by_length, thinking_curve, value_map_frame  # noqa: F401
from .style import COLORS, figure  # noqa: F401
