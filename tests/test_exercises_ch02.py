"""Chapter 2 exercises: each accepts its solution and rejects typical mistakes with a useful message."""
import numpy as np
import pytest

from selfattn.embeddings import FEATURES, QK_FEATURES, hand_projections
from selfattn.exercises import ch02 as ex
from selfattn.exercises import exercises

from exercise_helpers import fails, passes


def edited(feature, dimension, value):
    _, w_k, _ = hand_projections()
    w_k[FEATURES.index(feature), QK_FEATURES.index(dimension)] = value
    return w_k


def test_registered_in_order():
    assert [e.name for e in exercises("ch02")] == ["zero_angle", "dot_by_hand", "mat_attends_on", "fix_scores"]


def test_dot_by_hand():
    passes(ex.dot_by_hand, [4, 0, -5])
    passes(ex.dot_by_hand, np.array([[4.0, 0.0, -5.0]]))
    fails(ex.dot_by_hand, [[2, 2, 0], [0, 0, 0], [-1, -4, 0]], "element-wise products")
    fails(ex.dot_by_hand, [4, 0, 5], "mind the signs")
    fails(ex.dot_by_hand, [0.8, 0.0, -1.0], "cosines")
    fails(ex.dot_by_hand, [4, 0, -4], "differs at key (2,)")
    assert ex.dot_by_hand.evaluate(...).passed is None


def test_zero_angle_predict():
    assert ex.zero_angle_reference() == pytest.approx(90.0, abs=1e-6)
    passes(ex.zero_angle, 90)
    passes(ex.zero_angle, "90")
    fails(ex.zero_angle, 180, "crossed zero earlier")
    fails(ex.zero_angle, 45, "0.71")
    fails(ex.zero_angle, "ninety", "one number of degrees")


def test_mat_attends_on_design():
    assert "3.00, above \"sat\" at 2.00" in passes(ex.mat_attends_on, edited("relation", "action", 3.0))
    passes(ex.mat_attends_on, ex.mat_on_reference)
    fails(ex.mat_attends_on, edited("relation", "action", 1.5), "Make it larger than sat's score")
    fails(ex.mat_attends_on, edited("place", "action", 3.0), "mat\"'s own key")
    fails(ex.mat_attends_on, edited("animal", "action", 5.0), "has no animal feature")
    fails(ex.mat_attends_on, edited("relation", "place", 3.0), "only looks along the action dimension")
    two = edited("relation", "action", 3.0)
    two[0, 0] = 1.0
    fails(ex.mat_attends_on, two, "exactly one")
    fails(ex.mat_attends_on, np.ones((4, 8)), "shape")
    assert ex.mat_attends_on.evaluate(hand_projections()[1]).passed is None     # untouched W_K: not attempted


def test_fix_scores_debug():
    passes(ex.fix_scores, ex.fix_scores.reference())
    fails(ex.fix_scores, ex.buggy_scores, "buggy function itself")
    fails(ex.fix_scores, lambda X, a, b: (X @ a) @ (X @ b.T).T, "K is still X @ W_K.T")
    fails(ex.fix_scores, lambda X, a, b: (X @ b) @ (X @ a).T, "you returned K Qᵀ")
    fails(ex.fix_scores, lambda X, a, b: (X @ a) @ (X @ a).T, "differs at")
    fails(ex.fix_scores, lambda X, a, b: 1 / 0, "raised ZeroDivisionError")


def test_solutions_print(capsys):
    for e in exercises("ch02"):
        e.solution()
        e.hint()
    out = capsys.readouterr().out
    assert "K = X @ W_K" in out and "W_K[relation, action] = 3" in out
