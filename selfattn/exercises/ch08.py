"""Exercises for chapter 8 (the cost of attention).

    from selfattn.exercises import ch08 as ex
    ex.predict_peak_memory.check(my_peak_mib)      # predict, then the next cell measures
    ex.kv_heads_for_budget.check(n_kv_heads)       # design
    ex.cached_step.check(cached_step)              # implement
    ex.gqa_attention.check(gqa_attention)          # debug
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..attention import attention
from ._core import Exercise, Wrong, as_array, call, expect_close, expect_shape

CHAPTER = "ch08"


# --- 1. predict, then measure: the memory of naive attention -----------------------------------

N_PREDICT = 4096
D_PREDICT = 64


def naive_peak_bytes(n: int, d: int) -> int:
    """Peak bytes of cost.naive_attention on one float32 head: scores and weights (n×n each) and the output (n×d),
    all alive at once."""
    return 2 * n * n * 4 + n * d * 4


def _check_peak(answer):
    got = float(as_array(answer, "your prediction"))
    want = naive_peak_bytes(N_PREDICT, D_PREDICT) / 2 ** 20                  # 129 MiB
    if abs(got - want) <= 0.1 * want:
        return (f"{want:.0f} MiB: two {N_PREDICT:,}×{N_PREDICT:,} float32 matrices of 64 MiB and a 1 MiB output. "
                "From n = 2,048 (32.5 MiB) doubling n multiplied it by 4")
    if abs(got - 64) <= 0.3 or abs(got - 32) <= 0.3:
        raise Wrong(f"{got:g} MiB counts one n×n matrix (or half of one): at the moment the softmax runs, its "
                    "input (the scores) and its output (the weights) both exist, 64 MiB each in float32")
    if abs(got - 65) <= 3:
        raise Wrong(f"{got:g} MiB is about what doubling the n = 2,048 peak gives: memory of an n×n matrix grows "
                    "with n², so doubling n multiplies it by 4, not 2")
    if abs(got - want / 2) <= 0.1 * want / 2:
        raise Wrong(f"{got:g} MiB: did you count 2 bytes per number? These are float32 tensors, 4 bytes each")
    if abs(got - want * 2 ** 20 / 1e6) <= 0.02 * want:
        return f"{want:.0f} MiB (you gave it in MB, 10⁶ bytes; the book uses MiB, 2²⁰ bytes): right otherwise"
    raise Wrong(f"your prediction is {got:g} MiB. Start from the table: at n = 2,048 the naive peak was 32.5 MiB; "
                "what does doubling n do to an n×n matrix?")


predict_peak_memory = Exercise(
    CHAPTER, "predict_peak_memory",
    f"before the next cell measures it: how many MiB will naive attention's tensors hold at their peak for one "
    f"head at n = {N_PREDICT:,}, d_head = {D_PREDICT}, float32?",
    _check_peak,
    "the table above has the peak at n = 2,048. Which part of it grows like n², and which like n?",
    f"my_peak_mib = {naive_peak_bytes(N_PREDICT, D_PREDICT) / 2 ** 20:g}",
    "Memory, not arithmetic, is what stops naive attention first: the next doubling, n = 8,192, needs half a "
    "gibibyte for a single head.")


# --- 2. design: how many key/value heads fit the budget ------------------------------------------

BUDGET_GIB = 24
BUDGET_SEQUENCES, BUDGET_TOKENS = 16, 8192
BUDGET_SHAPE = dict(n_layers=32, n_heads=32, d_head=128, bytes_per_number=2)


def _budget_bytes(n_kv_heads: int) -> int:
    b = BUDGET_SHAPE
    return (2 * b["n_layers"] * n_kv_heads * b["d_head"] * b["bytes_per_number"]
            * BUDGET_SEQUENCES * BUDGET_TOKENS)


def _budget_solution() -> int:
    fits = [h for h in range(1, BUDGET_SHAPE["n_heads"] + 1)
            if BUDGET_SHAPE["n_heads"] % h == 0 and _budget_bytes(h) <= BUDGET_GIB * 2 ** 30]
    return max(fits)


def _check_budget(answer):
    got = as_array(answer, "your n_kv_heads")
    if got.size != 1 or float(got) != int(float(got)) or int(float(got)) < 1:
        raise Wrong(f"give one whole number of key/value heads, got {answer!r}")
    h = int(float(got))
    heads = BUDGET_SHAPE["n_heads"]
    size = _budget_bytes(h) / 2 ** 30
    if heads % h:
        raise Wrong(f"{h} does not divide n_heads = {heads}: every key/value head serves a group of query heads, "
                    "and the groups must be the same size")
    if size > BUDGET_GIB:
        raise Wrong(f"with {h} key/value heads the cache is {size:g} GiB, over the {BUDGET_GIB} GiB budget. "
                    "Remember that K and V are both stored (the factor 2) and that every sequence has its own")
    best = _budget_solution()
    if h < best:
        raise Wrong(f"{h} fits ({size:g} GiB), but a larger number does too; find the largest that fits: more "
                    "key/value heads keep the model closer to full multi-head attention")
    return (f"{h} key/value heads: {size:g} GiB for {BUDGET_SEQUENCES} sequences of {BUDGET_TOKENS:,} tokens "
            f"(each key/value head costs {_budget_bytes(1) / 2 ** 30:g} GiB); 12 would fit the bytes but not the groups")


kv_heads_for_budget = Exercise(
    CHAPTER, "kv_heads_for_budget",
    f"design the attention of a 32-layer decoder with 32 query heads of d_head = 128 in 16-bit numbers: the "
    f"largest n_kv_heads whose cache for {BUDGET_SEQUENCES} sequences of {BUDGET_TOKENS:,} tokens fits in "
    f"{BUDGET_GIB} GiB",
    _check_budget,
    "one key/value head costs 2 (K and V) · n_layers · d_head · bytes per number per token; multiply by the "
    "tokens of all sequences. Then keep only numbers that divide 32.",
    "n_kv_heads = 8",
    "This is the trade grouped-query attention offers: Ainslie et al. (2023) found 8 key/value heads close to "
    "full multi-head quality.")


# --- 3. debug: grouped-query attention ----------------------------------------------------------

def _gqa_solution(q, k, v):
    """q: (n_heads, n, d_head); k, v: (n_kv_heads, n, d_head). Query head h uses key/value head h // group."""
    group = q.shape[0] // k.shape[0]
    k = k.repeat_interleave(group, dim=0)              # (n_heads, n, d_head): kv head 0 for heads 0..group-1, ...
    v = v.repeat_interleave(group, dim=0)              # (n_heads, n, d_head)
    return attention(q, k, v, causal=True).output      # (n_heads, n, d_head)


def _gqa_reference(q, k, v):
    group = q.shape[0] // k.shape[0]
    return torch.stack([attention(q[h], k[h // group], v[h // group], causal=True).output
                        for h in range(q.shape[0])])   # (n_heads, n, d_head)


def _check_gqa(fn):
    g = torch.Generator().manual_seed(5)
    n_heads, n_kv_heads, n, d_head = 4, 2, 6, 8
    q = torch.randn(n_heads, n, d_head, generator=g, dtype=torch.float64)
    k = torch.randn(n_kv_heads, n, d_head, generator=g, dtype=torch.float64)
    v = torch.randn(n_kv_heads, n, d_head, generator=g, dtype=torch.float64)
    got = as_array(call(fn, q, k, v, what="gqa_attention"), "your output")
    expect_shape(got, (n_heads, n, d_head), "your output")
    want = _gqa_reference(q, k, v).numpy()
    if np.allclose(got, want, atol=1e-9):
        return "query heads 0 and 1 share key/value head 0, heads 2 and 3 share head 1, as MultiHeadAttention folds them"
    tiled = torch.stack([attention(q[h], k[h % n_kv_heads], v[h % n_kv_heads], causal=True).output
                         for h in range(n_heads)]).numpy()
    if np.allclose(got, tiled, atol=1e-9):
        raise Wrong("query head 1 is using key/value head 1: .repeat tiles the heads (0, 1, 0, 1), but query "
                    "head h belongs to group h // (n_heads / n_kv_heads), which needs (0, 0, 1, 1): "
                    ".repeat_interleave(group, dim=0)")
    full = torch.stack([attention(q[h], k[h // 2], v[h // 2]).output for h in range(n_heads)]).numpy()
    if np.allclose(got, full, atol=1e-9):
        raise Wrong("the heads are grouped right, but the causal mask is gone: a decoder's query may not see "
                    "later keys (causal=True)")
    raise Wrong("your output differs from grouped-query attention; compare query head h with key/value head "
                "h // group, one head at a time")


gqa_attention = Exercise(
    CHAPTER, "gqa_attention",
    "find and fix the bug in gqa_attention(q, k, v): query heads (n_heads, n, d_head) share key/value heads "
    "(n_kv_heads, n, d_head) in groups",
    _check_gqa,
    "print which key/value head each query head ends up with after k.repeat(group, 1, 1), for n_heads = 4, "
    "n_kv_heads = 2. Which heads should share?",
    _gqa_solution,
    "Copying keys per query head is also what the chapter warns against for memory; MultiHeadAttention folds "
    "each group's query heads into the query axis instead, which gives the same numbers without the copy.")


# --- 4. one cached decoding step ------------------------------------------------------------------

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
