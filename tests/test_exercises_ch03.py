"""Chapter 3 exercises: each accepts its solution and rejects typical mistakes with a useful message."""
import math

import numpy as np
import torch

from selfattn.exercises import ch03 as ex
from selfattn.exercises import exercises

from exercise_helpers import fails, passes




def test_registered_in_order():
    assert [e.name for e in exercises("ch03")] == ["softmax_by_hand", "spread", "stable_softmax", "attend",
                                                   "one_more_key", "half_temperature", "fixed_attention"]


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
    fails(ex.spread, (256, 16), "variance")
    fails(ex.spread, (16, 1 / 16), "you divided by d_k")


def test_one_more_key_matches_the_computed_sentences():
    before, after, share = ex.one_more_key_reference()
    assert (before, share) == (0.697, 0.030)
    assert abs(after - before / (1 + share)) < 2e-3                   # one more e^0 in the denominator
    passes(ex.one_more_key, after)
    passes(ex.one_more_key, 0.697 / 1.030)                            # the solution's arithmetic
    fails(ex.one_more_key, 0.697, "e^0 = 1 joins the denominator")
    fails(ex.one_more_key, 0.697 * 6 / 7, "does not shrink every weight by 6/7")
    fails(ex.one_more_key, 0.71, "can only take weight away")
    fails(ex.one_more_key, 1.5, "between 0 and 1")
    fails(ex.one_more_key, 0.5, "is not it")
    fails(ex.one_more_key, "cat", "give one number")


def test_half_temperature_design():
    t = 3.1 / math.log(5)
    assert "1.926" in passes(ex.half_temperature, t)
    passes(ex.half_temperature, 1.93)
    fails(ex.half_temperature, 3.1 / math.log(6), "five others")
    fails(ex.half_temperature, math.log(5) / 3.1, "divides them")
    fails(ex.half_temperature, 6.2 / math.log(5), "raw score 6.2")
    fails(ex.half_temperature, 1.0, "0.816, not 0.5: raise T")
    fails(ex.half_temperature, 5.0, "lower T")
    fails(ex.half_temperature, -1.0, "positive number")
    fails(ex.half_temperature, "warm", "one number")
    torch.testing.assert_close(ex.cat_row(), torch.tensor([0, 0, 3.1, 0, 0, 0], dtype=ex.cat_row().dtype))


def _attn(scale_of, dim, subtract_max):
    def f(Q, K, V):
        s = Q @ K.T / scale_of(Q, K) ** 0.5
        if subtract_max:
            s = s - s.max(dim=dim, keepdim=True).values
        return (torch.exp(s) / torch.exp(s).sum(dim=dim, keepdim=True)) @ V
    return f


def test_fixed_attention_names_each_remaining_bug():
    d_k, n_k = (lambda Q, K: Q.shape[-1]), (lambda Q, K: K.shape[0])
    passes(ex.fixed_attention, ex.fixed_attention.reference())
    passes(ex.fixed_attention, lambda Q, K, V: torch.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), -1) @ V)
    fails(ex.fixed_attention, ex.buggy_attention, "down the columns")
    fails(ex.fixed_attention, _attn(d_k, 0, True), "down the columns")
    fails(ex.fixed_attention, _attn(n_k, -1, True), "√n_k")
    fails(ex.fixed_attention, _attn(lambda Q, K: 1, -1, True), "no longer scaled")
    fails(ex.fixed_attention, _attn(d_k, -1, False), "overflows")
    fails(ex.fixed_attention, lambda Q, K, V: torch.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), -1), "shape (3, 5)")
    out = ex.buggy_attention(*[torch.ones(4, 4)] * 3)                  # square and small: the bugs do not show
    torch.testing.assert_close(out, torch.ones(4, 4))
