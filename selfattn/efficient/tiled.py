"""Exact attention computed tile by tile with an online softmax (no n×n matrix is ever stored).

Rabe & Staats (2021) and Dao et al. (2022, FlashAttention) observed that softmax attention can
be computed one block of keys at a time if each query carries three running quantities:

    m    the largest score seen so far,
    l    the sum of exp(score - m) over the keys seen so far,
    acc  the sum of exp(score - m) · v over the keys seen so far.

When a new block of scores s arrives, m_new = max(m, max(s)); everything gathered earlier was
weighted relative to the old maximum, so it is rescaled by exp(m - m_new):

    l   <- l · exp(m - m_new)   + Σ exp(s - m_new)
    acc <- acc · exp(m - m_new) + exp(s - m_new) @ v_block

and after the last block the output is acc / l, exactly softmax(s) @ v. Queries are also taken
a tile at a time, so the extra memory is one (query tile × key block) score matrix. With a
causal mask, key blocks that lie entirely in a query tile's future are skipped (about half the
work), and only blocks crossing the diagonal need a mask.

(This is the idea behind torch's own `scaled_dot_product_attention` on CPU, which does the same
in fused C++ without Python's overhead between tiles.)
"""
from __future__ import annotations

import torch

from ..errors import check_int
from ._common import prepare

__all__ = ["tiled_attention", "online_softmax_step", "QUERY_TILE"]

QUERY_TILE = 1024    # queries per tile (default): with 512-key blocks, a 2 MiB float32 score block


def online_softmax_step(m, l, acc, scores, v_block):
    """One step of the online softmax: fold a block of scores and values into (m, l, acc).

    m, l: (..., n_q, 1); acc: (..., n_q, d_v); scores: (..., n_q, block) (-inf where hidden);
    v_block: (..., block, d_v). Returns the new (m, l, acc); the inputs are not modified.
    Start from m = -inf, l = 0, acc = 0; after the last block the attention output is acc / l.
    """
    m_new = torch.maximum(m, scores.amax(-1, keepdim=True))         # (..., n_q, 1)
    m_safe = torch.where(torch.isfinite(m_new), m_new, torch.zeros_like(m_new))   # rows with nothing seen yet
    p = torch.exp(scores - m_safe)                                   # (..., n_q, block)
    alpha = torch.exp(m - m_safe)                                    # (..., n_q, 1); exp(-inf) = 0 at the start
    l_new = l * alpha + p.sum(-1, keepdim=True)                      # (..., n_q, 1)
    acc_new = acc * alpha + p @ v_block                              # (..., n_q, d_v)
    return m_new, l_new, acc_new


def tiled_attention(q, k, v, *, block_size: int, causal: bool = False, scale: float | None = None,
                    query_block_size: int | None = None):
    """Exact softmax attention, one (query tile, key block) at a time.

    q (..., n_q, d_k), k (..., n_k, d_k), v (..., n_k, d_v) -> (..., n_q, d_v), equal to
    `selfattn.attention(q, k, v, causal=causal).output` to rounding. block_size: keys per
    block; query_block_size: queries per tile (default QUERY_TILE). Extra memory is about
    query_block_size × block_size scores, whatever n is. causal uses the same alignment as
    `selfattn.attention` (query i sees keys 0..i) and skips blocks entirely in the future.
    """
    block_size = check_int(block_size, "block_size", minimum=1)
    tile = QUERY_TILE if query_block_size is None else check_int(query_block_size, "query_block_size", minimum=1)
    p = prepare(q, k, v, scale=scale)
    q, k_t, v = p.q, p.k.transpose(-2, -1), p.v                     # (batch, n_q, d_k), (batch, d_k, n_k), (batch, n_k, d_v)
    batch, n_q, n_k, d_v = q.shape[0], p.n_q, p.n_k, v.shape[-1]
    out = q.new_empty(batch, n_q, d_v)                               # (batch, n_q, d_v)
    for i0 in range(0, n_q, tile):
        i1 = min(i0 + tile, n_q)
        last_key = min(n_k, i1) if causal else n_k                   # keys beyond the tile's last query: skipped
        out[:, i0:i1] = _one_tile(q[:, i0:i1], k_t, v, p.scale, block_size, i0, last_key if causal else None)
    return p.finish(out)


# Rescale only when a row's maximum has grown by more than this (in units of the exponent): until
# then exp(s - m) stays below e^8 ≈ 3000, far from overflow, and the result is unchanged (the
# final acc / l does not depend on which reference m was subtracted). This is the "lazy
# rescaling" of recent Flash attention versions; it saves a pass over most score blocks.
RESCALE_MARGIN = 8.0


def _one_tile(q_tile, k_t, v, scale: float, block_size: int, i0: int, causal_end: int | None):
    """Online softmax of one tile of queries over the key blocks; causal_end: None, or keys to visit."""
    batch, rows, _ = q_tile.shape
    n_k = k_t.shape[-1]
    last_key = n_k if causal_end is None else causal_end
    acc = q_tile.new_zeros(batch, rows, v.shape[-1])                 # (batch, rows, d_v) running output
    l = q_tile.new_zeros(batch, rows, 1)                             # (batch, rows, 1) running sum
    m = None                                                         # (batch, rows, 1) running max
    buffer = q_tile.new_empty(batch, rows, min(block_size, n_k))     # (batch, rows, block) reused for every block
    query_pos = torch.arange(i0, i0 + rows).unsqueeze(1)             # (rows, 1)
    for j0 in range(0, last_key, block_size):
        j1 = min(j0 + block_size, n_k)
        s = buffer if j1 - j0 == buffer.shape[-1] else buffer[..., :j1 - j0]   # (batch, rows, block)
        if m is None:                                                # first block: s = q kᵀ · scale
            torch.baddbmm(s, q_tile, k_t[..., j0:j1], beta=0, alpha=scale, out=s)
        else:                                                        # later blocks: s = q kᵀ · scale - m, in one product
            torch.baddbmm(m.neg(), q_tile, k_t[..., j0:j1], alpha=scale, out=s)
        if causal_end is not None and j1 - 1 > i0:                   # the block crosses the diagonal
            s.masked_fill_(torch.arange(j0, j1) > query_pos, float("-inf"))
        if m is None:
            # Key 0 is in this block and visible to every query, so every row's max is finite.
            m = s.amax(-1, keepdim=True)                             # (batch, rows, 1)
            s.sub_(m)
        else:
            growth = s.amax(-1, keepdim=True)                        # (batch, rows, 1): new max - old max
            if bool((growth > RESCALE_MARGIN).any()):
                growth.clamp_(min=0.0)
                s.sub_(growth)
                m.add_(growth)
                alpha = growth.neg_().exp_()                         # exp(m_old - m_new), (batch, rows, 1)
                l.mul_(alpha)
                acc.mul_(alpha)
        s.exp_()                                                     # (batch, rows, block): exp(score - m)
        l.add_(s.sum(-1, keepdim=True))
        acc.baddbmm_(s, v[:, j0:j1])                                 # (batch, rows, d_v)
    return acc.div_(l)                                               # (batch, rows, d_v)
