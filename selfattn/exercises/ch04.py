"""Exercises for chapter 4: self vs cross attention, word order and positions, images as patches.

Ten exercises in the chapter's order, each with a checker that recognises the typical mistakes by
name; that makes the module a little longer than the book's usual 400 lines, and splitting it
would separate a checker from the chapter it serves.

    from selfattn.exercises import ch04 as ex
    ex.shuffled_outputs.check(answer)
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..attention import attention as _attention
from ..explore.paths import predicted_cnn_layers
from ..explore.positions import compare_shift
from ..positions import rotary as _rotary
from ..positions import sinusoidal as _sinusoidal
from ._core import Exercise, Wrong, as_array, call, expect_close, expect_shape, is_placeholder, NotAttempted

CHAPTER = "ch04"

# --- 1. compute by hand: the shapes of cross-attention ------------------------------------------

def _shape(x, what: str) -> tuple:
    try:
        return tuple(int(v) for v in x)
    except (TypeError, ValueError):
        raise Wrong(f"{what} should be a shape such as (4, 7), got {x!r}") from None


def _check_cross_shapes(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        weights, output = answer
    except (TypeError, ValueError):
        raise Wrong("answer with two shapes: (shape of the weights, shape of the output)") from None
    weights, output = _shape(weights, "the weights' shape"), _shape(output, "the output's shape")
    if weights == (4, 7) and output == (4, 5):
        return "one row of weights per decoder query over the 7 encoder keys, and one output row per query"
    if weights in ((7, 7), (4, 4)):
        raise Wrong("cross-attention weights are not square: one row per query (decoder, n_q = 4), one column "
                    "per key (encoder, n_k = 7)")
    if weights == (7, 4):
        raise Wrong("rows are queries and columns are keys: the weights are (n_q, n_k) = (4, 7)")
    if weights != (4, 7):
        raise Wrong(f"the weights' shape {weights} is not right: (n_q, n_k)")
    if output in ((7, 5), (7, 16)):
        raise Wrong("the output has one row per *query*: each decoder token gets one weighted sum of encoder values")
    if output == (4, 16):
        raise Wrong("each output row is a weighted sum of value vectors, so its width is d_v = 5, not d_k")
    raise Wrong(f"the output's shape {output} is not right: (n_q, d_v)")


cross_shapes = Exercise(
    CHAPTER, "cross_shapes",
    "In encoder-decoder attention, 4 decoder tokens query 7 encoder tokens, with d_k = 16 and d_v = 5. Give "
    "(shape of the attention weights, shape of the output).",
    _check_cross_shapes,
    "Queries come from the decoder (n_q = 4); keys and values from the encoder (n_k = 7). The weights are "
    "softmax(QKᵀ/√d_k); the output is weights @ V.",
    "cross_answer = ((4, 7), (4, 5))   # (n_q, n_k) and (n_q, d_v)")


# --- 2. compute by hand: how far apart are two tokens? -------------------------------------------
PATH_FROM, PATH_TO, PATH_KERNEL = 0, 99, 5


def _check_path_steps(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        attn, rnn, conv = (int(v) for v in answer)
    except (TypeError, ValueError):
        raise Wrong("answer with three whole numbers: (attention layers, recurrent steps, convolution layers)") from None
    d = PATH_TO - PATH_FROM
    conv_ref = predicted_cnn_layers(d, PATH_KERNEL)
    if attn != 1:
        raise Wrong(f"{attn} attention layers is too many: in one layer token 99's query is compared with token "
                    "0's key directly, whatever the distance")
    if rnn == d + 1:
        raise Wrong("count the steps between them, not the tokens: the state that has read token 0 is updated at "
                    "tokens 1, 2, ..., 99, that is 99 steps (the distance 99 - 0)")
    if rnn == d - 1:
        raise Wrong("the state that has read token 0 must still be updated at token 99 itself: 99 steps in all")
    if rnn != d:
        raise Wrong(f"{rnn} recurrent steps is not right: information from token 0 reaches token 99 one step at a time")
    if conv == round(d / PATH_KERNEL) or conv == math.ceil(d / PATH_KERNEL):
        raise Wrong(f"{conv} layers reads 'n / k' literally: a centred kernel of width {PATH_KERNEL} reaches only "
                    f"(k - 1) / 2 = {(PATH_KERNEL - 1) // 2} positions further per layer, its other taps look back or at the position itself")
    if conv == math.ceil(d / (PATH_KERNEL - 1)) or conv == d // (PATH_KERNEL - 1):
        raise Wrong(f"{conv} layers counts k - 1 = {PATH_KERNEL - 1} positions per layer: that is the reach of a "
                    f"causal kernel; a centred one reaches (k - 1) / 2 = {(PATH_KERNEL - 1) // 2} positions each way")
    if conv == d // ((PATH_KERNEL - 1) // 2):
        raise Wrong(f"{conv} layers reach only {conv * (PATH_KERNEL - 1) // 2} positions: round up, one more layer "
                    "covers the last position")
    if conv != conv_ref:
        raise Wrong(f"{conv} convolution layers is not right: each layer reaches (k - 1) / 2 positions further")
    return (f"one attention layer compares token 99 with token 0 directly; a recurrent state crosses "
            f"d = 99 - 0 = {d} steps; centred width-{PATH_KERNEL} convolutions need ceil({d} / 2) = {conv_ref} layers")


path_steps = Exercise(
    CHAPTER, "path_steps",
    "Token 99 (positions count from 0) needs information from token 0. How many self-attention layers must it "
    "pass through at least, how many steps of a recurrent network's state, and how many layers of centred "
    "convolutions of width 5? Answer (attention layers, recurrent steps, convolution layers).",
    _check_path_steps,
    "In self-attention every query is compared with every key in the same layer. A recurrent network reads "
    "one token per step: the path between positions i and j is |i - j| steps long. A centred kernel of width k "
    "reads (k - 1) / 2 positions to each side, so each layer reaches that much further.",
    "steps_answer = (1, 99, 50)")


# --- 3. compute by hand: what a reordering does without positions ----------------------------

OUTPUTS_ABC = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])   # outputs for tokens a, b, c
NEW_ORDER = [2, 0, 1]                                            # the sequence becomes c, a, b


def _check_shuffled(answer):
    got = as_array(answer, "your output")
    expect_shape(got, (3, 2), "your output")
    expected = OUTPUTS_ABC[NEW_ORDER]
    if np.allclose(got, expected, atol=1e-6):
        return "each token kept its output vector; the rows moved with the tokens"
    if np.allclose(got, OUTPUTS_ABC, atol=1e-6):
        raise Wrong("you kept the original row order; the outputs travel with their tokens, so row 0 now "
                    "belongs to c, the token that sits first in the new sequence")
    inverse = OUTPUTS_ABC[np.argsort(NEW_ORDER)]
    if np.allclose(got, inverse, atol=1e-6):
        raise Wrong("you moved the rows the opposite way: in the new sequence c, a, b, row 0 is c's output "
                    "(old row 2), row 1 is a's (old row 0), row 2 is b's (old row 1)")
    if sorted(map(tuple, np.round(got, 6))) == sorted(map(tuple, OUTPUTS_ABC)):
        raise Wrong("right rows, wrong places: row i of the new output is the output of the token now at position i")
    raise Wrong("without positions a reordering cannot create new values: every row of your answer should be "
                "one of the three original output rows")


shuffled_outputs = Exercise(
    CHAPTER, "shuffled_outputs",
    "Self-attention without positions gave outputs [[1, 0], [0, 1], [0.5, 0.5]] for tokens a, b, c. "
    "Write the (3, 2) output for the reordered sequence c, a, b, without running attention.",
    _check_shuffled,
    "Permutation equivariance: reorder the tokens, and the outputs are reordered the same way, unchanged. "
    "Which token sits at position 0 of c, a, b?",
    "answer = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])   # c's row, then a's, then b's",
    "Attention compares every pair of tokens by their vectors alone; with no positions a token has no way "
    "to know where it sits, so its output depends only on which tokens are present.")


# --- 4. compute by hand: one sinusoidal encoding ----------------------------------------------

def _pe_row(pos: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    return _sinusoidal(pos + 1, d_model, base=base, dtype=torch.float64)[pos].numpy()


def _check_pe_by_hand(answer):
    got = as_array(answer, "your encoding")
    expect_shape(got, (4,), "your encoding")
    expected = _pe_row(2, 4)
    if np.allclose(got, expected, atol=1e-3):
        return "PE[2] = [sin 2, cos 2, sin 0.02, cos 0.02]"
    if np.allclose(got, expected[[1, 0, 3, 2]], atol=1e-3):
        raise Wrong("sine and cosine are swapped: feature 2r holds the sine, feature 2r+1 the cosine")
    if np.allclose(got, [math.sin(2), math.cos(2), math.sin(0.2), math.cos(0.2)], atol=1e-3):
        raise Wrong("the second pair turns too fast: its frequency is 1/10000^(2r/d_model) with r = 1 and "
                    "d_model = 4, that is 1/10000^(1/2) = 0.01, not 1/10000^(1/4)")
    if np.allclose(got, expected[[0, 2, 1, 3]], atol=1e-3):
        raise Wrong("you put the sines in the first half and the cosines in the second; the book (like the paper) "
                    "interleaves them: feature 2r holds sin, feature 2r+1 holds cos of the same angle")
    if np.allclose(got, [math.sin(2), math.cos(2), math.sin(2e-4), math.cos(2e-4)], atol=1e-5):
        raise Wrong("the second pair turns too slowly: the exponent uses the pair index r = 1, 2r/d_model = 2/4, "
                    "not the feature index 2 (that would give 1/10000^(4/4) = 0.0001)")
    if np.allclose(got, [math.sin(2), math.cos(2), math.sin(2), math.cos(2)], atol=1e-3):
        raise Wrong("both pairs use the same frequency; pair r turns at 1/10000^(2r/d_model), so pair 1 is 100 times slower")
    if np.allclose(got, [math.sin(math.radians(2)), math.cos(math.radians(2)), math.sin(math.radians(0.02)),
                         math.cos(math.radians(0.02))], atol=1e-4):
        raise Wrong("your calculator is in degrees; the angles here are radians (np.sin works in radians)")
    expect_close(got, expected, "your encoding", atol=1e-3)


pe_by_hand = Exercise(
    CHAPTER, "pe_by_hand",
    "Compute the sinusoidal encoding of position 2 for d_model = 4 (base 10000) as a vector of 4 numbers.",
    _check_pe_by_hand,
    "There are two (sin, cos) pairs. Pair r turns at frequency ω_r = 1/10000^(2r/4): ω_0 = 1 and ω_1 = 0.01. "
    "The pair at position pos is (sin(pos·ω_r), cos(pos·ω_r)).",
    "pe2 = np.array([np.sin(2), np.cos(2), np.sin(0.02), np.cos(0.02)])   # [0.909, -0.416, 0.020, 1.000]")


# --- 5. implement sinusoidal(n, d_model) --------------------------------------------------------

def solution_sinusoidal(n, d_model):
    pos = np.arange(n)[:, None]                                   # (n, 1)
    omega = 1.0 / 10000 ** (np.arange(0, d_model, 2) / d_model)   # (d_model/2,)
    pe = np.zeros((n, d_model))                                   # (n, d_model)
    pe[:, 0::2] = np.sin(pos * omega)
    pe[:, 1::2] = np.cos(pos * omega)
    return pe


def _check_sinusoidal(fn):
    for n, d_model in ((7, 6), (1, 2), (50, 16)):
        got = as_array(call(fn, n, d_model, what="your sinusoidal"), "your encodings")
        expected = _sinusoidal(n, d_model, dtype=torch.float64).numpy()
        expect_shape(got, (n, d_model), f"your sinusoidal({n}, {d_model})")
        if np.allclose(got, expected, atol=1e-5):
            continue
        half = d_model // 2
        if np.allclose(got[:, :half], expected[:, 0::2], atol=1e-5) and np.allclose(got[:, half:], expected[:, 1::2], atol=1e-5):
            raise Wrong("you put all the sines first and then all the cosines; this book interleaves them: "
                        "feature 2r is a sine and feature 2r+1 the cosine of the same angle")
        if np.allclose(got[:, 0::2], expected[:, 1::2], atol=1e-5) and np.allclose(got[:, 1::2], expected[:, 0::2], atol=1e-5):
            raise Wrong("sine and cosine are swapped: even features (0, 2, ...) hold sines, odd ones cosines")
        i = np.arange(half)
        wrong_exp = np.arange(n)[:, None] / 10000 ** (i / d_model)
        if np.allclose(got[:, 0::2], np.sin(wrong_exp), atol=1e-5):
            raise Wrong("the exponent is off by a factor 2: pair r uses 10000^(2r/d_model), where r counts pairs, "
                        "not features (np.arange(0, d_model, 2) / d_model gives the exponents)")
        expect_close(got, expected, f"your sinusoidal({n}, {d_model})", atol=1e-5, names="(position, feature)")
    return "matches selfattn.positions.sinusoidal for (n, d_model) = (7, 6), (1, 2) and (50, 16)"


sinusoidal = Exercise(
    CHAPTER, "sinusoidal",
    "Implement sinusoidal(n, d_model) -> (n, d_model) array with PE[pos, 2r] = sin(pos/10000^(2r/d_model)) "
    "and PE[pos, 2r+1] = cos(pos/10000^(2r/d_model)).",
    _check_sinusoidal,
    "Make a column of positions (n, 1) and a row of frequencies (d_model/2,): their product is every angle at "
    "once. Fill the even columns with np.sin of it and the odd columns with np.cos (slices 0::2 and 1::2).",
    solution_sinusoidal)


# --- 6. implement rotary(x) -----------------------------------------------------------------------

def solution_rotary(x):
    n, d_k = x.shape
    omega = 1.0 / 10000 ** (np.arange(0, d_k, 2) / d_k)           # (d_k/2,)
    angle = np.arange(n)[:, None] * omega                         # (n, d_k/2)
    x1, x2 = x[:, 0::2], x[:, 1::2]                               # (n, d_k/2) each
    out = np.empty_like(x)                                        # (n, d_k)
    out[:, 0::2] = x1 * np.cos(angle) - x2 * np.sin(angle)
    out[:, 1::2] = x1 * np.sin(angle) + x2 * np.cos(angle)
    return out


def _half_split_rope(x: np.ndarray) -> np.ndarray:
    n, d_k = x.shape
    h = d_k // 2
    omega = 1.0 / 10000 ** (np.arange(0, d_k, 2) / d_k)
    angle = np.arange(n)[:, None] * omega
    x1, x2 = x[:, :h], x[:, h:]
    return np.concatenate([x1 * np.cos(angle) - x2 * np.sin(angle), x1 * np.sin(angle) + x2 * np.cos(angle)], axis=1)


def _check_rotary(fn):
    g = np.random.default_rng(4)
    for n, d_k in ((5, 4), (9, 8), (1, 2)):
        x = g.standard_normal((n, d_k))
        got = as_array(call(fn, x.copy(), what="your rotary"), "your rotated x")
        expect_shape(got, (n, d_k), f"your rotary on an ({n}, {d_k}) input")
        expected = _rotary(x)
        if np.allclose(got, expected, atol=1e-6):
            continue
        if np.allclose(got, _half_split_rope(x), atol=1e-6):
            raise Wrong("you paired feature i with feature i + d_k/2 (the layout of GPT-NeoX and Hugging Face "
                        "Llama); it works as well, but here the pairs are neighbours: (0, 1), (2, 3), ...")
        if np.allclose(got, _rotary(x, -np.arange(n)), atol=1e-6):
            raise Wrong("you rotate clockwise (by -p·ω); the convention here is (x1·cos − x2·sin, x1·sin + x2·cos)")
        if np.allclose(got, x, atol=1e-9) and n > 1:
            raise Wrong("your output equals the input: every position p > 0 should turn its pairs by p·ω_r")
        expect_close(got, expected, f"your rotary on an ({n}, {d_k}) input", atol=1e-6, names="(position, feature)")
    return "your rotary matches selfattn.positions.rotary: queries and keys rotated by position"


rotary = Exercise(
    CHAPTER, "rotary",
    "Implement rotary(x) for x of shape (n, d_k), d_k even: rotate each neighbouring pair (x[2r], x[2r+1]) of "
    "row p (the token at position p) by the angle θ = p·ω_r, ω_r = 1/10000^(2r/d_k).",
    _check_rotary,
    "A 2-D rotation by θ sends (a, b) to (a·cos θ − b·sin θ, a·sin θ + b·cos θ). Compute every angle at once "
    "as np.arange(n)[:, None] * omega, then work on x[:, 0::2] and x[:, 1::2] together.",
    solution_rotary)


# --- 8. predict, then check: shift every position -----------------------------------------------

SHIFT_SENTENCE = "the cat sat on the mat"
SHIFT = 5


def shift_reference() -> tuple[int, int]:
    """How many of the 6 outputs change when every position moves by SHIFT: (rotary, sinusoidal)."""
    return (compare_shift(SHIFT_SENTENCE, "rotary", SHIFT).n_changed,
            compare_shift(SHIFT_SENTENCE, "sinusoidal", SHIFT).n_changed)


def _check_shift(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        rot, sin = (int(v) for v in answer)
    except (TypeError, ValueError):
        raise Wrong("answer with two whole numbers: (outputs changed with rotary, outputs changed with "
                    "sinusoidal)") from None
    ref_rot, ref_sin = shift_reference()
    if (rot, sin) == (ref_rot, ref_sin):
        return (f"rotary: {ref_rot} of 6 change, since every offset j - i is the same after the shift; "
                f"sinusoidal: {ref_sin} of 6 change, since each token now carries the vector of another "
                "absolute position")
    if rot != ref_rot:
        raise Wrong(f"with rotary positions {rot} outputs would change, but a RoPE score depends on the positions "
                    "only through the offset j - i, and moving every token by 5 keeps every offset")
    raise Wrong(f"with added sinusoidal positions {sin} outputs would change, but each token now gets PE[pos + 5] "
                "instead of PE[pos]: a different vector, so every score and every value shifts a little")


shift_prediction = Exercise(
    CHAPTER, "shift_prediction",
    'Predict: "the cat sat on the mat" is placed at positions 5..10 instead of 0..5, in the same order. How many '
    "of its 6 outputs change value with rotary positions, and how many with added sinusoidal positions?",
    _check_shift,
    "Rotary: which quantity does a score depend on? Sinusoidal: is PE[pos + 5] the same vector as PE[pos]?",
    "shift_answer = (0, 6)   # rotary: offsets unchanged; sinusoidal: new absolute vectors")


# --- 9. design: place a key so that a RoPE score repeats ----------------------------------------

ROPE_Q_POS, ROPE_K_POS, ROPE_NEW_Q_POS = 7, 3, 20


def _rope_vectors() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(11)
    return torch.randn(8, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)


def rope_score(q_pos: float, k_pos: float) -> float:
    """(R at q_pos) q · (R at k_pos) k for the exercise's fixed q and k (d_k = 8, base 10000)."""
    q, k = _rope_vectors()
    rq = _rotary(q[None], torch.tensor([float(q_pos)]))                     # (1, 8)
    rk = _rotary(k[None], torch.tensor([float(k_pos)]))                     # (1, 8)
    return float(rq[0] @ rk[0])


def _check_rope_offset(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        j = float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"give one position for the key, got {answer!r}") from None
    target = rope_score(ROPE_Q_POS, ROPE_K_POS)
    got = rope_score(ROPE_NEW_Q_POS, j)
    if abs(got - target) < 1e-9:
        return (f"key at {j:g}: the offset j - i is {j - ROPE_NEW_Q_POS:g}, as before ({ROPE_K_POS} - {ROPE_Q_POS}),"
                f" so the score is again {target:.4f}")
    if j == ROPE_NEW_Q_POS + (ROPE_Q_POS - ROPE_K_POS):
        raise Wrong(f"the key now sits {ROPE_Q_POS - ROPE_K_POS} positions after the query, but before it sat "
                    f"{ROPE_Q_POS - ROPE_K_POS} positions before it: the offset j - i has the wrong sign "
                    f"(score {got:.4f} instead of {target:.4f})")
    if j == ROPE_K_POS:
        raise Wrong(f"the key stayed at position {ROPE_K_POS}; RoPE does not care about absolute positions, only "
                    f"about j - i, which is now {ROPE_K_POS - ROPE_NEW_Q_POS} instead of {ROPE_K_POS - ROPE_Q_POS}")
    raise Wrong(f"with the key at {j:g} the score is {got:.4f}, not {target:.4f}: keep the offset j - i = "
                f"{ROPE_K_POS} - {ROPE_Q_POS} of the first placement")


rope_offset = Exercise(
    CHAPTER, "rope_offset",
    f"Design: with rotary positions a query at position {ROPE_Q_POS} and a key at position {ROPE_K_POS} have some "
    f"score s. The query moves to position {ROPE_NEW_Q_POS}. Where must the key sit for the score to be s again?",
    _check_rope_offset,
    "(R_i q)·(R_j k) = qᵀ R_{j-i} k: the score depends on i and j only through j - i.",
    f"{ROPE_NEW_Q_POS + ROPE_K_POS - ROPE_Q_POS}   # j - i = 3 - 7 = -4 again: j = 20 - 4")


# --- 10. debug: rotary positions applied to the wrong vectors -----------------------------------

def buggy_rope_attention(x, positions):
    """Meant to be self-attention with rotary positions (Q = 3X, K = V = X): rotate queries and keys by
    position, never values. It has two bugs."""
    q = _rotary(3 * x, positions)                                           # (n, d_model)
    k = x                                                                   # (n, d_model)
    v = _rotary(x, positions)                                               # (n, d_model)
    return _attention(q, k, v).output                                       # (n, d_model)


def _fixed_rope_solution(x, positions):
    q = _rotary(3 * x, positions)                                           # (n, d_model) rotated
    k = _rotary(x, positions)                                               # (n, d_model) rotated too
    return _attention(q, k, x).output                                       # values stay as they are


def _rope_variant(x, pos, *, rotate_k: bool, rotate_v: bool) -> np.ndarray:
    q = _rotary(3 * x, pos)
    k = _rotary(x, pos) if rotate_k else x
    v = _rotary(x, pos) if rotate_v else x
    return _attention(q, k, v).output.numpy()


def _check_fixed_rope(fn):
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(5), dtype=torch.float64)   # (n=6, d_model=8)
    pos = torch.arange(6, dtype=torch.float64)
    got = as_array(call(fn, x.clone(), pos.clone(), what="fixed_rope_attention"), "your output")
    expect_shape(got, (6, 8), "your output (n=6, d_model=8)")
    for rotate_k, rotate_v, why in ((False, True, "the keys are not rotated and the values are"),
                                    (False, False, "the keys are not rotated"),
                                    (True, True, "the values are rotated")):
        if np.allclose(got, _rope_variant(x, pos, rotate_k=rotate_k, rotate_v=rotate_v), atol=1e-9):
            tail = (" A rotated value carries its absolute position into the output; RoPE only rotates q and k."
                    if rotate_v else " Only when both q and k are rotated does the score depend on j - i alone.")
            raise Wrong(f"{why}.{tail}")
    expect_close(got, _rope_variant(x, pos, rotate_k=True, rotate_v=False), "your output", atol=1e-9,
                 names="(token, feature)")
    shifted = as_array(call(fn, x.clone(), pos + 10, what="fixed_rope_attention"), "your output at positions 10..15")
    if not np.allclose(shifted, got, atol=1e-9):
        raise Wrong("your output changes when every position moves by 10; with RoPE on q and k only it must not")
    return "queries and keys rotated, values left alone: shifting every position by 10 changes nothing"


fixed_rope_attention = Exercise(
    CHAPTER, "fixed_rope_attention",
    "Debug: buggy_rope_attention(x, positions) has two bugs. Write fixed_rope_attention(x, positions): "
    "Q = rotary(3x), K = rotary(x), V = x.",
    _check_fixed_rope,
    "Which of q, k and v does RoPE rotate? Compare each line of the buggy function with the formula "
    "(R_i q)·(R_j k).",
    _fixed_rope_solution)


# --- 11. compute by hand: how many tokens is an image? --------------------------------------------

def _check_vit_tokens(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        n_patches, patch_dim = (int(v) for v in answer)
    except (TypeError, ValueError):
        raise Wrong("answer with two whole numbers: (n_patches, patch_dim)") from None
    if (n_patches, patch_dim) == (196, 768):
        return "14 × 14 = 196 patches, each 16·16·3 = 768 numbers (ViT-B/16 then maps them to d_model = 768)"
    if n_patches == 14:
        raise Wrong("14 is the number of patches along one side; the grid is 14 × 14")
    if n_patches != 196:
        raise Wrong(f"n_patches = {n_patches} is not right: how many 16-pixel squares fit along 224 pixels, "
                    "and how many rows of them are there?")
    if patch_dim == 256:
        raise Wrong("256 = 16·16 counts the pixels of one channel; an RGB patch holds three numbers per pixel")
    raise Wrong(f"patch_dim = {patch_dim} is not right: a flattened patch holds every number of a 16 × 16 RGB square")


vit_tokens = Exercise(
    CHAPTER, "vit_tokens",
    "A 224 × 224 RGB image is cut into 16 × 16 patches. Give (n_patches, patch_dim): the number of tokens and "
    "the length of one flattened patch.",
    _check_vit_tokens,
    "224 / 16 patches fit along each side. A patch holds 16 × 16 pixels, each with a red, green and blue value.",
    "vit_answer = (196, 768)   # (224/16)² patches of 16·16·3 numbers")
