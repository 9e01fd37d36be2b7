"""Exercises for chapter 9 (efficient attention).

    from selfattn.exercises import ch09 as ex
    ex.merge_partials.check(merge)
"""
from __future__ import annotations

import math

import torch

from ..explore import efficient as E
from ..masks import window as window_mask
from ._core import Exercise, NotAttempted, Wrong, as_array, call, expect_close

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


# --- 3. predict: how sharply does each kind of attention fetch one stored key? ------------------

RECALL_SETTING = {"n_keys": 256, "d_k": 16, "sharpness": 3.0}


def recall_truth() -> tuple[float, float]:
    """(softmax, linear) average weight on the right key in the recall experiment of section 9.5."""
    r = E.retrieval_report(RECALL_SETTING["n_keys"], d_k=RECALL_SETTING["d_k"], sharpness=RECALL_SETTING["sharpness"])
    return r.softmax_weight, r.linear_weight


def _check_recall_prediction(answer):
    if callable(answer):
        answer = answer()
    if answer is None or answer is ...:
        raise NotAttempted
    got = as_array(answer, "your prediction").reshape(-1)
    if got.shape != (2,):
        raise Wrong("give two numbers: (weight softmax attention puts on the right key, weight linear attention puts on it)")
    soft, lin = (float(x) for x in got)
    true_soft, true_lin = recall_truth()
    n = RECALL_SETTING["n_keys"]
    if not (0 <= soft <= 1 and 0 <= lin <= 1):
        raise Wrong("a weight is a share of one row of weights: it lies between 0 and 1")
    if lin > 0.3:
        raise Wrong(f"you expected linear attention to fetch the key almost as well as softmax ({lin:.2f}); with "
                    f"φ = elu + 1 the similarity grows only linearly with q·k, so the right key's weight stays close "
                    f"to the uniform 1/{n} = {1 / n:.4f} (it is {true_lin:.4f})")
    if soft < 0.3:
        raise Wrong(f"you expected softmax attention to spread its weight ({soft:.2f}); exp turns the right key's "
                    f"margin of about {RECALL_SETTING['sharpness']:g}·√d_k in score into a factor of thousands, so it "
                    f"gets {true_soft:.2f} of the weight")
    if abs(soft - true_soft) > 0.25 or not (true_lin / 4 <= lin <= 4 * true_lin):
        raise Wrong(f"close in kind but not in size: the measured weights are {true_soft:.2f} (softmax) and "
                    f"{true_lin:.4f} (linear); linear attention is within a small factor of 1/{n}")
    return (f"softmax puts {true_soft:.2f} of its weight on the right key, linear attention {true_lin:.4f}, "
            f"barely more than the uniform 1/{n}: a fixed feature map cannot make one key stand out")


recall_prediction = Exercise(
    CHAPTER, "recall_prediction",
    f"predict, before the experiment runs, (softmax weight, linear weight) on the right key when a query equals one of "
    f"{RECALL_SETTING['n_keys']} stored keys (d_k = {RECALL_SETTING['d_k']}, queries scaled by "
    f"{RECALL_SETTING['sharpness']:g})",
    _check_recall_prediction,
    "the right key scores about sharpness·√d_k = 12 and every other key about N(0, 9). Softmax compares exp(12) "
    "with 255 terms of size about exp(4.5); elu + 1 turns a score into a number that grows like the score itself.",
    "(0.9, 0.005)  # softmax: most of the weight; linear: about 1/256")


# --- 4. design: a pattern that connects every pair in two layers -------------------------------

DESIGN_N = 32
DESIGN_MAX_DENSITY = 0.15


def _design_solution(n):
    # one global token: it gathers from everyone in layer 1, everyone reads it in layer 2
    return E.local_global_random_mask(n, 1, n_global=1, causal=False)


def _check_design(answer):
    mask = call(answer, DESIGN_N, what="your design") if callable(answer) else answer
    if mask is None or mask is ...:
        raise NotAttempted
    m = as_array(mask, "your mask")
    if m.shape != (DESIGN_N, DESIGN_N):
        raise Wrong(f"the mask should have shape (n, n) = ({DESIGN_N}, {DESIGN_N}), got {m.shape}")
    m = torch.as_tensor(m).bool()
    density = E.density(m)
    depth = E.depth_to_full_context(m, causal=False)
    if density > DESIGN_MAX_DENSITY:
        how = " (that is full attention)" if bool(m.all()) else ""
        raise Wrong(f"your pattern has density {density:.3f}{how}; the budget is {DESIGN_MAX_DENSITY}: "
                    f"at most {int(DESIGN_MAX_DENSITY * DESIGN_N ** 2)} of the {DESIGN_N ** 2} scores")
    if depth is None or depth > 2:
        full_rows = [i for i in range(DESIGN_N) if bool(m[i].all())]
        full_cols = [j for j in range(DESIGN_N) if bool(m[:, j].all())]
        if full_rows and not set(full_rows) & set(full_cols):
            raise Wrong(f"token {full_rows[0]} sees every key, but no query sees it back: a global token needs a full "
                        "row (it gathers) and a full column (everyone reads it)")
        layers = "never" if depth is None else f"only after {depth} layers"
        raise Wrong(f"every pair is connected {layers}; a window alone reaches about w − 1 positions per layer, "
                    "so two layers cannot span 32 tokens without a token that everyone sees")
    return (f"density {density:.3f}, every pair connected in {depth} layer(s): a global token is a hub, which is "
            "why Longformer and BigBird add them")


design_pattern = Exercise(
    CHAPTER, "design_pattern",
    f"write design(n) -> a bidirectional (n, n) bool mask which, for n = {DESIGN_N}, has density at most "
    f"{DESIGN_MAX_DENSITY} and lets information from every token reach every other token within 2 layers",
    _check_design,
    "E.local_global_random_mask(n, window, n_global=..., causal=False) builds window + global patterns; "
    "E.density(mask) and E.depth_to_full_context(mask, causal=False) tell you how you are doing.",
    _design_solution)


# --- 5. debug: an online softmax that forgets a rescale ------------------------------------------

def buggy_online_attention(scores, values, block_size):
    """softmax(scores) @ values read one key block at a time (scores (n_q, n_k), values (n_k, d_v)). It has a bug."""
    n_q, n_k = scores.shape
    m = torch.full((n_q, 1), -math.inf, dtype=scores.dtype)       # running max
    l_sum = torch.zeros(n_q, 1, dtype=scores.dtype)               # running sum of exp(s - m)
    acc = torch.zeros(n_q, values.shape[1], dtype=scores.dtype)   # running sum of exp(s - m) v
    for j0 in range(0, n_k, block_size):
        s = scores[:, j0:j0 + block_size]                         # (n_q, block)
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))    # (n_q, 1)
        p = torch.exp(s - m_new)                                  # (n_q, block)
        l_sum = l_sum * torch.exp(m - m_new) + p.sum(dim=-1, keepdim=True)
        acc = acc + p @ values[j0:j0 + block_size]                # (n_q, d_v)
        m = m_new
    return acc / l_sum                                            # (n_q, d_v)


def _online_solution(scores, values, block_size):
    n_q, n_k = scores.shape
    m = torch.full((n_q, 1), -math.inf, dtype=scores.dtype)
    l_sum = torch.zeros(n_q, 1, dtype=scores.dtype)
    acc = torch.zeros(n_q, values.shape[1], dtype=scores.dtype)
    for j0 in range(0, n_k, block_size):
        s = scores[:, j0:j0 + block_size]
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        alpha = torch.exp(m - m_new)                              # the bug: acc must be rescaled like l_sum
        p = torch.exp(s - m_new)
        l_sum = l_sum * alpha + p.sum(dim=-1, keepdim=True)
        acc = acc * alpha + p @ values[j0:j0 + block_size]
        m = m_new
    return acc / l_sum


def _check_online(fn):
    for seed, spread, block in ((0, 1.0, 3), (1, 3.0, 4), (2, 1000.0, 5)):
        g = torch.Generator().manual_seed(seed)
        n_q, n_k, d_v = 4, 13, 3
        s = spread * torch.randn(n_q, n_k, generator=g, dtype=torch.float64)            # (n_q, n_k)
        s[:, -1] = s.amax(dim=-1) + 1.0                           # the max grows in the last block: a rescale is needed
        v = torch.randn(n_k, d_v, generator=g, dtype=torch.float64)                      # (n_k, d_v)
        got = as_array(call(fn, s.clone(), v.clone(), block, what="your online_attention"), "your output")
        expected = torch.softmax(s, dim=-1) @ v                                          # (n_q, d_v)
        if got.shape != tuple(expected.shape):
            raise Wrong(f"the output should have shape (n_q, d_v) = {tuple(expected.shape)}, got {got.shape}")
        got_t = torch.as_tensor(got, dtype=torch.float64)
        if not bool(torch.isfinite(got_t).all()):
            raise Wrong(f"with scores as large as ±{spread:.0f} your output is inf or NaN: take exp only of s − m_new "
                        "and of m − m_new, both at most 0")
        if torch.allclose(got_t, expected, atol=1e-6):
            continue
        if torch.allclose(got_t, buggy_online_attention(s, v, block), atol=1e-6):
            raise Wrong("the output still matches the buggy version: when the max grows, acc (the sum of "
                        "exp(s − m)·v) is a sum against the old max too and needs the same factor exp(m − m_new) as l")
        raise Wrong(f"for block_size={block} your output differs from softmax(scores) @ values by up to "
                    f"{float((got_t - expected).abs().max()):.3g}; every running sum must be re-expressed against "
                    "the new max by the factor exp(m − m_new), at most 1")
    return "l and acc are both sums against the running max: both take the factor exp(m − m_new) when it moves"


fix_online_softmax = Exercise(
    CHAPTER, "fix_online_softmax",
    "ex.buggy_online_attention(scores, values, block_size) gives wrong outputs whenever a later block holds a larger "
    "score; copy it as online_attention and fix it",
    _check_online,
    "compare what happens to l_sum and to acc when m_new > m. Both are sums of exp(s_j − m) terms.",
    _online_solution)


# --- 6. pick a window that meets a constraint ---------------------------------------------------

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


# --- 7. linear attention as a recurrence ------------------------------------------------------

def _linear_recurrent_solution(q, k, v):
    phi_q = torch.nn.functional.elu(q) + 1                  # (n, d_k), every entry > 0
    phi_k = torch.nn.functional.elu(k) + 1                  # (n, d_k)
    state = torch.zeros(q.shape[1], v.shape[1], dtype=q.dtype)   # H = Σ φ(k_j) v_jᵀ, (d_k, d_v)
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
            raise Wrong("your outputs are not normalised: divide φ(q_i)·H by φ(q_i)·z, where z = Σ φ(k_j), so each "
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
    "keeping only the state H = Σ φ(k_j) v_jᵀ and z = Σ φ(k_j)",
    _check_linear_recurrent,
    "loop over i: add φ(k_i) v_iᵀ to H and φ(k_i) to z, then output φ(q_i)·H / φ(q_i)·z. torch.outer builds φ(k_i) v_iᵀ.",
    _linear_recurrent_solution,
    "Each step costs O(d_k·d_v) no matter how long the sequence is: this is why linear attention decodes like an "
    "RNN, and why state-space models such as Mamba are close relatives.")

__all__ = ["merge_partials", "reachable", "recall_prediction", "design_pattern", "fix_online_softmax",
           "buggy_online_attention", "smallest_window", "linear_recurrent"]
