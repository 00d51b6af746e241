"""Per-submission resource boxes: a cgroup for each sandboxed process, v2 or v1, or none.

A submission's two processes (the student's worker and the judge) each go into a cgroup of their
own, under one cgroup for the submission, under one for the batch::

    <our cgroup>/mesakit-grade-<pid>/<n>/{worker,judge}

* **cpu** — the submission (``<n>``) gets one CPU's quota and an equal share against the other
  submissions (the weight of two processes, its worker and judge, against the rest of the machine), so thirty busy processes in one submission cost its neighbour no more than one
  busy process would; its CPU time (``cpuacct.usage`` / ``cpu.stat``) is what ``--timeout``
  counts, so a neighbour's load never turns into a timeout.
* **memory** — each process tree's limit covers all it holds: anonymous memory, the tmpfs
  folders and ``memfd`` files (shmem), page tables; shared pages are counted once.
* **pids** — processes and threads of the whole tree.

Which kind: cgroup v2 when the unified hierarchy lets us enable ``cpu``, ``memory`` and ``pids``
below our own cgroup; else v1 when those hierarchies (and ``cpuacct``) are writable; else none,
and the caller falls back to RLIMIT_CPU and measuring the process tree (CPU time, PSS; see
:mod:`mesakit.grade.meter`). ``MESAKIT_GRADE_CGROUP=v2|v1|none`` forces a kind (tests use it).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ENV = "MESAKIT_GRADE_CGROUP"
V1 = ("cpu", "cpuacct", "memory", "pids")
PERIOD_US = 100_000


def _mounts() -> tuple[dict[str, Path], Path | None]:
    v1, v2 = {}, None
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return v1, v2
    for line in lines:
        parts = line.split()
        if len(parts) < 4:
            continue
        mount, fstype, options = Path(parts[1]), parts[2], parts[3].split(",")
        if fstype == "cgroup2" and v2 is None:
            v2 = mount
        elif fstype == "cgroup":
            for c in V1:
                if c in options:
                    v1.setdefault(c, mount)
    return v1, v2


def _own() -> dict[str, str]:
    """Our cgroup in each hierarchy ('' is v2's), from /proc/self/cgroup."""
    out = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path.lstrip("/")
    return out


def _write(path: Path, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


class Batch:
    """The batch's cgroup (one per hierarchy); :meth:`box` makes one per submission."""

    def __init__(self, kind: str, roots: dict[str, Path]):
        self.kind, self.roots = kind, roots  # kind: v2|v1|none; roots: controller -> batch folder

    @classmethod
    def open(cls, force: str | None = None) -> Batch:
        force = force or os.environ.get(ENV, "auto")
        for kind in ("v2", "v1"):
            if force not in ("auto", kind):
                continue
            try:
                return cls(kind, cls._make_v2() if kind == "v2" else cls._make_v1())
            except (OSError, ValueError, KeyError):
                continue
        return cls("none", {})

    @staticmethod
    def _make_v2() -> dict[str, Path]:
        _, mount = _mounts()
        if mount is None:
            raise ValueError("no cgroup2 mount")
        root = mount / _own()[""] / f"mesakit-grade-{os.getpid()}"
        root.mkdir()
        try:
            if not {"cpu", "memory", "pids"} <= set((root / "cgroup.controllers").read_text().split()):
                raise ValueError("cpu, memory or pids is not delegated to us")
            _write(root / "cgroup.subtree_control", "+cpu +memory +pids")
        except BaseException:
            root.rmdir()
            raise
        return {"": root}

    @staticmethod
    def _make_v1() -> dict[str, Path]:
        mounts, own = _mounts()[0], _own()
        if set(mounts) != set(V1):
            raise ValueError("v1 controllers missing")
        roots: dict[str, Path] = {}
        try:
            for c in V1:
                root = mounts[c] / own.get(c, "") / f"mesakit-grade-{os.getpid()}"
                if root not in roots.values():
                    root.mkdir()
                roots[c] = root
        except BaseException:
            for root in set(roots.values()):
                _rmdir(root)
            raise
        return roots

    def box(self, name: str, memory: int, pids: int) -> Box:
        return Box(self, name, memory, pids)

    def close(self) -> None:
        for root in set(self.roots.values()):
            _rmdir(root)


class Box:
    """One submission's cgroups: ``join(role)`` is a preexec hook; ``cpu_seconds``, ``oom(role)``."""

    ROLES = ("worker", "judge")

    def __init__(self, batch: Batch, name: str, memory: int, pids: int):
        self.kind = batch.kind
        self.dirs: dict[str, dict[str, Path]] = {}  # role ('' = the submission) -> controller -> folder
        if self.kind == "none":
            return
        top = {c: root / name for c, root in batch.roots.items()}
        self.dirs[""] = top
        try:
            for path in set(top.values()):
                path.mkdir()
            if self.kind == "v2":
                _write(top[""] / "cgroup.subtree_control", "+cpu +memory +pids")
                _write(top[""] / "cpu.max", f"{PERIOD_US} {PERIOD_US}")
                _write(top[""] / "cpu.weight", 2 * 100)
            else:
                _write(top["cpu"] / "cpu.cfs_period_us", PERIOD_US)
                _write(top["cpu"] / "cpu.cfs_quota_us", PERIOD_US)
                _write(top["cpu"] / "cpu.shares", 2 * 1024)
            for role in self.ROLES:
                dirs = {c: path / role for c, path in top.items()}
                self.dirs[role] = dirs
                for path in set(dirs.values()):
                    path.mkdir()
                if self.kind == "v2":
                    _write(dirs[""] / "memory.max", memory)
                    if (dirs[""] / "memory.swap.max").exists():
                        _write(dirs[""] / "memory.swap.max", 0)
                    _write(dirs[""] / "pids.max", pids)
                else:
                    _write(dirs["memory"] / "memory.limit_in_bytes", memory)
                    if (dirs["memory"] / "memory.memsw.limit_in_bytes").exists():
                        try:
                            _write(dirs["memory"] / "memory.memsw.limit_in_bytes", memory)
                        except OSError:
                            pass  # no swap accounting: no swap to limit
                    _write(dirs["pids"] / "pids.max", pids)
        except BaseException:
            self.close()
            raise

    def join(self, role: str):
        """A ``preexec_fn`` step: move the calling (forked) process into ``role``'s cgroups."""
        paths = [] if self.kind == "none" else sorted(set(self.dirs[role].values()))

        def enter() -> None:
            me = str(os.getpid())
            for path in paths:
                with open(path / "cgroup.procs", "w") as f:
                    f.write(me)

        return enter

    def cpu_seconds(self) -> float | None:
        """CPU time of everything the submission ran (both processes), or None without cgroups."""
        try:
            if self.kind == "v2":
                stat = (self.dirs[""][""] / "cpu.stat").read_text().split()
                return int(stat[stat.index("usage_usec") + 1]) / 1e6
            if self.kind == "v1":
                return int((self.dirs[""]["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError, KeyError):
            pass
        return None

    def oom(self, role: str) -> bool:
        """Did the kernel kill a process of ``role`` for passing its memory limit?"""
        try:
            if self.kind == "v2":
                text = (self.dirs[role][""] / "memory.events").read_text().split()
                return int(text[text.index("oom_kill") + 1]) > 0
            if self.kind == "v1":
                memory = self.dirs[role]["memory"]
                text = (memory / "memory.oom_control").read_text().split()
                # kernels before 4.13 do not count kills; failcnt also counts reclaimed page cache
                return "oom_kill" in text and int(text[text.index("oom_kill") + 1]) > 0
        except (OSError, ValueError, KeyError):
            pass
        return False

    def kill(self) -> None:
        """SIGKILL every process left in the submission's cgroups."""
        for _ in range(250):
            pids = set()
            for role in self.ROLES:
                for path in set(self.dirs.get(role, {}).values()):
                    try:
                        pids |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
                    except (OSError, ValueError):
                        pass
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def close(self) -> None:
        self.kill()
        for role in (*self.ROLES, ""):
            for path in set(self.dirs.get(role, {}).values()):
                _rmdir(path)


def _rmdir(path: Path, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > end:
                return
            time.sleep(0.05)  # killed processes may take a moment to leave (hundreds, on a busy machine)
