"""Performer attention (Choromanski et al. 2021): softmax attention estimated with random features.

FAVOR+ writes the softmax kernel as an expectation over random directions ξ ~ N(0, I):

    exp(q·k) = E_ξ[ exp(ξ·q - |q|²/2) · exp(ξ·k - |k|²/2) ]

Drawing n_features directions ξ_1..ξ_F (ω in the code) and putting φ(x)_r = exp(ξ_r·x - |x|²/2) / √F gives
positive features with φ(q)·φ(k) ≈ exp(q·k), an unbiased estimate. With x = q / d_k^(1/4) and
k / d_k^(1/4) the product is exp(q·k/√d_k), the softmax numerator, so attention can be computed
in linear time with the machinery of `linear_attention`. Orthogonal directions (blocks of
orthonormal rows, rescaled to Gaussian lengths) lower the variance of the estimate.

It is an estimate, and its error is large unless the scores are small: the variance of each
term grows like exp(2·|q|·|k|/√d_k) while the softmax numerator grows like exp(q·k/√d_k), so
with unit-variance queries and keys of width 64 even thousands of features leave a visible error.
`performer_error` measures it against exact attention.

Numerical care: a factor common to all keys, or to all the features of one query, cancels in
the ratio numerator/denominator, so each query's features are shifted by their own maximum (and
the query's |q|²/2, also common to its features, is dropped) and the keys' by one maximum over
all keys. The result is the same estimate without overflow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import check_int
from ._common import prepare
from .linear import kernel_attention

__all__ = ["performer_attention", "performer_error", "random_projection", "PerformerError"]


def random_projection(d_k: int, n_features: int, *, orthogonal: bool = True, seed: int = 0,
                      dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(n_features, d_k) random directions ω. orthogonal=True: stacked blocks of d_k orthonormal
    rows, each row rescaled to the length of a Gaussian vector (Choromanski et al., section 2.4)."""
    d_k = check_int(d_k, "d_k", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    gen = torch.Generator().manual_seed(int(seed))
    if not orthogonal:
        return torch.randn(n_features, d_k, generator=gen, dtype=torch.float64).to(dtype)   # (n_features, d_k)
    n_blocks = math.ceil(n_features / d_k)
    gauss = torch.randn(n_blocks, d_k, d_k, generator=gen, dtype=torch.float64)   # (n_blocks, d_k, d_k)
    q_mat, r_mat = torch.linalg.qr(gauss)                            # (n_blocks, d_k, d_k) orthonormal columns
    q_mat = q_mat * torch.sign(torch.diagonal(r_mat, dim1=-2, dim2=-1)).unsqueeze(-2)   # uniform (Haar) draw
    rows = q_mat.transpose(-2, -1).reshape(n_blocks * d_k, d_k)[:n_features]   # (n_features, d_k), rows orthonormal per block
    lengths = torch.randn(n_features, d_k, generator=gen, dtype=torch.float64).norm(dim=-1)   # (n_features,)
    return (rows * lengths.unsqueeze(-1)).to(dtype)                  # (n_features, d_k)


def _features(qs, ks, omega):
    """Positive random features of pre-scaled queries and keys, stabilised as described above
    (computed in place: each is one (n, n_features) tensor)."""
    fq = qs @ omega.T                                                # (batch, n_q, n_features): ω·q
    fq.sub_(fq.amax(-1, keepdim=True)).exp_()                        # exp(ω·q - max over features)
    fk = ks @ omega.T                                                # (batch, n_k, n_features): ω·k
    fk.sub_(0.5 * (ks * ks).sum(-1, keepdim=True))                   # ω·k - |k|²/2
    fk.sub_(fk.amax(dim=(-2, -1), keepdim=True)).exp_()              # exp(... - max over all keys)
    return fq, fk


def performer_attention(q, k, v, n_features: int, *, orthogonal: bool = True, seed: int = 0,
                        scale: float | None = None):
    """FAVOR+ estimate of softmax attention (no mask), in time linear in n.

    q (..., n_q, d_k), k (..., n_k, d_k), v (..., n_k, d_v) -> (..., n_q, d_v). n_features:
    number of random features F (more: slower, closer to softmax). seed fixes the random
    directions, so the same call gives the same answer.
    """
    n_features = check_int(n_features, "n_features", minimum=1)
    p = prepare(q, k, v, scale=scale)
    root = math.sqrt(p.scale)                                        # q·k·scale = (q·√scale)·(k·√scale)
    omega = random_projection(p.q.shape[-1], n_features, orthogonal=orthogonal, seed=seed, dtype=p.q.dtype)
    fq, fk = _features(p.q * root, p.k * root, omega)                # (batch, n_q, F), (batch, n_k, F)
    tiny = torch.finfo(fq.dtype).tiny                               # keeps 0/0 away if every feature underflows
    return p.finish(kernel_attention(fq, fk, p.v, causal=False, form="parallel", eps=tiny))


@dataclass(frozen=True)
class PerformerError:
    """How far a Performer estimate is from exact softmax attention (outputs compared)."""

    n_features: int
    max_abs: float        # largest |estimate - exact| over all output entries
    mean_abs: float       # mean |estimate - exact|
    relative: float       # ‖estimate - exact‖ / ‖exact‖ (Frobenius norms)


def performer_error(q, k, v, n_features: int, *, orthogonal: bool = True, seed: int = 0,
                    scale: float | None = None) -> PerformerError:
    """Compare `performer_attention` with exact attention on the same inputs (exact attention is
    computed tile by tile, so long sequences are fine)."""
    from .tiled import tiled_attention

    p = prepare(q, k, v, scale=scale)
    approx = performer_attention(p.q, p.k, p.v, n_features, orthogonal=orthogonal, seed=seed, scale=p.scale)   # (batch, n_q, d_v)
    exact = tiled_attention(p.q, p.k, p.v, block_size=256, scale=p.scale)   # (batch, n_q, d_v)
    diff = (approx.double() - exact.double()).abs()                  # (batch, n_q, d_v)
    rel = float(diff.norm() / exact.double().norm().clamp_min(1e-300))
    return PerformerError(int(n_features), float(diff.max()), float(diff.mean()), rel)
