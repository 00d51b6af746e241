"""One way to make a piece of code deterministic without touching the caller: :func:`seeded`.

Training recipes, experiments and checks draw initial weights from torch's global generator.
Seeding it bare (``torch.manual_seed``) changes the learner's kernel state as a side effect, and
``torch.set_num_threads(1)`` (which experiments need for run-to-run identical sums) would slow
everything that runs after. Inside ``with seeded(seed):`` the global generator starts from
``seed`` (and, if asked, torch uses ``threads`` threads); on exit the caller's generator state and
thread count are restored, whatever happened inside. Code that takes a ``torch.Generator``
should keep using it; this is for code that cannot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def seeded(seed: int, threads: int | None = None) -> Iterator[None]:
    """Run the block with torch's global RNG seeded by ``seed`` and ``threads`` threads (None: as is)."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1 (or None to keep the caller's), got {threads}")
    before = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)
