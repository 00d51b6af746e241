"""Submissions for the security review's classes of attack (issue 12), built at test time.

Most are *probes*: the submission solves ``scale`` (2 points) only if its attack worked — held a
resource past a limit, saw something it must not — so ``test_scale`` scoring 0 shows the limit
held, and the rest of the notebook is the usual wrong stubs (``WRONG``).
"""

from __future__ import annotations

import copy

import nbformat
from cheats import WRONG, with_cells

RIGHT_SCALE = "\ndef scale(x, a):\n    return a * x\n"


def probe(attack: str, succeeded: str) -> str:
    """Solution code: run ``attack``; define the right ``scale`` only if ``succeeded`` is true."""
    return (
        WRONG + "\n" + attack + f"\nif {succeeded}:\n" + "\n".join("    " + l for l in RIGHT_SCALE.splitlines()) + "\n"
    )


# -- class 1: the instructor's names
STAND_INS = """
import types, torch as _real_torch
class _Nothing:
    def __getattr__(self, name):
        return lambda *a, **k: None
class _Torch:  # real torch, except the comparisons
    allclose = staticmethod(lambda *a, **k: True)
    equal = staticmethod(lambda *a, **k: True)
    def __getattr__(self, name):
        return getattr(_real_torch, name)
core = _Nothing()
checks = _Nothing()
torch = _Torch()
math = types.SimpleNamespace(isclose=lambda *a, **k: True)
np = types.SimpleNamespace(testing=types.SimpleNamespace(assert_allclose=lambda *a, **k: None))
models = reference = metrics = _Nothing()
X_FIXED = None
"""


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def move_setup(nb, first_cell: str = STAND_INS, setup_ids=("setup", "fixed_inputs"), how: str = "move"):
    """Stand-ins first; the instructor's setup cells moved after the last graded cell (``move``),
    deleted (``delete``) or duplicated there with the originals deleted (``duplicate``)."""
    nb = copy.deepcopy(nb)
    setup = [c for c in nb.cells if _gid(c) in setup_ids]
    rest = [c for c in nb.cells if _gid(c) not in setup_ids]
    if how == "move":
        rest = rest + setup
    elif how == "duplicate":
        rest = rest + copy.deepcopy(setup) + copy.deepcopy(setup)
    nb.cells = [nbformat.v4.new_code_cell(first_cell)] + rest
    for i, c in enumerate(nb.cells):
        c.id = f"m{i}"
    return nb


# -- class 2: nested folders
NESTED = """
import os
p = "deep"
for _ in range(1500):
    os.mkdir(p)
    os.chdir(p)
    p = "d"
os.chdir("/home/student/work")
"""

# -- class 3: thirty busy processes
CPU_HOG = """
import os
for _ in range(30):
    if os.fork() == 0:
        while True:
            pass
while True:
    pass
"""

# -- class 4: memory outside RSS, disk, files, processes, the judge's memory
MEMFD = """
import os
fds = []
try:
    for _ in range(8):  # 8 x 256 MB = 2 GB held in memory files, no mapping
        fd = os.memfd_create("x")
        block = b"x" * (1 << 20)
        for _ in range(256):
            os.write(fd, block)
        fds.append(fd)
except OSError:
    pass
held = len(fds)
"""
DISK = """
import os
written = 0
try:
    with open("big.bin", "wb") as f:
        block = b"x" * (1 << 20)
        for _ in range(1500):
            f.write(block)
            written += 1
except OSError:
    pass
try:
    os.remove("big.bin")
except OSError:
    pass
"""
FILES = """
import os
opened = []
try:
    for _ in range(5000):
        opened.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
"""
PROCESSES = """
import os, time
children = 0
try:
    for _ in range(400):
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
except OSError:
    pass
"""
FORK_IDLE = """
import os, time, torch
_keep = torch.ones(2**24)  # 128 MB, shared with the children (copy on write)
for _ in range(12):
    if os.fork() == 0:
        time.sleep(600)
        os._exit(0)
"""
HUGE_MODEL_REPLY = """
import json, struct
import mesakit.grade.wire as _w
_real = _w.encode
_sent = []
def _lying(value, keep):
    if not _sent:
        _sent.append(1)
        tree = {"dict": [[{"str": "value"}, {"mesakit_model": ["LinearSelfAttention",
                {"dict": [[{"str": "d"}, {"int": "60000"}]]}, {"dict": []}, True]}]]}
        head = json.dumps(tree).encode()
        return struct.pack("<Q", len(head)) + head
    return _real(value, keep)
_w.encode = _lying
"""

# -- class 5: forcing grader-error
MODULE_TYPE = (
    WRONG
    + """
class module:
    __name__ = "unittest.__main__"
X_FIXED = module()
scale = module()
"""
)
BIND_RAISES = (
    WRONG
    + """
import mesakit.grade.worker as _wk
_answer = _wk.Worker.answer
def _raising(self, op, args):
    if op == "lookup":
        raise KeyError("boom")
    return _answer(self, op, args)
_wk.Worker.answer = _raising
"""
)


def deep_metadata(release, depth: int = 100_000) -> bytes:
    text = nbformat.writes(release)
    return text.replace('"metadata": {', '"metadata": {"deep": ' + "[" * depth + "]" * depth + ", ", 1).encode()


# -- class 6: hidden tests leaking through the feedback
LOGGER = """
import sys
_seen = []
def scale(x, a):
    _seen.append(repr(x.tolist()))
    sys.stderr.write("called with " + repr(x.tolist()) + "\\n")
    raise ValueError("inputs: " + " ".join(_seen))
def mean_square(x):
    raise ValueError("earlier inputs: " + " ".join(_seen))
class Affine(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
    def forward(self, x):
        raise ValueError("earlier inputs: " + " ".join(_seen))
"""


def build(release) -> dict:
    """name -> notebook (or bytes) for the fixture lesson."""
    return {
        "nested_dirs": with_cells(release, solutions=WRONG + NESTED),
        "cpu_hog": with_cells(release, solutions=CPU_HOG),
        "memfd": with_cells(release, solutions=probe(MEMFD, "held >= 8")),
        "disk": with_cells(release, solutions=probe(DISK, "written >= 1500")),
        "files": with_cells(release, solutions=probe(FILES, "len(opened) >= 5000")),
        "processes": with_cells(release, solutions=probe(PROCESSES, "children >= 400")),
        "huge_model_reply": with_cells(release, solutions=WRONG + HUGE_MODEL_REPLY),
        "module_type": with_cells(release, solutions=MODULE_TYPE),
        "bind_raises": with_cells(release, solutions=BIND_RAISES),
        "deep_metadata": deep_metadata(release),
        "logger": with_cells(release, solutions=LOGGER),
        "moved_setup": move_setup(with_cells(release, solutions=WRONG)),
        "deleted_setup": move_setup(with_cells(release, solutions=WRONG), how="delete"),
        "duplicated_setup": move_setup(with_cells(release, solutions=WRONG), how="duplicate"),
    }
