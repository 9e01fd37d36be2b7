"""Exercises for chapter 7, "What attention learns".

    from selfattn.exercises import ch07 as ex
    ex.cosine_similarity.check(cosine_similarity)
    ex.predict_referents.check(["cat", ...])
    ex.induction_next.check(induction_next)
    ex.patchify.check(patchify)
    ex.previous_token_head.check(previous_token_head)      # design
    ex.ablate_head.check(ablate_head)                      # debug

The checkers use selfattn.explore.learned's rules and plain numpy/torch; none of them needs the trained model.
"""
from __future__ import annotations

import numpy as np
import torch

from ..explore import learned as tiny
from ..attention import attention
from ._core import Exercise, NotAttempted, Wrong, as_array, call, expect_close, expect_shape, is_placeholder

CHAPTER = "ch07"


# --- 1. cosine similarity of two contextual vectors ------------------------------------------

def _cosine_solution(u, v):
    u, v = torch.as_tensor(u, dtype=torch.float64), torch.as_tensor(v, dtype=torch.float64)
    return float(u @ v / (u.norm() * v.norm()))


def _check_cosine(fn):
    g = torch.Generator().manual_seed(7)
    cases = [(torch.randn(32, generator=g, dtype=torch.float64), torch.randn(32, generator=g, dtype=torch.float64))
             for _ in range(3)]
    base = torch.randn(32, generator=g, dtype=torch.float64)
    cases.append((base, 5.0 * base))                                  # same direction, different length
    cases.append((base, -0.5 * base))                                 # opposite direction
    for u, v in cases:
        got = call(fn, u.clone(), v.clone(), what="cosine_similarity")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"cosine_similarity should return one number, got {type(got).__name__}") from None
        want = _cosine_solution(u, v)
        if abs(got - want) > 1e-6:
            dot = float(u @ v)
            if abs(got - dot) < 1e-6 * max(1.0, abs(dot)):
                raise Wrong("you returned the plain dot product u·v; divide it by |u|·|v| so that only the "
                            "directions count, not the lengths")
            if abs(got - dot / float(u.norm()) ** 2) < 1e-6 or abs(got - dot / float(v.norm()) ** 2) < 1e-6 \
                    or abs(got - dot / float(u.norm())) < 1e-6 or abs(got - dot / float(v.norm())) < 1e-6:
                raise Wrong("you divided by the length of only one of the vectors; cosine divides by |u|·|v|")
            if not -1.0 - 1e-9 <= got <= 1.0 + 1e-9:
                raise Wrong(f"got {got:.4f}, but a cosine always lies between -1 and 1")
            raise Wrong(f"for two random vectors you returned {got:.4f}, expected {want:.4f}")
    return "a vector and 5 times itself give 1, a vector and its negative give -1: only direction counts"


cosine_similarity = Exercise(
    CHAPTER, "cosine_similarity",
    "write cosine_similarity(u, v), the cosine of the angle between two contextual vectors",
    _check_cosine,
    "Section 2.2: u·v = |u| |v| cos θ, so solve for cos θ. u @ v is the dot product; u.norm() (torch) or "
    "np.linalg.norm(u) (numpy) is the length |u|.",
    _cosine_solution,
    "Cosine similarity ignores how long the vectors are and compares only where they point. Two "
    "vectors of 'bank' from sentences about the same kind of bank point in nearly the same direction.",
)


# --- 2. predict the referent the pronoun head should find -------------------------------------

REFERENT_SENTENCES = (
    "the fox followed the bird because it was tired",
    "the queen called the boy because she was late",
    "the dog bit the cat because it was angry",
    "the man pushed the woman because she was happy",
    "the bird chased the fox because it was slow",
)


def referent(sentence: str) -> str:
    """The toy world's answer: which noun the pronoun of a pronoun-task sentence refers to."""
    toks = sentence.split()
    if len(toks) != 9 or toks[5] != "because" or toks[6] not in ("he", "she", "it"):
        raise ValueError(f"not a pronoun-task sentence: {sentence!r}")
    a, b, pron, adj = toks[1], toks[4], toks[6], toks[8]
    if pron == "he":
        return a if a in tiny.MEN else b
    if pron == "she":
        return a if a in tiny.WOMEN else b
    return a if adj in tiny.AGENT_ADJ else b


_REFERENTS = [referent(s) for s in REFERENT_SENTENCES]


def _check_referents(answer):
    if isinstance(answer, str) or not hasattr(answer, "__len__"):
        raise Wrong(f"give a list of {len(REFERENT_SENTENCES)} words, one per sentence, e.g. ['fox', 'boy', ...]")
    answer = list(answer)
    if any(is_placeholder(a) for a in answer):
        raise NotAttempted
    if len(answer) != len(REFERENT_SENTENCES):
        raise Wrong(f"give one word per sentence: {len(REFERENT_SENTENCES)} words, got {len(answer)}")
    answer = [str(a).strip().lower() for a in answer]
    firsts = [s.split()[1] for s in REFERENT_SENTENCES]
    seconds = [s.split()[4] for s in REFERENT_SENTENCES]
    if answer == firsts:
        raise Wrong("you always chose the first noun (the one doing the verb); the pronoun and the adjective "
                    "decide, and sometimes they point at the second noun")
    if answer == seconds:
        raise Wrong("you always chose the second noun (the one nearest the pronoun); nearness is not the rule: "
                    "he/she must agree with the noun, and for 'it' the adjective decides")
    wrong = [i for i, (a, r) in enumerate(zip(answer, _REFERENTS)) if a != r]
    if wrong:
        i = wrong[0]
        toks = REFERENT_SENTENCES[i].split()
        nouns = (toks[1], toks[4])
        if answer[i] not in nouns:
            raise Wrong(f"sentence {i + 1}: {answer[i]!r} is not one of its two nouns {nouns}")
        why = ("'he' and 'she' must agree with a man or a woman" if toks[6] != "it" else
               f"'{toks[8]}' is one of the {'acting' if toks[8] in tiny.AGENT_ADJ else 'acted-upon'} adjectives")
        raise Wrong(f"{len(wrong)} of {len(answer)} wrong; the first is sentence {i + 1} "
                    f"({REFERENT_SENTENCES[i]!r}): {why}")
    return None


predict_referents = Exercise(
    CHAPTER, "predict_referents",
    "say which noun each pronoun refers to in five new sentences (where the referent head should look)",
    _check_referents,
    "For 'he' or 'she', find the noun that agrees (man, boy, king are 'he'; woman, girl, queen are 'she'). "
    "For 'it', look at the last word: hungry, angry and brave belong to the one doing the verb; scared, "
    "slow and tired to the one it is done to.",
    repr(_REFERENTS),
    "The rules are ours, not English: in our toy world the adjective alone decides who 'it' is. The trained "
    "model never saw these five sentences, yet its referent head picks the same nouns.",
)


# --- 3. the induction rule --------------------------------------------------------------------

NO_MATCH = "?"


def _induction_solution(tokens):
    last = tokens[-1]
    for j in range(len(tokens) - 2, -1, -1):      # the most recent earlier copy of the last token
        if tokens[j] == last:
            return tokens[j + 1]                  # ... and what came right after it
    return "?"


def _check_induction(fn):
    cases = [
        (list("kdsmrwd"), "s", None),
        (list("bcdfgbcd"), "f", None),
        (list("bcbdb"), "d", "last"),            # several earlier copies: the most recent wins
        (list("pqrst"), NO_MATCH, "none"),
        (list("zz"), "z", None),
        (["the", "cat", "sat", "the"], "cat", None),
    ]
    for tokens, want, kind in cases:
        got = call(fn, list(tokens), what="induction_next")
        if got == want:
            continue
        shown = " ".join(tokens)
        if kind == "none":
            raise Wrong(f"for '{shown}' the last token never appeared before, so there is nothing to copy: "
                        f"return {NO_MATCH!r}, got {got!r}")
        if got == tokens[-1]:
            raise Wrong(f"for '{shown}' you returned the matching token {got!r} itself; the rule copies the "
                        "token that came right AFTER the earlier copy")
        if kind == "last" and got == "c":
            raise Wrong(f"for '{shown}' you used the first earlier copy of 'b'; use the most recent one "
                        "(search backwards from the second-to-last position)")
        if got == NO_MATCH:
            raise Wrong(f"for '{shown}' you found no earlier copy of {tokens[-1]!r}, but there is one; "
                        "remember to compare with the tokens before the last")
        raise Wrong(f"for '{shown}' you returned {got!r}, expected {want!r}")
    return "this is the rule the layer-1 heads implement: find the earlier copy, copy its successor"


induction_next = Exercise(
    CHAPTER, "induction_next",
    "write induction_next(tokens): the token that followed the most recent earlier copy of the last token",
    _check_induction,
    "Walk j from len(tokens) - 2 down to 0; at the first j with tokens[j] == tokens[-1], return tokens[j + 1]. "
    f"If there is none, return {NO_MATCH!r}.",
    _induction_solution,
    "An induction head does this with two heads in two layers: a previous-token head writes 'the token "
    "before me was X' into each position, and the induction head's query for X finds that note.",
)


# --- 4. images as tokens: cut an image into patches -------------------------------------------

def _patchify_solution(image, patch):
    h, w = image.shape
    grid = image.reshape(h // patch, patch, w // patch, patch)        # (rows of patches, patch, cols, patch)
    return grid.transpose(0, 2, 1, 3).reshape(-1, patch * patch)      # (n, patch·patch)


def _check_patchify(fn):
    image = np.arange(48, dtype=np.float64).reshape(6, 8)
    patch = 2
    got = as_array(call(fn, image.copy(), patch, what="patchify"), "your patches")
    want = _patchify_solution(image, patch)
    expect_shape(got, want.shape, "your patches (one row per patch)")
    naive = image.reshape(-1, patch * patch)
    if np.allclose(got, naive):
        raise Wrong("each of your rows holds pixels from one image row (0, 1, 2, 3 ...), not a 2×2 square; "
                    "reshape to (h/p, p, w/p, p) and move the two patch-grid axes to the front before flattening")
    if not np.allclose(np.sort(got.ravel()), np.sort(want.ravel())):
        raise Wrong("your patches do not contain exactly the pixels of the image, each once")
    if np.allclose(np.sort(got, axis=0), np.sort(want, axis=0)) and not np.allclose(got, want):
        raise Wrong("your patches are right but in the wrong order; number them row by row, left to right, "
                    "as a reader scans a page")
    inner_t = want.reshape(-1, patch, patch).transpose(0, 2, 1).reshape(want.shape)
    if np.allclose(got, inner_t):
        raise Wrong("your patches hold the right pixels, but each is read column by column; flatten each "
                    "patch row by row (transpose(0, 2, 1, 3), not transpose(0, 2, 3, 1))")
    expect_close(got, want, "your patches", names="(patch, pixel)")
    other = np.arange(36, dtype=np.float64).reshape(6, 6)
    expect_close(as_array(call(fn, other.copy(), 3, what="patchify"), "your patches"),
                 _patchify_solution(other, 3), "your 3×3 patches of a 6×6 image", names="(patch, pixel)")
    return "6×8 pixels became n = 12 tokens of 4 numbers each: a vision transformer attends over these"


patchify = Exercise(
    CHAPTER, "patchify",
    "write patchify(image, patch): an (h, w) image -> (n, patch·patch) tokens, one per square patch",
    _check_patchify,
    "image.reshape(h // patch, patch, w // patch, patch) puts the patch grid on axes 0 and 2; "
    ".transpose(0, 2, 1, 3) brings them together; then reshape to (-1, patch * patch).",
    _patchify_solution,
    "This is the first step of a vision transformer (Dosovitskiy et al., 2021): a 224×224 image cut into "
    "16×16 patches becomes n = 196 tokens, and from then on self-attention treats them like words.",
)

# --- 5. design a previous-token head ---------------------------------------------------------

N_POSITIONS = 8


def _previous_solution(d):
    w_q = 20.0 * torch.eye(d, dtype=torch.float64)                   # query i is 20·e_i
    w_k = torch.zeros(d, d, dtype=torch.float64)
    w_k[torch.arange(d - 1), torch.arange(1, d)] = 1.0               # key j is e_{j+1}: it looks like query j+1
    return w_q, w_k


def _check_previous(fn):
    d = N_POSITIONS
    out = call(fn, d, what="previous_token_head")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Wrong("previous_token_head(d) should return two matrices, (W_Q, W_K)")
    w_q, w_k = (torch.as_tensor(as_array(m, name), dtype=torch.float64) for m, name in zip(out, ("W_Q", "W_K")))
    for m, name in ((w_q, "W_Q"), (w_k, "W_K")):
        expect_shape(m.numpy(), (d, d), f"your {name}")
    x = torch.eye(d, dtype=torch.float64)                              # token i is the one-hot position vector e_i
    w = attention(x @ w_q, x @ w_k, x, causal=True).weights           # (n, n), rows are queries
    rows = range(1, d)
    looks = [int(w[i].argmax()) for i in rows]
    if all(j == i for j, i in zip(looks, rows)):
        raise Wrong("every query attends most to itself: query i matches key i. Shift the keys by one, so "
                    "that key j looks like query j + 1 (W_K[j, j + 1] = 1)")
    if all(w[i, i - 1] < w[i].max() for i in rows) and any(j < i - 1 for j, i in zip(looks, rows)):
        raise Wrong(f"query i attends most to keys {looks} (for i = 1 .. {d - 1}), not to i - 1: check the "
                    "direction of your shift")
    wrong = [i for j, i in zip(looks, rows) if j != i - 1]
    if wrong:
        i = wrong[0]
        raise Wrong(f"query {i} attends most to key {looks[i - 1]}, not to key {i - 1}. If key j looks like "
                    "query j - 1 (a shift the wrong way), query i matches key i + 1, which the causal mask "
                    "hides; shift the other way")
    weakest = min(float(w[i, i - 1]) for i in rows)
    if weakest < 0.9:
        raise Wrong(f"every query points at the previous token, but the weakest gives it only {weakest:.2f}: the "
                    "scores are too close for softmax to pick one key. Scale W_Q (or W_K) up, e.g. by 20")
    return (f"every query i ≥ 1 puts at least {weakest:.2f} on key i - 1: a previous-token head, the first half "
            "of an induction head")


previous_token_head = Exercise(
    CHAPTER, "previous_token_head",
    f"design W_Q and W_K (each d × d, d = {N_POSITIONS}) so that, with one-hot position vectors as tokens and a "
    "causal mask, every query i ≥ 1 puts at least 0.9 of its weight on key i - 1",
    _check_previous,
    "Query i is e_i W_Q and key j is e_j W_K, so the score of (i, j) is W_Q[i] · W_K[j]. With W_Q = c·I it is "
    "c·W_K[j, i]: put a 1 where j = i - 1, that is W_K[j, j + 1] = 1, and choose c large enough.",
    _previous_solution,
    "A trained model cannot use one-hot positions this cleanly, but layer 0, head 0 of the chapter's model "
    "learned the same job from its learned position vectors.",
)


# --- 6. debug: switching a head off -----------------------------------------------------------

def _ablate_solution(w_o, head, d_head):
    w = w_o.clone()                                   # W_O (d_model, d_model): column c reads feature c of the heads' output
    w[:, head * d_head:(head + 1) * d_head] = 0.0     # the d_head columns that read head `head`
    return w


def _check_ablate(fn):
    g = torch.Generator().manual_seed(11)
    d_model, n_heads = 12, 3
    d_head = d_model // n_heads
    w_o = torch.randn(d_model, d_model, generator=g, dtype=torch.float64)
    heads_out = torch.randn(5, d_model, generator=g, dtype=torch.float64)    # (n, n_heads·d_head): concatenated heads
    for head in range(n_heads):
        original = w_o.clone()
        got = call(fn, w_o, head, d_head, what="ablate_head")
        if not torch.equal(w_o, original):
            raise Wrong("your ablate_head changed the W_O it was given: work on a copy (w_o.clone()) so the model "
                        "can be put back")
        got = torch.as_tensor(as_array(got, "your W_O"), dtype=torch.float64)
        expect_shape(got.numpy(), (d_model, d_model), "your W_O")
        want = _ablate_solution(w_o, head, d_head)
        if torch.equal(got, want):
            continue
        cols = slice(head * d_head, (head + 1) * d_head)
        rows_zeroed = w_o.clone()
        rows_zeroed[cols, :] = 0.0
        if torch.equal(got, rows_zeroed):
            raise Wrong(f"head {head}: you zeroed rows {cols.start}..{cols.stop - 1}. An nn.Linear weight is "
                        "(out_features, in_features): rows are output features, which every head writes to. "
                        "Head h's output is read by the COLUMNS h·d_head .. (h+1)·d_head - 1")
        zero = (got == 0).all(dim=0)
        raise Wrong(f"head {head}: the columns you zeroed are {zero.nonzero().flatten().tolist()}, but head {head} "
                    f"is read by columns {list(range(cols.start, cols.stop))}")
    # what it means: the layer's output no longer depends on the switched-off head
    ablated = _ablate_solution(w_o, 1, d_head)
    changed = heads_out.clone()
    changed[:, d_head:2 * d_head] += 1.0                                       # change only head 1's output
    expect_close((changed @ ablated.T).numpy(), (heads_out @ ablated.T).numpy(), "the layer's output", atol=1e-12)
    return "with its columns of W_O at zero, nothing head h computes reaches the residual stream"


ablate_head = Exercise(
    CHAPTER, "ablate_head",
    "find and fix the bug in ablate_head(w_o, head, d_head), which should return a copy of W_O with one head "
    "switched off",
    _check_ablate,
    "nn.Linear computes x @ W.T, so W_O has shape (out_features, in_features) = (d_model, n_heads·d_head). "
    "Which index of W_O runs over the concatenated heads' features?",
    _ablate_solution,
    "Zeroing rows would silence d_head output features of every head at once, a different experiment.",
)

__all__ = ["cosine_similarity", "predict_referents", "induction_next", "patchify", "previous_token_head",
           "ablate_head", "referent", "REFERENT_SENTENCES", "NO_MATCH", "N_POSITIONS"]
