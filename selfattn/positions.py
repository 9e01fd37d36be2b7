"""Position information for attention, which on its own cannot tell one word order from another.

Three ways a Transformer learns where a token sits:

* ``sinusoidal(n, d_model)``: fixed sine/cosine waves added to the token vectors (Vaswani et al.,
  2017, section 3.5). Position ``pos`` and pair ``r`` get angle ``pos / base^(2r/d_model)``.
* ``LearnedPositions(max_len, d_model)``: one trainable vector per position, an ``nn.Embedding``
  table added to the token vectors (BERT, GPT-2, ViT). It has nothing to say about positions
  beyond ``max_len``.
* ``rotary(x, positions)``: rotary position embedding, RoPE (Su et al., 2021). Instead of adding
  anything, it rotates each neighbouring pair of features of a query or key by an angle that
  grows with the position, so a query-key dot product depends on the two positions only through
  their offset.

Math layer: numpy and torch only.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .errors import AttentionInputError, as_tensor, check_finite, check_int, check_number, check_rank, shape_str

DEFAULT_BASE = 10000.0


def frequencies(d: int, *, base: float = DEFAULT_BASE, dtype=torch.float64) -> torch.Tensor:
    """(d/2,) angular frequencies ω_r = base^(-2r/d), one per (sin, cos) or rotation pair r = 0 .. d/2-1.

    Pair 0 turns by one radian per position; the last pair turns almost base times more slowly.
    """
    d = check_int(d, "d", minimum=1)
    base = check_number(base, "base", above=1, meaning="the paper uses 10000")
    if d % 2:
        raise AttentionInputError(f"the width must be even (features come in pairs), got {d}")
    i = torch.arange(d // 2, dtype=torch.float64)                       # (d/2,)
    return (base ** (-2.0 * i / d)).to(dtype)                           # (d/2,)


def sinusoidal(n: int, d_model: int, *, base: float = DEFAULT_BASE, dtype=None) -> torch.Tensor:
    """(n, d_model) fixed positional encodings of Vaswani et al. (2017):

        PE[pos, 2r]   = sin(pos / base^(2r/d_model))
        PE[pos, 2r+1] = cos(pos / base^(2r/d_model))     (r counts feature pairs; the paper writes i)

    Add the result to the (n, d_model) token vectors. d_model must be even.
    """
    n = check_int(n, "n", minimum=1)
    d_model = check_int(d_model, "d_model", minimum=1)
    if d_model % 2:
        raise AttentionInputError(
            f"d_model must be even for sinusoidal encodings (they come in (sin, cos) pairs), got d_model={d_model}")
    omega = frequencies(d_model, base=base)                             # (d_model/2,)
    pos = torch.arange(n, dtype=torch.float64).unsqueeze(1)             # (n, 1)
    angle = pos * omega                                                 # (n, d_model/2)
    pe = torch.stack((angle.sin(), angle.cos()), dim=-1)                # (n, d_model/2, 2)
    pe = pe.reshape(n, d_model)                                         # (n, d_model)
    return pe.to(dtype or torch.get_default_dtype())


class LearnedPositions(nn.Module):
    """A table of max_len trainable vectors, one per position, added to the token vectors.

    forward(x) with x of shape (..., n, d_model) returns x + table[:n]. The table starts random
    (normal with standard deviation init_std; seed makes it reproducible) and only means
    something once training has shaped it. Positions at or beyond max_len have no vector.
    """

    def __init__(self, max_len: int, d_model: int, *, init_std: float = 0.02, seed: int | None = None):
        super().__init__()
        self.max_len = check_int(max_len, "max_len", minimum=1)
        self.d_model = check_int(d_model, "d_model", minimum=1)
        init_std = check_number(init_std, "init_std", minimum=0, meaning="spread of the random start")
        g = None if seed is None else torch.Generator().manual_seed(int(seed))
        start = torch.randn(self.max_len, self.d_model, generator=g) * init_std   # (max_len, d_model)
        # _weight skips nn.Embedding's own random init, so a seeded table leaves torch's global RNG alone
        self.table = nn.Embedding(self.max_len, self.d_model, _weight=start)

    def encodings(self, n: int) -> torch.Tensor:
        """(n, d_model) the vectors of positions 0..n-1."""
        n = check_int(n, "n", minimum=1)
        if n > self.max_len:
            raise AttentionInputError(
                f"this table has vectors for max_len={self.max_len} positions, got n={n}: a learned table "
                "has nothing for positions it never had (sinusoidal or rotary positions have no such limit)")
        return self.table(torch.arange(n))                              # (n, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = as_tensor(x, "x")
        check_rank(t, "x", 2, ("batch", "n", "d_model"))
        if t.shape[-1] != self.d_model:
            raise AttentionInputError(
                f"x must have shape (..., n, d_model={self.d_model}), got shape "
                f"{shape_str(t.shape, ('batch', 'n', 'd_model'))}")
        return t + self.encodings(t.shape[-2]).to(t.dtype)              # (..., n, d_model)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, d_model={self.d_model}"


def _positions(positions, n: int) -> torch.Tensor:
    if positions is None:
        return torch.arange(n, dtype=torch.float64)                     # (n,)
    if isinstance(positions, (list, tuple, range)):
        try:
            positions = np.asarray(positions, dtype=np.float64)
        except (TypeError, ValueError):
            raise AttentionInputError(f"positions must be numbers, got {positions!r}") from None
    if isinstance(positions, np.ndarray):
        if positions.dtype.kind not in "iuf":
            raise AttentionInputError(f"positions must be integers or floats, got dtype {positions.dtype}")
        p = torch.from_numpy(positions.astype(np.float64))
    elif isinstance(positions, torch.Tensor):
        if positions.is_complex() or positions.dtype == torch.bool:
            raise AttentionInputError(f"positions must be integers or floats, got dtype {positions.dtype}")
        p = positions.to(torch.float64)
    else:
        raise AttentionInputError(
            f"positions must be a list, numpy array or torch tensor of n numbers, got {type(positions).__name__}")
    if p.dim() != 1 or p.shape[0] != n:
        raise AttentionInputError(
            f"positions must have shape (n,) = ({n},), one position per row of x, got shape {tuple(p.shape)}")
    if not torch.isfinite(p).all():
        raise AttentionInputError("positions must be finite numbers")
    return p


def rotary_angles(n: int, d_k: int, *, base: float = DEFAULT_BASE) -> torch.Tensor:
    """(n, d_k/2) float64 rotation angles θ: position p turns pair r by θ = p·ω_r (radians)."""
    n = check_int(n, "n", minimum=1)
    d_k = check_int(d_k, "d_k", minimum=1)
    if d_k % 2:
        raise AttentionInputError(f"d_k must be even for rotary positions (features rotate in pairs), got d_k={d_k}")
    return torch.arange(n, dtype=torch.float64).unsqueeze(1) * frequencies(d_k, base=base)   # (n, d_k/2)


def rotary(x, positions=None, *, base: float = DEFAULT_BASE):
    """Rotary position embedding (RoPE, Su et al. 2021) applied to queries or keys.

    x: (..., n, d_k) numpy array or torch tensor, d_k even. positions: (n,) numbers, default
    0..n-1. Features (2r, 2r+1) form pair r, which is rotated by the angle θ = positions[p]·ω_r with
    ω_r = base^(-2r/d_k) (neighbouring pairs, as in the paper; some libraries pair feature r with
    r + d_k/2 instead, which is the same idea with the features stored in another order).

    Apply it to q and to k (never to v). Then (rotary(q)[i] · rotary(k)[j]) depends on the
    positions only through j - i. Returns the same kind (numpy or torch) and dtype as x.
    """
    as_numpy = isinstance(x, np.ndarray)
    t = as_tensor(x, "x")
    check_rank(t, "x", 2, ("batch", "n", "d_k"))
    check_finite(t, "x")
    n, d_k = t.shape[-2:]
    if d_k % 2:
        raise AttentionInputError(
            f"x must have an even d_k for rotary positions (features rotate in pairs), got shape "
            f"{shape_str(t.shape, ('batch', 'n', 'd_k'))}")
    base = check_number(base, "base", above=1, meaning="the paper uses 10000")
    angle = _positions(positions, n).unsqueeze(1) * frequencies(d_k, base=base)   # (n, d_k/2)
    cos, sin = angle.cos().to(t.dtype), angle.sin().to(t.dtype)         # (n, d_k/2)
    x1, x2 = t[..., 0::2], t[..., 1::2]                                 # (..., n, d_k/2) each
    r1 = x1 * cos - x2 * sin                                            # (..., n, d_k/2)
    r2 = x1 * sin + x2 * cos                                            # (..., n, d_k/2)
    out = torch.stack((r1, r2), dim=-1).flatten(-2)                     # (..., n, d_k)
    return out.numpy() if as_numpy else out
