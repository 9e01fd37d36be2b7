"""Exercises for chapter 3 (notebooks/03_scaled_dot_product.ipynb): scaled dot-product attention.

    from selfattn.exercises import ch03 as ex
    ex.softmax_by_hand.check([...])
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..attention import attention
from ..explore.pipeline import sentence_stages, stable_softmax as _stable_reference
from ._core import (Exercise, NotAttempted, Wrong, as_array, call, expect_close, expect_rows_sum_to_one,
                    expect_shape, is_placeholder, random_inputs)

CHAPTER = "ch03"


# --- 1. compute by hand: scale, then softmax ------------------------------------------------------
BY_HAND_SCORES = (4.0, 0.0)     # raw scores q·k_0 and q·k_1
BY_HAND_D_K = 4


def _by_hand_answer() -> np.ndarray:
    s = np.array(BY_HAND_SCORES) / math.sqrt(BY_HAND_D_K)
    return np.exp(s) / np.exp(s).sum()


def _check_by_hand(answer):
    got = as_array(answer, "your weights").reshape(-1)
    expect_shape(got, (2,), "your weights (one per key)")
    raw = np.array(BY_HAND_SCORES)
    unscaled = np.exp(raw) / np.exp(raw).sum()
    by_d = np.exp(raw / BY_HAND_D_K) / np.exp(raw / BY_HAND_D_K).sum()
    if np.allclose(got, unscaled, atol=2e-3):
        raise Wrong("those are the weights of the unscaled scores: divide both scores by √d_k = 2 first")
    if np.allclose(got, by_d, atol=2e-3):
        raise Wrong("you divided by d_k = 4; the scale is 1/√d_k, so divide by 2")
    if np.allclose(got, raw / raw.sum(), atol=2e-3) or np.allclose(got, (raw / 2) / (raw / 2).sum(), atol=2e-3):
        raise Wrong("you normalised the scores by their sum; softmax exponentiates first: e^s_j / Σ_l e^s_l")
    if not np.isclose(got.sum(), 1.0, atol=2e-3):
        raise Wrong(f"your two weights sum to {got.sum():.3f}; softmax weights always sum to 1")
    expect_close(got, _by_hand_answer(), "your weights", atol=2e-3, names="key")
    return "scaled scores (2, 0) give weights e²/(e²+1) ≈ 0.881 and 1/(e²+1) ≈ 0.119"


softmax_by_hand = Exercise(
    CHAPTER, "softmax_by_hand",
    "One query has raw scores q·k_0 = 4 and q·k_1 = 0, with d_k = 4. Compute its two attention weights (3 decimals).",
    _check_by_hand,
    "Scale first: divide each score by √d_k. Then softmax: w_j = e^{s_j} / (e^{s_0} + e^{s_1}). e² ≈ 7.389.",
    "[math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)]  # = [0.881, 0.119]")


# --- 2. predict a measured spread ------------------------------------------------------------------

def _check_spread(answer):
    if answer is None or answer is ...:
        raise NotAttempted
    got = as_array(answer, "your answer").reshape(-1)
    expect_shape(got, (2,), "your answer (std of q·k, std of q·k/√d_k)")
    if np.allclose(got, [256.0, 1.0], rtol=0.05) or np.allclose(got, [256.0, 16.0], rtol=0.05):
        raise Wrong("256 is the variance of q·k; the question asks for the standard deviation, its square root")
    if np.allclose(got, [16.0, 16.0], rtol=0.05) or np.allclose(got, [16.0, 4.0], rtol=0.05):
        raise Wrong("dividing q·k by √d_k = 16 divides its standard deviation by 16 too")
    if np.allclose(got, [16.0, 1 / 16], rtol=0.05):
        raise Wrong("you divided by d_k = 256; the scale is 1/√d_k = 1/16, which brings the std of 16 down to 1")
    expect_close(got, [16.0, 1.0], "your answer", rtol=0.05, atol=0.05)
    return "Var(q·k) = d_k = 256, so the std is 16; dividing by √d_k = 16 brings it to 1"


spread = Exercise(
    CHAPTER, "spread",
    "q and k have d_k = 256 independent N(0, 1) entries. Give (std of q·k, std of q·k / √d_k).",
    _check_spread,
    "q·k is a sum of d_k independent products q_c k_c, each with mean 0 and variance 1. Variances of "
    "independent terms add; the standard deviation is the square root of the variance.",
    "(16, 1)  # Var(q·k) = 256 -> std 16; divided by sqrt(256) = 16 -> std 1")


# --- 3. implement a numerically stable softmax ----------------------------------------------------

def _softmax_solution(x):
    x = np.asarray(x, dtype=np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)   # each row's own max: every exponent <= 0
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _check_softmax(fn):
    small = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    got = as_array(call(fn, small.copy(), what="stable_softmax"), "stable_softmax([[1, 2, 3], [0, 0, 0]])")
    expect_shape(got, small.shape, "stable_softmax([[1, 2, 3], [0, 0, 0]])")
    if np.allclose(got.sum(axis=0), 1.0, atol=1e-6) and not np.allclose(got.sum(axis=1), 1.0, atol=1e-6):
        raise Wrong("your columns sum to 1, not your rows: normalise over the last axis (axis=-1), one row per query")
    expect_rows_sum_to_one(got, "stable_softmax([[1, 2, 3], [0, 0, 0]])")
    expect_close(got, _stable_reference(small), "stable_softmax([[1, 2, 3], [0, 0, 0]])", atol=1e-6)
    big = np.array([[1000.0, 1001.0, 1002.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        got_big = as_array(call(fn, big.copy(), what="stable_softmax"), "stable_softmax([[1000, 1001, 1002]])")
    if not np.all(np.isfinite(got_big)):
        raise Wrong("stable_softmax([[1000, 1001, 1002]]) gives NaN or inf: exp(1000) overflows. "
                    "Subtract the row's maximum before exp; softmax(x) = softmax(x - c) for any c")
    expect_close(got_big, _stable_reference(big), "stable_softmax([[1000, 1001, 1002]])", atol=1e-6)
    mixed = np.array([[1000.0, 999.0], [-1000.0, -1001.0]])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        got_mixed = as_array(call(fn, mixed.copy(), what="stable_softmax"),
                             "stable_softmax([[1000, 999], [-1000, -1001]])")
    if not np.all(np.isfinite(got_mixed)):
        raise Wrong("stable_softmax([[1000, 999], [-1000, -1001]]) gives NaN: subtracting one maximum for the whole "
                    "matrix sends the second row to exp(-2000) = 0 and then 0/0. Subtract each row's own maximum "
                    "(keepdims=True)")
    expect_close(got_mixed, _stable_reference(mixed), "stable_softmax([[1000, 999], [-1000, -1001]])", atol=1e-6)
    return "no overflow, no underflow to 0/0, and every row sums to 1"


stable_softmax = Exercise(
    CHAPTER, "stable_softmax",
    "Implement stable_softmax(x): softmax over the last axis of a 2-D numpy array that never overflows.",
    _check_softmax,
    "Subtract each row's maximum (x.max(axis=-1, keepdims=True)) before np.exp, then divide by the row sums.",
    _softmax_solution)


# --- 4. implement scaled dot-product attention ----------------------------------------------------

def _attend_solution(Q, K, V):
    d_k = Q.shape[-1]
    scores = Q @ K.T / math.sqrt(d_k)                       # (n_q, n_k)
    scores = scores - scores.max(dim=-1, keepdim=True).values
    weights = torch.exp(scores)
    weights = weights / weights.sum(dim=-1, keepdim=True)   # (n_q, n_k), rows sum to 1
    output = weights @ V                                    # (n_q, d_v)
    return output, weights


def _check_attend(fn):
    Q, K, V = random_inputs(5, (3, 8), (5, 8), (5, 2))
    Q = Q * 3                                                         # large enough that scaling matters
    out = call(fn, Q.clone(), K.clone(), V.clone(), what="attend")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Wrong("attend should return two things: (output, weights)")
    output, weights = as_array(out[0], "your output"), as_array(out[1], "your weights")
    ref = attention(Q, K, V)
    expect_shape(weights, (3, 5), "your weights (n_q=3, n_k=5)")
    unscaled = attention(Q, K, V, scale=1.0)
    if np.allclose(weights, unscaled.weights.numpy(), atol=1e-5):
        raise Wrong("your weights are softmax(Q Kᵀ) without the scale: divide the scores by √d_k before softmax")
    col = torch.softmax(Q @ K.T / math.sqrt(8), dim=0).numpy()
    if np.allclose(weights, col, atol=1e-5):
        raise Wrong("your softmax runs down the columns (over queries); it must run along each row (over keys)")
    expect_rows_sum_to_one(weights, "your weights")
    expect_close(weights, ref.weights.numpy(), "your weights", atol=1e-5, names="(query, key)")
    expect_shape(output, (3, 2), "your output (n_q=3, d_v=2)")
    expect_close(output, ref.output.numpy(), "your output", atol=1e-5, names="(query, value dimension)")
    return "softmax(Q Kᵀ / √d_k) V, exactly what selfattn.attention computes"


attend = Exercise(
    CHAPTER, "attend",
    "Implement attend(Q, K, V) -> (output, weights): scaled dot-product attention for torch tensors.",
    _check_attend,
    "Four lines: scores = Q @ K.T / √d_k; subtract each row's max; exponentiate and divide by the row sums; "
    "output = weights @ V.",
    _attend_solution)


# --- 5. predict, then check: one more key that the query ignores ---------------------------------
ONE_MORE_SENTENCE = "the cat sat on the mat"
ONE_MORE_TOKEN = "the"


def one_more_key_reference() -> tuple[float, float, float]:
    """(weight of "sat" on "cat" in the worked example, the same weight after one more "the" is appended,
    the weight of "sat" on one "the" before)."""
    before = sentence_stages(ONE_MORE_SENTENCE)
    after = sentence_stages(f"{ONE_MORE_SENTENCE} {ONE_MORE_TOKEN}")
    i, j = before.tokens.index("sat"), before.tokens.index("cat")
    share = float(before.weights[i, before.tokens.index(ONE_MORE_TOKEN)])
    return round(float(before.weights[i, j]), 3), round(float(after.weights[i, j]), 3), round(share, 3)


def _check_one_more_key(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        w = float(answer)
    except (TypeError, ValueError):
        raise Wrong("give one number: the weight of \"sat\" on \"cat\" after the extra \"the\", e.g. 0.5") from None
    before, after, share = one_more_key_reference()
    if abs(w - before) < 3e-3:
        raise Wrong(f"that is the weight before ({before:.3f}). The new \"the\" scores 0 with \"sat\", but a score of 0 "
                    "is not 'nothing': e^0 = 1 joins the denominator, so every other weight shrinks a little")
    if abs(w - before * 6 / 7) < 3e-3:
        raise Wrong("softmax does not shrink every weight by 6/7: only one term, e^0 for the new key, joins the "
                    "denominator, so the weights shrink by the factor 1 / (1 + weight that one \"the\" already gets)")
    if not 0 < w < 1:
        raise Wrong(f"{w} cannot be a softmax weight: weights lie between 0 and 1")
    if w > before:
        raise Wrong("adding a key can only take weight away from the others: the numerators stay, the denominator grows")
    if abs(w - after) > 5e-3:
        raise Wrong(f"{w:.3f} is not it. Each \"the\" already receives {share:.3f} of the row of \"sat\"; a third one adds "
                    "the same e^0 to the denominator")
    return (f"{before:.3f} becomes {after:.3f} ≈ {before:.3f} / (1 + {share:.3f}): a key that scores 0 still takes its "
            "share e^0, which is why attention is never fully blind to irrelevant tokens")


one_more_key = Exercise(
    CHAPTER, "one_more_key",
    'Predict: "sat" gives "cat" 0.697 in "the cat sat on the mat". Append one more "the" (its key is all zeros). '
    'What weight does "sat" give "cat" now (3 decimals)?',
    _check_one_more_key,
    'The scaled score of "sat" with any "the" is 0, and each "the" gets 0.030 of the row. Softmax divides '
    'e^score by the sum over all keys: what does one more key add to that sum?',
    "0.697 / (1 + 0.030)  # ≈ 0.676: the old weight divided by 1 + the share one more 'the' takes")


# --- 6. design: a temperature that makes "cat" split its attention evenly ---------------------------

def cat_row() -> torch.Tensor:
    """(n,) the scaled scores of "cat" in the worked example (stage 2): 3.1 on "sat", 0 elsewhere."""
    r = sentence_stages("the cat sat on the mat")
    return r.stages[1].matrix[r.tokens.index("cat")]


def _weight_on_sat(temperature: float) -> float:
    row = cat_row()
    return float(torch.softmax(row / temperature, dim=-1)[2])


def _check_half_temperature(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        t = float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"give one number, the temperature T, got {answer!r}") from None
    if not math.isfinite(t) or t <= 0:
        raise Wrong(f"a temperature must be a positive number, got {t!r}")
    w = _weight_on_sat(t)
    if abs(w - 0.5) <= 5e-3:
        return (f"with T = {t:.3f} the row of 'cat' gives 'sat' {w:.3f}: e^(3.1/T) = 5 balances the five "
                "other keys, so T = 3.1 / ln 5 ≈ 1.926")
    if abs(t - 3.1 / math.log(6)) < 0.02:
        raise Wrong("you balanced 'sat' against six keys; the row has six keys in all, so 'sat' competes with "
                    "the five others, each with e^0 = 1: e^(3.1/T) = 5")
    if abs(t - math.log(5) / 3.1) < 0.02:
        raise Wrong("you multiplied the scores by T; a temperature divides them: softmax(s / T)")
    if abs(t - 6.2 / math.log(5)) < 0.05:
        raise Wrong("you used the raw score 6.2; the row of stage 2 is already divided by √d_k = 2, so the score "
                    "of 'sat' is 3.1")
    direction = "raise T (a higher temperature flattens the row)" if w > 0.5 else \
        "lower T (a lower temperature sharpens the row)"
    raise Wrong(f"with T = {t:.3f} the weight on 'sat' is {w:.3f}, not 0.5: {direction}")


half_temperature = Exercise(
    CHAPTER, "half_temperature",
    'Design: choose the temperature T so that the scaled row of "cat" (3.1 on "sat", 0 on the five other keys) '
    'gives "sat" a weight of exactly 0.5.',
    _check_half_temperature,
    "Write the weight on \"sat\" as e^(3.1/T) / (e^(3.1/T) + 5). It is 0.5 when the numerator equals the "
    "sum of the five other terms.",
    "3.1 / math.log(5)   # e^(3.1/T) = 5  ->  T ≈ 1.926")


# --- 7. debug: an attention function with three bugs ---------------------------------------------

def buggy_attention(Q, K, V):
    """Meant to be softmax(Q Kᵀ / √d_k) V for Q (n_q, d_k), K (n_k, d_k), V (n_k, d_v). It has three bugs."""
    scores = Q @ K.T / K.shape[0] ** 0.5                                         # (n_q, n_k)
    weights = torch.exp(scores) / torch.exp(scores).sum(dim=0, keepdim=True)     # (n_q, n_k)
    return weights @ V                                                           # (n_q, d_v)


def _fixed_attention_solution(Q, K, V):
    scores = Q @ K.T / Q.shape[-1] ** 0.5                                        # (n_q, n_k): divide by √d_k
    scores = scores - scores.max(dim=-1, keepdim=True).values                    # each row's max: no overflow
    weights = torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)    # rows sum to 1
    return weights @ V                                                           # (n_q, d_v)


def _variant(Q, K, V, *, scale_by: float, dim: int) -> np.ndarray:
    s = Q @ K.T / math.sqrt(scale_by)
    w = torch.softmax(s, dim=dim)
    return (w @ V).numpy()


def _check_fixed_attention(fn):
    Q, K, V = random_inputs(7, (3, 8), (5, 8), (5, 2))                           # n_q=3, n_k=5, d_k=8, d_v=2
    got = as_array(call(fn, Q.clone(), K.clone(), V.clone(), what="fixed_attention"), "your output")
    expect_shape(got, (3, 2), "your output (n_q=3, d_v=2)")
    if np.all(np.isfinite(got)):
        for dim in (0, -1):
            if dim == 0 and np.allclose(got, _variant(Q, K, V, scale_by=8, dim=0), atol=1e-6) or \
                    dim == 0 and np.allclose(got, _variant(Q, K, V, scale_by=5, dim=0), atol=1e-6):
                raise Wrong("the softmax still normalises down the columns (dim=0, over queries): each query's "
                            "row of weights must sum to 1, so sum over the keys (dim=-1)")
        if np.allclose(got, _variant(Q, K, V, scale_by=5, dim=-1), atol=1e-6):
            raise Wrong("the scores are divided by √n_k (K.shape[0] is the number of keys); the scale is "
                        "1/√d_k, the width of a query and a key (Q.shape[-1])")
        if np.allclose(got, _variant(Q, K, V, scale_by=1, dim=-1), atol=1e-6):
            raise Wrong("the scores are no longer scaled at all; divide them by √d_k")
    expect_close(got, _variant(Q, K, V, scale_by=8, dim=-1), "your output on moderate scores", atol=1e-6,
                 names="(query, value dimension)")
    big = Q * 60.0                                                               # scores in the hundreds
    got_big = as_array(call(fn, big.float(), K.float(), V.float(), what="fixed_attention"), "your output")
    if not np.all(np.isfinite(got_big)):
        raise Wrong("with float32 scores in the hundreds your output has NaN: torch.exp overflows above about 88 "
                    "in float32 (709 in float64). Subtract each row's maximum score before exp; softmax does not "
                    "change, and no exponent is above 0")
    expect_close(got_big, _variant(big, K, V, scale_by=8, dim=-1), "your output on large float32 scores",
                 atol=1e-4, names="(query, value dimension)")
    return "all three bugs fixed: scale by √d_k, normalise each row over the keys, subtract the row's max before exp"


fixed_attention = Exercise(
    CHAPTER, "fixed_attention",
    "Debug: buggy_attention(Q, K, V) has three bugs. Write fixed_attention(Q, K, V) that returns "
    "softmax(Q Kᵀ / √d_k) V for n_q ≠ n_k, and stays finite for scores in the hundreds.",
    _check_fixed_attention,
    "Look at three things: which width the scale uses (Q is (n_q, d_k), K is (n_k, d_k)), which axis the "
    "weights are normalised over (a row per query), and what torch.exp does with a score of 700.",
    _fixed_attention_solution)

__all__ = ["softmax_by_hand", "stable_softmax", "attend", "spread", "one_more_key", "one_more_key_reference",
           "half_temperature", "cat_row", "fixed_attention", "buggy_attention"]
