"""The sandbox a submission runs in: bubblewrap and per-process resource limits.

Each process of a submission (the student's worker and the judge) runs under ``bwrap`` with:
a read-only view of the system (``/usr``, ``/etc``...), of the Python installation and of the
``mesakit`` package — and nothing else of the machine: no course folder (so no ``solutions/``, no
gradebook, no other submission), no home, no network, private ``/tmp``, ``/proc`` and PID space.
The student's working folder is a size-capped tmpfs, filled at start from a read-only copy of the
submission's folder (the original is never touched), that vanishes with the sandbox: nothing the
student writes reaches the host's disk. As root each sandboxed process drops to a user of its own.

Limits per process (inherited by everything it starts): an address-space cap (memory bombs fail
fast), a file-size cap, open files, CPU time as a backstop, no core dumps, a process cap. The
whole tree's memory, processes and CPU share are the cgroups' (:mod:`mesakit.grade.cgroups`);
its CPU time and the wall clock are watched by :mod:`mesakit.grade.meter`.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

NOBODY = 65534
UID_BASE = 61000  # as root, sandbox k runs as uid UID_BASE + k: no two share a process count
WORKDIR = "/home/student/work"  # the student's working folder inside the sandbox (a tmpfs)
SUBMITTED_DIR = "/home/student/submitted"  # the read-only copy it is filled from
MAX_FILE_BYTES = 512 * 1024 * 1024
WORK_BYTES = 1024 * 1024**2  # the working folder's tmpfs (its pages count as the worker's memory)
TMP_MB = 512
MAX_OPEN_FILES = 1024  # per process (the pids cap bounds the tree)
MAX_COPY_DEPTH = 32  # folders nested deeper in a submission are not copied
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


def command(
    argv: list[str],
    workdir: Path | None,
    extra_ro: dict[str, str] | None = None,
    tmp_mb: int = TMP_MB,
    uid: int = NOBODY,
) -> list[str]:
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
        cmd += [
            "--ro-bind",
            str(workdir),
            SUBMITTED_DIR,
            "--size",
            str(WORK_BYTES),
            "--perms",
            "1777",
            "--tmpfs",
            WORKDIR,
        ]
        cmd += ["--chdir", WORKDIR]
    else:
        cmd += ["--chdir", "/tmp"]
    if os.geteuid() == 0:
        # bwrap keeps no capabilities; these two only let setpriv drop to `uid` and then vanish.
        cmd += [
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--",
            shutil.which("setpriv") or "/usr/bin/setpriv",
            "--reuid",
            str(uid),
            "--regid",
            str(uid),
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ]
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


def limits(memory_bytes: int, cpu_seconds: float, join=None):
    """A ``preexec_fn`` applying the resource limits (inherited by everything in the sandbox);
    ``join()`` first moves the process into its cgroups."""

    def apply() -> None:
        os.setsid()
        if join is not None:
            join()
        address = memory_bytes + ADDRESS_SPACE_EXTRA
        resource.setrlimit(resource.RLIMIT_AS, (address, address))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES))
        cpu = int(cpu_seconds) + 5  # a backstop: the meter stops the tree at cpu_seconds
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
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


def walk(top: Path, max_depth: int = MAX_COPY_DEPTH):
    """(folder, depth, entries) for ``top`` and the folders below it, without recursion and
    without following links; folders deeper than ``max_depth`` are not entered."""
    stack = [(top, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        yield folder, depth, entries
        if depth < max_depth:
            stack += [(Path(e.path), depth + 1) for e in reversed(entries) if e.is_dir(follow_symlinks=False)]


def prepare_workdir(submission_folder: Path, into: Path, max_bytes: int = 200 * 1024 * 1024, uid: int = NOBODY) -> Path:
    """Copy the submission's folder (plain files only, no links, size- and depth-capped) into ``into``."""
    into.mkdir(parents=True)
    total = 0
    for folder, _, entries in walk(submission_folder):
        rel = folder.relative_to(submission_folder)
        for entry in entries:
            if entry.name.startswith(".ipynb_checkpoints") or entry.is_symlink():
                continue
            dst = into / rel / entry.name
            if entry.is_dir(follow_symlinks=False):
                dst.mkdir(exist_ok=True)
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
                if total > max_bytes:
                    break
                shutil.copyfile(entry.path, dst, follow_symlinks=False)
    if os.geteuid() == 0:
        for folder, _, entries in walk(into):
            os.chown(folder, uid, uid)
            for e in entries:
                os.chown(e.path, uid, uid, follow_symlinks=False)
        for p in (into.parent, into.parent.parent):
            p.chmod(0o711)  # let the sandbox's user reach its folder, not list ours
    return into


def add_files(workdir: Path, files, uid: int = NOBODY) -> None:
    """Copy the instructor's files (relative path, bytes) over the student's, as ``nbgrader autograde``
    overwrites them from the source folder; a student's link or folder in the way is removed first."""
    for rel, data in files:
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or ".." in parts:
            continue  # the course's own files never look like this; never write outside workdir
        dst = workdir
        for part in parts[:-1]:
            dst = dst / part
            if dst.is_symlink() or (dst.exists() and not dst.is_dir()):
                remove_tree(dst)
            if not dst.exists():
                dst.mkdir()
                if os.geteuid() == 0:
                    os.chown(dst, uid, uid)
        dst = dst / parts[-1]
        if dst.is_symlink() or dst.is_dir():
            remove_tree(dst)
        dst.write_bytes(data)
        if os.geteuid() == 0:
            os.chown(dst, uid, uid)


def remove_tree(path: Path, timeout: float = 120) -> bool:
    """Delete a folder however deep or odd it is (``rm -rf``, then an iterative walk); True if gone."""
    if not os.path.lexists(path):
        return True
    try:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        pass
    if os.path.lexists(path):
        folders = []
        for folder, _, entries in walk(path, max_depth=10**9):
            folders.append(folder)
            for e in entries:
                if not e.is_dir(follow_symlinks=False):
                    try:
                        os.unlink(e.path)
                    except OSError:
                        pass
        for folder in reversed(folders):
            try:
                os.rmdir(folder)
            except OSError:
                pass
    return not os.path.lexists(path)


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
