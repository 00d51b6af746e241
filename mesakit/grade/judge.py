"""The judge: runs the instructor's tests in a process the student's code never runs in.

Started (sandboxed) as ``python -I -m mesakit.grade.judge EVENTS_FD TO_WORKER_FD FROM_WORKER_FD``
with the grading plan (see :mod:`mesakit.grade.plan`) on stdin. It walks the notebook in order:

* the student's cells are executed by the worker (the student's process), never here;
* read-only cells are executed by the worker too, and here as well when a test needs what they
  define (``from mesakit import checks``, fixed inputs...) — here in the source's order, before
  the first graded cell that follows them there, whatever order the student put them in;
* graded cells — the instructor's source, hidden tests included — are executed *only here*, in
  segments split at the hidden-test markers (what a hidden segment prints or raises is not shown).
  A name the test reads that is an exercise's answer, or that no instructor cell binds anywhere
  (the student's function, say), is bound to a :class:`~mesakit.grade.remote.Remote`; a name an
  instructor cell binds never comes from the student. Calling a Remote, reading its attributes or
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
import json
import os
import pickle
import sys
import traceback
import types

from . import wire
from .remote import Link, Remote, StudentError, student_kind
from .worker import CappedText, make_shell

CELL_FILE = "<graded-cell>"


# ------------------------------------------------------------------------------ name analysis
def names(code: str) -> tuple[set[str], set[str]]:
    """(names read, names bound) anywhere in ``code``; unparsable code reads and binds nothing."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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
        self.shell = make_shell()
        self.ns = self.shell.user_ns
        self.answers = set(plan.get("answer_names", []))  # names the exercises ask the student to define
        self.instructor: set[str] = set()  # names any instructor cell binds: never the student's

    def emit(self, **event) -> None:
        os.write(self.events_fd, (json.dumps(event) + "\n").encode())

    def run(self) -> None:
        cells = self.plan["cells"]
        code = [self._python(c["source"]) for c in cells]
        analysed = [names(c) for c in code]
        visible = [names(self._python(c.get("visible_source") or "")) for c in cells]
        ours = [i for i, c in enumerate(cells) if c["kind"] != "student"]
        for i in ours:
            self.instructor |= analysed[i][1]
        # Which read-only cells must also run here: those binding a name a graded cell reads,
        # found in the source's order (the student's order decides nothing here).
        order = {i: cells[i].get("order", i) for i in ours}
        in_judge: list[int] = []
        needed: set[str] = set()
        for i in sorted(ours, key=order.get, reverse=True):
            reads, binds = analysed[i]
            if cells[i]["kind"] == "graded":
                needed |= reads
            elif binds & needed:
                in_judge.insert(0, i)
                needed |= reads
        # Which graded cells the worker must run too (their visible part), because later cells of
        # the student's use what they define.
        in_worker = [False] * len(cells)
        worker_reads: set[str] = set()
        for i in reversed(range(len(cells))):
            reads = analysed[i][0]
            if cells[i]["kind"] == "graded":
                in_worker[i] = bool(visible[i][1] & worker_reads)
            if cells[i]["kind"] != "graded" or in_worker[i]:
                worker_reads |= reads
        # Cells after the last graded cell cannot change a verdict: nbgrader runs them, we need not.
        last = max((i for i, c in enumerate(cells) if c["kind"] == "graded"), default=-1)
        ran: set[int] = set()
        for i, cell in enumerate(cells[: last + 1]):
            try:
                if cell["kind"] == "student":
                    self._in_worker(cell["source"])
                elif cell["kind"] == "locked":
                    self._in_worker(cell["source"])
                    if i in in_judge:
                        self._setup(i, code[i], analysed[i], ran)
                else:
                    # The instructor's setup before this test, in the source's order, whatever the
                    # student did with those cells.
                    for k in in_judge:
                        if order[k] < order[i]:
                            self._setup(k, code[k], analysed[k], ran)
                    self.emit(event="cell", **self._grade(cell, code[i], analysed[i]))
                    if in_worker[i]:
                        self._in_worker(cell["visible_source"])
            except Exception as err:  # noqa: BLE001 — a fault of ours: this cell gets no credit, the rest go on
                traceback.print_exception(err, file=sys.stderr)
                if cell["kind"] == "graded":
                    self.emit(
                        event="cell",
                        grade_id=cell["grade_id"],
                        points=float(cell["points"]),
                        score=0.0,
                        output="",
                        where=None,
                        error=f"the grader could not run this cell ({type(err).__name__})",
                    )
        self.emit(event="done", memory=self.link.memory, worker_dead=self.link.dead)

    def _setup(self, i: int, code: str, analysed, ran: set[int]) -> None:
        if i in ran:
            return
        ran.add(i)
        error = self._here([(False, code)], analysed[0])[0]
        if error is not None:  # the tests that need it will fail; say why in the log
            print(f"read-only cell {self.plan['cells'][i].get('grade_id')} failed in the judge:", file=sys.stderr)
            traceback.print_exception(error, file=sys.stderr)

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
        """Bind every name the cell reads that is the student's: an exercise's answer, or a name no
        instructor cell binds anywhere in the notebook (``torch``, ``checks`` and fixed inputs
        are bound here by the instructor's cells, or stay unbound)."""
        for name in sorted(reads):
            if name not in self.answers and (name in self.instructor or hasattr(builtins, name)):
                continue
            if isinstance(self.ns.get(name), types.ModuleType):
                continue  # the instructor's import; a student cannot swap a module
            try:
                self.ns[name] = self.link.request("lookup", name)
            except Exception:  # noqa: BLE001 — not defined, or not sendable: the test sees no such name
                self.ns.pop(name, None)

    def _here(self, segments: list[tuple[bool, str]], reads: set[str]) -> tuple:
        """Run instructor code here, segment by segment (hidden or not); return (error, hidden,
        value of the last expression, visible stdout, stderr note)."""
        error, value, failed_hidden, stderr = None, None, False, ""
        shown: list[str] = []
        try:
            self._bind(reads)
        except Exception as caught:  # noqa: BLE001
            return caught, False, None, "", ""
        for n, (hidden, code) in enumerate(segments):
            out, err = CappedText(), CappedText()
            saved = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = out, err
            self.link.stderr, self.link.stderr_text = False, ""
            try:
                tree = ast.parse(code, CELL_FILE)
                last = None
                if (
                    n == len(segments) - 1
                    and tree.body
                    and isinstance(tree.body[-1], ast.Expr)
                    and not code.rstrip().endswith(";")
                ):
                    last = ast.Expression(tree.body.pop().value)
                exec(compile(tree, CELL_FILE, "exec"), self.ns)
                if last is not None:
                    value = eval(compile(last, CELL_FILE, "eval"), self.ns)
            except BaseException as caught:  # noqa: BLE001 — a test's failure, whatever its type
                error, failed_hidden = caught, hidden
            finally:
                sys.stdout, sys.stderr = saved
            if not hidden:
                shown.append("".join(out.parts))
            if (err.size or self.link.stderr) and not stderr:
                if hidden:
                    stderr = "during a hidden test"
                else:  # what the instructor's code wrote; what the student's code wrote is not shown
                    stderr = "".join(err.parts).strip()[:500] or "(by your code)"
            if error is not None:
                break
        return error, failed_hidden, value, "".join(shown), stderr

    def _grade(self, cell: dict, code: str, analysed) -> dict:
        points = float(cell["points"])
        error, hidden, value, out, err = self._here(segments(code, cell.get("hidden")), analysed[0])
        verdict = {"grade_id": cell["grade_id"], "points": points, "output": out[-3000:]}
        if error is not None:
            return {
                **verdict,
                "score": 0.0,
                "where": "hidden" if hidden else "visible",
                "error": _message(error, hidden),
            }
        if err:
            return {
                **verdict,
                "score": 0.0,
                "where": "stderr",
                "error": f"the cell wrote to stderr (no credit under nbgrader's rules): {err}",
            }
        if value is not None and type(value) is not Remote:
            return {**verdict, "score": _partial(value, points), "where": None, "error": None}
        return {**verdict, "score": points, "where": None, "error": None}


def segments(code: str, hidden) -> list[tuple[bool, str]]:
    """Split a graded cell into runs of top-level statements, each marked hidden or not (by the
    hidden-test markers' lines), so that what a hidden part prints or raises is never shown."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [(bool(hidden), code)]
    lines = code.splitlines(keepends=True)
    groups: list[tuple[bool, str]] = []
    for node in tree.body:
        end = node.end_lineno or node.lineno
        is_hidden = bool(hidden) and node.lineno <= hidden[1] and end >= hidden[0]
        # keep line numbers: pad with blank lines up to the statement
        text = "".join(lines[node.lineno - 1 : end])
        if groups and groups[-1][0] == is_hidden:
            before = groups[-1][1]
            groups[-1] = (is_hidden, before + "\n" * (node.lineno - 1 - before.count("\n")) + text)
        else:
            groups.append((is_hidden, "\n" * (node.lineno - 1) + text))
    return groups or [(False, code)]


def _message(error: BaseException, hidden: bool) -> str:
    """A message safe to show: never a hidden test's text or values, never text from the student's process."""
    name = type(error).__name__
    if getattr(error, "_mk_student", False) or (type(error) is StudentError and error.kind):
        return f"your code raised {student_kind(error)}" + (" in a hidden test" if hidden else "")
    if type(error) is StudentError:  # the process ended: our own words
        return str(error)[:300]
    if hidden:
        return f"{name} in a hidden test"
    try:
        text = str(error)
    except Exception:  # noqa: BLE001
        text = ""
    return (f"{name}: {text}" if text else name)[:1500]


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


def _put_files(files: list) -> None:
    """The instructor's data files, in the judge's own folder (its private /tmp): a read-only cell
    that reads ``data.csv`` runs here as in the notebook's folder (the student's copies never come here)."""
    import base64
    from pathlib import PurePosixPath

    for rel, data in files:
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts:
            continue
        os.makedirs(os.path.dirname(os.path.join(os.getcwd(), rel)) or ".", exist_ok=True)
        with open(os.path.join(os.getcwd(), rel), "wb") as f:
            f.write(base64.b64decode(data))
    if files:
        sys.path.append(os.getcwd())  # an instructor's helper module beside the notebook imports


def main(argv: list[str]) -> int:
    events_fd, to_fd, from_fd = (int(a) for a in argv)
    plan = json.loads(sys.stdin.read())
    os.environ.setdefault("MPLBACKEND", "Agg")
    _put_files(plan.pop("files", []))
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
