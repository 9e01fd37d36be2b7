"""Exercises for chapter 8 (the cost of attention).

    from selfattn.exercises import ch08 as ex
    ex.count_flops.check(attention_flops)
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import cost
from ..attention import attention
from ._core import Exercise, Wrong, as_array, call, expect_close, expect_shape

CHAPTER = "ch08"


# --- 1. count the flops of one attention head ---------------------------------------------------

def _flops_solution(n, d):
    # QKᵀ: n·n dot products of length d, each d multiplies and d adds -> 2·n²·d
    # weights @ V: n·d outputs, each a sum of n products -> 2·n²·d
    return 4 * n * n * d


def _check_flops(fn):
    for n, d in ((1, 1), (3, 2), (10, 8), (128, 64), (1000, 64), (4096, 128)):
        got = call(fn, n, d, what="your attention_flops")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"attention_flops should return a number, got {type(got).__name__}") from None
        expected = cost.attention_flops(n, n, d)
        if got == expected:
            continue
        where = f"for n={n}, d={d}: got {got:,.0f}, expected {expected:,}"
        if got == 2 * n * n * d:
            raise Wrong(f"{where}. That is half: either you counted only QKᵀ (the product with V costs as much "
                        "again), or you counted a multiply-add as one operation instead of two")
        if got == n * n * d:
            raise Wrong(f"{where}. Count both products (QKᵀ and weights·V), and two flops (a multiply and an add) "
                        "for every term of a dot product")
        if got == 4 * n * d * d:
            raise Wrong(f"{where}. You have n and d swapped: the n×n score matrix is what makes attention "
                        "quadratic in n; d appears once")
        raise Wrong(where)
    return "4·n²·d: double n and the work quadruples, double d and it only doubles"


count_flops = Exercise(
    CHAPTER, "count_flops",
    "write attention_flops(n, d) -> the matmul flops of one self-attention head over n tokens, d_k = d_v = d",
    _check_flops,
    "there are two matrix products. QKᵀ computes n·n dot products of length d; weights·V computes n·d "
    "sums of n products. A dot product of length d is d multiplies and d adds.",
    _flops_solution,
    "Counting a multiply-add as two flops is the convention of papers and of torch's FlopCounterMode, "
    "which the chapter uses to check this formula against the code.")


# --- 2. the key/value cache of a model ------------------------------------------------------------

def _kv_solution(n, n_layers, n_heads, n_kv_heads, d_head, bytes_per_number):
    # every layer stores one key and one value vector per key/value head per token
    return 2 * n_layers * n_kv_heads * d_head * n * bytes_per_number


_KV_MISTAKES = (
    (lambda n, L, h, kv, d, b: L * kv * d * n * b, "the cache holds keys AND values: one of each per token"),
    (lambda n, L, h, kv, d, b: 2 * L * h * d * n * b,
     "only the n_kv_heads key/value heads are cached; the query heads share them "
     "(that is the point of grouped- and multi-query attention)"),
    (lambda n, L, h, kv, d, b: 2 * kv * d * n * b, "every layer has its own keys and values: multiply by n_layers"),
    (lambda n, L, h, kv, d, b: 2 * L * kv * d * n, "that counts numbers, not bytes: multiply by bytes_per_number"),
)


def _check_kv(fn):
    cases = [(1, 1, 1, 1, 1, 1), (4096, 32, 32, 32, 128, 2), (4096, 32, 32, 8, 128, 2),
             (32768, 80, 64, 8, 128, 2), (1000, 24, 16, 1, 64, 4), (7, 3, 6, 2, 5, 1)]
    answers = []
    for case in cases:
        got = call(fn, *case, what="your kv_cache_bytes")
        try:
            answers.append(float(got))
        except (TypeError, ValueError):
            raise Wrong(f"kv_cache_bytes should return a number, got {type(got).__name__}") from None
    for case, got in zip(cases, answers):
        expected = _kv_solution(*case)
        if got == expected:
            continue
        n, layers, heads, kv_heads, d_head, nbytes = case
        where = (f"for n={n}, n_layers={layers}, n_heads={heads}, n_kv_heads={kv_heads}, d_head={d_head}, "
                 f"{nbytes} byte(s) per number: got {got:,.0f}, expected {expected:,}")
        for formula, why in _KV_MISTAKES:                     # a mistake that explains every answer
            if all(a == formula(*c) for c, a in zip(cases, answers)):
                raise Wrong(f"{where}. {why[0].upper() + why[1:]}")
        raise Wrong(where)
    return "2 · n_layers · n_kv_heads · d_head · n · bytes: linear in n, and n_kv_heads is the knob GQA and MQA turn"


kv_cache_bytes = Exercise(
    CHAPTER, "kv_cache_bytes",
    "write kv_cache_bytes(n, n_layers, n_heads, n_kv_heads, d_head, bytes_per_number) -> bytes of the "
    "key/value cache for one sequence of n tokens",
    _check_kv,
    "per token, per layer, per key/value head: one key of d_head numbers and one value of d_head numbers. "
    "One of the arguments is not needed.",
    _kv_solution,
    "n_heads is the argument you do not need: queries are never cached, because each is used once, at its "
    "own step. For a 32-layer model with 32 heads of 128 in 16-bit numbers that is half a mebibyte per token.")


# --- 3. one cached decoding step ------------------------------------------------------------------

def _step_solution(q_new, k_new, v_new, k_cache, v_cache):
    k_cache = torch.cat([k_cache, k_new], dim=0)              # (t + 1, d_k): the new token's key joins the cache
    v_cache = torch.cat([v_cache, v_new], dim=0)              # (t + 1, d_v)
    scores = q_new @ k_cache.T / math.sqrt(q_new.shape[-1])   # (1, t + 1): one query against every key so far
    weights = torch.softmax(scores, dim=-1)                   # (1, t + 1)
    return weights @ v_cache, k_cache, v_cache                # (1, d_v), (t + 1, d_k), (t + 1, d_v)


def _check_step(fn):
    for seed, n, d_k, d_v in ((0, 6, 4, 3), (1, 9, 8, 8), (2, 4, 2, 5)):
        g = torch.Generator().manual_seed(seed)
        q = torch.randn(n, d_k, generator=g, dtype=torch.float64)             # (n, d_k)
        k = torch.randn(n, d_k, generator=g, dtype=torch.float64)             # (n, d_k)
        v = torch.randn(n, d_v, generator=g, dtype=torch.float64)             # (n, d_v)
        expected = attention(q, k, v, causal=True).output                     # (n, d_v)
        k_cache = torch.zeros(0, d_k, dtype=torch.float64)                    # (0, d_k): nothing cached yet
        v_cache = torch.zeros(0, d_v, dtype=torch.float64)                    # (0, d_v)
        for t in range(n):
            out = call(fn, q[t:t + 1], k[t:t + 1], v[t:t + 1], k_cache, v_cache, what="your cached_step")
            if not isinstance(out, (tuple, list)) or len(out) != 3:
                raise Wrong("cached_step should return three things (output, k_cache, v_cache), got "
                            f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
            o, k_cache, v_cache = out
            if not all(isinstance(c, torch.Tensor) for c in (k_cache, v_cache)):
                raise Wrong("return the updated caches as tensors, so the next step can use them")
            if k_cache.shape[0] != t + 1 or v_cache.shape[0] != t + 1:
                raise Wrong(f"after step {t + 1} the caches should hold {t + 1} tokens, yours hold "
                            f"{k_cache.shape[0]} keys and {v_cache.shape[0]} values: append the new key and value "
                            "(and return the longer caches)")
            o = as_array(o, f"your output at step {t + 1}")
            if o.size == d_v and o.shape != (1, d_v):
                o = o.reshape(1, d_v)
            expect_shape(o, (1, d_v), f"your output at step {t + 1}")
            want = expected[t:t + 1].numpy()
            if np.allclose(o, want, atol=1e-6):
                continue
            if t > 0:
                past = attention(q[t:t + 1], k[:t], v[:t]).output.numpy()
                if np.allclose(o, past, atol=1e-6):
                    raise Wrong(f"at step {t + 1} your query attends only to the earlier tokens: append the new "
                                "key and value to the cache BEFORE attending, so a token also sees itself")
            unscaled = attention(q[t:t + 1], k[:t + 1], v[:t + 1], scale=1.0).output.numpy()
            if d_k > 1 and np.allclose(o, unscaled, atol=1e-6):
                raise Wrong(f"at step {t + 1} your scores are not scaled: divide q·k by √d_k = {math.sqrt(d_k):.3f}")
            expect_close(o, want, f"your output at step {t + 1}", atol=1e-6)
    return "step by step, the cache gives exactly the rows of full causal attention"


cached_step = Exercise(
    CHAPTER, "cached_step",
    "write cached_step(q_new, k_new, v_new, k_cache, v_cache) -> (output, k_cache, v_cache): one decoding "
    "step of a single head with a key/value cache",
    _check_step,
    "first append k_new and v_new to the caches (torch.cat along dim 0); then the new query attends to every "
    "cached key, its own included: softmax(q_new·k_cacheᵀ/√d_k)·v_cache.",
    _step_solution,
    "Nothing about the earlier tokens is recomputed: their keys and values cannot change, because causal "
    "attention never lets them see the tokens that come after.")


# --- 4. the margin a relevant token needs ---------------------------------------------------------

N_NEEDLE = 1_000_000


def _check_margin(answer):
    got = float(as_array(answer, "your margin"))
    expected = float(cost.margin_needed(N_NEEDLE, 0.5))
    if abs(got - expected) <= 0.01:
        return f"m = log(n − 1) + σ²/2 ≈ {expected:.2f}: a million keys need a margin of about 14 to keep half the attention"
    if abs(got - math.log(N_NEEDLE)) <= 0.01:
        raise Wrong(f"{got:.3f} is log n. The distractors' scores are random with σ = 1, and e^z averages "
                    "e^{σ²/2}, not 1: add σ²/2")
    if abs(got - math.log10(N_NEEDLE)) <= 0.01 or abs(got - math.log2(N_NEEDLE)) <= 0.01:
        raise Wrong(f"{got:.3f}: softmax uses e^x, so take the natural logarithm (np.log), not log10 or log2")
    raise Wrong(f"your margin is {got:.3f}; set e^m equal to the distractors' total weight (n − 1)·e^(σ²/2) "
                "and solve for m")


needle_margin = Exercise(
    CHAPTER, "needle_margin",
    f"how large a score margin m must one relevant key have to keep half the attention among n = {N_NEEDLE:,} "
    "keys, when the other n − 1 scores are random with σ = 1?",
    _check_margin,
    "the relevant key gets e^m / (e^m + Σ e^{z_j}). The sum over n − 1 distractors is close to (n − 1)·e^{σ²/2}. "
    "Half the attention means e^m equals that sum.",
    "margin = np.log(1_000_000 - 1) + 1.0 ** 2 / 2",
    "The margin needed grows like log n: every tenfold longer context asks the model for log 10 ≈ 2.3 more "
    "units of score separation, just to stay equally focused.")
