"""The judge: runs the instructor's tests in a process the student's code never runs in.

Started (sandboxed) as ``python -I -m mesakit.grade.judge EVENTS_FD TO_WORKER_FD FROM_WORKER_FD``
with the grading plan (see :mod:`mesakit.grade.plan`) on stdin. It walks the notebook in order:

* the student's cells are executed by the worker (the student's process), never here;
* read-only cells are executed by the worker too, and here as well when a test needs what they
  define (``from mesakit import checks``, fixed inputs...);
* graded cells — the instructor's source, hidden tests included — are executed *only here*.
  A name the test reads that the instructor's cells did not define (the student's function, say)
  is bound to a :class:`~mesakit.grade.remote.Remote`: calling it, reading its attributes or
  indexing it asks the worker, and the answer comes back as plain data (:mod:`mesakit.grade.wire`).
  The check then compares that data using this process's own, untouched ``torch``, ``numpy`` and
  ``mesakit``.

So a monkeypatch, a replaced ``sys.modules`` entry, a custom exception hook or a tensor subclass
with a lying ``__torch_function__`` changes nothing here. Each graded cell's verdict follows
nbgrader's rules (an error or anything written to stderr: no credit; a number as the cell's value:
partial credit; else full points) and is streamed as one JSON line on EVENTS_FD, so that a
submission killed later keeps the verdicts it already earned.

How a request reaches the student's process and how its answer (or exception, or a change to an
argument) comes back is :mod:`mesakit.grade.remote`'s; this module decides what runs where and what
each cell earns.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import os
import pickle
import sys
import traceback
import types

from . import wire
from .remote import Link, Remote, StudentError
from .worker import _Capped, _make_shell

CELL_FILE = "<graded-cell>"


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
