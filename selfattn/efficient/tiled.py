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

from ._common import positive_int, prepare

__all__ = ["tiled_attention", "online_softmax_step", "QUERY_TILE"]

QUERY_TILE = 1024    # queries per tile (default): large enough that Python's per-step cost is small


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
    return m_new, l * alpha + p.sum(-1, keepdim=True), acc * alpha + p @ v_block


def tiled_attention(q, k, v, *, block_size: int, causal: bool = False, scale: float | None = None,
                    query_block_size: int | None = None):
    """Exact softmax attention, one (query tile, key block) at a time.

    q (..., n_q, d_k), k (..., n_k, d_k), v (..., n_k, d_v) -> (..., n_q, d_v), equal to
    `selfattn.attention(q, k, v, causal=causal).output` to rounding. block_size: keys per
    block; query_block_size: queries per tile (default QUERY_TILE). Extra memory is about
    query_block_size × block_size scores, whatever n is. causal uses the same alignment as
    `selfattn.attention` (query i sees keys 0..i) and skips blocks entirely in the future.
    """
    block_size = positive_int(block_size, "block_size")
    tile = QUERY_TILE if query_block_size is None else positive_int(query_block_size, "query_block_size")
    p = prepare(q, k, v, scale=scale)
    qs = p.q * p.scale                                               # (batch, n_q, d_k)
    k_t = p.k.transpose(-2, -1)                                      # (batch, d_k, n_k)
    v = p.v
    batch, n_q, n_k, d_v = qs.shape[0], p.n_q, p.n_k, v.shape[-1]
    out = qs.new_empty(batch, n_q, d_v)                              # (batch, n_q, d_v)
    neg_inf = float("-inf")
    for i0 in range(0, n_q, tile):
        i1 = min(i0 + tile, n_q)
        q_tile = qs[:, i0:i1]                                        # (batch, tile, d_k)
        m = qs.new_full((batch, i1 - i0, 1), neg_inf)                # (batch, tile, 1) running max
        l = qs.new_zeros(batch, i1 - i0, 1)                          # (batch, tile, 1) running sum
        acc = qs.new_zeros(batch, i1 - i0, d_v)                      # (batch, tile, d_v) running output
        last_key = min(n_k, i1) if causal else n_k                   # keys beyond the tile's last query: skipped
        for j0 in range(0, last_key, block_size):
            j1 = min(j0 + block_size, n_k)
            s = q_tile @ k_t[:, :, j0:j1]                            # (batch, tile, block)
            if causal and j1 - 1 > i0:                               # the block crosses the diagonal
                future = torch.arange(j0, j1) > torch.arange(i0, i1).unsqueeze(1)   # (tile, block)
                s.masked_fill_(future, neg_inf)
            # The online-softmax step of `online_softmax_step`, done in place to save memory traffic.
            # Key 0 is in the first block and visible to every query, so m is finite after it.
            m_new = torch.maximum(m, s.amax(-1, keepdim=True))      # (batch, tile, 1)
            alpha = torch.exp(m - m_new)                             # (batch, tile, 1)
            s.sub_(m_new).exp_()                                     # (batch, tile, block): exp(s - m_new)
            l.mul_(alpha).add_(s.sum(-1, keepdim=True))
            acc.mul_(alpha).baddbmm_(s, v[:, j0:j1])                 # (batch, tile, d_v)
            m = m_new
        out[:, i0:i1] = acc.div_(l)
    return p.finish(out)
