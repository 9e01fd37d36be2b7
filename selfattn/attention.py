"""Scaled dot-product attention, the one function the whole book is built on.

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + mask) V          (Vaswani et al., 2017, eq. 1)

`attention` returns every intermediate a reader wants to look at: the scaled and masked scores,
the weights after softmax, and the output. It accepts numpy arrays or torch tensors and returns
the same kind, so the first chapters can stay in numpy while later ones train with torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import AttentionInputError, broadcast_batch, check_qkv, check_scale



@dataclass(frozen=True)
class AttentionResult:
    """What `attention` computed, stage by stage.

    scores:  (..., n_q, n_k) QKᵀ·scale with blocked entries set to -inf (before softmax)
    weights: (..., n_q, n_k) softmax of scores; each row sums to 1, or is all 0 if fully masked
    output:  (..., n_q, d_v) weights @ V
    """

    output: Any
    weights: Any
    scores: Any


def softmax(scores: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Numerically stable softmax that maps a row of all -inf to all zeros (not NaN).

    Subtracting the row maximum before exp keeps every exponent <= 0, so nothing overflows;
    the result is mathematically unchanged because softmax(x) = softmax(x - c).
    """
    row_max = scores.amax(dim=dim, keepdim=True)                      # (..., n_q, 1)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(scores - row_max)                                   # (..., n_q, n_k), -inf -> 0
    total = e.sum(dim=dim, keepdim=True)                              # (..., n_q, 1)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def _check_mask(mask, n_q: int, n_k: int) -> torch.Tensor:
    if isinstance(mask, np.ndarray):
        if mask.dtype != np.bool_:
            raise AttentionInputError(
                f"mask must be boolean (True where a query may attend), got dtype {mask.dtype}. "
                "Build one with selfattn.masks, or compare, e.g. mask = (m != 0)")
        mask = torch.from_numpy(np.ascontiguousarray(mask))
    elif isinstance(mask, torch.Tensor):
        if mask.dtype != torch.bool:
            raise AttentionInputError(
                f"mask must be boolean (True where a query may attend), got dtype {mask.dtype}. "
                "Build one with selfattn.masks, or compare, e.g. mask = (m != 0)")
    else:
        raise AttentionInputError(f"mask must be a boolean numpy array or torch tensor, got {type(mask).__name__}")
    if mask.dim() < 2:
        mask = mask.reshape((1,) * (2 - mask.dim()) + tuple(mask.shape))
    mq, mk = mask.shape[-2:]
    if mq not in (1, n_q) or mk not in (1, n_k):
        raise AttentionInputError(
            f"mask must broadcast to (..., n_q={n_q}, n_k={n_k}), got shape {tuple(mask.shape)}: "
            f"its last two dimensions must be n_q or 1, and n_k or 1")
    return mask


def _inputs(q, k, v, mask, causal, scale):
    """Validate and convert the arguments; return tensors, the effective mask and the scale."""
    qt, kt, vt = check_qkv(q, k, v)
    broadcast_batch({"q": tuple(qt.shape[:-2]), "k": tuple(kt.shape[:-2]), "v": tuple(vt.shape[:-2])})
    dtype = torch.promote_types(torch.promote_types(qt.dtype, kt.dtype), vt.dtype)
    qt, kt, vt = qt.to(dtype), kt.to(dtype), vt.to(dtype)
    n_q, d_k = qt.shape[-2:]
    n_k = kt.shape[-2]
    scale = check_scale(scale, d_k)
    m = None
    if mask is not None:
        m = _check_mask(mask, n_q, n_k)
        try:
            broadcast_batch({"q": tuple(qt.shape[:-2]), "mask": tuple(m.shape[:-2])})
        except AttentionInputError:
            raise AttentionInputError(
                f"mask must broadcast to (..., n_q={n_q}, n_k={n_k}) with the batch dimensions of q "
                f"{tuple(qt.shape[:-2])}, got shape {tuple(m.shape)}") from None
    if causal:
        from .masks import causal as causal_mask
        c = causal_mask(n_q, n_k)                                      # (n_q, n_k)
        m = c if m is None else (m & c)
    return qt, kt, vt, m, float(scale)


def attention(q, k, v, *, mask=None, causal: bool = False, scale: float | None = None) -> AttentionResult:
    """Scaled dot-product attention with every intermediate kept.

    q: (..., n_q, d_k), k: (..., n_k, d_k), v: (..., n_k, d_v), numpy or torch, any leading
    batch/head dimensions that broadcast. mask: boolean, True where a query may attend,
    broadcastable to (..., n_q, n_k). causal=True additionally blocks key j > query i (the
    same top-left alignment as torch's ``is_causal``). scale defaults to 1/√d_k.

    A query row whose keys are all blocked gets weights of all 0 and an output of all 0: it
    gathered nothing. (torch 2.13's scaled_dot_product_attention also returns 0 there;
    nn.MultiheadAttention returns NaN.)
    """
    as_numpy = isinstance(q, np.ndarray)
    qt, kt, vt, m, scale = _inputs(q, k, v, mask, causal, scale)
    scores = (qt @ kt.transpose(-2, -1)) * scale                      # (..., n_q, n_k)
    if m is not None:
        scores = scores.masked_fill(~m, float("-inf"))                # (..., n_q, n_k)
    weights = softmax(scores, dim=-1)                                 # (..., n_q, n_k)
    output = weights @ vt                                             # (..., n_q, d_v)
    if as_numpy:
        return AttentionResult(output.numpy(), weights.numpy(), scores.numpy())
    return AttentionResult(output, weights, scores)
