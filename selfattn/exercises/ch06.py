"""Exercises for chapter 6: multi-head attention.

    from selfattn.exercises import ch06 as ex
    ex.count_parameters.check(answer)
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..attention import attention as _attention
from ..explore import heads as xh
from ._core import Exercise, NotAttempted, Wrong, as_array, call, expect_close, expect_shape, is_placeholder

CHAPTER = "ch06"


def _ints(answer, count: int, what: str):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        vals = tuple(answer)
    except TypeError:
        raise Wrong(f"answer with {what}") from None
    if len(vals) != count:
        raise Wrong(f"answer with {what}: {count} items, got {len(vals)}")
    return vals


# --- 1. predict, then check: shapes ----------------------------------------------------------------

def _check_shapes(answer):
    q_shape, w_shape = _ints(answer, 2, "two shapes: (q after split_heads, weights)")
    try:
        q_shape, w_shape = tuple(int(s) for s in q_shape), tuple(int(s) for s in w_shape)
    except (TypeError, ValueError):
        raise Wrong("each shape should be a tuple of whole numbers, e.g. (3, 8, 10, 8)") from None
    if q_shape == (3, 8, 10, 8) and w_shape == (3, 8, 10, 10):
        return "q: (batch=3, n_heads=8, n=10, d_head=8); weights: (batch=3, n_heads=8, n_q=10, n_k=10)"
    if q_shape == (3, 10, 8, 8):
        raise Wrong("q (3, 10, 8, 8) is the shape before the transpose; split_heads moves the head axis in "
                    "front of the token axis so each head is a separate (n, d_head) matrix")
    if q_shape in ((3, 8, 10, 64), (3, 10, 64)):
        raise Wrong("each head gets d_head = d_model / n_heads = 64 / 8 = 8 features, not all 64")
    if q_shape != (3, 8, 10, 8):
        raise Wrong(f"q after split_heads should be (batch, n_heads, n, d_head); check {q_shape}")
    if w_shape in ((3, 10, 10), (10, 10)):
        raise Wrong("every head has its own attention matrix, so the weights keep a head axis: (batch, n_heads, n_q, n_k)")
    raise Wrong(f"the weights should be (batch, n_heads, n_q, n_k); check {w_shape}")


shapes = Exercise(
    CHAPTER, "shapes",
    "Predict: MultiHeadAttention(d_model=64, n_heads=8) runs on x of shape (3, 10, 64). Give (shape of q after "
    "split_heads, shape of the attention weights it returns) before the next cell prints them.",
    _check_shapes,
    "d_head = d_model / nxh. split_heads turns (batch, n, d_model) into (batch, n_heads, n, d_head); each head "
    "then compares its n queries with its n keys.",
    "shapes_answer = ((3, 8, 10, 8), (3, 8, 10, 10))")


# --- 2. compute by hand: parameter count --------------------------------------------------------

def _check_count(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        got = int(answer)
    except (TypeError, ValueError):
        raise Wrong(f"answer with one whole number, got {answer!r}") from None
    d, h = 512, 8
    if got == 4 * d * d + 4 * d:
        return "4·512² + 4·512 = 1,050,624: four d_model×d_model matrices and four bias vectors"
    if got == 4 * d * d:
        raise Wrong("that counts the weight matrices only; each of the four projections also has a bias of d_model numbers")
    if got in (3 * d * d + 3 * d, 3 * d * d):
        raise Wrong("you left out the output projection W_O, which mixes the concatenated heads back into d_model features")
    if got in (h * (4 * d * d + 4 * d), h * 4 * d * d):
        raise Wrong("the heads do not each have full-size matrices: head i uses d_head = 64 of W_Q's 512 output "
                    "columns, so all heads together still need one d_model×d_model matrix per projection")
    dh = d // h
    if got in (h * 4 * dh * dh, h * 4 * dh * dh + 4 * d, h * 3 * dh * dh):
        raise Wrong("each head's W_Q^i maps all d_model = 512 input features to d_head = 64, so it is 512×64, "
                    "not 64×64")
    raise Wrong(f"{got:,} is not right; count W_Q, W_K, W_V and W_O, each d_model×d_model, plus their biases")


count_parameters = Exercise(
    CHAPTER, "count_parameters",
    "How many trainable numbers does MultiHeadAttention(d_model=512, n_heads=8) hold, biases included?",
    _check_count,
    "There are four projections (W_Q, W_K, W_V, W_O), each from d_model to d_model features, each with a bias. "
    "Does splitting into 8 heads add anything?",
    "n_params = 4 * 512**2 + 4 * 512   # 1,050,624, the same for any n_heads that divides 512")


# --- 3. debug split_heads (the notebook shows a version that reshapes straight to the final shape) --------------------------------------------------------------------

def solution_split_heads(x, n_heads):
    batch, n, d_model = x.shape
    d_head = d_model // n_heads
    x = x.reshape(batch, n, n_heads, d_head)                # (batch, n, n_heads, d_head)
    return x.transpose(1, 2)                                # (batch, n_heads, n, d_head)


def _check_split(fn):
    g = torch.Generator().manual_seed(6)
    for batch, n, d_model, n_heads in ((2, 5, 12, 3), (1, 4, 8, 2), (3, 1, 6, 6)):
        x = torch.randn(batch, n, d_model, generator=g, dtype=torch.float64)
        got = as_array(call(fn, x.clone(), n_heads, what="your split_heads"), "your split_heads output")
        d_head = d_model // n_heads
        expected = x.view(batch, n, n_heads, d_head).transpose(1, 2).numpy()
        if got.shape == (batch, n, n_heads, d_head):
            raise Wrong(f"shape {got.shape} is (batch, n, n_heads, d_head): transpose the token and head axes "
                        "so each head becomes its own (n, d_head) matrix")
        expect_shape(got, expected.shape, f"your split_heads on ({batch}, {n}, {d_model}) with n_heads={n_heads}")
        if np.allclose(got, expected, atol=1e-12):
            continue
        if np.allclose(got, x.reshape(batch, n_heads, n, d_head).numpy(), atol=1e-12):
            raise Wrong("the shape is right but the numbers are in the wrong places: reshaping straight to "
                        "(batch, n_heads, n, d_head) mixes tokens into heads. Reshape to (batch, n, n_heads, d_head) "
                        "first, then swap axes 1 and 2")
        if np.allclose(got, x.view(batch, n, d_head, n_heads).permute(0, 3, 1, 2).numpy(), atol=1e-12):
            raise Wrong("head h should take features h·d_head .. (h+1)·d_head − 1 (a contiguous block), "
                        "but yours takes every n_heads-th feature")
        expect_close(got, expected, "your split_heads output", atol=1e-9, names="(batch, head, token, feature)")
    return "head h of your output holds features h·d_head .. (h+1)·d_head − 1 of every token"


split_heads = Exercise(
    CHAPTER, "split_heads",
    "Debug: buggy_split_heads gives (batch, n_heads, n, d_head) with the wrong numbers. Fix it, so that head h "
    "takes features h·d_head to (h+1)·d_head − 1 of every token.",
    _check_split,
    "Two steps: reshape the last axis d_model into (n_heads, d_head), then transpose so the head axis comes "
    "before the token axis. Reshaping straight to the final shape gives the right shape and the wrong numbers.",
    solution_split_heads)


# --- 4. implement multi-head attention with a loop over heads ------------------------------------

def solution_multi_head_loop(x, w_q, w_k, w_v, w_o, n_heads):
    n, d_model = x.shape
    d_head = d_model // n_heads
    q, k, v = x @ w_q, x @ w_k, x @ w_v                     # (n, d_model) each
    heads = []
    for h in range(n_heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        scores = q[:, cols] @ k[:, cols].T / np.sqrt(d_head)   # (n, n)
        scores = scores - scores.max(axis=1, keepdims=True)
        weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        heads.append(weights @ v[:, cols])                  # (n, d_head)
    return np.concatenate(heads, axis=1) @ w_o              # (n, d_model)


def _reference_loop(x, w_q, w_k, w_v, w_o, n_heads, *, scale=None, project=True):
    n, d_model = x.shape
    d_head = d_model // n_heads
    q, k, v = (torch.from_numpy(x @ w) for w in (w_q, w_k, w_v))
    q = q.view(n, n_heads, d_head).transpose(0, 1)            # (n_heads, n, d_head)
    k = k.view(n, n_heads, d_head).transpose(0, 1)            # (n_heads, n, d_head)
    v = v.view(n, n_heads, d_head).transpose(0, 1)            # (n_heads, n, d_head)
    out = _attention(q, k, v, scale=scale).output             # (n_heads, n, d_head)
    out = out.transpose(0, 1).reshape(n, d_model).numpy()     # (n, d_model)
    return out @ w_o if project else out


def _check_mha_loop(fn):
    g = np.random.default_rng(7)
    for n, d_model, n_heads in ((5, 8, 2), (4, 12, 3), (3, 6, 1)):
        x = g.standard_normal((n, d_model))
        ws = [g.standard_normal((d_model, d_model)) / math.sqrt(d_model) for _ in range(4)]
        got = as_array(call(fn, x.copy(), *[w.copy() for w in ws], n_heads, what="your multi_head"),
                       "your multi-head output")
        expect_shape(got, (n, d_model), f"your output for n={n}, d_model={d_model}")
        expected = _reference_loop(x, *ws, n_heads)
        if np.allclose(got, expected, atol=1e-6):
            continue
        if n_heads > 1 and np.allclose(got, _reference_loop(x, *ws, n_heads, scale=1 / math.sqrt(d_model)), atol=1e-6):
            raise Wrong("your scores are divided by √d_model; inside one head a dot product has d_head terms, so "
                        "divide by √d_head")
        if np.allclose(got, _reference_loop(x, *ws, n_heads, project=False), atol=1e-6):
            raise Wrong("you concatenated the heads but did not apply the output projection W_O")
        if n_heads > 1 and np.allclose(got, _reference_loop(x, *ws, 1), atol=1e-6):
            raise Wrong("this is single-head attention over all d_model features; slice out d_head columns per head")
        expect_close(got, expected, f"your output for n={n}, d_model={d_model}, n_heads={n_heads}", atol=1e-6,
                     names="(token, feature)")
    return "your loop over heads matches selfattn's batched multi-head attention"


multi_head_loop = Exercise(
    CHAPTER, "multi_head_loop",
    "Implement multi_head(x, w_q, w_k, w_v, w_o, n_heads) for x of shape (n, d_model) and (d_model, d_model) "
    "matrices used as x @ W, without biases: project, then for each head slice d_head columns, attend, and "
    "finally concatenate and multiply by w_o.",
    _check_mha_loop,
    "Compute Q, K, V for all heads at once; head h uses columns h·d_head:(h+1)·d_head of each. Scale by "
    "√d_head, softmax each row, multiply by that head's V slice; np.concatenate the heads along axis 1, then @ w_o.",
    solution_multi_head_loop)


# --- 5. design: a head that looks two words back ---------------------------------------------------
DESIGN_TOKENS = tuple(f"w{i}" for i in range(10))      # ten placeholder words: only positions matter here


def _design_solution():
    return xh.POSITION_GAIN * xh.shift_matrix(-2)       # (d_head, d_head): M(-2) turns PE_i into PE_(i-2)


def design_weights(block) -> torch.Tensor:
    """(n, n) weights of head 0 of the hand-built model with its (d_head, d_head) query block replaced."""
    model = xh.hand_built_heads()
    b = torch.as_tensor(np.asarray(block, dtype=np.float32))     # (d_head, d_head)
    rows = slice(0, xh.D_HEAD)
    cols = slice(xh.D_WORD, xh.D_WORD + xh.D_HEAD)   # the 8 fastest position features
    with torch.no_grad():
        model.w_q.weight[rows, cols] = b
        _, weights = model(xh.head_inputs(DESIGN_TOKENS))      # (n_heads, n, n)
    return weights[0]                                            # (n, n)


def _check_design(answer):
    if callable(answer):                                         # a function that builds the block
        answer = call(answer, what="your w_q_block function")
    block = as_array(answer, "your w_q_block")
    expect_shape(block, (xh.D_HEAD, xh.D_HEAD), "your w_q_block (d_head, d_head)")
    if not np.all(np.isfinite(block)):
        raise Wrong("your w_q_block contains NaN or inf")
    w = design_weights(block)                                    # (n, n)
    n = len(DESIGN_TOKENS)
    looks = w.argmax(dim=-1).tolist()                            # (n,)
    peak = w.max(dim=-1).values                                  # (n,)
    rows = range(2, n)
    if all(looks[i] == i - 2 for i in rows):
        if float(peak[2:].min()) < 0.5:
            raise Wrong(f"the right direction, but too gentle: each query's largest weight is only "
                        f"{float(peak[2:].min()):.2f}. Scores grow with the size of the query; multiply your "
                        f"matrix by a gain (head 0 uses xh.POSITION_GAIN = {xh.POSITION_GAIN:g})")
        return (f"every query from token 2 on puts at least {float(peak[2:].min()):.2f} of its weight on the token two "
                "places back: M(-2) turns PE_i into PE_(i-2), and the gain makes the match sharp")
    if all(looks[i] == i + 2 for i in range(n - 2)):
        raise Wrong("your head looks two words ahead: M(+2) (or the transpose of M(-2), which is its inverse) turns "
                    "PE_i into PE_(i+2). Use xh.shift_matrix(-2)")
    if all(looks[i] == i - 1 for i in range(1, n)):
        raise Wrong("your head looks one word back, like head 0: the offset is -2, not -1")
    if all(looks[i] == i for i in range(n)):
        raise Wrong("your head looks at the token itself: with no rotation the query PE_i matches the key PE_i best")
    bad = next(i for i in rows if looks[i] != i - 2)
    raise Wrong(f"query {bad} looks most at token {looks[bad]}, not at token {bad - 2}: the block should rotate PE_i "
                "into PE_(i-2), i.e. xh.shift_matrix(-2), times a gain")


design_head = Exercise(
    CHAPTER, "design_head",
    "Design: give the (d_head, d_head) query block w_q_block that makes head 0 of the hand-built model look two "
    "words back instead of one.",
    _check_design,
    "Head 0's query block is POSITION_GAIN · M(-1), where M(k) = xh.shift_matrix(k) turns the position code of "
    "token i into that of token i + k. M(-1) applied to PE_(i-1) gives PE_(i-2): so what is M(-1) @ M(-1)? "
    "Multiply by the gain once, not twice.",
    _design_solution,
    "M(-1) @ M(-1) = M(-2) (= xh.shift_matrix(-2)): two one-step rotations make one two-step rotation of each "
    "(sin, cos) pair of PE_i, so the query "
    "becomes PE_(i-2) and matches key i-2 best; the gain turns that best match into nearly all of the weight.")
