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

from .errors import AttentionInputError, as_tensor, broadcast_batch, check_qkv, check_scale


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


def softmax(scores, dim: int = -1):
    """Numerically stable softmax that maps a row of all -inf to all zeros (not NaN).

    Subtracting the row maximum before exp keeps every exponent <= 0, so nothing overflows;
    the result is mathematically unchanged because softmax(x) = softmax(x - c). scores: a
    floating numpy array or torch tensor (the result is the same kind); -inf marks a blocked
    entry, NaN and +inf are refused.
    """
    as_numpy = isinstance(scores, np.ndarray)
    t = as_tensor(scores, "scores")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -max(t.dim(), 1) <= dim < max(t.dim(), 1):
        raise AttentionInputError(f"dim must be an integer axis of scores (shape {tuple(t.shape)}), got {dim!r}")
    if t.dim() == 0:
        raise AttentionInputError("scores must have at least one dimension (a row of scores), got a single number")
    if t.shape[dim] == 0:
        raise AttentionInputError(f"scores has no entries along dim={dim} (shape {tuple(t.shape)}): nothing to normalise")
    if torch.isnan(t).any() or torch.isposinf(t).any():
        raise AttentionInputError("scores contains NaN or +inf; only -inf (a blocked entry) is allowed")
    row_max = t.amax(dim=dim, keepdim=True)                           # (..., n_q, 1)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(t - row_max)                                        # (..., n_q, n_k), -inf -> 0
    total = e.sum(dim=dim, keepdim=True)                              # (..., n_q, 1)
    out = e / torch.where(total > 0, total, torch.ones_like(total))   # (..., n_q, n_k)
    return out.numpy() if as_numpy else out


def _softmax(scores: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """`softmax` without the checks, for scores `attention` computed itself (finite or -inf)."""
    row_max = scores.amax(dim=dim, keepdim=True)                      # (..., n_q, 1)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(scores - row_max)                                   # (..., n_q, n_k), -inf -> 0
    total = e.sum(dim=dim, keepdim=True)                              # (..., n_q, 1)
    return e / torch.where(total > 0, total, torch.ones_like(total))


MASK_RULE = ("a mask is boolean (True where a query may attend) and broadcasts against the scores "
             "(..., n_q, n_k) from the right, like torch's scaled_dot_product_attention; it may not add "
             "or enlarge a dimension of the result")


def check_mask(mask, n_q: int, n_k: int) -> torch.Tensor:
    """A boolean numpy array or torch tensor whose last two dimensions are (n_q or 1, n_k or 1).

    Returns it as a torch bool tensor with at least 2 dimensions (the leading dimensions are
    checked against the scores by the caller: `check_mask_fits`).
    """
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


def check_mask_fits(mask: torch.Tensor, lead: tuple[int, ...], names: str) -> None:
    """Refuse a mask whose leading dimensions would add to or enlarge `lead` (the scores' leading shape)."""
    m_lead = tuple(mask.shape[:-2])
    ok = len(m_lead) <= len(lead) and all(a in (1, b) for a, b in zip(reversed(m_lead), reversed(lead)))
    if not ok:
        raise AttentionInputError(
            f"mask of shape {tuple(mask.shape)} does not fit the scores (..., n_q, n_k), whose leading "
            f"dimensions {names} are {lead}: {MASK_RULE}. Counted from the right, each leading dimension "
            f"of the mask must be 1 or equal the scores' one")


def _inputs(q, k, v, mask, causal, scale):
    """Validate and convert the arguments; return tensors, the effective mask and the scale."""
    qt, kt, vt = check_qkv(q, k, v)
    lead = broadcast_batch({"q": tuple(qt.shape[:-2]), "k": tuple(kt.shape[:-2]), "v": tuple(vt.shape[:-2])})
    dtype = torch.promote_types(torch.promote_types(qt.dtype, kt.dtype), vt.dtype)
    qt, kt, vt = qt.to(dtype), kt.to(dtype), vt.to(dtype)
    n_q, d_k = qt.shape[-2:]
    n_k = kt.shape[-2]
    scale = check_scale(scale, d_k)
    m = None
    if mask is not None:
        m = check_mask(mask, n_q, n_k)
        check_mask_fits(m, lead, "(the batch dimensions of q, k and v)")
    if causal:
        from .masks import causal as causal_mask
        c = causal_mask(n_q, n_k)                                      # (n_q, n_k)
        m = c if m is None else (m & c)
    return qt, kt, vt, m, float(scale)


def attention(q, k, v, *, mask=None, causal: bool = False, scale: float | None = None) -> AttentionResult:
    """Scaled dot-product attention with every intermediate kept.

    q: (..., n_q, d_k), k: (..., n_k, d_k), v: (..., n_k, d_v), numpy or torch, any leading
    batch/head dimensions that broadcast; the scores are (..., n_q, n_k) with those leading
    dimensions. mask: boolean, True where a query may attend. The mask rule (the same in
    MultiHeadAttention): the mask broadcasts against the scores from the right, like torch's
    scaled_dot_product_attention, and may not add or enlarge a dimension. So (n_q, n_k) serves
    every batch entry and head; with q (batch, n_heads, n_q, d_k) a 3-D mask is read as
    (n_heads, n_q, n_k), and one mask per sequence is (batch, 1, n_q, n_k) (write mask[:, None]);
    with q (n_q, d_k) a mask (3, n_q, n_k) is refused, since it would make three results. causal=True additionally blocks key j > query i (the
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
    weights = _softmax(scores, dim=-1)                                # (..., n_q, n_k)
    output = weights @ vt                                             # (..., n_q, d_v)
    if as_numpy:
        return AttentionResult(output.numpy(), weights.numpy(), scores.numpy())
    return AttentionResult(output, weights, scores)
