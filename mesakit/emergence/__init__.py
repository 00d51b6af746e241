"""Lesson 03, emergence: finite task pools and the memorizer-or-optimizer model (``diversity``), the
Bayes-optimal yardsticks (``bayes``) and measurements over a training run (``trajectory``)."""

from ..moved import moved_name


def __getattr__(name: str) -> object:  # 0.1's ``mesakit.emergence`` module lives on in ``trajectory``
    return moved_name(__name__, name)
