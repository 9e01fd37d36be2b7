"""Input checks shared by every attention function, with errors in the book's own terms.

Every public function in selfattn validates what it is given before any arithmetic runs, so a
learner sees "k and v must have the same n_k" instead of a deep traceback from a matmul.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


class AttentionInputError(ValueError):
    """Raised when an argument has the wrong shape, dtype or values. Names the argument."""


def shape_str(shape: Sequence[int], names: Sequence[str]) -> str:
    """Format a shape with dimension names, e.g. (batch=2, n=5, d_k=8)."""
    shape = tuple(shape)
    names = list(names)[-len(shape):] if shape else []
    lead = len(shape) - len(names)
    parts = [str(s) for s in shape[:lead]] + [f"{nm}={s}" for nm, s in zip(names, shape[lead:])]
    return "(" + ", ".join(parts) + ")"


def as_tensor(x, name: str, *, allow_int: bool = False) -> torch.Tensor:
    """Turn a numpy array or torch tensor into a floating torch tensor, refusing other kinds.

    numpy inputs are shared (``torch.from_numpy``), not copied. Integer, boolean and complex
    dtypes are refused: attention needs real floating-point numbers.
    """
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "c":
            raise AttentionInputError(f"{name} has complex dtype {x.dtype}; attention needs real floats (float32 or float64)")
        if x.dtype.kind in "iub" and not allow_int:
            raise AttentionInputError(
                f"{name} has dtype {x.dtype}; attention needs floats. Convert first, e.g. {name}.astype(np.float32)")
        if x.dtype.kind not in "fiub":
            raise AttentionInputError(f"{name} has dtype {x.dtype}; attention needs float32 or float64")
        t = torch.from_numpy(np.ascontiguousarray(x))
    elif isinstance(x, torch.Tensor):
        t = x
        if t.is_complex():
            raise AttentionInputError(f"{name} has complex dtype {t.dtype}; attention needs real floats (float32 or float64)")
        if not t.is_floating_point() and not allow_int:
            raise AttentionInputError(
                f"{name} has dtype {t.dtype}; attention needs floats. Convert first, e.g. {name}.float()")
    else:
        raise AttentionInputError(
            f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}")
    return t


def check_finite(t: torch.Tensor, name: str) -> None:
    """Refuse NaN or infinite entries, saying where the first one is."""
    bad = ~torch.isfinite(t)
    if bad.any():
        idx = tuple(int(i) for i in bad.nonzero()[0])
        kind = "NaN" if torch.isnan(t[idx]) else "inf"
        count = int(bad.sum())
        raise AttentionInputError(
            f"{name} contains {count} non-finite value(s); the first is {kind} at index {idx}. "
            "Attention would spread it to every output that looks at that token.")


def check_rank(t: torch.Tensor, name: str, min_rank: int, names: Sequence[str]) -> None:
    """Require at least ``min_rank`` dimensions and no empty dimension."""
    if t.dim() < min_rank:
        raise AttentionInputError(
            f"{name} must have shape {('(..., ' + ', '.join(names[-min_rank:]) + ')')}, "
            f"got shape {tuple(t.shape)} with {t.dim()} dimension(s)")
    if any(s == 0 for s in t.shape):
        raise AttentionInputError(
            f"{name} has an empty dimension: shape {shape_str(t.shape, names)}; "
            "attention needs at least one token (n >= 1) and at least one feature")


def broadcast_batch(shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """Broadcast the leading (batch, head) dimensions of several arguments, or explain why not."""
    try:
        return tuple(torch.broadcast_shapes(*shapes.values()))
    except RuntimeError:
        listed = ", ".join(f"{k} has {v}" for k, v in shapes.items())
        raise AttentionInputError(
            f"the leading (batch, head) dimensions do not broadcast: {listed}") from None
