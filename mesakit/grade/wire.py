"""The wire between the judge and the student's process: framing, and a data-only codec.

Messages are length-prefixed frames on a pipe. The judge trusts nothing the student's process
sends: a reply is decoded by :func:`decode`, which builds only plain data — ``None``, ``bool``,
``int``, ``float``, ``complex``, ``str``, ``bytes``, lists, tuples, dicts, plain
``torch.Tensor`` and numeric ``numpy`` arrays and scalars made from raw bytes — and references
(:class:`Handle`) to objects that stay behind in the student's process. No pickle, no student
class, no ``__eq__`` or ``__torch_function__`` of the student's ever reaches the judge.

The other direction (judge to student) is ordinary pickle: the student's process must trust the
judge, not the other way round. This module does not know about notebooks or sandboxes.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import Any

MAX_FRAME = 256 * 1024 * 1024  # bytes: a reply larger than this is refused (a "memory bomb" by mail)
MAX_NODES = 200_000  # values in one reply
MAX_DEPTH = 40  # nesting of lists/tuples/dicts
MAX_STR = 1_000_000  # characters kept of a string (longer ones are cut)

_TORCH_DTYPES = (
    "float64",
    "float32",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
    "complex64",
    "complex128",
)
_NUMPY_DTYPES = ("<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "|u1", "|b1", "<c8", "<c16", "<u2", "<u4", "<u8")


class WireError(Exception):
    """A frame or value that breaks the protocol (too big, malformed, or the other side is gone)."""


@dataclass(frozen=True)
class Handle:
    """An object that stays in the student's process; ``kind`` is its type's name, for messages."""

    id: int
    kind: str


# ---------------------------------------------------------------------------------------- framing
def send(fd: int, payload: bytes) -> None:
    data = struct.pack("<Q", len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def recv(fd: int) -> bytes:
    head = _read_exact(fd, 8)
    (size,) = struct.unpack("<Q", head)
    if size > MAX_FRAME:
        raise WireError(f"a message of {size} bytes is larger than the {MAX_FRAME} allowed")
    return _read_exact(fd, size)


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WireError("the other process closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ------------------------------------------------------------------------------ encode (student)
def encode(value: Any, keep) -> bytes:
    """Student side: turn ``value`` into a frame. ``keep(obj) -> Handle`` stores anything that is
    not plain data (functions, modules, the student's classes) and returns its reference."""
    blobs: list[bytes] = []
    tree = _enc(value, keep, blobs, 0)
    head = json.dumps(tree).encode()
    return struct.pack("<Q", len(head)) + head + b"".join(struct.pack("<Q", len(b)) + b for b in blobs)


def _enc(v: Any, keep, blobs: list[bytes], depth: int) -> Any:
    import numpy as np
    import torch

    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply to send")
    t = type(v)
    if v is None or t is bool:
        return v
    if t is int:
        return {"int": str(v)}
    if t is float:
        return {"float": repr(v)}
    if t is complex:
        return {"complex": [repr(v.real), repr(v.imag)]}
    if t is str:
        return {"str": v[:MAX_STR]}
    if t in (bytes, bytearray):
        blobs.append(bytes(v))
        return {"bytes": len(blobs) - 1}
    if t in (list, tuple):
        return {t.__name__: [_enc(x, keep, blobs, depth + 1) for x in v]}
    if t is dict:
        return {"dict": [[_enc(k, keep, blobs, depth + 1), _enc(x, keep, blobs, depth + 1)] for k, x in v.items()]}
    if t is torch.Size:
        return {"tuple": [{"int": str(int(x))} for x in v]}
    if t is torch.dtype:
        return {"torch_dtype": str(v).removeprefix("torch.")}
    if isinstance(v, torch.Tensor) and t in (torch.Tensor, torch.nn.Parameter):
        plain = v.detach().cpu().contiguous()
        name = str(plain.dtype).removeprefix("torch.")
        if name in _TORCH_DTYPES and not plain.is_sparse:
            blobs.append(plain.numpy().tobytes() if plain.numel() else b"")
            return {"tensor": [name, list(plain.shape), len(blobs) - 1]}
    if t is np.ndarray and v.dtype.str in _NUMPY_DTYPES:
        blobs.append(np.ascontiguousarray(v).tobytes())
        return {"ndarray": [v.dtype.str, list(v.shape), len(blobs) - 1]}
    if isinstance(v, np.generic) and np.dtype(t).str in _NUMPY_DTYPES:
        blobs.append(np.asarray(v).tobytes())
        return {"npscalar": [np.dtype(t).str, len(blobs) - 1]}
    special = _enc_mesakit(v, keep, blobs, depth)
    if special is not None:
        return special
    handle = keep(v)
    return {"handle": [handle.id, handle.kind[:200]]}


def _enc_mesakit(v: Any, keep, blobs: list[bytes], depth: int) -> Any:
    """mesakit's own models and dataclasses travel by value: the judge rebuilds them from *its*
    copy of mesakit, so their methods are the library's, never the student's."""
    import dataclasses

    import torch

    t = type(v)
    if not t.__module__.startswith("mesakit.") or t.__module__.startswith("mesakit.grade"):
        return None
    if isinstance(v, torch.nn.Module) and dataclasses.is_dataclass(getattr(v, "config", None)):
        config = {f.name: getattr(v.config, f.name) for f in dataclasses.fields(v.config)}
        state = dict(v.state_dict())
        return {
            "mesakit_model": [
                t.__name__,
                _enc(config, keep, blobs, depth + 1),
                _enc(state, keep, blobs, depth + 1),
                bool(v.training),
                t.__module__,
            ]
        }
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        fields = {f.name: getattr(v, f.name) for f in dataclasses.fields(v) if f.init}
        return {"mesakit_dataclass": [t.__module__, t.__qualname__, _enc(fields, keep, blobs, depth + 1)]}
    return None


# ------------------------------------------------------------------------------- decode (judge)
def decode(frame: bytes) -> Any:
    """Judge side: rebuild a value from untrusted bytes; anything odd raises :class:`WireError`."""
    try:
        (size,) = struct.unpack_from("<Q", frame, 0)
        tree = json.loads(frame[8 : 8 + size])
        blobs, pos = [], 8 + size
        while pos < len(frame):
            (n,) = struct.unpack_from("<Q", frame, pos)
            blobs.append(frame[pos + 8 : pos + 8 + n])
            pos += 8 + n
        return _dec(tree, blobs, [0], 0)
    except WireError:
        raise
    except MemoryError:
        raise WireError("a value too large for the grader's memory") from None
    except Exception as err:  # malformed JSON, bad struct, recursion...
        raise WireError(f"malformed reply ({type(err).__name__}: {str(err)[:200]})") from None


def _dec(node: Any, blobs: list[bytes], count: list[int], depth: int) -> Any:
    count[0] += 1
    if count[0] > MAX_NODES or depth > MAX_DEPTH:
        raise WireError("reply too large or nested too deeply")
    if node is None or type(node) is bool:
        return node
    if type(node) is not dict or len(node) != 1:
        raise WireError("malformed value")
    ((tag, x),) = node.items()
    if tag == "int":
        if len(x) > 5000:
            raise WireError("integer too long")
        return int(x)
    if tag == "float":
        return float(x)
    if tag == "complex":
        return complex(float(x[0]), float(x[1]))
    if tag == "str":
        return str(x)
    if tag == "bytes":
        return bytes(blobs[x])
    if tag in ("list", "tuple"):
        items = [_dec(i, blobs, count, depth + 1) for i in x]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        out = {}
        for k, v in x:
            key = _dec(k, blobs, count, depth + 1)
            if isinstance(key, (list, dict, Handle)):
                raise WireError("unhashable dict key")
            out[key] = _dec(v, blobs, count, depth + 1)
        return out
    if tag == "torch_dtype":
        import torch

        if x not in _TORCH_DTYPES:
            raise WireError(f"unknown dtype {x!r}")
        return getattr(torch, x)
    if tag == "tensor":
        import numpy as np
        import torch

        name, shape, i = x
        if name not in _TORCH_DTYPES:
            raise WireError(f"unknown dtype {name!r}")
        np_dtype = np.dtype("bool" if name == "bool" else name)
        shape = _shape(shape, len(blobs[i]), np_dtype.itemsize)
        arr = np.frombuffer(blobs[i], dtype=np_dtype) if blobs[i] else np.zeros(0, dtype=np_dtype)
        return torch.from_numpy(arr.copy()).reshape(shape)
    if tag == "ndarray":
        import numpy as np

        dt, shape, i = x
        if dt not in _NUMPY_DTYPES:
            raise WireError(f"unknown dtype {dt!r}")
        shape = _shape(shape, len(blobs[i]), np.dtype(dt).itemsize)
        return np.frombuffer(blobs[i], dtype=np.dtype(dt)).copy().reshape(shape)
    if tag == "npscalar":
        import numpy as np

        dt, i = x
        if dt not in _NUMPY_DTYPES:
            raise WireError(f"unknown dtype {dt!r}")
        return np.frombuffer(blobs[i], dtype=np.dtype(dt))[0]
    if tag == "handle":
        return Handle(int(x[0]), str(x[1]))
    if tag == "mesakit_model":
        from mesakit.core import models

        module = str(x[4]) if len(x) > 4 else None
        if module is not None and (not module.startswith("mesakit.") or module.startswith("mesakit.grade")):
            raise WireError(f"refusing to import {module!r} for a model")
        cls = models.model_class(str(x[0]), module)
        if cls is None:
            raise WireError(f"unknown mesakit model {x[0]!r}")
        config = _dec(x[1], blobs, count, depth + 1)
        state = _dec(x[2], blobs, count, depth + 1)
        model = _model(cls, config, state)
        return model.train(bool(x[3]))
    if tag == "mesakit_dataclass":
        import dataclasses
        import importlib

        module, qualname = str(x[0]), str(x[1])
        if not module.startswith("mesakit.") or module.startswith("mesakit.grade") or "." in qualname:
            raise WireError(f"refusing to build {module}.{qualname}")
        cls = getattr(importlib.import_module(module), qualname, None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise WireError(f"{module}.{qualname} is not a mesakit dataclass")
        return cls(**_dec(x[2], blobs, count, depth + 1))
    raise WireError(f"unknown value tag {tag!r}")


def _shape(shape, nbytes: int, itemsize: int) -> list[int]:
    """A shape checked against the bytes that came with it, before anything is allocated."""
    if type(shape) is not list or len(shape) > 32:
        raise WireError("malformed shape")
    dims = [int(s) for s in shape]
    n = 1
    for d in dims:
        if d < 0:
            raise WireError("negative dimension")
        n *= d
    if n * itemsize != nbytes:
        raise WireError(f"a tensor of shape {dims[:8]} came with {nbytes} bytes, not {n * itemsize}")
    return dims


def _model(cls, config: dict, state: dict):
    """A mesakit model from its config and weights, sized on torch's ``meta`` device first: a
    small reply describing a huge model is refused before a byte of it is allocated."""
    import torch

    if type(config) is not dict or type(state) is not dict:
        raise WireError("malformed model")
    with torch.device("meta"):
        shell = cls(cls.Config(**config))
    expected = {k: tuple(v.shape) for k, v in shell.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    if expected != got:
        raise WireError(f"a {cls.__name__} whose weights do not match its config")
    extra = sum(b.numel() * b.element_size() for n, b in shell.named_buffers() if n not in expected)
    if extra > MAX_FRAME:
        raise WireError(f"a {cls.__name__} too large to rebuild")
    model = cls(cls.Config(**config))
    model.load_state_dict(state)
    return model
