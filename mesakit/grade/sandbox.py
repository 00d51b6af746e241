"""The sandbox a submission runs in: bubblewrap, resource limits and a memory watchdog.

Each process of a submission (the student's worker and the judge) runs under ``bwrap`` with:
a read-only view of the system (``/usr``, ``/etc``...), of the Python installation and of the
``mesakit`` package — and nothing else of the machine: no course folder (so no ``solutions/``, no
gradebook, no other submission), no home, no network, private ``/tmp``, ``/proc`` and PID space.
The only writable folder is a throw-away copy of the submission's own folder (the original is
never touched). When the grader runs as root the sandboxed process drops to ``nobody``.

Limits: an address-space cap (memory bombs fail fast), a file-size cap, no core dumps, a process
cap, and a watchdog thread that kills the whole sandbox when its resident memory passes the limit.
Wall-clock time is enforced by the caller (:mod:`mesakit.grade.runner`).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

NOBODY = 65534
UID_BASE = 61000  # as root, sandbox k runs as uid UID_BASE + k: no two share a process count
WORKDIR = "/home/student/work"  # where the submission's copy appears inside the sandbox
MAX_FILE_BYTES = 512 * 1024 * 1024
ADDRESS_SPACE_EXTRA = 3 * 1024**3  # torch maps a lot of address space it never touches


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here (message says what to install)."""


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed; the grader needs it to isolate submissions: "
            "`apt-get install bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`"
        )
    return path


def probe() -> None:
    """Start one empty sandbox, so that a machine where bubblewrap cannot work fails once, clearly."""
    done = subprocess.run(command(["/bin/true"], None), capture_output=True, text=True, timeout=60, env=environment())
    if done.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox here ({done.stderr.strip()[:300]}); the grader needs "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or to run as root"
        )


def _python_roots() -> list[str]:
    """Folders the sandboxed Python needs: the interpreter's prefix, the venv, mesakit itself."""
    import mesakit

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)}
    roots.add(str(Path(mesakit.__file__).resolve().parent))
    system = ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc")
    keep = sorted(r for r in roots if r and not any(r == s or r.startswith(s + "/") for s in system))
    # drop folders nested in another kept folder
    return [r for r in keep if not any(r != o and r.startswith(o + "/") for o in keep)]


def command(argv: list[str], workdir: Path | None, extra_ro: dict[str, str] | None = None, tmp_mb: int = 512,
            uid: int = NOBODY) -> list[str]:  # fmt: skip
    """The ``bwrap`` command line that runs ``argv`` in a fresh sandbox."""
    cmd = [bwrap_path(), "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    cmd += ["--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev"]
    for top in ("/usr", "/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += ["--ro-bind", "/etc", "/etc"]
    # The private /tmp first: a course checked out under /tmp (CI clones often are) is then bound
    # on top of it, instead of being hidden by it.
    cmd += ["--size", str(tmp_mb * 1024 * 1024), "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[str] = set()
    for root in _python_roots():
        cmd += _parents(root, made) + ["--ro-bind", root, root]
    cmd += ["--perms", "0755", "--dir", "/home", "--perms", "0755", "--dir", "/home/student"]
    for inside, outside in (extra_ro or {}).items():
        if inside.startswith("/tmp/"):
            cmd += ["--perms", "1777", "--dir", str(Path(inside).parent)]  # stays writable
        cmd += ["--ro-bind", outside, inside]
    if workdir is not None:
        cmd += ["--bind", str(workdir), WORKDIR, "--chdir", WORKDIR]
    else:
        cmd += ["--chdir", "/tmp"]
    if os.geteuid() == 0:
        # bwrap keeps no capabilities; these two only let setpriv drop to `uid` and then vanish.
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", shutil.which("setpriv") or "/usr/bin/setpriv",
                "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]  # fmt: skip
    else:
        cmd += ["--"]
    return cmd + argv


def _parents(path: str, made: set[str]) -> list[str]:
    out = []
    parts = Path(path).parts
    for k in range(2, len(parts)):
        p = str(Path(*parts[:k]))
        if p not in made and p not in ("/usr", "/etc"):
            made.add(p)
            out += ["--perms", "0755", "--dir", p]
    return out


def environment() -> dict[str, str]:
    """A minimal environment: nothing of the grader's own (no tokens, no paths to the course)."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "TQDM_DISABLE": "1",  # in a kernel tqdm.auto draws a widget, never stderr; nbgrader sees no stderr
        "LANG": "C.UTF-8",
    }


def limits(memory_bytes: int):
    """A ``preexec_fn`` applying the resource limits (inherited by everything in the sandbox)."""

    def apply() -> None:
        os.setsid()
        address = memory_bytes + ADDRESS_SPACE_EXTRA
        resource.setrlimit(resource.RLIMIT_AS, (address, address))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Counted per user: as root each sandbox has a user of its own; otherwise leave room
        # for the instructor's own processes.
        nproc = MAX_PROCESSES if os.geteuid() == 0 else _own_processes() + MAX_PROCESSES
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


MAX_PROCESSES = 256  # processes and threads of one sandbox


def _own_processes() -> int:
    try:
        import psutil

        me = os.getuid()
        return sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == me) * 8
    except Exception:  # noqa: BLE001
        return 4096


def prepare_workdir(submission_folder: Path, into: Path, max_bytes: int = 200 * 1024 * 1024, uid: int = NOBODY) -> Path:
    """Copy the submission's folder (plain files only, no links, size-capped) into ``into``."""
    into.mkdir(parents=True)
    total = 0
    for src in sorted(submission_folder.rglob("*")):
        if src.is_symlink() or not (src.is_file() or src.is_dir()):
            continue
        rel = src.relative_to(submission_folder)
        if any(part.startswith(".ipynb_checkpoints") for part in rel.parts):
            continue
        dst = into / rel
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
            continue
        total += src.stat().st_size
        if total > max_bytes:
            break
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    if os.geteuid() == 0:
        for p in [into, *into.rglob("*")]:
            os.chown(p, uid, uid)
        for p in (into.parent, into.parent.parent):
            p.chmod(0o711)  # let `nobody` reach its folder, not list ours
    return into


class Watchdog(threading.Thread):
    """Kill a process group when the resident memory of its processes passes ``limit`` bytes."""

    def __init__(self, proc: subprocess.Popen, limit: int, period: float = 0.05):
        super().__init__(daemon=True)
        self.proc, self.limit, self.period = proc, limit, period
        self.tripped = False
        self._halt = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
        except psutil.Error:
            return
        while not self._halt.wait(self.period):
            try:
                procs = [root, *root.children(recursive=True)]
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            if rss > self.limit:
                self.tripped = True
                kill(self.proc)
                return

    def stop(self) -> None:
        self._halt.set()


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the sandbox's whole process group (bwrap's PID namespace dies with it)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
