"""Proxies for objects that live in the student's process, as the judge sees them.

A :class:`Link` is the judge's end of the two pipes to the worker (:mod:`mesakit.grade.worker`):
it sends a request — look a name up, execute a cell, call, get an attribute, index, ``len``,
``repr`` — and turns the reply, decoded as plain data by :mod:`mesakit.grade.wire`, back into
values. A reference in a reply becomes a :class:`Remote`, which forwards those operations over the
link. Arguments travel the other way by pickle (:class:`_Pickler`): the student's own objects as
their ids, a check's lambda or closure by value. What the student's code did to an argument — a
model it trained, an optimizer it stepped, a tensor it filled in, lines it drew on an ``Axes`` — is
copied back from plain data, and an exception it raised comes back as a builtin exception or a
:class:`StudentError`.

This module runs none of the student's code and decides no verdict: which cells run where, which
names a test gets as a :class:`Remote`, and how a cell is scored are :mod:`mesakit.grade.judge`'s.
"""

from __future__ import annotations

import builtins
import importlib
import io
import marshal
import pickle
import re
import sys
import types

from . import wire
from .worker import judge_function, rebuild_function

CELL_FILE = "<graded-cell>"  # the file name graded cells are compiled under (see judge.py)

_DUNDERS = {"__name__", "__qualname__", "__doc__", "__module__", "__annotations__", "__defaults__", "__kwdefaults__"}


class StudentError(Exception):
    """Something the student's code raised (or its process ending), seen from the judge. The
    message is the grader's; what the student's process said stays out of it."""

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind


WITHHELD = "(message not shown in feedback: run the cell in your notebook to see it)"


def student_kind(error: BaseException) -> str:
    """The type name of an exception the student's code raised, safe to show."""
    return getattr(error, "kind", None) or type(error).__name__


def _safe_name(text) -> str:
    """A type name from the student's process, cut to what a type name can be."""
    return re.sub(r"[^A-Za-z0-9_]", "", str(text))[:40] or "object"


class Link:
    """The judge's end of the pipe to the worker."""

    def __init__(self, to_fd: int, from_fd: int):
        self.to_fd, self.from_fd = to_fd, from_fd
        self.dead = False
        self.memory = False
        self.stderr = False  # the student's code wrote to stderr during the current cell
        self.stderr_text = ""
        self.callbacks: dict[int, types.FunctionType] = {}  # functions of graded cells lent to the student's code

    def request(self, op: str, *args):
        if self.dead:
            raise StudentError("the notebook's process has ended (it crashed, exited or was stopped)")
        self._send((op, *args))
        while True:
            try:
                frame = wire.recv(self.from_fd)
            except (wire.WireError, OSError) as err:
                self.dead = True
                raise StudentError(f"the notebook's process stopped answering ({err})") from None
            try:
                reply = wire.decode(frame)  # the frame was read whole: a bad one fails this request only
            except wire.WireError as err:
                self.memory |= "memory" in str(err)
                raise StudentError(f"the grader refused a value your code returned ({str(err)[:200]})") from None
            if type(reply) is dict and type(reply.get("callback")) is list:
                self._callback(reply["callback"])  # the student's code called a function of ours
                continue
            if type(reply) is not dict:
                raise StudentError("the notebook's process sent a malformed reply")
            break
        self.memory |= bool(reply.get("memory")) or bool(
            type(reply.get("error")) is list and len(reply["error"]) > 2 and reply["error"][2]
        )
        if reply.get("stderr"):
            self.stderr = True
            self.stderr_text = self.stderr_text or str(reply.get("stderr_text", ""))
        if "error" in reply:
            raise _rebuild(reply["error"])
        if op == "call" and type(reply.get("mutated")) is list:
            _apply_mutations([*args[1], *(args[2][k] for k in sorted(args[2]))], reply["mutated"])
        return self.wrap(reply.get("value"))

    def _send(self, message: tuple) -> None:
        buf = io.BytesIO()
        try:
            _Pickler(buf, self).dump(message)
        except Exception as err:  # noqa: BLE001 — an argument the grader cannot send
            raise TypeError(f"the grader cannot pass this argument to the student's code: {err}") from None
        try:
            wire.send(self.to_fd, buf.getvalue())
        except OSError as err:
            self.dead = True
            raise StudentError(f"the notebook's process stopped answering ({err})") from None

    def _callback(self, call: list) -> None:
        """Run a function of a graded cell that the student's code called; send back its value
        (or the type of its exception) — never its code."""
        try:
            fn = self.callbacks[int(call[0])]
            args, kwargs = self.wrap(call[1]), self.wrap(call[2])
            if type(args) is not list or type(kwargs) is not dict or not all(type(k) is str for k in kwargs):
                raise TypeError("malformed call")
            grad = call[3] if len(call) > 3 else None
            answer = ("return", fn(*args, **kwargs) if grad is None else _vjp(fn, args, kwargs, grad))
        except Exception as err:  # noqa: BLE001
            answer = ("raise", type(err).__name__ if type(err).__module__ == "builtins" else "Exception")
        try:
            self._send(answer)
        except TypeError:
            self._send(("raise", "TypeError"))

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
        # Not the student's repr: text from their process never reaches a message or the feedback.
        return f"<your {_safe_name(self._mk_handle.kind)} object>"

    __str__ = __repr__


class _Pickler(pickle.Pickler):
    """Arguments for the student's code. The student's own objects go back as their ids; a
    library function that cannot be imported by name (a check's lambda, a closure) is sent by
    value — its code, the globals it reads and its closure — so the student's code can call it,
    and differentiate through it, in its own process. A function a graded cell defined (a hidden
    test's lambda) is not: the student's code gets a stand-in that calls it here, by value."""

    def __init__(self, file, link: Link | None = None):
        super().__init__(file)
        self.link = link

    def persistent_id(self, obj):
        return obj._mk_handle.id if type(obj) is Remote else None

    def reducer_override(self, obj):
        if type(obj) is types.ModuleType:
            return importlib.import_module, (obj.__name__,)
        if type(obj) is types.FunctionType and obj.__code__.co_filename == CELL_FILE:
            if self.link is None:
                raise TypeError("a graded cell's function can only be lent through a link")
            self.link.callbacks[id(obj)] = obj
            return judge_function, (id(obj),)
        if type(obj) is types.FunctionType and not _importable(obj):
            code = obj.__code__
            used = _global_names(code)
            env = {k: v for k, v in obj.__globals__.items() if k in used}
            cells = tuple(c.cell_contents for c in obj.__closure__ or ())
            return rebuild_function, (
                marshal.dumps(code),
                obj.__name__,
                env,
                obj.__defaults__,
                obj.__kwdefaults__,
                cells,
            )
        return NotImplemented


def _vjp(fn, args: list, kwargs: dict, grad) -> list:
    """Gradients of ``fn``'s tensor arguments for the output gradient ``grad`` (one per tensor
    argument, None where it has none): the backward pass of a function of ours the student's code
    differentiated through."""
    import torch

    if not isinstance(grad, torch.Tensor):
        raise TypeError("malformed gradient")
    leaves = [
        a.detach().clone().requires_grad_(True) if isinstance(a, torch.Tensor) and a.is_floating_point() else a
        for a in args
    ]
    inputs = [a for a in leaves if isinstance(a, torch.Tensor) and a.requires_grad]
    with torch.enable_grad():
        out = fn(*leaves, **kwargs)
        grads = iter(torch.autograd.grad(out, inputs, grad, allow_unused=True) if inputs else ())
    return [next(grads) if a.requires_grad else None for a in leaves if isinstance(a, torch.Tensor)]


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


def _rebuild(error) -> BaseException:
    """The student's exception as one of ours: a builtin type keeps its type (checks catch
    ``NotImplementedError``...); its message is withheld, so no text of theirs reaches feedback."""
    name = _safe_name(error[0] if type(error) is list and error else "Exception")
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            exc = cls(WITHHELD)
            exc._mk_student = True
            return exc
        except Exception:  # noqa: BLE001 — e.g. UnicodeDecodeError needs five arguments
            pass
    return StudentError(f"{name}: {WITHHELD}", kind=name)
