"""Chapter 3 exercises: each accepts its solution and rejects typical mistakes with a useful message."""
import math

import numpy as np
import torch

from selfattn.exercises import ch03 as ex
from selfattn.exercises import exercises

from exercise_helpers import fails, passes




def test_registered_in_order():
    assert [e.name for e in exercises("ch03")] == ["softmax_by_hand", "stable_softmax", "attend", "spread",
                                                   "sat_attends_to"]


def test_softmax_by_hand():
    passes(ex.softmax_by_hand, [math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)])
    passes(ex.softmax_by_hand, [0.881, 0.119])
    fails(ex.softmax_by_hand, [0.982, 0.018], "divide both scores by √d_k")
    fails(ex.softmax_by_hand, [0.731, 0.269], "you divided by d_k")
    fails(ex.softmax_by_hand, [1.0, 0.0], "exponentiates first")
    fails(ex.softmax_by_hand, [0.9, 0.2], "sum to 1")


def test_stable_softmax():
    passes(ex.stable_softmax, ex.stable_softmax.reference())
    fails(ex.stable_softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), "exp(1000) overflows")
    fails(ex.stable_softmax, lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum(-1, keepdims=True),
          "each row's own maximum")
    fails(ex.stable_softmax, lambda x: np.exp(x - x.max(0)) / np.exp(x - x.max(0)).sum(0, keepdims=True),
          "columns sum to 1")


def test_attend():
    passes(ex.attend, ex.attend.reference())
    fails(ex.attend, lambda Q, K, V: (torch.softmax(Q @ K.T, -1) @ V, torch.softmax(Q @ K.T, -1)), "without the scale")
    s = lambda Q, K: torch.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), 0)
    fails(ex.attend, lambda Q, K, V: (s(Q, K) @ V, s(Q, K)), "down the columns")
    w = lambda Q, K: torch.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), -1)
    fails(ex.attend, lambda Q, K, V: (w(Q, K) @ V[:, :1], w(Q, K)), "has shape (3, 1), expected (3, 2)")
    fails(ex.attend, lambda Q, K, V: w(Q, K), "(output, weights)")


def test_spread():
    passes(ex.spread, (16, 1))
    fails(ex.spread, (256, 1), "variance")
    fails(ex.spread, (16, 16), "divides its standard deviation")
    fails(ex.spread, (4, 1), "differs at")


def test_sat_attends_to_matches_the_computed_example():
    token, weight = ex.sat_reference()
    assert token == "cat"
    passes(ex.sat_attends_to, (token, weight))
    assert f"{weight:.3f}" in ex.sat_attends_to.solution_obj          # the printed solution is the computed one
    fails(ex.sat_attends_to, ("mat", 0.1), "not where the row")
    fails(ex.sat_attends_to, ("cat", 3.15), "scaled score")
    fails(ex.sat_attends_to, ("cat", 0.5), "its weight is not")
    fails(ex.sat_attends_to, "cat", "give a pair")
