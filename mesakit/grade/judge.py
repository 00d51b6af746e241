"""The judge: runs the instructor's tests in a process the student's code never runs in.

Started (sandboxed) as ``python -I -m mesakit.grade.judge EVENTS_FD TO_WORKER_FD FROM_WORKER_FD``
with the grading plan (see :mod:`mesakit.grade.plan`) on stdin. It walks the notebook in order:

* the student's cells are executed by the worker (the student's process), never here;
* read-only cells are executed by the worker too, and here as well when a test needs what they
  define (``from mesakit import checks``, fixed inputs...);
* graded cells — the instructor's source, hidden tests included — are executed *only here*.
  A name the test reads that the instructor's cells did not define (the student's function, say)
  is bound to a :class:`Remote`: calling it, reading its attributes or indexing it asks the worker,
  and the answer comes back as plain data (:mod:`mesakit.grade.wire`). The check then compares
  that data using this process's own, untouched ``torch``, ``numpy`` and ``mesakit``.

So a monkeypatch, a replaced ``sys.modules`` entry, a custom exception hook or a tensor subclass
with a lying ``__torch_function__`` changes nothing here. Each graded cell's verdict follows
nbgrader's rules (an error or anything written to stderr: no credit; a number as the cell's value:
partial credit; else full points) and is streamed as one JSON line on EVENTS_FD, so that a
submission killed later keeps the verdicts it already earned.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import io
import json
import marshal
import os
import pickle
import sys
import traceback
import types

from . import wire
from .worker import _Capped, _make_shell, _rebuild_function

CELL_FILE = "<graded-cell>"
_DUNDERS = {"__name__", "__qualname__", "__doc__", "__module__", "__annotations__", "__defaults__", "__kwdefaults__"}


class StudentError(Exception):
    """Something the student's code raised (or its process ending), seen from the judge."""


class Link:
    """The judge's end of the pipe to the worker."""

    def __init__(self, to_fd: int, from_fd: int):
        self.to_fd, self.from_fd = to_fd, from_fd
        self.dead = False
        self.memory = False
        self.stderr = False  # the student's code wrote to stderr during the current cell
        self.stderr_text = ""

    def request(self, op: str, *args):
        if self.dead:
            raise StudentError("the notebook's process has ended (it crashed, exited or was stopped)")
        buf = io.BytesIO()
        try:
            _Pickler(buf).dump((op, *args))
        except Exception as err:  # noqa: BLE001 — an argument the grader cannot send
            raise TypeError(f"the grader cannot pass this argument to the student's code: {err}") from None
        try:
            wire.send(self.to_fd, buf.getvalue())
            reply = wire.decode(wire.recv(self.from_fd))
            if type(reply) is not dict:
                raise wire.WireError("malformed reply")
        except (wire.WireError, OSError) as err:
            self.dead = True
            raise StudentError(f"the notebook's process stopped answering ({err})") from None
        self.memory |= bool(reply.get("memory")) or bool(reply.get("error") and reply["error"][2])
        if reply.get("stderr"):
            self.stderr = True
            self.stderr_text = self.stderr_text or str(reply.get("stderr_text", ""))
        if "error" in reply:
            raise _rebuild(reply["error"])
        if op == "call" and type(reply.get("mutated")) is list:
            _apply_mutations([*args[1], *(args[2][k] for k in sorted(args[2]))], reply["mutated"])
        return self.wrap(reply.get("value"))

    def wrap(self, value):
        if type(value) is wire.Handle:
            return Remote(self, value)
        if type(value) is list:
            return [self.wrap(v) for v in value]
        if type(value) is tuple:
            return tuple(self.wrap(v) for v in value)
        if type(value) is dict:
            return {k: self.wrap(v) for k, v in value.items()}
        return value


class Remote:
    """An object that lives in the student's process: a function, a class, an instance..."""

    __slots__ = ("_mk_link", "_mk_handle")

    def __init__(self, link: Link, handle: wire.Handle):
        object.__setattr__(self, "_mk_link", link)
        object.__setattr__(self, "_mk_handle", handle)

    def __call__(self, *args, **kwargs):
        return self._mk_link.request("call", self._mk_handle.id, args, kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__") and name not in _DUNDERS:
            raise AttributeError(name)
        try:
            return self._mk_link.request("getattr", self._mk_handle.id, name)
        except StudentError as err:
            raise AttributeError(str(err)) from None

    def __setattr__(self, name, value):
        raise AttributeError("the grader cannot set attributes on the student's objects")

    def __getitem__(self, key):
        return self._mk_link.request("getitem", self._mk_handle.id, key)

    def __len__(self) -> int:
        n = self._mk_link.request("len", self._mk_handle.id)
        if type(n) is not int:
            raise TypeError("__len__ should return an int")
        return n

    def __iter__(self):
        return iter(self._mk_link.request("iter", self._mk_handle.id))

    def __bool__(self) -> bool:
        return self._mk_link.request("bool", self._mk_handle.id) is True

    def __repr__(self) -> str:
        try:
            text = self._mk_link.request("repr", self._mk_handle.id)
        except Exception:  # noqa: BLE001
            text = None
        return str(text)[:500] if type(text) is str else f"<student {self._mk_handle.kind}>"

    __str__ = __repr__


class _Pickler(pickle.Pickler):
    """Arguments for the student's code. The student's own objects go back as their ids; a
    function of the judge's that cannot be imported by name (a check's lambda, a closure) is sent
    by value — its code, the globals it reads and its closure — so the student's code can call it,
    and differentiate through it, in its own process. Nothing ever calls back into the judge."""

    def persistent_id(self, obj):
        return obj._mk_handle.id if type(obj) is Remote else None

    def reducer_override(self, obj):
        if type(obj) is types.ModuleType:
            return importlib.import_module, (obj.__name__,)
        if type(obj) is types.FunctionType and not _importable(obj):
            code = obj.__code__
            used = _global_names(code)
            env = {k: v for k, v in obj.__globals__.items() if k in used}
            cells = tuple(c.cell_contents for c in obj.__closure__ or ())
            return _rebuild_function, (marshal.dumps(code), obj.__name__, env, obj.__defaults__, obj.__kwdefaults__, cells)
        return NotImplemented


def _importable(fn) -> bool:
    target = sys.modules.get(fn.__module__)
    for part in fn.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is fn and fn.__module__ != "__main__"


def _global_names(code) -> set[str]:
    names_ = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names_ |= _global_names(const)
    return names_


def _apply_mutations(args: list, states: list) -> None:
    """Copy back what the student's code did to our arguments (a model it trained, an optimizer
    it stepped, a tensor it filled in place): only data, checked by torch's own loaders."""
    import torch

    for arg, state in zip(args, states):
        if state is None or type(state) is not dict:
            continue
        if isinstance(arg, torch.nn.Module) and "module" in state:
            arg.load_state_dict(state["module"])
            params = dict(arg.named_parameters())
            for name, grad in state.get("grads", {}).items():
                if name in params and isinstance(grad, torch.Tensor) and grad.shape == params[name].shape:
                    params[name].grad = grad.to(params[name].dtype)
            arg.train(bool(state.get("training", arg.training)))
        elif isinstance(arg, torch.optim.Optimizer) and "optimizer" in state:
            arg.load_state_dict(state["optimizer"])
        elif type(arg).__module__.startswith("matplotlib.axes") and type(state.get("axes")) is dict:
            _redraw(arg, state["axes"])
        elif isinstance(arg, torch.Tensor) and "tensor" in state:
            new = state["tensor"]
            if isinstance(new, torch.Tensor) and new.shape == arg.shape:
                with torch.no_grad():
                    arg.copy_(new)


def _rebuild(error) -> BaseException:
    name, message = str(error[0]), str(error[1])
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            return cls(message)
        except Exception:  # noqa: BLE001 — e.g. UnicodeDecodeError needs five arguments
            pass
    return StudentError(f"{name}: {message}")


# ------------------------------------------------------------------------------ name analysis
def names(code: str) -> tuple[set[str], set[str]]:
    """(names read, names bound) anywhere in ``code``; unparsable code reads and binds nothing."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set(), set()
    reads, binds = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            binds.update((a.asname or a.name).split(".")[0] for a in node.names)
    return reads, binds


class Judge:
    def __init__(self, plan: dict, link: Link, events_fd: int):
        self.plan, self.link, self.events_fd = plan, link, events_fd
        self.shell = _make_shell()
        self.ns = self.shell.user_ns
        self.instructor: set[str] = set()  # names bound by cells run here
        self.answers = set(plan.get("answer_names", []))  # names the exercises ask the student to define

    def emit(self, **event) -> None:
        os.write(self.events_fd, (json.dumps(event) + "\n").encode())

    def run(self) -> None:
        cells = self.plan["cells"]
        code = [self._python(c["source"]) for c in cells]
        analysed = [names(c) for c in code]
        visible = [names(self._python(c.get("visible_source") or "")) for c in cells]
        # Which read-only cells must also run here, and which graded cells the worker must run
        # (their visible part) because later student cells use what they define.
        in_judge, in_worker = [False] * len(cells), [False] * len(cells)
        needed: set[str] = set()
        worker_reads: set[str] = set()
        for i in reversed(range(len(cells))):
            reads, binds = analysed[i]
            kind = cells[i]["kind"]
            if kind == "graded":
                needed |= reads
                in_worker[i] = bool(visible[i][1] & worker_reads)
            elif kind == "locked" and binds & needed:
                in_judge[i] = True
                needed |= reads
            if kind != "graded" or in_worker[i]:
                worker_reads |= reads
        # Cells after the last graded cell cannot change a verdict: nbgrader runs them, we need not.
        last = max((i for i, c in enumerate(cells) if c["kind"] == "graded"), default=-1)
        for i, cell in enumerate(cells[: last + 1]):
            if cell["kind"] == "student":
                self._in_worker(cell["source"])
            elif cell["kind"] == "locked":
                self._in_worker(cell["source"])
                if in_judge[i]:
                    error = self._here(code[i], analysed[i])[0]
                    if error is not None:  # the tests that need it will fail; say why in the log
                        print(f"read-only cell {cell.get('grade_id')} failed in the judge:", file=sys.stderr)
                        traceback.print_exception(error, file=sys.stderr)
            else:
                self.emit(event="cell", **self._grade(cell, code[i], analysed[i]))
                if in_worker[i]:
                    self._in_worker(cell["visible_source"])
        self.emit(event="done", memory=self.link.memory, worker_dead=self.link.dead)

    def _python(self, source: str) -> str:
        try:
            return self.shell.transform_cell(source)
        except Exception:  # noqa: BLE001
            return source

    def _in_worker(self, source: str) -> None:
        try:
            self.link.request("exec", source)
        except StudentError:
            pass

    def _bind(self, reads: set[str]) -> None:
        """Bind every name the cell reads that is the student's (see the module docstring)."""
        for name in sorted(reads):
            if name in self.instructor and name not in self.answers:
                continue
            if name not in self.answers and name not in self.instructor and hasattr(builtins, name):
                continue
            if isinstance(self.ns.get(name), types.ModuleType):
                continue  # the instructor's import; a student cannot swap a module
            try:
                value = self.link.request("lookup", name)
                if type(value) is Remote and value._mk_handle.kind == "module":
                    value = importlib.import_module(str(value.__name__))  # our copy, not theirs
                self.ns[name] = value
            except (ImportError, TypeError, ValueError):
                self.ns.pop(name, None)
            except NameError:
                if name not in self.instructor:
                    self.ns.pop(name, None)
            except StudentError:
                self.ns.pop(name, None)

    def _here(self, code: str, analysed) -> tuple[BaseException | None, object, str, str]:
        """Run instructor code here; return (error, value of the last expression, stdout, stderr)."""
        reads, binds = analysed
        self._bind(reads)
        out, err = _Capped(), _Capped()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        self.link.stderr, self.link.stderr_text = False, ""
        error, value = None, None
        try:
            tree = ast.parse(code, CELL_FILE)
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, CELL_FILE, "exec"), self.ns)
            if last is not None:
                value = eval(compile(last, CELL_FILE, "eval"), self.ns)
        except BaseException as caught:  # noqa: BLE001 — a test's failure, whatever its type
            error = caught
        finally:
            sys.stdout, sys.stderr = saved
        self.instructor |= binds
        return error, value, "".join(out.parts), "".join(err.parts) if err.size else ""

    def _grade(self, cell: dict, code: str, analysed) -> dict:
        points = float(cell["points"])
        error, value, out, err = self._here(code, analysed)
        verdict = {"grade_id": cell["grade_id"], "points": points, "output": out[-3000:]}
        if error is not None:
            where, message = _locate(error, cell.get("hidden"))
            return {**verdict, "score": 0.0, "where": where, "error": message}
        if err or self.link.stderr:
            text = (err or self.link.stderr_text).strip()[:500]
            return {**verdict, "score": 0.0, "where": "stderr", "error": f"the cell wrote to stderr (no credit under nbgrader's rules): {text}"}
        if value is not None and type(value) is not Remote:
            return {**verdict, "score": _partial(value, points), "where": None, "error": None}
        return {**verdict, "score": points, "where": None, "error": None}


def _redraw(ax, state: dict) -> None:
    """Draw on the judge's Axes what the student drew on their copy (lines, scales, labels, legend)."""
    import matplotlib.colors
    import numpy as np

    for line in list(ax.get_lines()):
        line.remove()
    for l in state.get("lines", []):
        x, y = np.asarray(l["x"], dtype=float), np.asarray(l["y"], dtype=float)
        style = dict(label=str(l["label"]), linestyle=str(l["linestyle"]), marker=str(l["marker"]))
        if matplotlib.colors.is_color_like(str(l["color"])):
            style["color"] = str(l["color"])
        if l.get("kind") == "axline" and len(set(y.tolist())) == 1 and len(y):
            ax.axhline(float(y[0]), **style)
        elif l.get("kind") == "axline" and len(set(x.tolist())) == 1 and len(x):
            ax.axvline(float(x[0]), **style)
        else:
            ax.plot(x, y, **style)
    for scale, setter in (("xscale", ax.set_xscale), ("yscale", ax.set_yscale)):
        if state.get(scale) in ("linear", "log", "symlog", "logit"):
            setter(state[scale])
    ax.set_xlabel(str(state.get("xlabel", "")))
    ax.set_ylabel(str(state.get("ylabel", "")))
    ax.set_title(str(state.get("title", "")))
    if state.get("legend"):
        ax.legend()


def _locate(error: BaseException, hidden) -> tuple[str, str]:
    """Which part of the cell failed ("visible" or "hidden") and a message safe to show."""
    frames = traceback.extract_tb(error.__traceback__)
    in_cell = [f for f in frames if f.filename == CELL_FILE]
    line = in_cell[-1].lineno if in_cell else 0
    is_hidden = bool(hidden) and hidden[0] <= line <= hidden[1]
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if type(error) is StudentError:
        message = f"your code raised {error}"
    if is_hidden and frames and frames[-1].filename == CELL_FILE:
        # A bare assert written in the hidden tests: its message may quote the hidden test.
        message = f"{type(error).__name__} in a hidden test"
    return ("hidden" if is_hidden else "visible"), message[:1500]


def _partial(value, points: float) -> float:
    """nbgrader's partial credit: a cell whose value prints as a number in [0, points]."""
    from IPython.lib.pretty import pretty

    try:
        grade = float(pretty(value))
    except Exception:  # noqa: BLE001 — not a number: full credit, as nbgrader does
        return points
    if grade < 0:
        return points
    return min(grade, points)


def main(argv: list[str]) -> int:
    events_fd, to_fd, from_fd = (int(a) for a in argv)
    plan = json.loads(sys.stdin.read())
    os.environ.setdefault("MPLBACKEND", "Agg")
    judge = Judge(plan, Link(to_fd, from_fd), events_fd)
    try:
        judge.run()
    finally:
        try:
            wire.send(to_fd, pickle.dumps(("bye",)))
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    code = 1
    try:
        code = main(sys.argv[1:])
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    sys.stdout.flush()
    os._exit(code)
