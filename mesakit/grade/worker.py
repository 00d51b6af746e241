"""The student's process: runs the submission's own cells and answers the judge's questions.

Started inside the sandbox as ``python -I -m mesakit.grade.worker IN_FD OUT_FD`` with the copy of
the submission folder as its working directory. It executes the cells the judge sends, in an
IPython shell (magics work, ``%matplotlib`` draws off-screen), and serves requests about the
objects the student made: look a name up, get an attribute, call, index, ``len``, ``repr``.
Replies go through :func:`mesakit.grade.wire.encode`, so only plain data and references leave.

Nothing here is trusted. Student code runs in this process and may patch anything in it,
including this module; that can only change the values it sends, which the judge tests in a
process the student's code never touched. Verdicts are never decided here.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import shutil
import sys
import traceback

from . import wire

MAX_CAPTURE = 20_000  # characters of a cell's stdout/stderr kept (the rest is counted, not stored)


class CappedText(io.TextIOBase):
    """A stream that keeps the first ``MAX_CAPTURE`` characters and remembers it was written to."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        if self.size < MAX_CAPTURE:
            self.parts.append(text[: MAX_CAPTURE - self.size])
        self.size += len(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


_WORKER = None  # this process's Worker, for the judge's functions lent to the student's code


class Worker:
    def __init__(self, in_fd: int, out_fd: int):
        global _WORKER
        self.in_fd, self.out_fd = in_fd, out_fd
        self.objects: dict[int, object] = {}
        self.shell = make_shell()
        _WORKER = self
        from mesakit.grade import worker as importable  # run as __main__, the unpickler uses this copy

        importable._WORKER = self

    # -- the student's objects stay here; the judge holds their ids
    def keep(self, obj) -> wire.Handle:
        self.objects[id(obj)] = obj
        return wire.Handle(id(obj), type(obj).__name__)

    def serve(self, until_answer: bool = False):
        """Answer the judge's requests until it says bye — or, while the student's code waits for
        a function of the judge's (``until_answer``), until that function's answer comes."""
        while True:
            try:
                request = _Unpickler(io.BytesIO(wire.recv(self.in_fd)), self.objects).load()
            except wire.WireError:
                if until_answer:
                    os._exit(0)
                return  # the judge is done (or gone)
            op, args = request[0], request[1:]
            if op == "bye":
                if until_answer:
                    os._exit(0)
                return
            if until_answer and op in ("return", "raise"):
                return request
            reply = self.handle(op, args)
            try:
                frame = wire.encode(reply, self.keep)
            except Exception as err:  # e.g. a value nested too deeply
                frame = wire.encode({"error": ["WireError", str(err)[:2000], False], "stderr": False}, self.keep)
            wire.send(self.out_fd, frame)

    def call_judge(self, fid: int, args: tuple, kwargs: dict, grad=None):
        """Call a function of a graded cell: it runs in the judge; only its value comes back (or,
        with ``grad``, the gradients of its tensor arguments for that output gradient)."""
        wire.send(self.out_fd, wire.encode({"callback": [fid, list(args), dict(kwargs), grad]}, self.keep))
        answer = self.serve(until_answer=True)
        if answer[0] == "return":
            return answer[1]
        cls = getattr(builtins, str(answer[1]), None)
        raise (cls if isinstance(cls, type) and issubclass(cls, Exception) else Exception)("a grader's function raised")

    def handle(self, op: str, args: tuple) -> dict:
        out, err = CappedText(), CappedText()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            if op == "exec":
                result = self.shell.run_cell(args[0], store_history=True)
                _close_figures()
                error = result.error_before_exec or result.error_in_exec
                reply = {"value": None if error is None else _describe(error), "memory": _is_memory(error)}
            elif op == "call":
                target, pos, kw = self.objects[args[0]], args[1], args[2]
                reply = {"value": target(*pos, **kw)}
                reply["mutated"] = [_state(a) for a in [*pos, *(kw[k] for k in sorted(kw))]]
            else:
                reply = {"value": self.answer(op, args)}
        except BaseException as error:  # noqa: BLE001 — the student's code may raise anything
            reply = {"error": [type(error).__name__, _message(error), _is_memory(error)]}
        finally:
            sys.stdout, sys.stderr = saved
        reply["stderr"] = err.size > 0
        reply["stderr_text"] = "".join(err.parts)[:2000]
        return reply

    def answer(self, op: str, args: tuple):
        if op == "lookup":
            if args[0] not in self.shell.user_ns:
                raise NameError(f"name {args[0]!r} is not defined")
            return self.shell.user_ns[args[0]]
        target = self.objects[args[0]]
        if op == "getattr":
            return getattr(target, args[1])
        if op == "call":
            return target(*args[1], **args[2])
        if op == "getitem":
            return target[args[1]]
        if op == "len":
            return len(target)
        if op == "iter":
            return list(target)
        if op == "repr":
            return repr(target)
        if op == "str":
            return str(target)
        if op == "bool":
            return bool(target)
        raise ValueError(f"unknown request {op!r}")


class _Unpickler(pickle.Unpickler):
    """Requests from the judge; ``Remote`` arguments come back as the student's own objects."""

    def __init__(self, file, objects):
        super().__init__(file)
        self.objects = objects

    def persistent_load(self, pid):
        return self.objects[pid]


def _state(arg):
    """What the judge needs to mirror a change the student's code made to one of its arguments."""
    import torch

    if isinstance(arg, torch.nn.Module):
        grads = {n: p.grad for n, p in arg.named_parameters() if p.grad is not None}
        return {"module": dict(arg.state_dict()), "grads": grads, "training": bool(arg.training)}
    if isinstance(arg, torch.optim.Optimizer):
        return {"optimizer": arg.state_dict()}
    if isinstance(arg, torch.Tensor):
        return {"tensor": arg.detach()}
    if type(arg).__module__.startswith("matplotlib.axes"):
        return {"axes": _axes_state(arg)}
    return None


def _axes_state(ax) -> dict:
    """What the student drew on a matplotlib Axes the judge lent them, as plain data."""
    import matplotlib.colors
    import numpy as np

    lines = []
    for line in ax.get_lines():
        kind = "data" if line.get_transform() == ax.transData else "axline"
        lines.append(
            {
                "x": np.asarray(line.get_xdata(), dtype=float),
                "y": np.asarray(line.get_ydata(), dtype=float),
                "label": str(line.get_label()),
                "color": matplotlib.colors.to_hex(line.get_color(), keep_alpha=True),
                "linestyle": str(line.get_linestyle()),
                "marker": str(line.get_marker()),
                "kind": kind,
            }
        )
    legend = ax.get_legend()
    return {
        "lines": lines,
        "xscale": ax.get_xscale(),
        "yscale": ax.get_yscale(),
        "xlabel": ax.get_xlabel(),
        "ylabel": ax.get_ylabel(),
        "title": ax.get_title(),
        "legend": legend is not None,
    }


def rebuild_function(code: bytes, name: str, env: dict, defaults, kwdefaults, cells):
    """A function of the judge's, sent by value (see ``remote._Pickler``)."""
    import builtins
    import marshal
    import types

    env = dict(env, __builtins__=builtins)
    fn = types.FunctionType(marshal.loads(code), env, name, defaults, tuple(types.CellType(c) for c in cells) or None)
    fn.__kwdefaults__ = kwdefaults
    return fn


class _JudgeFunction:
    """A function of a graded cell, lent to the student's code: calling it asks the judge."""

    __slots__ = ("fid",)

    def __init__(self, fid: int):
        self.fid = fid

    def __call__(self, *args, **kwargs):
        import torch

        if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in args):
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            return _through_judge().apply(self.fid, (args, kwargs), *tensors)
        return _WORKER.call_judge(self.fid, args, kwargs)

    def __repr__(self) -> str:
        return "<a function of the grader's tests>"


_THROUGH_JUDGE = None


def _through_judge():
    """An autograd function whose forward and backward both run in the judge (first order)."""
    global _THROUGH_JUDGE
    if _THROUGH_JUDGE is None:
        import torch

        class ThroughJudge(torch.autograd.Function):
            @staticmethod
            def forward(ctx, fid, packed, *tensors):
                args = [a.detach() if isinstance(a, torch.Tensor) else a for a in packed[0]]
                ctx.fid, ctx.packed = fid, (args, packed[1])
                return _WORKER.call_judge(fid, args, packed[1])

            @staticmethod
            def backward(ctx, grad):
                grads = _WORKER.call_judge(ctx.fid, ctx.packed[0], ctx.packed[1], grad=grad.detach())
                return (None, None, *grads)

        _THROUGH_JUDGE = ThroughJudge
    return _THROUGH_JUDGE


def judge_function(fid: int) -> _JudgeFunction:
    return _JudgeFunction(fid)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {_message(error)}"


def _message(error: BaseException) -> str:
    try:
        return str(error)[:4000]
    except BaseException:  # noqa: BLE001 — a student's exception whose __str__ raises
        return "(message could not be read)"


def _is_memory(error) -> bool:
    if error is None:
        return False
    if isinstance(error, MemoryError):
        return True
    text = _message(error)
    return "can't allocate memory" in text or "DefaultCPUAllocator" in text


def _close_figures() -> None:
    if "matplotlib.pyplot" in sys.modules:
        try:
            sys.modules["matplotlib.pyplot"].close("all")
        except Exception:  # noqa: BLE001
            pass


def make_shell():
    """An IPython shell without a kernel: figures are drawn off-screen and never rendered."""
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    shell.register_magic_function(lambda line="": None, "line", "matplotlib")
    shell.showtraceback = lambda *a, **k: None  # errors are reported to the judge, not printed
    shell.display_formatter.active_types = ["text/plain"]  # never render figures to PNG
    return shell


def _fill_workdir() -> None:
    """Copy the submission's files into the working folder (a tmpfs) before any student code runs."""
    from .sandbox import SUBMITTED_DIR

    if os.path.isdir(SUBMITTED_DIR):
        try:
            shutil.copytree(SUBMITTED_DIR, os.getcwd(), dirs_exist_ok=True)
        except (OSError, shutil.Error, RecursionError):
            traceback.print_exc()


def main(argv: list[str]) -> int:
    in_fd, out_fd = int(argv[0]), int(argv[1])
    os.environ.setdefault("MPLBACKEND", "Agg")
    _fill_workdir()
    worker = Worker(in_fd, out_fd)
    sys.path.insert(0, os.getcwd())  # like a kernel started in the notebook's folder
    try:
        worker.serve()
    except BaseException:  # noqa: BLE001 — report, then let the judge see the pipe close
        traceback.print_exc()
    return 0


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]) or 0)
