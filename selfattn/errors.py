"""Input checks shared by every attention function, with errors in the book's own terms.

Every public function in selfattn validates what it is given before any arithmetic runs, so a
learner sees "k and v must have the same n_k" instead of a deep traceback from a matmul.
"""
from __future__ import annotations

import math
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
        t = torch.from_numpy(np.ascontiguousarray(x) if x.ndim else np.array(x))   # (ascontiguousarray makes 0-d 1-d)
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
    # One sum is cheap and is finite only if every entry is; only then is the full search skipped.
    # (A sum can overflow with finite entries; then the search below looks properly and finds nothing.)
    if torch.isfinite(t.sum()):
        return
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


Q_NAMES = ("batch", "n_q", "d_k")
K_NAMES = ("batch", "n_k", "d_k")
V_NAMES = ("batch", "n_k", "d_v")


def check_qkv(q, k, v) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The checks every attention function makes on q, k and v; returns them as torch tensors.

    Same kind (all numpy or all torch), floating dtype, at least (n, d) with no empty dimension,
    q and k sharing d_k, k and v sharing n_k, and no NaN or inf.
    """
    kinds = {name: isinstance(x, np.ndarray) for name, x in (("q", q), ("k", k), ("v", v))}
    if len(set(kinds.values())) > 1 and all(isinstance(x, (np.ndarray, torch.Tensor)) for x in (q, k, v)):
        desc = ", ".join(f"{nm} is a {'numpy array' if is_np else 'torch tensor'}" for nm, is_np in kinds.items())
        raise AttentionInputError(f"q, k and v must all be numpy arrays or all torch tensors: {desc}")
    qt, kt, vt = as_tensor(q, "q"), as_tensor(k, "k"), as_tensor(v, "v")
    check_rank(qt, "q", 2, Q_NAMES)
    check_rank(kt, "k", 2, K_NAMES)
    check_rank(vt, "v", 2, V_NAMES)
    if qt.shape[-1] != kt.shape[-1]:
        raise AttentionInputError(
            f"q and k must have the same d_k (last dimension): q has shape {shape_str(qt.shape, Q_NAMES)}, "
            f"k has shape {shape_str(kt.shape, K_NAMES)}")
    if kt.shape[-2] != vt.shape[-2]:
        raise AttentionInputError(
            f"k and v must have the same n_k (one value per key): k has shape {shape_str(kt.shape, K_NAMES)}, "
            f"v has shape {shape_str(vt.shape, V_NAMES)}")
    for t, name in ((qt, "q"), (kt, "k"), (vt, "v")):
        check_finite(t, name)
    return qt, kt, vt


def check_scale(scale, d_k: int) -> float:
    """The softmax scale: 1/√d_k by default, otherwise a positive finite number."""
    if scale is None:
        return 1.0 / math.sqrt(d_k)
    if not isinstance(scale, (int, float, np.integer, np.floating)) or isinstance(scale, (bool, np.bool_)) \
            or not math.isfinite(scale) or scale <= 0:
        raise AttentionInputError(f"scale must be a positive finite number (default 1/√d_k), got {scale!r}")
    return float(scale)


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None,
              meaning: str = "") -> int:
    """An integer argument within [minimum, maximum] (booleans refused), or an error that names it.

    ``meaning`` says in words what the number is ("number of tokens"), for the message.
    """
    what = f"{name} ({meaning})" if meaning else name
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    if minimum is not None and maximum is not None:
        want = f"an integer from {minimum} to {maximum}"
    elif minimum is not None:
        want = f"an integer >= {minimum}"
    elif maximum is not None:
        want = f"an integer <= {maximum}"
    else:
        want = "an integer"
    raise AttentionInputError(f"{what} must be {want}, got {value!r}")


def check_positive(value, name: str, *, meaning: str = "") -> float:
    """A positive finite real number (a temperature, a standard deviation, a scale), or an error."""
    what = f"{name} ({meaning})" if meaning else name
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if ok and math.isfinite(value) and value > 0:
        return float(value)
    raise AttentionInputError(f"{what} must be a positive finite number, got {value!r}")


def check_number(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
                 above: float | None = None, meaning: str = "") -> float:
    """A finite real number within [minimum, maximum] (and > above, if given), or an error that names it.

    For ranges that include 0 (a strength from 0 to 10) or exclude a bound other than 0
    (a RoPE base > 1), where `check_positive` does not fit.
    """
    what = f"{name} ({meaning})" if meaning else name
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if ok and math.isfinite(value) and (minimum is None or value >= minimum) and \
            (maximum is None or value <= maximum) and (above is None or value > above):
        return float(value)
    want = ["a finite number"]
    if above is not None:
        want.append(f"greater than {above:g}")
    if minimum is not None:
        want.append(f">= {minimum:g}")
    if maximum is not None:
        want.append(f"<= {maximum:g}")
    raise AttentionInputError(f"{what} must be {' '.join(want[:1])}{' ' if len(want) > 1 else ''}"
                              f"{' and '.join(want[1:])}, got {value!r}")


def check_choice(value, name: str, choices: Sequence) -> object:
    """One of a fixed set of options (a preset, a method name), or an error that lists them."""
    if value in tuple(choices):
        return value
    raise AttentionInputError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def check_matrix(x, name: str, names: Sequence[str]) -> torch.Tensor:
    """A finite 2-D float matrix with no empty dimension, e.g. names=("n", "d_model"), as a torch tensor."""
    t = as_tensor(x, name)
    if t.dim() != 2:
        raise AttentionInputError(f"{name} must have shape ({names[0]}, {names[1]}), got shape {tuple(t.shape)}")
    check_rank(t, name, 2, names)
    check_finite(t, name)
    return t
