"""Exercises for chapter 5 (notebooks/05_masks.ipynb): causal, bidirectional and padding masks.

    from selfattn.exercises import ch05 as ex
    ex.causal_by_hand.check([[1, 0, 0, 0], ...])

Every mask here follows the book's convention: True (or 1) where a query MAY attend to a key,
False (or 0) where the key is blocked. (torch.nn.MultiheadAttention's boolean masks use the
opposite convention; the checkers say so when an answer looks like it.)

Eight exercises, each checker naming the typical mistakes one by one, make this module a little
longer than the book's usual 400 lines; like every chapter's exercises they stay in one module.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import masks
from ..attention import softmax
from ..explore.masks import future_cells
from ._core import Exercise, NotAttempted, Wrong, as_array, call, expect_close, expect_shape, random_inputs

CHAPTER = "ch05"


def _bool_matrix(answer, what: str) -> np.ndarray:
    """The learner's mask as a numpy bool array; 0/1 numbers are accepted, anything else is not."""
    arr = as_array(answer, what)
    if not np.all(np.isin(arr, (0.0, 1.0))):
        raise Wrong(f"{what} should hold only True/False (or 1/0), got values such as {arr[~np.isin(arr, (0.0, 1.0))][0]:g}")
    return arr.astype(bool)


def _leak_message(leaks: list[tuple[int, int]], prefix: str = "") -> str:
    shown = ", ".join(f"query {i} sees key {j}" for i, j in leaks[:3])
    more = f" (and {len(leaks) - 3} more)" if len(leaks) > 3 else ""
    return (f"{prefix}a future token leaks through your mask: {shown}{more}. A causal mask must block every "
            "key j > i, so that no position can read the tokens it will later be asked to predict")


# --- 1. compute by hand: the 4×4 causal mask -------------------------------------------------------

def _causal_answer():
    return [[1, 0, 0, 0],
            [1, 1, 0, 0],
            [1, 1, 1, 0],
            [1, 1, 1, 1]]


def _check_causal_by_hand(answer):
    got = _bool_matrix(answer, "your mask")
    expect_shape(got, (4, 4), "your mask (n_q=4, n_k=4)")
    ref = masks.causal(4).numpy()
    if np.array_equal(got, ~ref):
        raise Wrong("your mask is upside down: it is True exactly where keys should be blocked. In this book True "
                    "(1) means 'may attend' (torch.nn.MultiheadAttention uses the opposite convention)")
    leaks = future_cells(got)
    if leaks:
        raise Wrong(_leak_message(leaks))
    if not np.diag(got).all():
        i = int(np.argwhere(~np.diag(got))[0][0])
        raise Wrong(f"query {i} cannot see itself (key {i}): a causal mask keeps the diagonal open, so the first "
                    "token has at least itself to attend to")
    missing = np.argwhere(ref & ~got)
    if len(missing):
        i, j = (int(x) for x in missing[0])
        raise Wrong(f"query {i} cannot see key {j}, an earlier token: a causal mask blocks only the future, "
                    "every past token stays open")
    return "lower triangle open, diagonal included: query i sees keys 0..i"


causal_by_hand = Exercise(
    CHAPTER, "causal_by_hand",
    "Write the 4×4 causal mask by hand as a nested list of 1 (may attend) and 0 (blocked).",
    _check_causal_by_hand,
    "Row i is query i. It may look at keys 0, 1, ..., i (its past and itself) and not at i+1, ..., 3. "
    "So row 0 has one 1, row 3 has four.",
    "[[1, 0, 0, 0],\n [1, 1, 0, 0],\n [1, 1, 1, 0],\n [1, 1, 1, 1]]",
    "The causal mask is the lower triangle including the diagonal: masks.causal(4), or torch.tril(torch.ones(4, 4)).")


# --- 2. compute by hand: blocking a key re-normalises the rest -------------------------------------
RENORM_WEIGHTS = (0.1, 0.2, 0.3, 0.4)      # one query's weights before any key is blocked
RENORM_BLOCKED = 3                         # the key the mask then blocks


def _renorm_answer() -> np.ndarray:
    w = np.array(RENORM_WEIGHTS)
    w[RENORM_BLOCKED] = 0.0
    return w / w.sum()


def _check_renormalise(answer):
    got = as_array(answer, "your weights").reshape(-1)
    ref = _renorm_answer()
    if got.shape == (3,) and np.allclose(got, np.delete(ref, RENORM_BLOCKED), atol=2e-3):
        raise Wrong("right numbers for the open keys; give all four weights, with 0 for the blocked key 3")
    expect_shape(got, (4,), "your weights (one per key)")
    if abs(got[RENORM_BLOCKED]) > 1e-6:
        raise Wrong(f"key {RENORM_BLOCKED} is blocked, so its weight must be exactly 0; you gave {got[RENORM_BLOCKED]:.3f}")
    zeroed = np.array(RENORM_WEIGHTS)
    zeroed[RENORM_BLOCKED] = 0.0
    if np.allclose(got, zeroed, atol=2e-3):
        raise Wrong("you set the blocked weight to 0 but did not re-normalise: the row now sums to 0.6. Masking "
                    "happens before softmax, so the open keys share all of the weight")
    even = zeroed + np.where(np.arange(4) == RENORM_BLOCKED, 0.0, RENORM_WEIGHTS[RENORM_BLOCKED] / 3)
    if np.allclose(got, even, atol=2e-3):
        raise Wrong("you shared the blocked key's 0.4 equally among the others. Softmax re-normalises in proportion: "
                    "e^{s_j} / Σ_open e^{s_l} keeps the ratios between the open keys, so divide each by 0.6")
    if not np.isclose(got.sum(), 1.0, atol=2e-3):
        raise Wrong(f"your weights sum to {got.sum():.3f}; after masking the open keys' weights still sum to 1")
    expect_close(got, ref, "your weights", atol=2e-3, names="key")
    return "0.1, 0.2, 0.3 divided by their sum 0.6: 0.167, 0.333, 0.500 and 0 — the ratios 1:2:3 survive"


renormalise_by_hand = Exercise(
    CHAPTER, "renormalise_by_hand",
    "A query's weights over 4 keys are (0.1, 0.2, 0.3, 0.4). A mask now blocks key 3. Give the new four weights.",
    _check_renormalise,
    "Masking sets score 3 to -inf before softmax. The exponentials of the other scores do not change, only the "
    "sum they are divided by. So each remaining weight is divided by the total weight that remains.",
    "[0.1 / 0.6, 0.2 / 0.6, 0.3 / 0.6, 0.0]  # = [0.167, 0.333, 0.500, 0.000]")


# --- 3. implement masked softmax ------------------------------------------------------------------

def _masked_softmax_solution(scores, mask):
    scores = scores.masked_fill(~mask, float("-inf"))            # (n_q, n_k), blocked -> -inf
    row_max = scores.amax(dim=-1, keepdim=True)                   # (n_q, 1)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(scores - row_max)                               # (n_q, n_k), blocked -> 0
    total = e.sum(dim=-1, keepdim=True)                           # (n_q, 1), 0 for an empty row
    return e / torch.where(total > 0, total, torch.ones_like(total))


def _raw(x, what: str) -> np.ndarray:
    """Like as_array, but keeps NaN so the checker can say where it came from."""
    if x is None or x is ...:
        raise NotAttempted
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} should be numbers (an array or tensor), got {type(x).__name__}") from None


def _rows_sum_to_one(got: np.ndarray, advice: str) -> None:
    """Raise Wrong naming the first row of the weights that does not sum to 1, with the advice."""
    sums = got.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        i = int(np.argwhere(~np.isclose(sums, 1.0, atol=1e-4))[0][0])
        raise Wrong(f"row {i} sums to {sums[i]:.3f}, not 1{advice}")


def _reference_weights(scores, mask):
    return softmax(scores.masked_fill(~mask, float("-inf"))).numpy()


def _check_masked_softmax(fn):
    (scores,) = random_inputs(50, (4, 5))
    scores = scores * 2                                            # (n_q=4, n_k=5)
    mask = masks.combine(masks.causal(4, 5, offset=1), torch.tensor([True, True, False, True, True]))
    what = "masked_softmax(scores, mask)"
    with np.errstate(all="ignore"):
        got = as_array(call(fn, scores.clone(), mask.clone(), what="masked_softmax"), what)
    expect_shape(got, (4, 5), f"{what} (n_q=4, n_k=5)")
    ref = _reference_weights(scores, mask)
    if np.all(np.isfinite(got)):
        if np.allclose(got, _reference_weights(scores, ~mask), atol=1e-5):
            raise Wrong("you blocked the open keys and opened the blocked ones: True in the mask means 'may attend'")
        leaked = (~mask.numpy()) & (np.abs(got) > 1e-6)
        if leaked.any():
            i, j = (int(x) for x in np.argwhere(leaked)[0])
            zero_fill = torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1).numpy()
            if np.allclose(got, zero_fill, atol=1e-5):
                raise Wrong(f"blocked key {j} still gets weight {got[i, j]:.3f} in row {i}: a score of 0 does not block "
                            "anything (e^0 = 1). Set blocked scores to -inf, so that e^-inf = 0")
            raise Wrong(f"blocked key {j} still gets weight {got[i, j]:.3f} in row {i}: every blocked cell must be 0")
        _rows_sum_to_one(got, ". Did you zero the weights after softmax? Block the scores before softmax, so that "
                              "each row re-normalises over its open keys")
    expect_close(got, ref, what, atol=1e-5, names="(query, key)")

    empty = mask.clone()
    empty[1] = False                                               # query 1 can see nothing
    what = "masked_softmax with an empty row (query 1 sees no key)"
    with np.errstate(all="ignore"):
        got = _raw(call(fn, scores.clone(), empty.clone(), what="masked_softmax"), what)
    expect_shape(got, (4, 5), f"{what}")
    if np.isnan(got[1]).any():
        raise Wrong("row 1 has no open key and your function returns NaN there (softmax of all -inf is 0/0). Return "
                    "a row of zeros instead, as selfattn does: the query gathered nothing. NaN would spread into the "
                    "loss and every gradient")
    if not np.all(np.isfinite(got)):
        raise Wrong(f"{what} contains NaN or inf outside the empty row")
    if np.abs(got[1]).max() > 1e-6:
        raise Wrong(f"row 1 has no open key, but your weights there are {np.round(got[1], 3).tolist()}: a large "
                    "negative number (like -1e9) instead of -inf spreads the weight over blocked keys. An empty row "
                    "must be all zeros")
    expect_close(got, _reference_weights(scores, empty), what, atol=1e-5, names="(query, key)")
    return "blocked scores go to -inf before softmax, rows re-normalise, and an empty row stays all zeros"


masked_softmax = Exercise(
    CHAPTER, "masked_softmax",
    "Implement masked_softmax(scores, mask) for an (n_q, n_k) tensor and a boolean mask (True = may attend). "
    "Blocked weights are 0, each row sums to 1, and a row with no open key is all zeros.",
    _check_masked_softmax,
    "scores.masked_fill(~mask, float('-inf')), then a stable softmax. For a row of all -inf the row max is -inf: "
    "replace it by 0 before subtracting, and divide by the row sum only where it is > 0.",
    _masked_softmax_solution)


# --- 4. implement a padding mask from lengths -----------------------------------------------------

def _padding_solution(lengths, n):
    positions = torch.arange(n)                                   # (n,)
    return positions[None, :] < torch.as_tensor(lengths)[:, None]  # (batch, n), True for real tokens


def _check_padding(fn):
    lengths, n = [3, 5, 1], 5
    what = f"padding_mask({lengths}, n={n})"
    got = _bool_matrix(call(fn, list(lengths), n, what="padding_mask"), what)
    ref = masks.padding(lengths, n)[:, 0].numpy()                 # (batch, n)
    if got.shape == (n, len(lengths)) and np.array_equal(got.T, ref):
        raise Wrong(f"{what} has shape {got.shape}: one row per sequence, please, shape (batch={len(lengths)}, n={n})")
    expect_shape(got, (len(lengths), n), f"{what} (batch={len(lengths)}, n={n})")
    if np.array_equal(got, ~ref):
        raise Wrong("your mask is True on the padding: that is torch.nn.MultiheadAttention's key_padding_mask "
                    "convention (True = ignore). In this book True means 'a real token, may attend'")
    for b, length in enumerate(lengths):
        row = got[b]
        if row[length:].any():
            j = length + int(np.argmax(row[length:]))
            raise Wrong(f"sequence {b} has length {length}, but position {j} is marked real: positions {length}..{n - 1} "
                        "are padding (did you use <= instead of <?)")
        if not row[:length].all():
            j = int(np.argmin(row[:length]))
            raise Wrong(f"sequence {b} has length {length}, so positions 0..{length - 1} are real tokens, but position "
                        f"{j} is marked as padding")
    return "position j is real exactly when j < length: padding sits at the right end of each row"


padding_mask = Exercise(
    CHAPTER, "padding_mask",
    "Implement padding_mask(lengths, n) -> a (batch, n) boolean tensor, True where sequence b has a real token.",
    _check_padding,
    "Compare the positions 0..n-1 (shape (1, n)) with the lengths (shape (batch, 1)); broadcasting gives (batch, n).",
    _padding_solution)


# --- 5. implement the mask of a padded decoder batch ----------------------------------------------

def _decoder_solution(lengths, n):
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))           # (n, n)
    real = torch.arange(n)[None, :] < torch.as_tensor(lengths)[:, None]  # (batch, n): real keys
    return causal[None, :, :] & real[:, None, :]                       # (batch, n, n)


def _check_decoder(fn):
    lengths, n = [4, 2], 4
    what = f"decoder_mask({lengths}, n={n})"
    got = _bool_matrix(call(fn, list(lengths), n, what="decoder_mask"), what)
    expect_shape(got, (len(lengths), n, n), f"{what} (batch={len(lengths)}, n_q={n}, n_k={n})")
    ref = masks.combine(masks.causal(n), masks.padding(lengths, n)).numpy()   # (batch, n, n)
    if np.array_equal(got, ~ref):
        raise Wrong("your mask is True exactly where keys should be blocked; in this book True means 'may attend'")
    for b in range(len(lengths)):
        leaks = future_cells(got[b])
        if leaks:
            raise Wrong(_leak_message(leaks, prefix=f"in sequence {b}, "))
    for b, length in enumerate(lengths):
        seen_pad = np.argwhere(got[b][:, length:])
        if len(seen_pad):
            i, j = int(seen_pad[0][0]), length + int(seen_pad[0][1])
            raise Wrong(f"in sequence {b} (length {length}), query {i} can see key {j}, a padding position: block the "
                        "padding keys for every query")
        for i in range(length, n):
            if not got[b, i].any():
                raise Wrong(f"in sequence {b} (length {length}), the padding query {i} can see no key at all. An empty "
                            "row is what makes torch.nn.MultiheadAttention return NaN; block padding keys only. The "
                            "outputs of padding queries are thrown away by the loss anyway")
    missing = np.argwhere(ref & ~got)
    if len(missing):
        b, i, j = (int(x) for x in missing[0])
        raise Wrong(f"in sequence {b}, query {i} cannot see key {j}, an earlier real token: only future and padding "
                    "keys should be blocked")
    return "causal AND not-padding, broadcast to (batch, n, n): no future keys, no padding keys, no empty rows"


decoder_mask = Exercise(
    CHAPTER, "decoder_mask",
    "Implement decoder_mask(lengths, n) -> a (batch, n, n) boolean tensor for a padded batch in a decoder: "
    "query i may see key j only if j <= i and j is a real token.",
    _check_decoder,
    "Build the (n, n) causal mask and the (batch, n) padding mask, then combine them with & after adding "
    "dimensions so that they broadcast: causal[None, :, :] and real[:, None, :].",
    _decoder_solution)


# --- predict, then check: which outputs move when one token changes -------------------------------
PREDICT_SENTENCE = ("the", "cat", "sat", "on", "the", "mat")
PREDICT_SWAP = (2, "ran")                  # token 2 ("sat") becomes "ran"


def _changed_answer() -> list[int]:
    return list(range(PREDICT_SWAP[0], len(PREDICT_SENTENCE)))


def _check_changed(answer):
    if isinstance(answer, (int, np.integer)) and not isinstance(answer, bool):
        answer = [answer]
    try:
        got = sorted({int(i) for i in answer})
    except (TypeError, ValueError):
        raise Wrong(f"answer with a list of positions (whole numbers 0..{len(PREDICT_SENTENCE) - 1}), got {answer!r}") from None
    ref = _changed_answer()
    t = PREDICT_SWAP[0]
    n = len(PREDICT_SENTENCE)
    if got == ref:
        return (f"positions {t}..{n - 1}: under a causal mask every query at or after {t} may read token {t}, "
                f"and none before it can")
    if got == list(range(n)):
        raise Wrong("that is what a bidirectional mask gives: every position reads every token. Under a causal mask "
                    f"positions 0..{t - 1} cannot see token {t}, so their outputs do not move")
    if got == [t]:
        raise Wrong(f"token {t} is not only read by its own position: every later query may attend to it too")
    if got == ref[1:]:
        raise Wrong(f"position {t} itself changes as well: the diagonal of a causal mask is open, so query {t} "
                    f"reads its own (new) token")
    early = [i for i in got if i < t]
    if early:
        raise Wrong(f"position {early[0]} comes before the changed token {t}; a causal mask hides later tokens from it, "
                    "so its output cannot change")
    missing = [i for i in ref if i not in got]
    raise Wrong(f"position {missing[0]} changes too: it comes after token {t} and may attend to it")


changed_positions = Exercise(
    CHAPTER, "changed_positions",
    "Predict: under a causal mask, token 2 of 'the cat sat on the mat' becomes 'ran'. Which positions' outputs change?",
    _check_changed,
    "Query i may read keys 0..i. Which queries have token 2 among the keys they may read?",
    "changed = [2, 3, 4, 5]  # every query at or after the changed token")


# --- debug: a masked softmax that adds the boolean mask as numbers ---------------------------------

def buggy_masked_softmax(scores, mask):
    """The buggy version the notebook shows: it adds the boolean mask to the scores as 1/0.

    (Section 5.2 already shows the other classic slip, filling blocked scores with 0; the checker
    recognises both.) F.scaled_dot_product_attention adds a float attn_mask to the scores, so a
    0/1 float mask passed there has the same effect.
    """
    return torch.softmax(scores + mask.float(), dim=-1)           # (n_q, n_k)


def _fixed_masked_softmax(scores, mask):
    scores = scores.masked_fill(~mask, float("-inf"))             # (n_q, n_k): blocked -> -inf
    return torch.softmax(scores, dim=-1)                          # (n_q, n_k)


def _check_fixed(fn):
    (scores,) = random_inputs(51, (5, 5))
    scores = scores * 2                                            # (n_q=5, n_k=5)
    mask = masks.causal(5)                                         # every row keeps at least its own key
    what = "your masked softmax"
    with np.errstate(all="ignore"):
        got = _raw(call(fn, scores.clone(), mask.clone(), what="fixed_masked_softmax"), what)
    expect_shape(got, (5, 5), f"{what} (n_q=5, n_k=5)")
    inverted = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1).numpy()
    if np.allclose(got, inverted, atol=1e-6, equal_nan=True):
        raise Wrong("you blocked the open keys and opened the blocked ones: True in the mask means 'may attend', "
                    "so fill where ~mask (the last row, with every key open, then has nothing left and gives NaN)")
    if not np.all(np.isfinite(got)):
        raise Wrong(f"{what} returns NaN or inf, though every row here has an open key: subtract the row max "
                    "before exp, or let torch.softmax do it")
    ref = _reference_weights(scores, mask)
    if np.allclose(got, torch.softmax(scores + mask.float(), dim=-1).numpy(), atol=1e-6):
        raise Wrong("this is still the bug: adding the mask as numbers adds 1 to every open score and 0 to every "
                    "blocked one, so a blocked key only loses a factor e of weight and keeps a share. An additive "
                    "mask holds 0 where a key may attend and -inf where it is blocked (F.scaled_dot_product_attention "
                    "adds a float attn_mask exactly like this); or fill the blocked scores with float('-inf')")
    if np.allclose(got, torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1).numpy(), atol=1e-6):
        raise Wrong("masked_fill(~mask, 0.0) gives a blocked key the score 0, an ordinary middling score, and "
                    "e^0 = 1, so the future keeps a share of the weight. Fill with float('-inf')")
    leaked = (~mask.numpy()) & (np.abs(got) > 1e-6)
    if leaked.any():
        i, j = (int(x) for x in np.argwhere(leaked)[0])
        raise Wrong(f"blocked key {j} still gets weight {got[i, j]:.3f} in row {i}: every blocked cell must be exactly 0")
    _rows_sum_to_one(got, ": zeroing weights after the softmax removes the blocked keys but does not re-normalise. "
                          "Block the scores before the softmax")
    expect_close(got, ref, what, atol=1e-5, names="(query, key)")
    return "blocked scores become -inf before the softmax, so e^-inf = 0 and each row re-normalises over its open keys"


debug_masked_softmax = Exercise(
    CHAPTER, "debug_masked_softmax",
    "Debug: buggy_masked_softmax lets blocked keys keep weight. Find the bug and write the fixed version.",
    _check_fixed,
    "Run the check on the buggy function and read which cell gets weight. What does adding True (1) or False (0) "
    "to a score do to its weight after exp?",
    _fixed_masked_softmax)


# --- design: the mask of a prefix language model ---------------------------------------------------

def _prefix_solution(n, prefix):
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))           # (n, n)
    in_prefix = torch.arange(n) < prefix                               # (n,)
    return causal | in_prefix[None, :]                                # (n, n): every query sees the whole prefix


def _check_prefix(fn):
    for n, prefix in ((6, 3), (5, 1), (4, 0), (4, 4)):
        what = f"prefix_lm_mask(n={n}, prefix={prefix})"
        got = _bool_matrix(call(fn, n, prefix, what="prefix_lm_mask"), what)
        expect_shape(got, (n, n), f"{what} (n_q={n}, n_k={n})")
        ref = _prefix_solution(n, prefix).numpy()
        if np.array_equal(got, ref):
            continue
        if np.array_equal(got, ~ref):
            raise Wrong(f"{what} is True exactly where keys should be blocked; in this book True means 'may attend'")
        seen_future = np.argwhere(got & ~ref)
        if len(seen_future):
            i, j = (int(x) for x in seen_future[0])
            raise Wrong(f"in {what}, query {i} can see key {j}, a generated token after it: outside the prefix the "
                        "mask stays causal, for the prefix's queries too (they must not read the answer)")
        hidden = np.argwhere(ref & ~got)
        i, j = (int(x) for x in hidden[0])
        if j < prefix and j > i:
            raise Wrong(f"in {what}, query {i} cannot see key {j}, which is in the prefix: the prefix is read in both "
                        "directions, so every query sees every prefix token (a plain causal mask hides the later "
                        "prefix tokens)")
        raise Wrong(f"in {what}, query {i} cannot see key {j}, an earlier token: only later generated tokens are blocked")
    return ("causal OR 'the key is in the prefix': the prefix is read bidirectionally, the rest is generated "
            "causally; prefix = 0 gives the causal mask, prefix = n the bidirectional one")


prefix_lm_mask = Exercise(
    CHAPTER, "prefix_lm_mask",
    "Design: prefix_lm_mask(n, prefix) -> the (n, n) mask of a prefix language model: the first `prefix` tokens "
    "see each other in both directions, every later token sees the prefix and the tokens before it.",
    _check_prefix,
    "Start from the causal mask. Which extra cells does a prefix open? They are all in the first `prefix` "
    "columns. Combine with | (logical OR): a cell is open if either rule opens it.",
    _prefix_solution)
