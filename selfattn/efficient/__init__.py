"""Efficient attention: methods that avoid building the n×n score matrix.

One small module per method, all in the math layer (torch only). Each takes q (..., n_q, d_k),
k (..., n_k, d_k), v (..., n_k, d_v) as torch tensors or numpy arrays, with any leading
batch/head dimensions, and returns the output (..., n_q, d_v) of the same kind.

Exact (equal to `selfattn.attention` with the equivalent mask):
- `sliding_window_attention` (local window, plus Longformer-style global tokens),
- `block_sparse_attention` with `strided_layout`, `fixed_layout` (Sparse Transformer) and
  `bigbird_layout` (BigBird); `layout_mask` gives any layout's token mask,
- `tiled_attention` (online softmax over key blocks: memory-efficient / Flash attention's idea).
A different model, computed in linear time:
- `linear_attention` (kernel feature maps; "parallel", "chunked" and "recurrent" forms).
An approximation of softmax attention:
- `performer_attention` (FAVOR+ random features) and `performer_error`.
"""
from .block_sparse import BlockLayout, bigbird_layout, block_sparse_attention, fixed_layout, layout_mask, strided_layout
from .linear import FEATURE_MAPS, FORMS, linear_attention
from .performer import PerformerError, performer_attention, performer_error, random_projection
from .sliding_window import sliding_window_attention, sliding_window_mask
from .tiled import online_softmax_step, tiled_attention

__all__ = [
    "sliding_window_attention", "sliding_window_mask",
    "block_sparse_attention", "BlockLayout", "layout_mask", "strided_layout", "fixed_layout", "bigbird_layout",
    "linear_attention", "FEATURE_MAPS", "FORMS",
    "performer_attention", "performer_error", "PerformerError", "random_projection",
    "tiled_attention", "online_softmax_step",
]
