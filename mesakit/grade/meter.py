"""Watch one submission while it runs: its CPU time, its memory, a wall-clock cap.

``--timeout`` counts the submission's own CPU time (worker and judge together), not the wall
clock: a busy neighbour or a loaded machine slows a submission down but never makes it time out.
A generous wall-clock cap (``WALL_FACTOR`` times the timeout) still stops one that sleeps.

With cgroups (:mod:`mesakit.grade.cgroups`) the kernel counts the CPU time and enforces memory;
without, this thread measures the process trees itself: CPU time summed over every process
(finished children included), memory as PSS — proportional set size, so pages shared by forked
children are counted once — and kills the sandbox past either limit.
"""

from __future__ import annotations

import threading
import time

WALL_FACTOR = 5.0  # the wall-clock cap, as a multiple of --timeout (CPU seconds): generous, for busy machines


def _tree(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process tree: live processes' own time plus their reaped children's."""
    import psutil

    total = 0.0
    for p in _tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def pss(pid: int) -> int:
    """Proportional set size of one process (bytes): shared pages divided among their users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def tree_pss(pid: int) -> int:
    return sum(pss(p.pid) for p in _tree(pid))


class Meter(threading.Thread):
    """Stop a submission past ``timeout`` CPU seconds, ``memory`` bytes or the wall-clock cap.

    ``procs`` are the sandboxes' Popen objects (worker, judge); ``box`` their cgroups; ``stop()``
    is called on a limit with the reason (``"timeout"`` or ``"memory"``), which is kept in
    ``self.reason``."""

    def __init__(self, procs, box, timeout: float, memory: int, stop, period: float = 0.1):
        super().__init__(daemon=True)
        self.procs, self.box, self.timeout, self.memory, self._stop_cb = procs, box, timeout, memory, stop
        self.period = period
        self.reason: str | None = None
        self.cpu = 0.0
        self._halt = threading.Event()
        self._start = time.monotonic()

    def cpu_seconds(self) -> float:
        counted = self.box.cpu_seconds()
        if counted is None:
            counted = sum(tree_cpu_seconds(p.pid) for p in self.procs)
        return counted

    def run(self) -> None:
        polls = 0
        while not self._halt.wait(self.period):
            polls += 1
            self.cpu = max(self.cpu, self.cpu_seconds())
            if self.cpu > self.timeout or time.monotonic() - self._start > WALL_FACTOR * self.timeout:
                return self._trip("timeout")
            if self.box.kind == "none" and polls % 2 == 0 and any(tree_pss(p.pid) > self.memory for p in self.procs):
                return self._trip("memory")

    def _trip(self, reason: str) -> None:
        self.reason = reason
        self._stop_cb()

    def stop(self) -> None:
        self._halt.set()
