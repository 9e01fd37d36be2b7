"""Exercises for chapter 4: self vs cross attention, word order and positions, images as patches.

    from selfattn.exercises import ch04 as ex
    ex.shuffled_outputs.check(answer)
"""
from __future__ import annotations

import math

import numpy as np
import torch

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

def _check_path_steps(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        attn, rnn = (int(v) for v in answer)
    except (TypeError, ValueError):
        raise Wrong("answer with two whole numbers: (attention layers, recurrent steps)") from None
    if (attn, rnn) == (1, 99):
        return "one attention layer compares token 1 with token 100 directly; a recurrent state needs 99 updates"
    if attn != 1:
        raise Wrong(f"{attn} attention layers is too many: in one layer token 100's query is compared with token "
                    "1's key directly, whatever the distance")
    if rnn == 100:
        raise Wrong("count the updates between them: the state that has read token 1 must be updated at tokens "
                    "2, 3, ..., 100, that is 99 times")
    raise Wrong(f"{rnn} recurrent steps is not right: information from token 1 reaches token 100 one update at a time")


path_steps = Exercise(
    CHAPTER, "path_steps",
    "Token 100 needs information from token 1. How many self-attention layers must it pass through at least, "
    "and how many updates of a recurrent network's state? Answer (attention layers, recurrent steps).",
    _check_path_steps,
    "In self-attention every query is compared with every key in the same layer. A recurrent network reads "
    "one token per step and carries everything else in its state.",
    "steps_answer = (1, 99)")


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
        raise Wrong("sine and cosine are swapped: feature 2i holds the sine, feature 2i+1 the cosine")
    if np.allclose(got, [math.sin(2), math.cos(2), math.sin(0.2), math.cos(0.2)], atol=1e-3):
        raise Wrong("the second pair turns too fast: its frequency is 1/10000^(2i/d_model) with i = 1 and "
                    "d_model = 4, that is 1/10000^(1/2) = 0.01, not 1/10000^(1/4)")
    if np.allclose(got, [math.sin(2), math.cos(2), math.sin(2), math.cos(2)], atol=1e-3):
        raise Wrong("both pairs use the same frequency; pair i turns at 1/10000^(2i/d_model), so pair 1 is 100 times slower")
    if np.allclose(got, [math.sin(math.radians(2)), math.cos(math.radians(2)), math.sin(math.radians(0.02)),
                         math.cos(math.radians(0.02))], atol=1e-4):
        raise Wrong("your calculator is in degrees; the angles here are radians (np.sin works in radians)")
    expect_close(got, expected, "your encoding", atol=1e-3)


pe_by_hand = Exercise(
    CHAPTER, "pe_by_hand",
    "Compute the sinusoidal encoding of position 2 for d_model = 4 (base 10000) as a vector of 4 numbers.",
    _check_pe_by_hand,
    "There are two (sin, cos) pairs. Pair i turns at frequency ω_i = 1/10000^(2i/4): ω_0 = 1 and ω_1 = 0.01. "
    "The pair at position pos is (sin(pos·ω_i), cos(pos·ω_i)).",
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
                        "feature 2i is a sine and feature 2i+1 the cosine of the same angle")
        if np.allclose(got[:, 0::2], expected[:, 1::2], atol=1e-5) and np.allclose(got[:, 1::2], expected[:, 0::2], atol=1e-5):
            raise Wrong("sine and cosine are swapped: even features (0, 2, ...) hold sines, odd ones cosines")
        i = np.arange(half)
        wrong_exp = np.arange(n)[:, None] / 10000 ** (i / d_model)
        if np.allclose(got[:, 0::2], np.sin(wrong_exp), atol=1e-5):
            raise Wrong("the exponent is off by a factor 2: pair i uses 10000^(2i/d_model), where i counts pairs, "
                        "not features (np.arange(0, d_model, 2) / d_model gives the exponents)")
        expect_close(got, expected, f"your sinusoidal({n}, {d_model})", atol=1e-5, names="(position, feature)")
    return "matches selfattn.positions.sinusoidal for (n, d_model) = (7, 6), (1, 2) and (50, 16)"


sinusoidal = Exercise(
    CHAPTER, "sinusoidal",
    "Implement sinusoidal(n, d_model) -> (n, d_model) array with PE[pos, 2i] = sin(pos/10000^(2i/d_model)) "
    "and PE[pos, 2i+1] = cos(pos/10000^(2i/d_model)).",
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
            raise Wrong("you rotate clockwise (by -m·ω); the convention here is (x1·cos − x2·sin, x1·sin + x2·cos)")
        if np.allclose(got, x, atol=1e-9) and n > 1:
            raise Wrong("your output equals the input: every position m > 0 should turn its pairs by m·ω_i")
        expect_close(got, expected, f"your rotary on an ({n}, {d_k}) input", atol=1e-6, names="(position, feature)")
    return "your rotary matches selfattn.positions.rotary: queries and keys rotated by position"


rotary = Exercise(
    CHAPTER, "rotary",
    "Implement rotary(x) for x of shape (n, d_k), d_k even: rotate each neighbouring pair (x[2i], x[2i+1]) of "
    "row m by the angle m·ω_i, ω_i = 1/10000^(2i/d_k).",
    _check_rotary,
    "A 2-D rotation by θ sends (a, b) to (a·cos θ − b·sin θ, a·sin θ + b·cos θ). Compute every angle at once "
    "as np.arange(n)[:, None] * omega, then work on x[:, 0::2] and x[:, 1::2] together.",
    solution_rotary)


# --- 7. compute by hand: how many tokens is an image? --------------------------------------------

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
