"""Shared plumbing for the efficient methods: validation, flattening of batch/head dimensions.

(Integer arguments are checked with `selfattn.errors.check_int`.)

Every method accepts q (..., n_q, d_k), k (..., n_k, d_k), v (..., n_k, d_v) as numpy arrays or
torch tensors with any leading batch/head dimensions that broadcast, exactly like
`selfattn.attention`. Internally each method works on three-dimensional tensors
(batch, n, d): the leading dimensions are broadcast and folded into one, and unfolded again at
the end. A numpy input gives a numpy output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import K_NAMES, Q_NAMES, AttentionInputError, broadcast_batch, check_qkv, check_scale, shape_str

# Work is done in pieces whose score matrix holds about this many numbers (1 MiB in float32):
# small enough to stay near the processor's caches, large enough that each matrix product is
# efficient. It bounds the extra memory a method needs, whatever n is.
SCORE_BUDGET = 1 << 18


@dataclass
class Prepared:
    """Validated inputs folded to three dimensions, plus what is needed to unfold the output."""

    q: torch.Tensor          # (batch, n_q, d_k), batch = product of the leading dimensions
    k: torch.Tensor          # (batch, n_k, d_k)
    v: torch.Tensor          # (batch, n_k, d_v)
    lead: tuple[int, ...]    # the broadcast leading dimensions
    scale: float
    as_numpy: bool

    @property
    def n_q(self) -> int:
        return self.q.shape[-2]

    @property
    def n_k(self) -> int:
        return self.k.shape[-2]

    def finish(self, out: torch.Tensor):
        """(batch, n_q, d_v) -> (..., n_q, d_v), numpy if the inputs were numpy."""
        out = out.reshape(self.lead + tuple(out.shape[-2:]))           # (..., n_q, d_v)
        return out.numpy() if self.as_numpy else out


def prepare(q, k, v, *, scale=None, same_length: str | None = None) -> Prepared:
    """Validate q, k, v (the checks of `selfattn.attention`) and fold the leading dimensions.

    same_length: if given, the name of the method, which needs n_q == n_k (queries and keys
    are positions of one sequence, as in self-attention with a window or a causal mask).
    """
    as_numpy = isinstance(q, np.ndarray)
    qt, kt, vt = check_qkv(q, k, v)
    if same_length is not None and qt.shape[-2] != kt.shape[-2]:
        raise AttentionInputError(
            f"{same_length} needs queries and keys from one sequence (n_q == n_k): q has shape "
            f"{shape_str(qt.shape, Q_NAMES)}, k has shape {shape_str(kt.shape, K_NAMES)}")
    lead = broadcast_batch({"q": tuple(qt.shape[:-2]), "k": tuple(kt.shape[:-2]), "v": tuple(vt.shape[:-2])})
    dtype = torch.promote_types(torch.promote_types(qt.dtype, kt.dtype), vt.dtype)
    scale = check_scale(scale, qt.shape[-1])
    qt = qt.to(dtype).expand(lead + tuple(qt.shape[-2:])).reshape(-1, *qt.shape[-2:])   # (batch, n_q, d_k)
    kt = kt.to(dtype).expand(lead + tuple(kt.shape[-2:])).reshape(-1, *kt.shape[-2:])   # (batch, n_k, d_k)
    vt = vt.to(dtype).expand(lead + tuple(vt.shape[-2:])).reshape(-1, *vt.shape[-2:])   # (batch, n_k, d_v)
    return Prepared(qt, kt, vt, tuple(lead), float(scale), as_numpy)


def token_indices(indices, n: int, name: str) -> torch.Tensor:
    """Sorted, distinct token positions in 0..n-1 as a 1-D int64 tensor (possibly empty)."""
    if indices is None:
        return torch.empty(0, dtype=torch.long)
    if isinstance(indices, torch.Tensor):
        t = indices.detach().cpu()
    else:
        try:
            t = torch.as_tensor(np.asarray(indices))
        except (TypeError, ValueError):
            raise AttentionInputError(f"{name} must be a list of token positions, got {indices!r}") from None
    if t.numel() == 0:
        return torch.empty(0, dtype=torch.long)
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex() or t.dim() > 1:
        raise AttentionInputError(f"{name} must be a 1-D list of integer token positions, got {indices!r}")
    t = t.reshape(-1).long()                                         # (n_global,)
    if t.numel() and (t.min() < 0 or t.max() >= n):
        raise AttentionInputError(f"every entry of {name} must lie in 0..n-1 = 0..{n - 1}, got {t.tolist()}")
    return torch.unique(t)                                            # (n_global,), sorted
