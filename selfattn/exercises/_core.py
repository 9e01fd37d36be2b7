"""Self-checking exercises in the spirit of learntools: check(), hint(), solution().

An exercise owns a *checker*: a function that takes the learner's answer and returns None when
it is right, or raises `Wrong` with a message that says *what* is wrong. `Exercise.check` turns
that into one printed line and records the result for `progress()`.

Three things the checks do for every exercise (selfattn/exercises/_explain.py holds the wording):
- `solution()` prints the reference under the name the learner writes (the name passed to
  `check(...)` in their cell, else `answer_name`, else the exercise's name);
- `forbid=("torch.softmax", ...)` rejects an answer whose code calls one of those functions, read
  from the function's code and, while `call()` runs it, by watching the functions themselves;
- an exception raised inside the learner's own function comes back as one explanation: which
  exception, which line of their function, the shapes on that line, and what the task asked.
"""
from __future__ import annotations

import contextvars
import inspect
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

NOT_ATTEMPTED = "not attempted yet"


class Wrong(Exception):
    """Raised by a checker with a message that tells the learner what is wrong."""


class NotAttempted(Exception):
    """Raised when the answer is still the placeholder the learner notebook ships with."""


@dataclass(frozen=True)
class CheckResult:
    passed: bool | None     # None: not attempted yet
    message: str

    def __str__(self) -> str:
        mark = {True: "✔ Correct", False: "✘ Not yet", None: "· Not attempted yet"}[self.passed]
        return f"{mark}: {self.message}" if self.message else mark

    def __bool__(self) -> bool:
        return bool(self.passed)


_PROGRESS: dict[tuple[str, str], bool | None] = {}
_REGISTRY: dict[str, list["Exercise"]] = {}


def is_placeholder(answer: Any) -> bool:
    """The learner notebooks ship `...` or None as the answer (or a function that returns them)."""
    return answer is ... or answer is None


@dataclass
class Exercise:
    """One exercise: a name, what to do, a checker, a hint and a reference solution."""

    chapter: str
    name: str
    task: str
    checker: Callable[[Any], str | None]
    hint_text: str
    solution_obj: Any                       # a function (its source is shown) or a string
    explanation: str = ""
    _registered: bool = field(default=False, repr=False)
    answer_name: str | None = None          # the name the learner writes (default: seen at check(), else name)
    forbid: tuple[str, ...] = ()            # dotted names the answer must not call, e.g. ("torch.softmax",)

    def __post_init__(self):
        _REGISTRY.setdefault(self.chapter, []).append(self)
        _PROGRESS.setdefault((self.chapter, self.name), None)
        if not self.forbid:  # a task that says "do not call X" forbids X without being told twice
            from ._explain import forbidden_in_text
            self.forbid = forbidden_in_text(self.task)
        self.forbid = tuple(self.forbid)

    def evaluate(self, answer: Any) -> CheckResult:
        """Check an answer without printing: the CheckResult says passed or not, and why."""
        if is_placeholder(answer):
            return CheckResult(None, f"replace the `...` in the {self.name} cell with your answer, then run it again")
        token = _CURRENT.set(self)
        try:
            if self.forbid and callable(answer):
                forbid_calls(answer, self.forbid)
            detail = self.checker(answer)
        except NotAttempted:
            return CheckResult(None, f"your {self.name} still returns the placeholder; fill it in and run the cell again")
        except Wrong as e:
            return CheckResult(False, str(e))
        except Exception as e:  # raised inside the learner's own code, outside call(): explain it too
            from ._explain import explain_exception, raised_in_learner_code
            if not (callable(answer) and raised_in_learner_code(e, answer)):
                raise  # an error in the checker itself: let it show
            return CheckResult(False, explain_exception(e, answer if callable(answer) else None, self))
        finally:
            _CURRENT.reset(token)
        return CheckResult(True, detail or "well done")

    def check(self, answer: Any) -> None:
        """Print whether the answer is right and, if not, what is wrong."""
        seen = _name_at_call_site(inspect.currentframe().f_back, "check")
        if seen or callable(answer):
            self._seen_name = seen or getattr(answer, "__name__", None)
        result = self.evaluate(answer)
        _PROGRESS[(self.chapter, self.name)] = result.passed
        print(f"[{self.name}] {result}")

    def hint(self) -> None:
        print(f"Hint ({self.name}): {self.hint_text}")

    def learner_name(self) -> str:
        """The name the learner's answer has in their notebook."""
        seen = getattr(self, "_seen_name", None)
        if seen and seen.isidentifier() and seen != "<lambda>":
            return seen
        return self.answer_name or self.name

    def solution_source(self) -> str:
        """The reference solution as code, under the name the learner writes."""
        name = self.learner_name()
        if callable(self.solution_obj):
            src = textwrap.dedent(inspect.getsource(self.solution_obj)).rstrip()
            own = getattr(self.solution_obj, "__name__", "")
            if own and own != "<lambda>" and own != name:
                src = re.sub(rf"\b{re.escape(own)}\b", name, src)
            return src
        import ast
        src = str(self.solution_obj).strip()
        try:
            ast.parse(src, mode="eval")  # a value: the learner assigns it to their name
            return f"{name} = {src}"
        except SyntaxError:
            pass
        try:
            body = ast.parse(src).body
        except SyntaxError:
            return src
        if len(body) == 1 and isinstance(body[0], ast.Assign) and len(body[0].targets) == 1 \
                and isinstance(body[0].targets[0], ast.Name):  # 'x = expr': the learner's name replaces x
            old = body[0].targets[0].id
            return re.sub(rf"^\s*{re.escape(old)}\s*=", f"{name} =", src, count=1)
        if len(body) == 1 and isinstance(body[0], ast.FunctionDef) and body[0].name != name:
            return re.sub(rf"\b{re.escape(body[0].name)}\b", name, src)
        return src

    def solution(self) -> None:
        print(f"Solution ({self.name}):\n{self.solution_source()}")
        if self.explanation:
            print("\n" + textwrap.fill(self.explanation, 96))

    def reference(self) -> Any:
        """The reference solution as stored: a function, or the source text of a value answer."""
        return self.solution_obj

    def reference_answer(self) -> Any:
        """What a learner would pass to check() to be right: the reference function, or the value
        that a one-line solution (``expr  # comment`` or ``name = expr``) evaluates to."""
        if callable(self.solution_obj):
            return self.solution_obj
        src = str(self.solution_obj).split("#")[0].strip()
        head = src.split("(")[0].split("[")[0]
        if "=" in head and "==" not in head:
            src = src.split("=", 1)[1].strip()
        return eval(src, {"math": math, "np": np, "torch": torch})  # our own solution text, never user input

    def __repr__(self) -> str:
        return f"<exercise {self.chapter}.{self.name}: {self.task}>"


def exercises(chapter: str) -> list[Exercise]:
    """All exercises of a chapter, in the order they were defined."""
    return list(_REGISTRY.get(chapter, []))


def progress(chapter: str) -> None:
    """Print which of a chapter's exercises pass, for a self-paced reader's end-of-chapter check."""
    items = exercises(chapter)
    done = sum(_PROGRESS[(chapter, ex.name)] is True for ex in items)
    print(f"Chapter {chapter}: {done} of {len(items)} exercises pass")
    for ex in items:
        state = _PROGRESS[(chapter, ex.name)]
        mark = {True: "✔ passes", False: "✘ not yet", None: "· not attempted"}[state]
        print(f"  {mark:<16} {ex.name}: {ex.task}")


# --- helpers that checkers use to say precisely what is wrong -------------------------------

def as_array(x, what: str) -> np.ndarray:
    """The learner's answer as a float64 numpy array, or a Wrong that says what came back."""
    if is_placeholder(x):
        raise NotAttempted
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} should be numbers (an array or tensor), got {type(x).__name__}") from None
    return arr


def expect_shape(got: np.ndarray, shape: tuple, what: str) -> None:
    if tuple(got.shape) != tuple(shape):
        raise Wrong(f"{what} has shape {tuple(got.shape)}, expected {tuple(shape)}")


def expect_close(got, expected, what: str, *, atol: float = 1e-4, rtol: float = 1e-4, names=None) -> None:
    """Compare values; on a mismatch say where and by how much."""
    got = as_array(got, what)
    expected = np.asarray(expected, dtype=np.float64)
    expect_shape(got, expected.shape, what)
    if not np.all(np.isfinite(got)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        raise Wrong(f"{what} contains NaN or inf (first at index {idx})")
    bad = ~np.isclose(got, expected, atol=atol, rtol=rtol)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"index {idx}" if names is None else f"{names} {idx}"
        raise Wrong(f"{what} differs at {where}: got {got[idx]:.4f}, expected {expected[idx]:.4f} "
                    f"({int(bad.sum())} of {bad.size} entries differ)")


def expect_rows_sum_to_one(weights: np.ndarray, what: str = "your weights") -> None:
    sums = weights.sum(axis=-1)
    off = ~np.isclose(sums, 1.0, atol=1e-4)
    if off.any():
        idx = tuple(int(i) for i in np.argwhere(off)[0])
        raise Wrong(f"{what}: row {idx} sums to {sums[idx]:.4f}; every row of attention weights must sum to 1 "
                    "(did you normalise over the right axis?)")


_CURRENT: contextvars.ContextVar[Exercise | None] = contextvars.ContextVar("selfattn_exercise", default=None)


def _name_at_call_site(frame, method: str) -> str | None:
    """In `ex.attend.check(attend)` the learner's name is `attend`: read it from the calling line."""
    import linecache
    if frame is None:
        return None
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    m = re.search(rf"\.{method}\(\s*([A-Za-z_][A-Za-z_0-9]*)\s*\)", line)
    if m:
        return m.group(1)
    return None


def forbid_calls(fn, names, why: str = "") -> None:
    """Raise Wrong if the code of `fn` calls any of `names` (dotted, e.g. "torch.softmax"); see
    _explain.calls_in for how calls are found. `why` is added to the message."""
    from ._explain import forbidden_calls_in
    found = forbidden_calls_in(fn, tuple(names))
    if found:
        own = getattr(fn, "__name__", "your function")
        said = ", ".join(f"`{f.rsplit('.', 1)[-1]}` ({f})" for f in found)
        raise Wrong(f"{own} calls {said}, which this exercise asks you not to use: write that step yourself"
                    + (f" ({why})" if why else ""))


def call(fn, *args, what: str | None = None, **kwargs):
    """Call the learner's function; turn a placeholder or an exception into a clear message.

    While it runs, any function the current exercise forbids is watched: calling it, even through
    a helper, makes the answer wrong. An exception raised inside the learner's code is explained
    (which exception, which line of their function, the shapes there, what the task asked)."""
    if is_placeholder(fn):
        raise NotAttempted
    if not callable(fn):
        raise Wrong(f"expected a function, got {type(fn).__name__}")
    name = what or getattr(fn, "__name__", "your function")
    exercise = _CURRENT.get()
    from ._explain import explain_exception, watching
    try:
        with watching(exercise.forbid if exercise is not None else ()) as used:
            out = fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted from None
    except (Wrong, NotAttempted):
        raise
    except Exception as e:  # the learner's code failed: explain it in one line, not a traceback
        raise Wrong(explain_exception(e, fn, exercise, name=name, args=args, kwargs=kwargs)) from None
    if used:
        raise Wrong(f"{name} calls {', '.join(f'`{u}`' for u in used)}, which this exercise asks you not to use: "
                    "write that step yourself")
    if is_placeholder(out):
        raise NotAttempted
    return out


def random_inputs(seed: int, *shapes, dtype=torch.float64):
    """Reproducible random tensors for checkers to try the learner's function on."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=dtype) for s in shapes]
