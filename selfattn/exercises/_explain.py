"""How a check speaks about the learner's code: forbidden calls, and exceptions explained.

Two jobs for selfattn.exercises._core:

- `forbidden_calls_in(fn, names)`: which of the dotted `names` ("torch.softmax") the code of `fn`
  calls. Read from the function's source when it is available (a notebook cell's source is), else
  from its compiled code; a call counts when its last attribute matches (`F.softmax(x)`,
  `x.softmax(-1)`) or when a bare name is bound to the forbidden object itself (not to a function
  the learner wrote with the same name). `watching(names)` catches the calls the code hides behind
  a helper: while the learner's function runs, those functions report that they were called.
- `explain_exception(e, fn, exercise)`: one line that says which exception, which line of the
  learner's function (numbered from its `def`), the shapes of the arrays named on that line, what
  the error means in the book's terms (a matrix product whose inner sizes differ, shapes that do
  not broadcast, an axis the array does not have, ...) and what the task asked.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import inspect
import linecache
import re
import sys
import sysconfig
import textwrap
import types
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parents[1])
_LIBRARY_DIRS = tuple({str(Path(p).resolve()) for p in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                                                        sysconfig.get_paths()["platlib"], sys.prefix, sys.base_prefix)})


# --- forbidden calls -------------------------------------------------------------------------

def _resolve(dotted: str):
    """'torch.nn.functional.softmax' -> the object, or None when it does not import."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _called_names(fn) -> tuple[set[str], set[str]]:
    """(attribute names called as x.NAME(...), bare names called as NAME(...)) in fn's code."""
    attrs, bare = set(), set()
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute):
                    attrs.add(node.func.attr)
                elif isinstance(node.func, ast.Name):
                    bare.add(node.func.id)
        return attrs, bare
    code = getattr(fn, "__code__", None)
    if code is None:
        return attrs, bare
    for c in _code_objects(code):  # without source: every global or attribute name the code uses
        attrs.update(c.co_names)
        bare.update(c.co_names)
    return attrs, bare


def forbidden_calls_in(fn, names: tuple[str, ...]) -> list[str]:
    """The dotted names among `names` that `fn` calls, in the order given."""
    attrs, bare = _called_names(fn)
    scope = dict(vars(builtins))
    scope.update(getattr(fn, "__globals__", {}))
    found, lasts = [], set()
    for dotted in names:
        last = dotted.rsplit(".", 1)[-1]
        if last in lasts:  # torch.softmax and Tensor.softmax: one finding is enough
            continue
        target = _resolve(dotted)
        if last in attrs or (last in bare and last in scope and (target is None or scope[last] is target)):
            found.append(dotted)
            lasts.add(last)
    return found


ALIASES = {"F": "torch.nn.functional", "nn": "torch.nn", "np": "numpy", "th": "torch"}
_FORBID_PHRASE = re.compile(r"(?i)\b(?:do not|don't|never|without)\s+(?:call|calling|use|using)\s+([^.;:!?]*(?:\.\w[^.;:!?]*)*)")
_DOTTED = re.compile(r"`?\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?`?")
_TORCH_HOMES = ("torch", "torch.Tensor", "torch.nn.functional")


def forbidden_in_text(text: str) -> tuple[str, ...]:
    """The dotted names a task forbids in words: "... without calling torch.softmax" or "do not use
    `F.scaled_dot_product_attention`" -> ("torch.softmax",) / ("torch.nn.functional.scaled_dot_product_attention",)."""
    found: list[str] = []
    for phrase in _FORBID_PHRASE.finditer(text or ""):
        for m in _DOTTED.finditer(phrase.group(0)):
            head, _, rest = m.group(1).partition(".")
            name = f"{ALIASES.get(head, head)}.{rest}"
            if name not in found and _resolve(name) is not None:
                found.append(name)
    return tuple(found)


def _watch_targets(names) -> list[str]:
    """The functions to watch for each forbidden name: a torch function under all its homes
    (torch.softmax, Tensor.softmax, F.softmax are one function to a learner)."""
    out: list[str] = []
    for dotted in names:
        last = dotted.rsplit(".", 1)[-1]
        homes = [f"{h}.{last}" for h in _TORCH_HOMES] if dotted.startswith("torch.") else []
        for name in [dotted] + homes:
            if name not in out and _resolve(name) is not None:
                out.append(name)
    return out


class _Watch:
    def __init__(self, names):
        self.names = tuple(_watch_targets(names))
        self.used: list[str] = []
        self.restore: list[tuple[object, str, object]] = []

    def __enter__(self):
        for dotted in self.names:
            owner_name, _, attr = dotted.rpartition(".")
            owner = _resolve(owner_name) if owner_name else None
            original = getattr(owner, attr, None) if owner is not None else None
            if original is None or not callable(original):
                continue

            def tripwire(*a, __original=original, __dotted=dotted, **k):
                if __dotted not in self.used:
                    self.used.append(__dotted)
                return __original(*a, **k)
            try:
                setattr(owner, attr, tripwire)
            except (AttributeError, TypeError):
                continue
            self.restore.append((owner, attr, original))
        return self.used

    def __exit__(self, *exc):
        for owner, attr, original in reversed(self.restore):
            setattr(owner, attr, original)
        return False


def watching(names):
    """Context manager: while it is open, calls to the dotted `names` are recorded in the list it
    yields (the functions still run normally)."""
    return _Watch(names) if names else contextlib.nullcontext([])


# --- exceptions, explained -----------------------------------------------------------------

def _is_library(filename: str) -> bool:
    if not filename or filename.startswith("<frozen") or filename.startswith("<built-in"):
        return True
    try:
        path = str(Path(filename).resolve())
    except OSError:
        return False
    return path.startswith(_PACKAGE) or any(path.startswith(d + "/") for d in _LIBRARY_DIRS if d)


def learner_frames(e: BaseException, fn=None):
    """The traceback entries of `e` that lie in the learner's code (not this package, not a
    library); with `fn`, only those from the learner's function `fn` inwards."""
    tb = e.__traceback__
    own = getattr(fn, "__code__", None)
    inside = own is None
    out = []
    while tb is not None:
        inside = inside or tb.tb_frame.f_code is own
        if inside and not _is_library(tb.tb_frame.f_code.co_filename):
            out.append(tb)
        tb = tb.tb_next
    return out


def raised_in_learner_code(e: BaseException, fn) -> bool:
    """Did `e` come out of the learner's function `fn` (rather than out of the checker)?"""
    own = getattr(fn, "__code__", None)
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is own:
            return True
        tb = tb.tb_next
    return False


def _shape_of(value) -> str | None:
    shape = getattr(value, "shape", None)
    if shape is None or not hasattr(value, "dtype"):
        return None
    try:
        return str(tuple(int(s) for s in shape))
    except TypeError:
        return None


def _shapes_on_line(line: str, frame) -> list[str]:
    names = []
    for word in re.findall(r"\b[A-Za-z_][A-Za-z_0-9]*\b", line):
        if word not in names:
            names.append(word)
    out = []
    for word in names:
        if word in frame.f_locals:
            value = frame.f_locals[word]
        elif word in frame.f_globals:
            value = frame.f_globals[word]
        else:
            continue
        shape = _shape_of(value)
        if shape is not None:
            out.append(f"{word} {shape}")
    return out


def _meaning(e: BaseException) -> str:
    """What the error means, in the book's words."""
    text = str(e)
    m = re.search(r"shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", text)
    if m:
        a, b, c, d = m.groups()
        return (f"a matrix product (@) of a ({a}, {b}) by a ({c}, {d}): the columns of the left factor ({b}) must "
                f"equal the rows of the right one ({c}); is a transpose missing, such as K.T?")
    if "matmul" in text and "mismatch in its core dimension" in text:
        sizes = re.search(r"size (\d+) is different from (\d+)", text)
        detail = f" ({sizes.group(1)} against {sizes.group(2)})" if sizes else ""
        return (f"a matrix product (@) whose inner sizes differ{detail}: the columns of the left factor must equal "
                "the rows of the right one; is a transpose missing, such as K.T?")
    if "must match the size of tensor" in text or "could not be broadcast" in text:
        return ("two arrays whose shapes do not line up for an element-by-element operation; a per-row quantity "
                "such as a row maximum or a row sum needs keepdim=True (torch) or keepdims=True (numpy) to stay a "
                "column")
    if "Dimension out of range" in text or type(e).__name__ == "AxisError":
        return "an axis the array does not have: count the axes of each array on that line (the shapes are above)"
    if re.search(r"shape '\[.*\]' is invalid for input of size|cannot reshape array", text):
        return "a reshape to a shape that does not hold the same number of entries as the array"
    if isinstance(e, NameError):
        return ("a name this kernel does not know: spell it as the task does, or run the cell that defines it "
                "(after a kernel restart, earlier cells must run again)")
    if isinstance(e, AttributeError) and ("numpy.ndarray" in text or "Tensor" in text):
        return ("a torch method used on a numpy array, or a numpy one on a torch tensor: they spell some operations "
                "differently (dim/keepdim against axis/keepdims, masked_fill against np.where)")
    if isinstance(e, IndexError):
        return "an index past the end of an axis: positions run from 0 to n - 1"
    if isinstance(e, ZeroDivisionError):
        return "a division by zero"
    if isinstance(e, TypeError) and "argument" in text:
        return "the function was called with the arguments the task names; check its parameters"
    return ""


def explain_exception(e: BaseException, fn=None, exercise=None, *, name: str | None = None,
                      args: tuple = (), kwargs: dict | None = None) -> str:
    """One line that explains an exception raised while the learner's answer ran."""
    name = name or getattr(fn, "__name__", None) or "your function"
    parts = [f"{name} raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else '(no message)'}"]
    frames = learner_frames(e, fn)
    if frames:
        tb = frames[-1]
        code = tb.tb_frame.f_code
        line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
        own = getattr(fn, "__code__", None)
        if own is not None and code.co_filename == own.co_filename and tb.tb_lineno >= own.co_firstlineno:
            where = f"line {tb.tb_lineno - own.co_firstlineno + 1} of your {getattr(fn, '__name__', name)}"
            if code is not own and code.co_name != "<lambda>":
                where += f" (inside {code.co_name})"
        else:
            where = f"line {tb.tb_lineno} of {code.co_name}"
        where_text = f"at {where}" + (f": `{line}`" if line else "")
        shapes = _shapes_on_line(line, tb.tb_frame) if line else []
        if shapes:
            where_text += f", where {', '.join(shapes)}"
        parts.append(where_text)
    elif args or kwargs:
        try:
            sig = inspect.signature(fn)
            bound = sig.bind_partial(*args, **(kwargs or {}))
            given = [f"{k} {_shape_of(v)}" for k, v in bound.arguments.items() if _shape_of(v)]
        except (TypeError, ValueError):
            given = []
        if given:
            parts.append(f"when called with {', '.join(given)}")
    meaning = _meaning(e)
    text = "; ".join(parts) + "."
    if meaning:
        text += f" That is {meaning}" + ("" if meaning.endswith(("?", ".")) else ".")
    task = getattr(exercise, "task", "")
    if task:
        text += f" The task: {task}"
    return text
