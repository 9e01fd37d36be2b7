"""Exercises for chapter 9 (efficient attention).

    from selfattn.exercises import ch09 as ex
    ex.merge_partials.check(merge)
"""
from __future__ import annotations

import math

import torch

from ..explore import efficient as E
from ..masks import window as window_mask
from ._core import Exercise, Wrong, as_array, call, expect_close

CHAPTER = "ch09"


# --- 1. one online-softmax step: merge two partial results ------------------------------------

def _partial(scores: torch.Tensor, values: torch.Tensor):
    """(m, l, o) of softmax attention over a subset of keys: max, sum of exp(s - m), normalised output."""
    m = scores.amax(dim=-1, keepdim=True)                                   # (n_q, 1)
    p = torch.exp(scores - m)                                               # (n_q, n_part)
    l_sum = p.sum(dim=-1, keepdim=True)                                     # (n_q, 1)
    return m, l_sum, (p @ values) / l_sum                                   # (n_q, d_v)


def _merge_solution(m_a, l_a, o_a, m_b, l_b, o_b):
    m = torch.maximum(m_a, m_b)                     # the new running max
    a = torch.exp(m_a - m) * l_a                    # part A's sum, re-expressed against the new max
    b = torch.exp(m_b - m) * l_b                    # part B's sum, likewise
    l_sum = a + b
    o = (a * o_a + b * o_b) / l_sum                 # each part's output weighted by its share of the total
    return m, l_sum, o


def _check_merge(fn):
    for seed, spread, split in ((0, 2.0, 3), (1, 5.0, 7), (2, 400.0, 5)):
        g = torch.Generator().manual_seed(seed)
        n_q, n_k, d_v = 4, 11, 3
        s = spread * torch.randn(n_q, n_k, generator=g, dtype=torch.float64)    # (n_q, n_k)
        v = torch.randn(n_k, d_v, generator=g, dtype=torch.float64)              # (n_k, d_v)
        part_a, part_b = _partial(s[:, :split], v[:split]), _partial(s[:, split:], v[split:])
        m_full, l_full, o_full = _partial(s, v)
        out = call(fn, *part_a, *part_b, what="your merge")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Wrong(f"merge should return three things (m, l, o), got {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        m, l_sum, o = (as_array(x, name) for x, name in zip(out, ("m", "l", "o")))
        if not (math.isfinite(float(abs(o).sum())) and math.isfinite(float(abs(l_sum).sum()))):
            raise Wrong(f"with scores as large as ±{spread:.0f} your l or o overflowed to inf/NaN: never take exp of a "
                        "score or a max on its own; use exp(m_a − m) and exp(m_b − m), which are at most 1")
        expect_close(m, m_full, "your m (the running max)")
        naive = (part_a[1] * part_a[2] + part_b[1] * part_b[2]) / (part_a[1] + part_b[1])
        average = (part_a[2] + part_b[2]) / 2
        if o.shape == tuple(o_full.shape) and not torch.allclose(torch.as_tensor(o), o_full, atol=1e-6):
            if torch.allclose(torch.as_tensor(o), naive, atol=1e-6):
                raise Wrong("your o mixes o_a and o_b in proportion l_a : l_b, but l_a and l_b are sums against "
                            "different maxima; rescale them first: l_a·exp(m_a − m) and l_b·exp(m_b − m)")
            if torch.allclose(torch.as_tensor(o), average, atol=1e-6):
                raise Wrong("your o is the plain average of o_a and o_b; the two parts must be weighted by how much "
                            "softmax mass each holds, l_a·exp(m_a − m) and l_b·exp(m_b − m)")
        expect_close(l_sum, l_full, "your l (Σ exp(s_j − m) over both parts)", rtol=1e-6)
        expect_close(o, o_full, "your o (the merged output)", atol=1e-6)
    return "merging two partial results gives exactly the softmax over all keys, even with huge scores"


merge_partials = Exercise(
    CHAPTER, "merge_partials",
    "write merge(m_a, l_a, o_a, m_b, l_b, o_b) -> (m, l, o): the online-softmax step that combines two partial results",
    _check_merge,
    "the new max is m = max(m_a, m_b). A sum taken against m_a becomes a sum against m when multiplied by "
    "exp(m_a − m). The merged output is the average of o_a and o_b weighted by those rescaled sums.",
    _merge_solution,
    "This is the whole trick of tiled and Flash attention: keep (m, l, o) per query and merge in one key block at a "
    "time, so the n×n matrix never exists. The same merge combines results computed on different cores.")


# --- 2. the receptive field of a causal window grows with depth --------------------------------

def _reachable_solution(n, window, n_layers, query):
    # each layer lets a position gather from the window - 1 positions before it, so L layers reach back L·(window - 1)
    first = max(0, query - n_layers * (window - 1))
    return set(range(first, query + 1))


def _check_reachable(fn):
    cases = [(16, 3, 1, 10), (16, 3, 2, 10), (16, 4, 3, 15), (12, 2, 5, 11), (20, 5, 2, 3), (9, 1, 4, 6),
             (30, 6, 0, 20)]
    for n, w, layers, query in cases:
        got = call(fn, n, w, layers, query, what="your reachable")
        try:
            got_set = {int(j) for j in got}
        except (TypeError, ValueError):
            raise Wrong(f"reachable should return a set (or list) of positions, got {type(got).__name__}") from None
        reach = E.receptive_field(window_mask(n, w), layers)[query]
        expected = set(reach.nonzero().flatten().tolist())
        if got_set == expected:
            continue
        too_far = set(range(max(0, query - layers * w), query + 1))
        where = f"for n={n}, window={w}, n_layers={layers}, query={query}"
        if got_set == too_far:
            raise Wrong(f"{where} you reach back {layers}·{w} positions; the window includes the query itself, so "
                        f"each layer adds only window − 1 = {w - 1} new positions")
        if any(j < 0 for j in got_set):
            raise Wrong(f"{where} your set contains negative positions; there is nothing before position 0")
        if any(j > query for j in got_set):
            raise Wrong(f"{where} your set contains positions after the query; a causal window never looks ahead")
        raise Wrong(f"{where} expected positions {min(expected)}..{max(expected)} ({len(expected)} of them), "
                    f"got {sorted(got_set)[:6]}{'...' if len(got_set) > 6 else ''} ({len(got_set)} of them)")
    return "after L layers a causal window of w reaches L·(w − 1) positions back: depth buys context"


reachable = Exercise(
    CHAPTER, "reachable",
    "write reachable(n, window, n_layers, query) -> the set of positions whose information can reach `query` "
    "after n_layers causal sliding-window layers",
    _check_reachable,
    "one layer: query i sees i-window+1..i. Two layers: each of those saw window - 1 positions further back. "
    "Clip at position 0.",
    _reachable_solution,
    "The same arithmetic explains Mistral-style models: a 4,096-token window and 32 layers give a theoretical "
    "reach of about 131k tokens, although information fades along such long chains.")


# --- 3. how many scores does a window compute? -----------------------------------------------

def _window_entries_solution(n, window):
    w = min(window, n)
    # queries 0..w-1 see 1..w keys (a triangle); the remaining n - w queries see w keys each
    return w * (w + 1) // 2 + (n - w) * w


def _check_window_entries(fn):
    for n, w in ((10, 3), (16, 16), (1024, 256), (5, 9), (7, 1), (16_384, 256)):
        got = call(fn, n, w, what="your window_entries")
        expected = E.window_entries(n, w)
        try:
            got_int = int(got)
        except (TypeError, ValueError):
            raise Wrong(f"window_entries should return a number, got {type(got).__name__}") from None
        if got_int == expected and float(got) == expected:
            continue
        where = f"for n={n}, window={w}"
        if got_int == n * w:
            raise Wrong(f"{where} you returned n·window = {n * w}; the first window − 1 queries have fewer than "
                        f"window keys before them (query 0 sees only itself), so the answer is {expected}")
        raise Wrong(f"{where} expected {expected} scores (the True entries of masks.window({n}, {w})), got {got}")
    return "a window computes about n·w scores, not n²/2: at n = 16,384 and w = 256 that is 3.1% of what causal attention computes"


window_entries = Exercise(
    CHAPTER, "window_entries",
    "write window_entries(n, window) -> the number of scores a causal sliding window computes",
    _check_window_entries,
    "query i sees min(i + 1, window) keys. Add that up over i = 0..n-1, or count masks.window(n, window) to check yourself.",
    _window_entries_solution)


# --- 4. pick a window that meets a constraint ---------------------------------------------------

def _smallest_window_solution(n, n_layers):
    # the last token must reach the first: n_layers·(window - 1) >= n - 1
    return 1 + math.ceil((n - 1) / n_layers)


def _check_smallest_window(fn):
    for n, layers in ((1024, 4), (16, 3), (4096, 32), (100, 1), (9, 8), (2, 5)):
        got = call(fn, n, layers, what="your smallest_window")
        try:
            got_int = int(got)
        except (TypeError, ValueError):
            raise Wrong(f"smallest_window should return an integer, got {type(got).__name__}") from None
        expected = _smallest_window_solution(n, layers)
        where = f"for n={n}, n_layers={layers}"
        if got_int == expected:
            continue
        reach = layers * (got_int - 1)
        if got_int < expected:
            raise Wrong(f"{where} a window of {got_int} reaches {layers}·({got_int} − 1) = {reach} positions back, "
                        f"but the last token is {n - 1} positions after the first")
        raise Wrong(f"{where} a window of {got_int} works, but a smaller one does too ({expected}): "
                    f"{layers}·({expected} − 1) = {layers * (expected - 1)} >= {n - 1}")
    return "n_layers·(w − 1) >= n − 1: the smallest window that lets the first token reach the last"


smallest_window = Exercise(
    CHAPTER, "smallest_window",
    "write smallest_window(n, n_layers) -> the smallest causal window with which information from the first token "
    "can reach the last token after n_layers layers",
    _check_smallest_window,
    "use the answer to `reachable`: after L layers the reach is L·(window − 1) positions back. The first token is "
    "n − 1 positions before the last.",
    _smallest_window_solution)


# --- 5. linear attention as a recurrence ------------------------------------------------------

def _linear_recurrent_solution(q, k, v):
    phi_q = torch.nn.functional.elu(q) + 1                  # (n, d_k), every entry > 0
    phi_k = torch.nn.functional.elu(k) + 1                  # (n, d_k)
    state = torch.zeros(q.shape[1], v.shape[1], dtype=q.dtype)   # S = Σ φ(k_j) v_jᵀ, (d_k, d_v)
    norm = torch.zeros(q.shape[1], dtype=q.dtype)                # z = Σ φ(k_j), (d_k,)
    rows = []
    for i in range(q.shape[0]):
        state = state + torch.outer(phi_k[i], v[i])         # add token i before reading: it may see itself
        norm = norm + phi_k[i]
        rows.append((phi_q[i] @ state) / (phi_q[i] @ norm))  # (d_v,)
    return torch.stack(rows)                                # (n, d_v)


def _check_linear_recurrent(fn):
    g = torch.Generator().manual_seed(9)
    n, d_k, d_v = 7, 4, 3
    q, k, v = (torch.randn(n, d, generator=g, dtype=torch.float64) for d in (d_k, d_k, d_v))
    got = as_array(call(fn, q.clone(), k.clone(), v.clone(), what="your linear_recurrent"), "your output")
    expected = E.linear_attention_weights(q, k, feature_map="elu", causal=True) @ v       # (n, d_v)
    if got.shape == tuple(expected.shape) and not torch.allclose(torch.as_tensor(got), expected, atol=1e-6):
        phi_q, phi_k = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
        kernel = (phi_q @ phi_k.T).tril()                                                  # (n, n)
        if torch.allclose(torch.as_tensor(got), kernel @ v, atol=1e-6):
            raise Wrong("your outputs are not normalised: divide φ(q_i)·S by φ(q_i)·z, where z = Σ φ(k_j), so each "
                        "query's weights sum to 1")
        strict = kernel.tril(-1)
        total = strict.sum(-1, keepdim=True)
        if torch.allclose(torch.as_tensor(got)[1:], (strict @ v / torch.where(total > 0, total, 1))[1:], atol=1e-6):
            raise Wrong("token i does not see itself: update the state with token i before computing its output")
    expect_close(got, expected, "your output", atol=1e-6)
    return "the recurrence carries a (d_k, d_v) state instead of a growing key/value cache: O(1) memory per token"


linear_recurrent = Exercise(
    CHAPTER, "linear_recurrent",
    "write linear_recurrent(q, k, v): causal linear attention with φ(x) = elu(x) + 1, one token at a time, "
    "keeping only S = Σ φ(k_j) v_jᵀ and z = Σ φ(k_j)",
    _check_linear_recurrent,
    "loop over i: add φ(k_i) v_iᵀ to S and φ(k_i) to z, then output φ(q_i)·S / φ(q_i)·z. torch.outer builds φ(k_i) v_iᵀ.",
    _linear_recurrent_solution,
    "Each step costs O(d_k·d_v) no matter how long the sequence is: this is why linear attention decodes like an "
    "RNN, and why state-space models such as Mamba are close relatives.")

__all__ = ["merge_partials", "reachable", "window_entries", "smallest_window", "linear_recurrent"]
