"""The exercise machinery (selfattn.exercises._core): solutions under the learner's name, "do not
call X" enforced, and exceptions inside the learner's function explained instead of passed through."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from selfattn.exercises._core import Exercise, Wrong, call, expect_close, forbid_calls

FORBID = ("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax")


def _reference_softmax(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def _check_softmax(fn):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    expect_close(call(fn, x.clone()), torch.softmax(x, dim=-1), "your softmax")


def _exercise(**kw):
    return Exercise("zz_core", kw.pop("name", "row_softmax"), "Write row_softmax(x) without calling torch's softmax.",
                    _check_softmax, "exp, then divide by the row sums", _reference_softmax, forbid=FORBID, **kw)


# --- solution() under the learner's name ----------------------------------------------------

def test_solution_uses_the_name_the_learner_checked(capsys):
    ex = _exercise()

    def my_softmax(x):
        return ...
    ex.check(my_softmax)
    capsys.readouterr()
    ex.solution()
    shown = capsys.readouterr().out
    assert "def my_softmax(x):" in shown and "_reference_softmax" not in shown


def test_solution_reads_a_value_answer_name_from_the_check_line(capsys):
    ex = Exercise("zz_core", "by_hand", "e squared", lambda a: None, "e ≈ 2.718", "math.exp(2)  # = 7.389")
    my_answer = ...
    ex.check(my_answer)
    capsys.readouterr()
    ex.solution()
    assert "my_answer = math.exp(2)  # = 7.389" in capsys.readouterr().out


def test_solution_before_any_check_uses_answer_name_then_the_exercise_name():
    assert "def row_softmax(x):" in _exercise().solution_source()
    assert "def softmax_rows(x):" in _exercise(answer_name="softmax_rows").solution_source()
    ex = Exercise("zz_core", "spread", "std", lambda a: None, "d_k", "answer = (16, 1)  # std, then 1")
    assert ex.solution_source() == "spread = (16, 1)  # std, then 1"


# --- "do not call X" -------------------------------------------------------------------------

def test_calling_a_forbidden_function_is_wrong_however_it_is_spelled():
    ex = _exercise()

    def via_functional(x):
        return F.softmax(x, dim=-1)

    def via_method(x):
        return x.softmax(-1)

    def via_torch(x):
        return torch.softmax(x, -1)
    for fn in (via_functional, via_method, via_torch):
        r = ex.evaluate(fn)
        assert r.passed is False and "asks you not to use" in r.message and "softmax" in r.message, (fn, r)


def test_a_forbidden_call_hidden_in_a_helper_is_caught_while_it_runs():
    ex = _exercise()
    ns = {"torch": torch}
    exec("def helper(x):\n    return torch.softmax(x, -1)\n", ns)   # no source for inspect: only the run sees it
    exec("def hides_it(x):\n    return helper(x)\n", ns)
    r = ex.evaluate(ns["hides_it"])
    assert r.passed is False and "torch.softmax" in r.message
    assert torch.softmax is not None and torch.softmax.__name__ == "softmax", "the watch must be undone"


def test_own_function_with_the_same_name_and_honest_answers_pass():
    ex = _exercise()

    def softmax(x):  # the learner's own helper, not torch's
        e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
        return e / e.sum(dim=-1, keepdim=True)

    def honest(x):
        return softmax(x)
    assert ex.evaluate(honest).passed is True
    assert ex.evaluate(_reference_softmax).passed is True


def test_forbid_calls_is_usable_inside_a_checker():
    def uses_inverse(a):
        return np.linalg.inv(a)
    try:
        forbid_calls(uses_inverse, ("numpy.linalg.inv",), why="solve the system instead")
    except Wrong as e:
        assert "inv" in str(e) and "solve the system instead" in str(e)
    else:
        raise AssertionError("forbid_calls accepted a forbidden call")


# --- exceptions inside the learner's function ----------------------------------------------------

def test_a_shape_error_names_the_exception_the_line_the_shapes_and_the_task():
    def attend(Q, K, V):
        d_k = Q.shape[-1]
        scores = Q @ K / math.sqrt(d_k)
        return scores @ V

    def checker(fn):
        Q, K, V = torch.ones(3, 8), torch.ones(5, 8), torch.ones(5, 2)
        call(fn, Q, K, V)
    ex = Exercise("zz_core", "attend", "Implement attend(Q, K, V) -> softmax(QKᵀ/√d_k) V.", checker, "", "")
    r = ex.evaluate(attend)
    assert r.passed is False
    m = r.message
    assert "attend raised RuntimeError" in m
    assert "line 3 of your attend" in m and "`scores = Q @ K / math.sqrt(d_k)`" in m
    assert "Q (3, 8)" in m and "K (5, 8)" in m
    assert "transpose" in m and "The task: Implement attend" in m
    assert "\n" not in m and "Traceback" not in m


def test_a_broadcast_error_in_numpy_points_at_keepdims():
    def stable_softmax(x):
        e = np.exp(x - x.max(axis=-1))
        return e / e.sum(axis=-1)

    def checker(fn):
        call(fn, np.ones((2, 3)))
    ex = Exercise("zz_core", "stable_softmax", "softmax over the last axis", checker, "", "")
    m = ex.evaluate(stable_softmax).message
    assert "raised ValueError" in m and "line 2 of your stable_softmax" in m and "keepdims=True" in m


def test_an_exception_outside_call_is_explained_too_but_checker_bugs_surface():
    def broken(x):
        return x.masked_fill(x > 0, 0.0)

    def direct_checker(fn):  # calls the learner's function itself, not through call()
        fn(np.ones(3))
    ex = Exercise("zz_core", "direct", "zero the positives", direct_checker, "", "")
    m = ex.evaluate(broken).message
    assert "raised AttributeError" in m and "line 2 of your broken" in m and "numpy" in m

    def buggy_checker(fn):
        raise KeyError("a bug in the checker itself")
    ex2 = Exercise("zz_core", "buggy", "t", buggy_checker, "", "")
    try:
        ex2.evaluate(lambda x: x)
    except KeyError:
        pass
    else:
        raise AssertionError("an error in the checker itself must not be hidden as the learner's")


def test_old_one_line_form_still_holds():
    r = _exercise(name="crash").evaluate(lambda x: 1 / 0)
    assert r.passed is False and "raised ZeroDivisionError" in r.message and "\n" not in r.message


def test_a_task_that_says_do_not_call_x_forbids_x_by_itself():
    def check(fn):
        x = torch.randn(2, 3, generator=torch.Generator().manual_seed(1))
        expect_close(call(fn, x), torch.softmax(x, dim=-1), "out")
    ex = Exercise("zz_core", "said", "Write row_softmax(x) without calling torch.softmax.", check, "", _reference_softmax)
    assert ex.forbid == ("torch.softmax",)
    r = ex.evaluate(lambda x: F.softmax(x, dim=-1))
    assert r.passed is False and "asks you not to use" in r.message
    ns = {"F": F}
    exec("def helper(x):\n    return F.softmax(x, -1)\n", ns)    # F.softmax is torch.softmax to a learner
    exec("def hidden(x):\n    return helper(x)\n", ns)
    r = ex.evaluate(ns["hidden"])
    assert r.passed is False and "softmax" in r.message, r
    assert ex.evaluate(_reference_softmax).passed is True
    plain = Exercise("zz_core", "plain", "Write it without a loop.", check, "", _reference_softmax)
    assert plain.forbid == ()


def test_every_books_solution_is_python_that_defines_the_name_it_is_shown_under():
    import ast
    import importlib
    import pkgutil

    import selfattn.exercises as pkg
    from selfattn.exercises import exercises
    chapters = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("ch"))
    checked = 0
    for ch in chapters:
        importlib.import_module(f"selfattn.exercises.{ch}")
        for ex in exercises(ch):
            src = ex.solution_source()
            tree = ast.parse(src)
            defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
            assert ex.learner_name() in defined, f"{ch}.{ex.name}: the solution shown does not define {ex.learner_name()}:\n{src}"
            checked += 1
    assert checked > 20
