"""Sliding-window (local) attention with optional global tokens, without an n×n matrix.

Each query looks only at the keys within `window` positions of it (Beltagy et al. 2020,
Longformer; Child et al. 2019 call it a local pattern). The work is done in blocks of `b`
consecutive queries: block c needs only the keys from c·b - (window - 1) to its own end, a
strip of `b + window - 1` keys. Consecutive strips overlap, and each is a strided view into K
itself (`Tensor.as_strided`: no copy), so the scores computed are (n / b) blocks of shape
(b, strip) — about n·(b + window) numbers instead of n². The window and the scale are applied
inside one matrix product (`torch.baddbmm` adds a fixed (b, strip) table of 0 and -inf), and
blocks are processed a group at a time, so the extra memory stays at a fixed budget.

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

from ..errors import check_int
from ..masks import window as window_band
from . import _common
from ._common import prepare, token_indices

__all__ = ["sliding_window_attention", "sliding_window_mask", "sliding_window_block_size"]


def sliding_window_block_size(window: int) -> int:
    """The query-block size used for a window: 64 queries, fewer when the window is small.

    A block of b queries computes b·(b + window - 1) scores for about b·window useful ones, so
    smaller blocks waste less; but very small blocks make matrix products inefficient.
    """
    return max(8, min(64, 1 << (max(window, 1) - 1).bit_length()))


def sliding_window_mask(n: int, window: int, *, causal: bool = True, global_tokens=None) -> torch.Tensor:
    """(n, n) boolean mask of what `sliding_window_attention` lets each query see (for pictures and tests)."""
    n = check_int(n, "n", minimum=1)
    window = check_int(window, "window", minimum=1)
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
    global_tokens=global_tokens))` but computed in blocks: time grows like n·window, not n²,
    and the extra memory is a fixed budget of scores (plus the global rows), whatever n is.
    global_tokens: optional list of positions that see and are seen by every token
    (causality still applies when causal=True).
    """
    p = prepare(q, k, v, scale=scale, same_length="sliding_window_attention")
    window = check_int(window, "window", minimum=1)
    n = p.n_q
    g = token_indices(global_tokens, n, "global_tokens")
    q, k, v = p.q.contiguous(), p.k.contiguous(), p.v.contiguous()
    out = q.new_empty(q.shape[0], n, v.shape[-1])                    # (batch, n, d_v)
    for i in range(q.shape[0]):                                      # one sequence (and head) at a time
        _local_blocks(q[i], k[i], v[i], p.scale, window, causal, g, out[i])
        if g.numel():
            out[i, g] = _global_rows(q[i, g], k[i], v[i], p.scale, g, causal)   # (n_global, d_v)
    return p.finish(out)


def _strips(x: torch.Tensor, first_row: int, n_blocks: int, b: int, strip: int) -> torch.Tensor:
    """(n_blocks, strip, d) view: strip c holds rows first_row + c·b .. + strip - 1 of x (n, d), no copy."""
    d = x.shape[-1]
    return x.as_strided((n_blocks, strip, d), (b * d, d, 1), x.storage_offset() + first_row * d)   # (n_blocks, strip, d)


def _local_blocks(q, k, v, scale: float, window: int, causal: bool, g: torch.Tensor, out: torch.Tensor) -> None:
    """Window attention (plus the global keys) of one sequence, q (n, d_k), written into out (n, d_v).

    Block c holds queries c·b .. c·b + b - 1 and reads the strip of keys c·b - left ..
    c·b + b - 1 + right. Blocks whose strip lies inside 0..n-1 read it straight from k and v;
    the few blocks at the ends read from small zero-padded copies, with the padding hidden.
    """
    n, d_k = q.shape
    d_v = v.shape[-1]
    b = min(sliding_window_block_size(window), n)
    n_blocks = math.ceil(n / b)
    left = window - 1                              # keys before the block's first query
    right = 0 if causal else window - 1            # keys after the block's last query
    strip = b + left + right                       # keys one block of queries can see

    # Query r of a block and key t of its strip are (r + left - t) positions apart, in every block,
    # so one (b, strip) table of 0 / -inf, added during the matrix product, applies the window.
    r = torch.arange(b).unsqueeze(1)                                 # (b, 1)
    t = torch.arange(strip).unsqueeze(0)                             # (1, strip)
    offset = r + left - t                                            # (b, strip): i - j
    hidden = (offset < 0) | (offset >= window) if causal else (offset.abs() >= window)   # (b, strip)
    bias = torch.zeros(b, strip, dtype=q.dtype).masked_fill_(hidden, float("-inf"))      # (b, strip)
    if g.numel():
        k_global_t = k[g].T                                          # (d_k, n_global)
        v_global = v[g]                                              # (n_global, d_v)

    first_inside = math.ceil(left / b)                               # first block whose strip starts at row >= 0
    last_inside = (n - right - b) // b                               # last block whose strip ends at row <= n - 1
    per_group = max(1, _common.SCORE_BUDGET // (b * (strip + g.numel())))

    def groups(start: int, stop: int):
        return [(c0, min(c0 + per_group, stop)) for c0 in range(start, stop, per_group)]

    ranges = (groups(0, min(first_inside, n_blocks))                 # blocks near the start
              + groups(first_inside, last_inside + 1)                # the interior
              + groups(max(first_inside, last_inside + 1), n_blocks))   # blocks near the end

    for c0, c1 in ranges:
        if c1 <= c0:
            continue
        blocks = c1 - c0
        lo, hi = c0 * b - left, (c1 - 1) * b + b + right             # rows of k that these strips span
        q_rows = q[c0 * b:min(c1 * b, n)]                            # (<= blocks·b, d_k)
        if c1 * b > n:                                               # the last block is partial
            q_rows = F.pad(q_rows, (0, 0, 0, c1 * b - n))            # (blocks·b, d_k)
        q_blocks = q_rows.view(blocks, b, d_k)                       # (blocks, b, d_k)
        if lo >= 0 and hi <= n:
            k_strips = _strips(k, lo, blocks, b, strip)              # (blocks, strip, d_k)
            v_strips = _strips(v, lo, blocks, b, strip)              # (blocks, strip, d_v)
        else:                                                        # pad with zeros, hide them below
            pad = (0, 0, max(0, -lo), max(0, hi - n))
            k_strips = _strips(F.pad(k[max(lo, 0):min(hi, n)], pad), 0, blocks, b, strip)   # (blocks, strip, d_k)
            v_strips = _strips(F.pad(v[max(lo, 0):min(hi, n)], pad), 0, blocks, b, strip)   # (blocks, strip, d_v)
        scores = torch.baddbmm(bias, q_blocks, k_strips.transpose(-2, -1), alpha=scale)   # (blocks, b, strip)
        if lo < 0 or hi > n:
            j = torch.arange(c0, c1).unsqueeze(1) * b - left + t     # (blocks, strip): key positions
            scores.masked_fill_(((j < 0) | (j >= n)).unsqueeze(1), float("-inf"))   # mask (blocks, 1, strip)
        if g.numel():
            i = torch.arange(c0 * b, c1 * b).view(blocks, b, 1)      # (blocks, b, 1): query positions
            gap = i - g                                              # (blocks, b, n_global): i - j
            seen = (gap >= 0) & (gap < window) if causal else gap.abs() < window
            hide_g = seen | (gap < 0) if causal else seen            # counted in the strip already, or future
            scores_g = (q_blocks @ k_global_t).mul_(scale)           # (blocks, b, n_global)
            scores_g.masked_fill_(hide_g, float("-inf"))
            scores = torch.cat([scores, scores_g], dim=-1)           # (blocks, b, strip + n_global)
        weights = torch.softmax(scores, dim=-1)                      # (blocks, b, strip [+ n_global])
        rows = min(c1 * b, n) - c0 * b
        if rows == blocks * b and not g.numel():                     # write straight into the output
            torch.bmm(weights, v_strips, out=out[c0 * b:c1 * b].view(blocks, b, d_v))   # (blocks, b, d_v)
            continue
        block_out = weights[..., :strip] @ v_strips                  # (blocks, b, d_v)
        if g.numel():
            block_out += weights[..., strip:] @ v_global             # (blocks, b, d_v)
        out[c0 * b:c0 * b + rows] = block_out.view(blocks * b, d_v)[:rows]   # (rows, d_v)


def _global_rows(q_g, k, v, scale: float, g: torch.Tensor, causal: bool) -> torch.Tensor:
    """Full attention for the global queries: a few rows over all n keys."""
    scores = (q_g @ k.T).mul_(scale)                                 # (n_global, n)
    if causal:
        j = torch.arange(k.shape[-2])                                # (n,)
        scores.masked_fill_(j > g.unsqueeze(1), float("-inf"))       # (n_global, n)
    return torch.softmax(scores, dim=-1) @ v                         # (n_global, d_v)
