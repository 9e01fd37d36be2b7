"""Exercises for chapter 10 (a GPT put together, trained and sampled).

    from selfattn.exercises import ch10 as ex
    ex.predict_temperature.check(p_top)
    ex.implement_top_p.check(top_p_keep)
    ex.fix_the_block.check(pre_norm_block)
    ex.greedy_by_design.check(settings)
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import AttentionInputError
from ..explore.gpt.sampling import distribution, top_p_mask, with_temperature
from ._core import Exercise, Wrong, as_array, call

CHAPTER = "ch10"

# --- 1. predict: temperature 0.5 on a given distribution ------------------------------------------

PROBS = (0.5, 0.3, 0.2)          # a model's next-token distribution at temperature 1
TEMPERATURE = 0.5


def _check_temperature(answer):
    try:
        got = float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"give one number (the new probability of the most likely token), got {answer!r}") from None
    p = np.array(PROBS)
    expected = float(with_temperature(torch.tensor(np.log(p)), TEMPERATURE)[0])
    if abs(got - expected) <= 0.01:
        return (f"{expected:.3f}: squaring 0.5, 0.3, 0.2 gives 0.25, 0.09, 0.04, and renormalising "
                "moves the top token from 0.5 to about two thirds. T < 1 makes the rich richer")
    flat = float(np.sqrt(p)[0] / np.sqrt(p).sum())
    if abs(got - flat) <= 0.01:
        raise Wrong(f"{got:.3f} is what temperature 2 gives (square roots): dividing the logits by T = 0.5 "
                    "multiplies them by 2, which sharpens the distribution")
    if abs(got - 0.5) <= 0.01:
        raise Wrong("dividing the probabilities by T and renormalising changes nothing; temperature divides the "
                    "logits (log-probabilities) before the softmax")
    if abs(got - 1.0) <= 0.01:
        raise Wrong("1.0 is temperature 0 (greedy); at 0.5 the other tokens keep some probability")
    if abs(got - 0.25) <= 0.01:
        raise Wrong("0.25 is 0.5 squared before renormalising: divide by the sum of all the squared probabilities")
    raise Wrong(f"got {got:.3f}; write p_i^(1/T) / Σ_j p_j^(1/T) for the top token")


predict_temperature = Exercise(
    CHAPTER, "predict_temperature",
    f"a model gives the next token probabilities {PROBS}. What probability does the most likely token get "
    f"at temperature {TEMPERATURE}? (to 0.01)",
    _check_temperature,
    "temperature divides the logits: softmax(z / T). With z = log p this is p^(1/T), renormalised.",
    "p_top = 0.5**2 / (0.5**2 + 0.3**2 + 0.2**2)  # SOLUTION",
    "Lower temperature sharpens every distribution the same way, so sampling at T = 0.5 reads like a "
    "more confident (and more repetitive) model.")


# --- 2. implement top-p (nucleus) filtering ----------------------------------------------------------

def _top_p_solution(probs, p):
    order = np.argsort(-probs, kind="stable")                 # most probable first, ties by index
    before = np.cumsum(probs[order]) - probs[order]           # mass ahead of each token
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[before < p]] = True                            # keep while the mass so far is below p
    return keep


_TOP_P_CASES = (
    ("the running sum reaches p exactly", [0.5, 0.3, 0.2], 0.8, [True, True, False]),
    ("p just above a boundary", [0.5, 0.3, 0.2], 0.81, [True, True, True]),
    ("a small p still keeps one token", [0.6, 0.3, 0.1], 0.05, [True, False, False]),
    ("p = 1 keeps everything", [0.7, 0.2, 0.1], 1.0, [True, True, True]),
    ("an unsorted distribution", [0.1, 0.2, 0.4, 0.3], 0.6, [False, False, True, True]),
    ("a flat distribution", [0.25, 0.25, 0.25, 0.25], 0.5, [True, True, False, False]),
    ("one token holds almost everything", [0.01, 0.97, 0.02], 0.9, [False, True, False]),
)


def _check_top_p(fn):
    for what, probs, p, expected in _TOP_P_CASES:
        got = as_array(call(fn, np.array(probs), p, what="your top_p_keep"), "top_p_keep's result")
        if got.shape != (len(probs),):
            raise Wrong(f"return one boolean per token, shape ({len(probs)},); got shape {got.shape}")
        got = got.astype(bool)
        assert top_p_mask(torch.tensor(probs, dtype=torch.float64), p).tolist() == expected
        if got.tolist() == expected:
            continue
        where = f"{what}: probs={probs}, p={p}: you kept {got.tolist()}, expected {expected}"
        mass = float(np.array(probs)[got].sum())
        if got.sum() == 0:
            raise Wrong(f"{where}. Always keep at least the most probable token")
        if mass < p - 1e-9:
            raise Wrong(f"{where}. Your set holds only {mass:.2f} < p: keep the token that carries the running "
                        "sum to p, not only the ones before it")
        if not (np.array(probs)[got].min() >= np.array(probs)[~got].max() if (~got).any() else True):
            raise Wrong(f"{where}. Sort by probability first: the nucleus is the most probable tokens, "
                        "not the first ones in vocabulary order")
        raise Wrong(f"{where}. Keep the *smallest* set whose mass reaches p: stop as soon as the sum is >= p")
    return "your nucleus is the smallest set of most probable tokens whose mass reaches p, on every edge case"


implement_top_p = Exercise(
    CHAPTER, "implement_top_p",
    "write top_p_keep(probs, p) -> boolean array: True for the smallest set of most probable tokens whose "
    "probabilities add up to at least p",
    _check_top_p,
    "sort the tokens by probability (largest first), add them up, and keep each token while the sum of the "
    "tokens *before* it is still below p.",
    _top_p_solution,
    "selfattn.explore.gpt.sampling.top_p_mask is this function in torch; it is what the chapter's sampler uses.",
    answer_name="top_p_keep")


# --- 3. debug: a block whose residual is in the wrong place -----------------------------------------

def buggy_block(x, ln1, attn, ln2, mlp):
    """A pre-norm block with a bug: it adds each sublayer's output to the *normalised* stream."""
    h = ln1(x)
    x = h + attn(h)
    h = ln2(x)
    x = h + mlp(h)
    return x


def _block_solution(x, ln1, attn, ln2, mlp):
    x = x + attn(ln1(x))      # the residual adds to x itself: the stream is never normalised
    x = x + mlp(ln2(x))
    return x


def _parts(seed: int, d: int = 8):
    g = torch.Generator().manual_seed(seed)
    ln1, ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
    with torch.no_grad():
        for ln in (ln1, ln2):
            ln.weight.copy_(1 + 0.3 * torch.randn(d, generator=g))
            ln.bias.copy_(0.3 * torch.randn(d, generator=g))
    wa, wm = torch.randn(d, d, generator=g) / d ** 0.5, torch.randn(d, d, generator=g) / d ** 0.5
    attn = lambda h: torch.tanh(h @ wa)        # stand-ins: any functions of the normalised stream do
    mlp = lambda h: torch.relu(h @ wm)
    x = 3.0 + 2.0 * torch.randn(2, 5, d, generator=g)                     # (batch, n, d_model), far from normalised
    return x, ln1, attn, ln2, mlp


def _check_block(fn):
    for seed in range(3):
        x, ln1, attn, ln2, mlp = _parts(seed)
        with torch.no_grad():
            got = call(fn, x, ln1, attn, ln2, mlp, what="your pre_norm_block")
            expected = _block_solution(x, ln1, attn, ln2, mlp)
            if not torch.is_tensor(got) or got.shape != x.shape:
                raise Wrong(f"return a tensor shaped like x, {tuple(x.shape)}")
            if torch.allclose(got, expected, atol=1e-5):
                continue
            if torch.allclose(got, buggy_block(x, ln1, attn, ln2, mlp), atol=1e-5):
                raise Wrong("that is still the buggy block: it adds attn's output to ln1(x), so the residual "
                            "stream is replaced by its normalised copy. Add the sublayer's output to x itself")
            post = ln2(ln1(x + attn(x)) + mlp(ln1(x + attn(x))))
            if torch.allclose(got, post, atol=1e-5):
                raise Wrong("that is a post-norm block (the 2017 order); the task is the pre-norm block, "
                            "x + attn(ln1(x)) then x + mlp(ln2(x))")
            if torch.allclose(got, mlp(ln2(attn(ln1(x)))), atol=1e-5):
                raise Wrong("there is no residual at all now: each sublayer's output must be added to the stream")
            raise Wrong("the output differs from x + attn(ln1(x)) followed by x + mlp(ln2(x))")
    return ("the stream x passes through untouched and each sublayer only adds to it: the identity path from "
            "the embedding to the logits that makes deep pre-norm stacks train")


fix_the_block = Exercise(
    CHAPTER, "fix_the_block",
    "buggy_block(x, ln1, attn, ln2, mlp) puts the residual in the wrong place. Write pre_norm_block with the "
    "same arguments that computes the pre-norm block correctly",
    _check_block,
    "in a pre-norm block the LayerNorm sits on the branch, not on the stream: x = x + attn(ln1(x)).",
    _block_solution,
    "The bug is quiet: the code runs and each sublayer still sees normalised input, but every block "
    "throws away the scale of the stream and the identity path is gone.",
    answer_name="pre_norm_block")


# --- 4. design: greedy without temperature 0 ----------------------------------------------------------

_GREEDY_CASES = (
    ("two logits 0.001 apart", [2.0, 1.999, 0.0, -1.0]),
    ("a confident model", [4.0, 1.0, 0.5, 0.0]),
    ("a top token with less than a fifth of the mass", [0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ("the largest logit last", [0.0, 0.1, 0.2, 3.0]),
)


def _check_greedy(settings):
    if not isinstance(settings, dict):
        raise Wrong(f"give a dict of settings, e.g. dict(temperature=1.0, top_k=...), got {type(settings).__name__}")
    unknown = set(settings) - {"temperature", "top_k", "top_p"}
    if unknown:
        raise Wrong(f"only temperature, top_k and top_p are settings; not {sorted(unknown)}")
    t = settings.get("temperature", 1.0)
    if isinstance(t, (int, float)) and t == 0:
        raise Wrong("temperature 0 *is* greedy; the task is to get the same draws with a temperature above 0")
    for what, logits in _GREEDY_CASES:
        z = torch.tensor(logits, dtype=torch.float64)
        try:
            probs, kept = distribution(z, **settings)
        except AttentionInputError as e:
            raise Wrong(f"those settings are refused: {e}") from None
        if int(kept.sum()) == 1 and bool(kept[z.argmax()]):
            continue
        where = f"{what} (logits {logits}): {int(kept.sum())} tokens kept, the largest probability {float(probs.max()):.3f}"
        if settings.get("top_k") is None and settings.get("top_p") in (None, 1.0):
            raise Wrong(f"{where}. A temperature sharpens, but never removes a token: when two logits are "
                        "nearly equal, T = 0.01 still splits the draws between them. Cut instead of sharpening")
        if settings.get("top_p") not in (None, 1.0):
            raise Wrong(f"{where}. Top-p = {settings['top_p']} keeps every token needed to reach that mass, "
                        "which is more than one when the top token holds less: a distribution can be flatter "
                        "than you planned for")
        raise Wrong(f"{where}. Keep exactly one token, the most probable, for every distribution")
    return ("exactly one token survives, the most probable, whatever the distribution: the draw is forced, "
            "so any temperature gives greedy decoding. Top-k = 1, or a top-p small enough that the first "
            "token alone reaches it, both do it; a small temperature only comes close")


greedy_by_design = Exercise(
    CHAPTER, "greedy_by_design",
    "choose sampling settings with a temperature above 0 (a dict of temperature, top_k, top_p) that make "
    "every draw the greedy one, for any distribution",
    _check_greedy,
    "temperature reshapes the distribution but keeps every token; top-k and top-p remove tokens. Which "
    "setting can leave exactly one?",
    "settings = dict(temperature=1.0, top_k=1)  # SOLUTION",
    "With top-k = 1 the sampler never draws anything but the argmax; the seed and the temperature stop "
    "mattering.",
    answer_name="settings")
