"""Block-sparse attention: the sequence is cut into blocks and a layout says which blocks meet.

A layout is an (n_blocks, n_blocks) boolean table: entry (c, c') is True when the queries of
block c may look at the keys of block c'. Only the listed blocks are computed: for each query
block, the keys of its listed blocks are gathered into one strip and attended to, so the cost
is (number of listed blocks) · block_size² scores instead of n².

Layouts provided (each a `BlockLayout`):
- `strided_layout`: Sparse Transformer's strided pattern (Child et al. 2019): the previous
  `stride` blocks, plus every `stride`-th block further back.
- `fixed_layout`: Sparse Transformer's fixed pattern: every block of the query's own segment of
  `stride` blocks, plus the last `n_summary` blocks of every segment (the "summary" blocks).
- `bigbird_layout`: BigBird's window + global + random blocks (Zaheer et al. 2020).
`layout_mask` turns any layout into the (n, n) token mask it stands for: attention with that
dense mask gives exactly what `block_sparse_attention` computes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import AttentionInputError, check_int
from . import _common
from ._common import prepare

__all__ = ["BlockLayout", "block_sparse_attention", "layout_mask",
           "strided_layout", "fixed_layout", "bigbird_layout"]


@dataclass(frozen=True)
class BlockLayout:
    """Which (query block, key block) pairs are computed, for a sequence of n tokens.

    blocks: (n_blocks, n_blocks) bool, n_blocks = ceil(n / block_size) (the last block may be
    partial). causal: additionally hide key j > query i inside the listed blocks.
    """

    n: int
    block_size: int
    blocks: torch.Tensor
    causal: bool = False
    name: str = "custom"

    def __post_init__(self):
        check_int(self.n, "n", minimum=1)
        check_int(self.block_size, "block_size", minimum=1)
        blocks = self.blocks
        if isinstance(blocks, np.ndarray) and blocks.dtype == np.bool_:
            blocks = torch.from_numpy(blocks.copy())
            object.__setattr__(self, "blocks", blocks)
        if not isinstance(blocks, torch.Tensor) or blocks.dtype != torch.bool:
            raise AttentionInputError(f"blocks must be a boolean torch tensor, got {getattr(blocks, 'dtype', type(blocks).__name__)}")
        nb = math.ceil(self.n / self.block_size)
        if tuple(blocks.shape) != (nb, nb):
            raise AttentionInputError(
                f"blocks must have shape (n_blocks, n_blocks) = ({nb}, {nb}) for n={self.n} and "
                f"block_size={self.block_size}, got {tuple(blocks.shape)}")

    @property
    def n_blocks(self) -> int:
        return self.blocks.shape[0]

    def density(self) -> float:
        """Fraction of the n² token pairs that the layout lets through."""
        return float(layout_mask(self).sum()) / self.n ** 2


def layout_mask(layout: BlockLayout) -> torch.Tensor:
    """(n, n) token mask of a layout: True where query i may attend to key j (for pictures and tests)."""
    if not isinstance(layout, BlockLayout):
        raise AttentionInputError(f"layout must be a BlockLayout (see strided_layout, fixed_layout, bigbird_layout), got {type(layout).__name__}")
    bs, n = layout.block_size, layout.n
    m = layout.blocks.repeat_interleave(bs, 0).repeat_interleave(bs, 1)[:n, :n]   # (n, n)
    if layout.causal:
        m = m & torch.ones(n, n, dtype=torch.bool).tril()            # (n, n)
    return m


def _block_ids(n: int, block_size: int):
    nb = math.ceil(check_int(n, "n", minimum=1) / check_int(block_size, "block_size", minimum=1))
    c = torch.arange(nb)
    return nb, c.unsqueeze(1), c.unsqueeze(0)                        # (n_blocks, 1), (1, n_blocks)


def strided_layout(n: int, block_size: int, stride: int, *, causal: bool = True) -> BlockLayout:
    """Sparse Transformer, strided: block c sees blocks c' with c - c' < stride, or c - c' a multiple of stride.

    With causal=False the pattern is mirrored (|c - c'| instead of c - c').
    """
    stride = check_int(stride, "stride", minimum=1)
    nb, c, c2 = _block_ids(n, block_size)
    gap = c - c2                                                     # (n_blocks, n_blocks)
    if not causal:
        gap = gap.abs()
    blocks = (gap >= 0) & ((gap < stride) | (gap % stride == 0))     # (n_blocks, n_blocks)
    return BlockLayout(n, block_size, blocks, causal, f"strided (stride {stride} blocks)")


def fixed_layout(n: int, block_size: int, stride: int, *, n_summary: int = 1, causal: bool = True) -> BlockLayout:
    """Sparse Transformer, fixed: blocks are grouped into segments of `stride` blocks; block c sees
    every block of its own segment and the last `n_summary` blocks of every segment.
    """
    stride = check_int(stride, "stride", minimum=1)
    n_summary = check_int(n_summary, "n_summary", minimum=1)
    if n_summary > stride:
        raise AttentionInputError(f"n_summary must be at most stride={stride}, got {n_summary}")
    nb, c, c2 = _block_ids(n, block_size)
    same_segment = (c // stride) == (c2 // stride)                   # (n_blocks, n_blocks)
    summary = (c2 % stride) >= stride - n_summary                    # (1, n_blocks)
    blocks = same_segment | summary                                  # (n_blocks, n_blocks)
    if causal:
        blocks = blocks & (c2 <= c)                                  # (n_blocks, n_blocks)
    return BlockLayout(n, block_size, blocks, causal, f"fixed (stride {stride}, {n_summary} summary)")


def bigbird_layout(n: int, block_size: int, *, window: int = 3, n_global: int = 2, n_random: int = 3,
                   seed: int = 0, causal: bool = False) -> BlockLayout:
    """BigBird: a window of `window` blocks centred on the query block, the first `n_global`
    blocks as global blocks (they see everything and everything sees them), and `n_random`
    extra blocks per query block drawn at random (seeded, so the layout is reproducible).
    """
    window = check_int(window, "window", minimum=1)
    n_global = check_int(n_global, "n_global", minimum=0)
    n_random = check_int(n_random, "n_random", minimum=0)
    nb, c, c2 = _block_ids(n, block_size)
    blocks = (c - c2).abs() <= window // 2                           # (n_blocks, n_blocks)
    blocks[:n_global, :] = True
    blocks[:, :n_global] = True
    if causal:
        blocks &= c2 <= c
    gen = torch.Generator().manual_seed(int(seed))
    for row in range(n_global, nb):
        free = (~blocks[row]).nonzero().flatten()                    # (n_free,)
        if causal:
            free = free[free < row]
        if free.numel():
            pick = free[torch.randperm(free.numel(), generator=gen)[:n_random]]   # (<= n_random,)
            blocks[row, pick] = True
    name = f"BigBird (window {window}, {n_global} global, {n_random} random)"
    return BlockLayout(n, block_size, blocks, causal, name)


def block_sparse_attention(q, k, v, layout: BlockLayout, *, scale: float | None = None):
    """Attention computed only on the blocks a layout lists.

    q (..., n, d_k), k (..., n, d_k), v (..., n, d_v) -> (..., n, d_v), equal to
    `selfattn.attention(q, k, v, mask=layout_mask(layout))`. A query that the layout lets see
    no key at all gets an output of 0, the convention of `selfattn.attention`.
    """
    p = prepare(q, k, v, scale=scale, same_length="block_sparse_attention")
    if not isinstance(layout, BlockLayout):
        raise AttentionInputError(f"layout must be a BlockLayout (see strided_layout, fixed_layout, bigbird_layout), got {type(layout).__name__}")
    n = p.n_q
    if layout.n != n:
        raise AttentionInputError(f"the layout was built for n={layout.n} tokens, but q has n={n}")
    batch, d_k, d_v = p.q.shape[0], p.q.shape[-1], p.v.shape[-1]
    bs, nb = layout.block_size, layout.n_blocks
    pad = nb * bs - n

    qs = p.q * p.scale                                               # (batch, n, d_k)
    kp, vp = p.k, p.v
    if pad:                                                          # the last block is partial: pad it with zeros
        qs, kp, vp = (torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in (qs, kp, vp))   # (batch, n_blocks·block_size, ·)
    q_blocks = qs.reshape(batch, nb, bs, d_k)                        # (batch, n_blocks, block_size, d_k)
    k_blocks = kp.reshape(batch, nb, bs, d_k)                        # (batch, n_blocks, block_size, d_k)
    v_blocks = vp.reshape(batch, nb, bs, d_v)                        # (batch, n_blocks, block_size, d_v)
    out = qs.new_zeros(batch, nb, bs, d_v)                           # (batch, n_blocks, block_size, d_v)

    # Rows with similar numbers of listed blocks are processed together, each row's list padded
    # to the longest in its group (so a few global rows do not make every row dense).
    counts = layout.blocks.sum(1).clamp(min=1).tolist()             # listed key blocks per query block
    order = sorted(range(nb), key=lambda c: counts[c])               # rows, fewest listed blocks first
    cost = batch * bs * bs                                           # scores per (row, listed block)
    r = torch.arange(bs)
    start = 0
    while start < nb:
        end = start + 1
        while end < nb and (end + 1 - start) * counts[order[end]] * cost <= _common.SCORE_BUDGET:
            end += 1
        rows = torch.tensor(order[start:end])                        # (rows,)
        width = counts[order[end - 1]]
        start = end
        g = rows.numel()
        listed = layout.blocks[rows]                                 # (rows, n_blocks)
        # Listed key blocks first (in increasing order), padded with block 0 marked unused.
        key_ids = torch.sort((~listed).to(torch.int8), dim=1, stable=True).indices[:, :width]   # (rows, width)
        used = torch.gather(listed, 1, key_ids)                      # (rows, width)
        k_strip = k_blocks[:, key_ids].reshape(batch, g, width * bs, d_k)   # (batch, rows, width·block_size, d_k)
        v_strip = v_blocks[:, key_ids].reshape(batch, g, width * bs, d_v)   # (batch, rows, width·block_size, d_v)
        scores = q_blocks[:, rows] @ k_strip.transpose(-2, -1)       # (batch, rows, block_size, width·block_size)
        j = (key_ids.unsqueeze(-1) * bs + r).reshape(g, 1, width * bs)   # (rows, 1, width·block_size): key positions
        visible = used.repeat_interleave(bs, 1).unsqueeze(1) & (j < n)   # (rows, 1, width·block_size)
        if layout.causal:
            i = (rows.unsqueeze(-1) * bs + r).unsqueeze(-1)          # (rows, block_size, 1): query positions
            visible = visible & (j <= i)                             # (rows, block_size, width·block_size)
        scores.masked_fill_(~visible, float("-inf"))
        block_out = torch.softmax(scores, dim=-1) @ v_strip          # (batch, rows, block_size, d_v)
        blind = ~visible.any(-1)                                     # (rows, 1 or block_size): queries that see no key
        if blind.any():                                              # softmax of no scores gave NaN: gather nothing
            block_out.masked_fill_(blind.expand(g, bs).unsqueeze(-1), 0.0)   # mask (rows, block_size, 1)
        out[:, rows] = block_out
    return p.finish(out.view(batch, nb * bs, d_v)[:, :n])            # (..., n, d_v)
