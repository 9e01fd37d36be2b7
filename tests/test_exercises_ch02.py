"""Chapter 2 exercises: each accepts its solution and rejects typical mistakes with a useful message."""
import numpy as np
import pytest

from selfattn.exercises import ch02 as ex
from selfattn.exercises import exercises

from exercise_helpers import fails, passes




def test_registered_in_order():
    assert [e.name for e in exercises("ch02")] == ["dot_by_hand", "project_qkv", "all_scores", "zero_angle"]


def test_dot_by_hand():
    passes(ex.dot_by_hand, [4, 0, -5])
    passes(ex.dot_by_hand, np.array([[4.0, 0.0, -5.0]]))
    fails(ex.dot_by_hand, [[2, 2, 0], [0, 0, 0], [-1, -4, 0]], "element-wise products")
    fails(ex.dot_by_hand, [0.8, 0.0, -1.0], "cosines")
    fails(ex.dot_by_hand, [4, 0, 5], "differs at key (2,)")
    assert ex.dot_by_hand.evaluate(...).passed is None


def test_project_qkv():
    passes(ex.project_qkv, ex.project_qkv.reference())
    fails(ex.project_qkv, lambda X, a, b, c: (X @ a, X @ a, X @ c), "your K equals X @ W_Q")
    fails(ex.project_qkv, lambda X, a, b, c: (a.T @ X.T, X @ b, X @ c), "Q has shape (3, 5)")
    fails(ex.project_qkv, lambda X, a, b, c: X @ a, "three matrices")
    fails(ex.project_qkv, lambda X, a, b, c: 1 / 0, "raised ZeroDivisionError")
    assert ex.project_qkv.evaluate(lambda X, a, b, c: ...).passed is None


def test_all_scores():
    passes(ex.all_scores, ex.all_scores.reference())
    fails(ex.all_scores, lambda Q, K: Q.T @ K, "compares dimensions, not tokens")
    fails(ex.all_scores, lambda Q, K: K @ Q.T, "you returned K Qᵀ")
    fails(ex.all_scores, lambda Q, K: Q @ K.T / 2, "differs at")


def test_zero_angle():
    assert ex.zero_angle_reference() == pytest.approx(90.0, abs=1e-6)
    passes(ex.zero_angle, 90)
    passes(ex.zero_angle, "90")
    fails(ex.zero_angle, 180, "crossed zero earlier")
    fails(ex.zero_angle, 45, "0.71")
    fails(ex.zero_angle, "ninety", "one number of degrees")


def test_solutions_print(capsys):
    for e in exercises("ch02"):
        e.solution()
        e.hint()
    out = capsys.readouterr().out
    assert "Q = X @ W_Q" in out and "Q @ K.T" in out
