"""Masks taken into the hand: presets, one-cell edits and what they do to the weights (chapter 5).

The plain computations behind chapter 5's mask editor and its figures:

* `preset_mask`: the n×n masks a reader starts from (bidirectional, causal, padding, sliding
  window, causal + padding), built from selfattn.masks;
* `toggle`: a copy of a mask with one cell flipped (blocked <-> open);
* `sentence_qkv`: Q, K, V for a typed sentence from the hand-designed embeddings and projections;
* `masked_view` / `apply_mask_edit`: the weights, row sums and empty rows under a mask, and the
  same after one click;
* `future_cells`: the open cells that let a query see a later key (a causal mask has none);
* `real_positions`: the (batch, n) table of real tokens and padding of a padded batch.

Math layer: numpy and torch only. The widget in selfattn.widgets.masks only wires controls to
these functions, and the figures in selfattn.viz.masks draw what these functions return.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import masks
from ..attention import attention
from ..embeddings import as_tokens, embed, hand_projections
from ..errors import AttentionInputError, as_tensor, check_choice, check_finite, check_int
from ..limits import MAX_TOKENS

PRESETS = ("bidirectional", "causal", "padding", "window", "causal+padding")


def check_size(n: int) -> int:
    """Refuse sizes the editor cannot show usefully (an n×n grid above MAX_TOKENS is unreadable)."""
    n = check_int(n, "n", minimum=1, meaning="number of tokens")
    if n > MAX_TOKENS:
        raise AttentionInputError(
            f"the mask editor takes at most {MAX_TOKENS} tokens, got n={n}: an n×n grid larger than "
            f"{MAX_TOKENS}×{MAX_TOKENS} is too small to click and too slow to redraw")
    return n


def preset_mask(kind: str, n: int, *, length: int | None = None, width: int | None = None) -> torch.Tensor:
    """(n, n) boolean mask, True where query i may attend to key j.

    kind: "bidirectional" (all open), "causal" (key j <= query i), "padding" (keys 0..length-1
    are real, the rest are padding and blocked for every query), "window" (causal sliding window:
    query i sees keys i-width+1..i), or "causal+padding" (both rules at once, as in a padded
    decoder batch). length defaults to n, width to 3.
    """
    n = check_size(n)
    check_choice(kind, "kind", PRESETS)
    length = n if length is None else check_int(length, "length", minimum=0, maximum=n, meaning="real tokens")
    width = min(3, n) if width is None else check_int(width, "width", minimum=1, maximum=n, meaning="window size")
    if kind == "bidirectional":
        return masks.bidirectional(n)                                  # (n, n)
    if kind == "causal":
        return masks.causal(n)                                         # (n, n)
    if kind == "window":
        return masks.window(n, width, causal=True)                     # (n, n)
    pad = masks.padding([length], n)[0]                                # (1, n): one key mask for every query
    if kind == "padding":
        return pad.expand(n, n).clone()                                # (n, n)
    return masks.combine(masks.causal(n), pad)                         # (n, n)


def as_square_mask(mask, n: int | None = None, name: str = "mask") -> torch.Tensor:
    """A 2-D boolean (n, n) torch mask from a numpy array, a tensor or nested lists."""
    if isinstance(mask, np.ndarray):
        mask = torch.from_numpy(np.ascontiguousarray(mask))
    elif isinstance(mask, (list, tuple)):
        mask = torch.as_tensor(np.asarray(mask))
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise AttentionInputError(
            f"{name} must be a boolean (n, n) array or tensor (True where a query may attend), "
            f"got {getattr(mask, 'dtype', type(mask).__name__)}")
    if mask.dim() != 2 or mask.shape[0] != mask.shape[1] or (n is not None and mask.shape[0] != n):
        want = "(n, n)" if n is None else f"(n={n}, n={n})"
        raise AttentionInputError(f"{name} must have shape {want}, got shape {tuple(mask.shape)}")
    return mask


def toggle(mask, row: int, col: int) -> torch.Tensor:
    """A copy of the (n, n) mask with cell (row, col) flipped: a blocked key opens, an open one is blocked."""
    m = as_square_mask(mask)
    n = m.shape[0]
    row = check_int(row, "row", minimum=0, maximum=n - 1, meaning="query index")
    col = check_int(col, "col", minimum=0, maximum=n - 1, meaning="key index")
    out = m.clone()
    out[row, col] = not bool(m[row, col])
    return out


def future_cells(mask) -> list[tuple[int, int]]:
    """Open cells (i, j) with j > i: places where a query can see a later token.

    Works on (..., n_q, n_k) masks by looking at the last two dimensions of every leading index;
    the pairs are (query, key). A causal mask has none.
    """
    m = torch.from_numpy(np.asarray(mask)) if not isinstance(mask, torch.Tensor) else mask
    m = m.bool()
    if m.dim() < 2:
        raise AttentionInputError(f"mask must have at least 2 dimensions (n_q, n_k), got shape {tuple(m.shape)}")
    n_q, n_k = m.shape[-2:]
    above = torch.ones(n_q, n_k, dtype=torch.bool).triu(1)             # (n_q, n_k): j > i
    leaks = (m & above).reshape(-1, n_q, n_k).any(dim=0)               # (n_q, n_k)
    return [(int(i), int(j)) for i, j in leaks.nonzero().tolist()]


def real_positions(lengths, n: int) -> torch.Tensor:
    """(batch, n) bool: True where sequence b has a real token, False at its padding (on the right).

    The key part of `selfattn.masks.padding` without the query dimension: what a picture of a
    padded batch shows.
    """
    return masks.padding(lengths, n)[:, 0]                             # (batch, n)


def sentence_qkv(text_or_tokens, *, max_tokens: int = MAX_TOKENS):
    """(tokens, q, k, v) for a sentence: hand-designed embeddings and projections (not learned).

    q, k: (n, d_k), v: (n, d_v). Text goes through selfattn.embeddings.tokenize, which refuses
    empty or over-long input with a message.
    """
    tokens = as_tokens(text_or_tokens, max_tokens=max_tokens)
    w_q, w_k, w_v = hand_projections()
    x = embed(tokens)                                                  # (n, d_model)
    return tokens, x @ w_q, x @ w_k, x @ w_v                           # (n, d_k), (n, d_k), (n, d_v)


@dataclass(frozen=True)
class MaskView:
    """What the mask editor shows for one mask.

    mask (n, n) bool, True = open; scores (n, n) scaled scores with blocked cells at -inf;
    weights (n, n); output (n, d_v); row_sums (n,): 1 for a row with an open key, 0 for an
    empty row; empty_rows (n,) bool; open_counts (n,) how many keys each query may see;
    future: open cells above the diagonal (query, key).
    """

    mask: torch.Tensor
    scores: torch.Tensor
    weights: torch.Tensor
    output: torch.Tensor
    row_sums: torch.Tensor
    empty_rows: torch.Tensor
    open_counts: torch.Tensor
    future: tuple[tuple[int, int], ...]

    @property
    def n(self) -> int:
        return int(self.mask.shape[0])


def masked_view(q, k, v, mask) -> MaskView:
    """Self-attention of (n, d_k) queries and keys and (n, d_v) values under an (n, n) mask."""
    qt, kt, vt = as_tensor(q, "q"), as_tensor(k, "k"), as_tensor(v, "v")
    for t, name in ((qt, "q"), (kt, "k"), (vt, "v")):
        if t.dim() != 2:
            raise AttentionInputError(f"{name} must have shape (n, features) for one sentence, got {tuple(t.shape)}")
        check_finite(t, name)
    n = check_size(qt.shape[0])
    m = as_square_mask(mask, n)
    result = attention(qt, kt, vt, mask=m)
    weights = result.weights                                           # (n, n)
    return MaskView(mask=m.clone(), scores=result.scores, weights=weights, output=result.output,
                    row_sums=weights.sum(dim=-1),                      # (n,)
                    empty_rows=masks.empty_rows(m),                    # (n,)
                    open_counts=m.sum(dim=-1),                         # (n,)
                    future=tuple(future_cells(m)))


def apply_mask_edit(q, k, v, mask, row: int, col: int) -> MaskView:
    """Flip cell (row, col) of the mask and recompute: what one click in the editor does."""
    return masked_view(q, k, v, toggle(mask, row, col))
