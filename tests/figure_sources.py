"""Figures in the lessons' prose that no cell prints and no seed record holds verbatim (see
``figures.py``): per lesson, ``DERIVED`` recomputes a figure from a seed record (a function of the
record returning the figure, or ``True`` when the sentence's bound holds), and ``SETUP`` points a
hyperparameter at the line of code that sets it. Keep each entry next to the sentence's own words.
"""

from __future__ import annotations


def _per_seed(record: dict, fn) -> list:
    return [fn(r) for r in record.values()]


def _at(r: dict, key: str, k: int) -> float:
    return r[key][r["iterations"].index(k)]


def _worst_drop_to_2t(r: dict) -> float:
    """How far below the rate at T the worst count in (T, 2T] falls."""
    T = r["trained_iterations"]
    return _at(r, "solve_rate", T) - min(x for k, x in zip(r["iterations"], r["solve_rate"]) if T < k <= 2 * T)


def _long_drop(r: dict, maze: str = "") -> float:
    T = r["trained_iterations"]
    return _at(r, f"{maze}solve_rate", T) - r[f"long_{maze}solve_rate"][-1]


DERIVED = {
    "02_toy_mesa_optimizer": {
        # "cosine above 0.99 (... `mesakit reproduce lsa-gd --seed S` finds the same on seeds 0–7)"
        "0.99": ("lsa-gd", lambda rec: min(r["sensitivity_cosine"] for r in rec.values()) > 0.99),
    },
    "05_internal_search": {
        # "no count up to 2T is more than 0.02 below it"
        "0.02": ("thinking-time", lambda rec: max(_per_seed(rec, _worst_drop_to_2t)) <= 0.02),
        # "never more than 0.009 below the rate at T"
        "0.009": ("thinking-time", lambda rec: max(_per_seed(rec, _long_drop)) <= 0.009),
        # "a drift below 0.001 steps of distance per iteration in absolute value"
        "0.001": ("thinking-time", lambda rec: max(abs(r["score_drift_per_iteration"]) for r in rec.values()) < 0.001),
        # "some larger mazes solved at 32 iterations are lost again ... (up to 0.12 on one seed)"
        "0.12": (
            "thinking-time",
            lambda rec: round(
                max(
                    _per_seed(
                        rec,
                        lambda r: (
                            _at(r, "larger_maze_solve_rate", 2 * r["trained_iterations"])
                            - r["long_larger_maze_solve_rate"][-1]
                        ),
                    )
                ),
                2,
            ),
        ),
    },
}

SETUP = {
    "04_objective_divergence": {"12%": ("mesakit/divergence/gridworld.py", r"wall_density: float = 0\.12\b")},
    "05_internal_search": {
        # "Smoothed targets: 0.9 on the right move, 0.1 shared by the other open moves"
        "0.9": ("mesakit/search/thinking.py", r"SMOOTHING = 0\.1\b"),
        # "0.1 × the goal square's score, squared" (and the 0.1 of the smoothing)
        "0.1": ("mesakit/search/thinking.py", r"SMOOTHING = 0\.1\b[\s\S]*OFFSET_PENALTY = 0\.1\b"),
    },
}
