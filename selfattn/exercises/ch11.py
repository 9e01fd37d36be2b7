"""Exercises for chapter 11: encoder and decoder.

    from selfattn.exercises import ch11 as ex
    ex.which_source_token.check(answer)
"""
from __future__ import annotations

import numpy as np
import torch

from ..explore.encoder_decoder import task
from ..masks import causal as _causal
from ..multihead import MultiHeadAttention
from ._core import Exercise, NotAttempted, Wrong, as_array, call, expect_shape, is_placeholder

CHAPTER = "ch11"


# --- 11.1 predict, then check: which source token answers which output character ------------------

def _check_which(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        vals = [int(a) for a in answer]
    except (TypeError, ValueError):
        raise Wrong("answer with three source positions (whole numbers), e.g. (5, 1, 0)") from None
    if len(vals) != 3:
        raise Wrong(f"answer with three positions (for output characters 0, 5 and 9), got {len(vals)}")
    # "7 July 1969": source tokens 7 | July | 1 9 6 9  -> positions 0, 1, 2..5
    want = (2, 1, 0)
    if tuple(vals) == want:
        return "'1' of 1969 is source token 2, the month digits come from 'July' (token 1), the day from '7' (token 0)"
    if vals[0] == 0:
        raise Wrong("output character 0 is the first digit of the year, which stands after the day and the month in "
                    "the source: the alignment is not monotonic, so it is not source token 0")
    if vals[0] in (3, 4, 5):
        raise Wrong(f"source token {vals[0]} is a later digit of the year; output character 0 is its first digit")
    if vals[0] != 2:
        raise Wrong(f"output character 0 is '1', the first digit of the year; source token {vals[0]} is not a year "
                    "digit (count from 0: 7 is token 0, July token 1)")
    if vals[1] == 0:
        raise Wrong("output character 5 is the '0' of the month '07'; source token 0 is the day '7', which only "
                    "looks like the month's 7: the month number comes from the month word")
    if vals[1] != 1:
        raise Wrong("output character 5 is the first digit of the month number '07'; it has to come from the month "
                    "word, which is one source token")
    raise Wrong("the day is a single digit here: output character 9 ('7' of '07') reads the one day token")


which_source_token = Exercise(
    CHAPTER, "which_source_token",
    "Predict: the source '7 July 1969' is tokenised as 7 | July | 1 | 9 | 6 | 9 (positions 0..5) and the answer "
    "is '1969-07-07'. Which source position should output characters 0, 5 and 9 read? Answer (p0, p5, p9).",
    _check_which,
    "Write the output under the source and draw a line from each output character to where its value is. "
    "The year is first in the output but last in the source.",
    "(2, 1, 0)",
    explanation="The known alignment is what the chapter compares the learned cross-attention with.",
)


# --- 11.2 design: the three masks of an encoder-decoder -------------------------------------------

N_SRC, N_REAL, N_TGT = 5, 4, 3          # a source of 4 real tokens padded to 5; 3 target tokens


def _check_masks(answer):
    if is_placeholder(answer):
        raise NotAttempted
    if callable(answer):
        answer = call(answer)
    try:
        enc, dec, cross = answer
    except (TypeError, ValueError):
        raise Wrong("answer with three boolean masks: (encoder self, decoder self, cross)") from None
    if any(is_placeholder(m) for m in (enc, dec, cross)):
        raise NotAttempted
    enc, dec, cross = (as_array(m, name).astype(bool) for m, name in
                       ((enc, "the encoder mask"), (dec, "the decoder mask"), (cross, "the cross mask")))
    expect_shape(enc, (N_SRC, N_SRC), "the encoder mask (source queries × source keys)")
    expect_shape(dec, (N_TGT, N_TGT), "the decoder self-attention mask (target × target)")
    if cross.shape == (N_SRC, N_TGT):
        raise Wrong("the cross mask is (target queries × source keys) = (3, 5): queries come from the decoder")
    expect_shape(cross, (N_TGT, N_SRC), "the cross mask (target queries × source keys)")
    real = np.arange(N_SRC) < N_REAL
    if enc[:, ~real].any():
        raise Wrong("the encoder mask lets a query look at the padding token (key 4); block that column")
    if not enc[:, real].all():
        raise Wrong("the encoder is bidirectional: every source query may look at every real source key, "
                    "earlier and later ones alike")
    want_dec = _causal(N_TGT).numpy()
    if dec.all():
        raise Wrong("the decoder's self-attention must be causal: a target token may not see the tokens after it, "
                    "which it has to predict")
    if not np.array_equal(dec, want_dec):
        raise Wrong(f"the decoder mask should be lower-triangular (each token sees itself and earlier ones): "
                    f"expected\n{want_dec.astype(int)}")
    if cross[:, ~real].any():
        raise Wrong("the cross mask lets the decoder read the padding token (key 4); block it")
    if not cross[:, real].all():
        raise Wrong("cross-attention is not causal: the whole source is known before decoding starts, so every "
                    "target token may read every real source token")
    return "encoder: all real source keys; decoder: causal; cross: every real source key, no causal triangle"


def _masks_solution():
    real = torch.arange(N_SRC) < N_REAL                       # (n_src,)
    encoder = real.expand(N_SRC, N_SRC)                        # (n_src, n_src): every real key, for every query
    decoder = torch.tril(torch.ones(N_TGT, N_TGT, dtype=torch.bool))  # (n_tgt, n_tgt): causal
    cross = real.expand(N_TGT, N_SRC)                          # (n_tgt, n_src): every real source key
    return encoder, decoder, cross


three_masks = Exercise(
    CHAPTER, "three_masks",
    "Design: a source of 4 real tokens padded to n_src = 5 and a target of n_tgt = 3 tokens. Write the three boolean "
    "masks (True = may attend): encoder self-attention (5×5), decoder self-attention (3×3), cross-attention (3×5).",
    _check_masks,
    "Ask of each: who asks (rows), who answers (columns), and is any answer not known yet when the question is "
    "asked? Padding is never an answer.",
    _masks_solution,
    explanation="Only the decoder's own self-attention is causal; cross-attention reads a source that is complete.",
    answer_name="masks",
)


# --- 11.3 debug: a cross-attention with its inputs swapped ----------------------------------------

_MHA = None


def _reference_mha() -> MultiHeadAttention:
    global _MHA
    if _MHA is None:
        with torch.random.fork_rng(devices=[]):                 # seeded, torch's global generator left alone
            torch.manual_seed(11)
            _MHA = MultiHeadAttention(8, 2).double()
    return _MHA


def buggy_cross_attention(mha: MultiHeadAttention, decoder_x, memory):
    """Cross-attention of decoder tokens to the encoder's output. (It has a bug.)"""
    out, weights = mha(memory, decoder_x, decoder_x)                    # (batch, n_src, d_model)
    return out


def _check_cross(fn):
    if is_placeholder(fn):
        raise NotAttempted
    mha = _reference_mha()
    g = torch.Generator().manual_seed(3)
    decoder_x = torch.randn(2, 3, 8, generator=g, dtype=torch.float64)   # (batch, n_tgt, d_model)
    memory = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)      # (batch, n_src, d_model)
    got = call(fn, mha, decoder_x, memory)
    got = as_array(got, "your function's output")
    want = mha(decoder_x, memory, memory)[0].detach().numpy()
    if got.shape == (2, 5, 8):
        raise Wrong("the output has one row per source token (2, 5, 8): the queries still come from memory. "
                    "Cross-attention gives one output per decoder token, so Q comes from decoder_x")
    expect_shape(got, (2, 3, 8), "the output (batch, n_tgt, d_model)")
    swapped_kv = mha(decoder_x, decoder_x, decoder_x)[0].detach().numpy()
    if np.allclose(got, swapped_kv, atol=1e-8):
        raise Wrong("that is the decoder attending to itself: keys and values must come from memory (the encoder)")
    if not np.allclose(got, want, atol=1e-8):
        raise Wrong("right shape, wrong values: queries from decoder_x, keys and values both from memory")
    return "queries from the decoder, keys and values from the encoder's output"


def _cross_solution(mha, decoder_x, memory):
    out, weights = mha(decoder_x, memory, memory)                       # (batch, n_tgt, d_model)
    return out


fix_cross_attention = Exercise(
    CHAPTER, "fix_cross_attention",
    "Debug: buggy_cross_attention(mha, decoder_x, memory) should let each decoder token read the encoder's output "
    "(memory), but its output has the wrong shape. Write a fixed cross_attention(mha, decoder_x, memory).",
    _check_cross,
    "mha(x_q, x_k, x_v): which sequence asks the questions, and which one holds the answers?",
    _cross_solution,
    answer_name="cross_attention",
)


# --- 11.4 predict, then check: what a cache saves -------------------------------------------------

def _check_cache(answer):
    if is_placeholder(answer):
        raise NotAttempted
    try:
        runs, projections = (int(a) for a in answer)
    except (TypeError, ValueError):
        raise Wrong("answer with two whole numbers: (encoder runs, source key/value projections per layer)") from None
    if (runs, projections) == (1, 1):
        return "the source is encoded once and projected to keys and values once per cross-attention layer"
    if runs == 11 or projections == 11:
        raise Wrong("11 is the number of decoding steps; the source does not change between steps, so nothing "
                    "about it needs recomputing")
    if runs != 1:
        raise Wrong("the encoder's output depends only on the source, which is fixed while the answer is written")
    raise Wrong("each cross-attention layer projects the encoder's output to keys and values once, then reuses them")


cache_saves = Exercise(
    CHAPTER, "cache_saves",
    "Predict: decoding one date takes 11 steps (10 characters and <eos>). With the caches, how many times does the "
    "encoder run, and how many times does each decoder layer project the source to keys and values? Answer "
    "(encoder runs, projections per layer).",
    _check_cache,
    "What changes from one decoding step to the next: the source, or the target written so far?",
    "(1, 1)",
)


__all__ = ["which_source_token", "three_masks", "fix_cross_attention", "cache_saves", "buggy_cross_attention"]
