"""Sliding-window (local) attention with optional global tokens, without an n×n matrix.

Each query looks only at the keys within `window` positions of it (Beltagy et al. 2020,
Longformer; Child et al. 2019 call it a local pattern). The work is done in blocks of `b`
consecutive queries: block c needs only the keys from c·b - (window - 1) to its own end, a
strip of `b + window - 1` keys. All strips are views into one padded copy of K (no copying,
thanks to `Tensor.unfold`), so the scores computed are (n / b) blocks of shape (b, strip) —
about n·(b + window) numbers instead of n².

Global tokens (Longformer): a few chosen positions that attend to every key and that every
query attends to. Their rows are computed with full attention (a few rows of length n), and
their columns are appended to every block's strip.

Equivalent dense mask (see `sliding_window_mask`), with W the window mask of `selfattn.masks.window`:
    allowed[i, j] = (W[i, j] or i is global or j is global) and (j <= i if causal)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import AttentionInputError
from ..masks import window as window_band
from . import _common
from ._common import positive_int, prepare, token_indices

__all__ = ["sliding_window_attention", "sliding_window_mask", "sliding_window_block_size"]


def sliding_window_block_size(window: int) -> int:
    """The query-block size used for a window: 64 to 128 queries, fewer when the window is small.

    A block of b queries computes b·(b + window - 1) scores for about b·window useful ones, so
    smaller blocks waste less; but very small blocks make matrix products inefficient.
    """
    return max(8, min(128, 1 << (max(window, 1) - 1).bit_length()))


def sliding_window_mask(n: int, window: int, *, causal: bool = True, global_tokens=None) -> torch.Tensor:
    """(n, n) boolean mask of what `sliding_window_attention` lets each query see (for pictures and tests)."""
    n = positive_int(n, "n")
    window = positive_int(window, "window")
    g = token_indices(global_tokens, n, "global_tokens")
    m = window_band(n, window, causal=causal)                        # (n, n)
    if g.numel():
        m[g, :] = True
        m[:, g] = True
        if causal:
            m &= torch.ones(n, n, dtype=torch.bool).tril()           # (n, n)
    return m


def sliding_window_attention(q, k, v, window, *, causal: bool = True, global_tokens=None,
                             scale: float | None = None):
    """Local attention: query i sees keys i-window+1..i (causal) or |i - j| < window (not causal).

    q (..., n, d_k), k (..., n, d_k), v (..., n, d_v) -> output (..., n, d_v), equal to
    `selfattn.attention(q, k, v, mask=sliding_window_mask(n, window, causal=causal,
    global_tokens=global_tokens))` but computed in blocks: time and memory grow like
    n·window, not n². global_tokens: optional list of positions that see and are seen by
    every token (causality still applies when causal=True).
    """
    p = prepare(q, k, v, scale=scale, same_length="sliding_window_attention")
    window = positive_int(window, "window")
    n = p.n_q
    g = token_indices(global_tokens, n, "global_tokens")
    qs = p.q * p.scale                                                # (batch, n, d_k)
    out = _local_blocks(qs, p.k, p.v, window, causal, g)              # (batch, n, d_v)
    if g.numel():
        out[:, g] = _global_rows(qs[:, g], p.k, p.v, g, causal)       # (batch, n_global, d_v)
    return p.finish(out)


def _local_blocks(qs, k, v, window: int, causal: bool, g: torch.Tensor) -> torch.Tensor:
    """Window attention of every query (plus the global keys), block by block. qs is pre-scaled."""
    batch, n, d_k = qs.shape
    d_v = v.shape[-1]
    b = min(sliding_window_block_size(window), n)
    n_blocks = math.ceil(n / b)
    left = window - 1                              # keys before the block's first query
    right = 0 if causal else window - 1            # keys after the block's last query
    strip = b + left + right                       # keys one block of queries can see
    tail = n_blocks * b - n                        # padding that makes n a multiple of b

    # Zero-padded keys and values; every block's strip is a view into them (no copy).
    kp = F.pad(k, (0, 0, left, tail + right))                        # (batch, left + n_blocks·b + right, d_k)
    vp = F.pad(v, (0, 0, left, tail + right))                        # (batch, left + n_blocks·b + right, d_v)
    k_strips = kp.unfold(1, strip, b)                                # (batch, n_blocks, d_k, strip)
    v_strips = vp.unfold(1, strip, b).transpose(-2, -1)              # (batch, n_blocks, strip, d_v)
    q_blocks = F.pad(qs, (0, 0, 0, tail)).view(batch, n_blocks, b, d_k)   # (batch, n_blocks, b, d_k)

    # Query r of a block and key t of its strip are (r + left - t) positions apart, whichever block.
    r = torch.arange(b).unsqueeze(1)                                 # (b, 1)
    t = torch.arange(strip).unsqueeze(0)                             # (1, strip)
    offset = r + left - t                                            # (b, strip): i - j
    hidden = (offset < 0) | (offset >= window) if causal else (offset.abs() >= window)   # (b, strip)

    if g.numel():
        k_global = k[:, g].transpose(-2, -1)                         # (batch, d_k, n_global)
        v_global = v[:, g]                                           # (batch, n_global, d_v)

    out = qs.new_empty(batch, n_blocks, b, d_v)                      # (batch, n_blocks, b, d_v)
    per_group = max(1, _common.SCORE_BUDGET // (batch * b * (strip + g.numel())))
    for c0 in range(0, n_blocks, per_group):
        c1 = min(c0 + per_group, n_blocks)
        scores = q_blocks[:, c0:c1] @ k_strips[:, c0:c1]             # (batch, blocks, b, strip)
        scores.masked_fill_(hidden, float("-inf"))
        # Strip positions outside 0..n-1 (padding) exist only near the two ends.
        j = torch.arange(c0, c1).unsqueeze(1) * b - left + t         # (blocks, strip): key positions
        outside = (j < 0) | (j >= n)                                 # (blocks, strip)
        if outside.any():
            scores.masked_fill_(outside.unsqueeze(1), float("-inf"))
        if g.numel():
            i = torch.arange(c0 * b, c1 * b).view(c1 - c0, b, 1)     # (blocks, b, 1): query positions
            gap = i - g                                              # (blocks, b, n_global): i - j
            seen = (gap >= 0) & (gap < window) if causal else gap.abs() < window
            hide_g = seen | (gap < 0) if causal else seen            # counted in the strip already, or future
            scores_g = q_blocks[:, c0:c1] @ k_global.unsqueeze(1)    # (batch, blocks, b, n_global)
            scores_g.masked_fill_(hide_g, float("-inf"))
            scores = torch.cat([scores, scores_g], dim=-1)           # (batch, blocks, b, strip + n_global)
        weights = torch.softmax(scores, dim=-1)                      # (batch, blocks, b, strip [+ n_global])
        block_out = weights[..., :strip] @ v_strips[:, c0:c1]        # (batch, blocks, b, d_v)
        if g.numel():
            block_out += weights[..., strip:] @ v_global.unsqueeze(1)   # (batch, blocks, b, d_v)
        out[:, c0:c1] = block_out
    return out.view(batch, n_blocks * b, d_v)[:, :n]                 # (batch, n, d_v)


def _global_rows(qs_g, k, v, g: torch.Tensor, causal: bool) -> torch.Tensor:
    """Full attention for the global queries: a few rows over all n keys."""
    scores = qs_g @ k.transpose(-2, -1)                              # (batch, n_global, n)
    if causal:
        j = torch.arange(k.shape[-2])                                # (n,)
        scores.masked_fill_(j > g.unsqueeze(1), float("-inf"))       # (n_global, n) mask broadcast
    return torch.softmax(scores, dim=-1) @ v                         # (batch, n_global, d_v)
