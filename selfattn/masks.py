"""Boolean attention masks: True where a query may attend to a key, False where it is blocked.

All masks are torch bool tensors shaped to broadcast against scores of shape (..., n_q, n_k).
They are plain data: combine them with `combine` (logical AND) and pass them as ``mask=``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .errors import AttentionInputError, check_int


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise AttentionInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def causal(n_q: int, n_k: int | None = None, *, offset: int = 0) -> torch.Tensor:
    """(n_q, n_k) mask where query i sees keys j <= i + offset: no peeking at the future.

    offset = n_k - n_q aligns the last query with the last key, as when new queries are
    appended to a cache of earlier keys.
    """
    n_q = _positive_int(n_q, "n_q")
    n_k = n_q if n_k is None else _positive_int(n_k, "n_k")
    offset = check_int(offset, "offset", meaning="how many keys beyond its own position query i may see")
    i = torch.arange(n_q).unsqueeze(1)                                # (n_q, 1)
    j = torch.arange(n_k).unsqueeze(0)                                # (1, n_k)
    return j <= i + offset                                            # (n_q, n_k)


def bidirectional(n_q: int, n_k: int | None = None) -> torch.Tensor:
    """(n_q, n_k) mask of all True: every query sees every key (BERT-style encoders)."""
    n_q = _positive_int(n_q, "n_q")
    n_k = n_q if n_k is None else _positive_int(n_k, "n_k")
    return torch.ones(n_q, n_k, dtype=torch.bool)


def padding(lengths: Sequence[int], n: int) -> torch.Tensor:
    """(batch, 1, n) key mask for a padded batch: sequence b has real tokens 0..lengths[b]-1.

    The middle dimension of 1 broadcasts over queries. For per-head scores of shape
    (batch, n_heads, n_q, n_k), add a head dimension: ``padding(lengths, n)[:, None]``.
    """
    n = _positive_int(n, "n")
    want = f"lengths must be a non-empty 1-D list of integers (one per sequence in the batch), got {lengths!r}"
    try:
        arr = np.asarray(lengths)
    except (ValueError, TypeError):
        raise AttentionInputError(want) from None
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise AttentionInputError(want)
    lengths = torch.as_tensor(arr)
    if (lengths < 0).any() or (lengths > n).any():
        raise AttentionInputError(f"every length must lie in 0..n={n}, got lengths {lengths.tolist()}")
    j = torch.arange(n).unsqueeze(0)                                  # (1, n)
    return (j < lengths.unsqueeze(1)).unsqueeze(1)                    # (batch, 1, n)


def window(n: int, w: int, *, causal: bool = True) -> torch.Tensor:
    """(n, n) local-attention mask: query i sees the w keys i-w+1..i (causal) or |i-j| < w."""
    n = _positive_int(n, "n")
    w = _positive_int(w, "w (window size)")
    i = torch.arange(n).unsqueeze(1)                                  # (n, 1)
    j = torch.arange(n).unsqueeze(0)                                  # (1, n)
    if causal:
        return (j <= i) & (j > i - w)                                 # (n, n)
    return (i - j).abs() < w                                          # (n, n)


def combine(*masks) -> torch.Tensor:
    """Logical AND of masks that broadcast together: a key is visible only if every mask allows it."""
    if not masks:
        raise AttentionInputError("combine needs at least one mask")
    out = None
    for idx, m in enumerate(masks):
        t = torch.from_numpy(np.asarray(m)) if isinstance(m, np.ndarray) else m
        if not isinstance(t, torch.Tensor) or t.dtype != torch.bool:
            raise AttentionInputError(f"mask #{idx} must be a boolean tensor or array, got {getattr(t, 'dtype', type(t).__name__)}")
        try:
            out = t if out is None else (out & t)
        except RuntimeError:
            raise AttentionInputError(
                f"mask #{idx} of shape {tuple(t.shape)} does not broadcast with the masks before it "
                f"(combined shape so far {tuple(out.shape)})") from None
    return out


def empty_rows(mask) -> torch.Tensor:
    """Boolean (..., n_q) tensor, True for query rows that can see no key at all."""
    t = torch.from_numpy(np.ascontiguousarray(mask)) if isinstance(mask, np.ndarray) else mask
    if not isinstance(t, torch.Tensor) or t.dtype != torch.bool or t.dim() < 1:
        raise AttentionInputError(
            f"mask must be a boolean tensor or array of shape (..., n_q, n_k), got {getattr(t, 'dtype', type(t).__name__)}"
            + (f" with shape {tuple(t.shape)}" if hasattr(t, "shape") else ""))
    return ~t.any(dim=-1)
