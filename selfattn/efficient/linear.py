"""Linear attention (Katharopoulos et al. 2020): softmax replaced by a feature-map kernel.

Softmax attention weighs key j for query i by exp(q_i·k_j / √d_k). Linear attention uses a
kernel that factorises instead, sim(q, k) = φ(q)·φ(k) with a positive feature map φ
(elu(x) + 1 in the paper). Then

    output_i = Σ_j φ(q_i)·φ(k_j) v_j / Σ_j φ(q_i)·φ(k_j)
             = φ(q_i)ᵀ H / φ(q_i)ᵀ z,     H = Σ_j φ(k_j) v_jᵀ  (d_k × d_v),  z = Σ_j φ(k_j)

and H, z are computed once for all queries: O(n·d_k·d_v) work instead of O(n²·d). With a
causal mask the sums run over j <= i only, so S and z become running (prefix) sums. Three ways
to compute the same thing, which agree to rounding:

- "parallel": every prefix sum H_i at once with `cumsum` (n matrices of d_k × d_v: simple,
  memory-hungry, for exposition);
- "chunked": cut the sequence into chunks of `chunk_size`; inside a chunk use the small
  (chunk × chunk) masked kernel matrix, across chunks carry the prefix sum of the chunks'
  states (the fast form);
- "recurrent": one token at a time, updating the state H += φ(k_i) v_iᵀ, z += φ(k_i), like an
  RNN whose hidden state is H (the form used when generating one token at a time).

This is a different model from softmax attention, not an approximation of it: its outputs
differ from softmax attention's, and a model has to be trained with it.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import AttentionInputError, check_choice, check_int
from ._common import prepare

__all__ = ["linear_attention", "FEATURE_MAPS", "FORMS"]

def elu_plus_one(x: torch.Tensor) -> torch.Tensor:
    """elu(x) + 1: x + 1 for x > 0, exp(x) for x <= 0.

    Computed as max(expm1(min(x, 0)), x) + 1 (equal, since expm1(x) >= x) in one new tensor:
    every large temporary costs page faults on a CPU, and the feature maps run on all of q and k.
    """
    return torch.clamp(x, max=0.0).expm1_().clamp_(min=x).add_(1.0)


FEATURE_MAPS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "elu": elu_plus_one,                  # Katharopoulos et al.: positive, smooth, keeps negative inputs
    "relu": F.relu,                       # non-negative; a query whose features are all 0 gathers nothing
}
FORMS = ("parallel", "chunked", "recurrent")


def _feature_map(feature_map) -> Callable[[torch.Tensor], torch.Tensor]:
    if callable(feature_map):
        return feature_map
    if feature_map not in FEATURE_MAPS:
        raise AttentionInputError(
            f"feature_map must be one of {sorted(FEATURE_MAPS)} or a function, got {feature_map!r}")
    return FEATURE_MAPS[feature_map]


def linear_attention(q, k, v, *, causal: bool = True, feature_map="elu", form: str = "chunked",
                     chunk_size: int = 64, eps: float = 1e-6):
    """Kernelised linear attention: output_i = φ(q_i)ᵀ H_i / (φ(q_i)ᵀ z_i + eps).

    q (..., n_q, d_k), k (..., n_k, d_k), v (..., n_k, d_v) -> (..., n_q, d_v). causal=True
    (needs n_q == n_k) lets query i use keys 0..i only. feature_map: "elu" (elu(x) + 1),
    "relu", or a function applied to q and k elementwise-or-not, returning non-negative
    features (..., n, m). form: "parallel", "chunked" or "recurrent" (same result, different
    cost). eps keeps the division finite when every feature is 0.
    """
    check_choice(form, "form", FORMS)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps < 0:
        raise AttentionInputError(f"eps must be a finite number >= 0, got {eps!r}")
    p = prepare(q, k, v, same_length="causal linear_attention" if causal else None)
    phi = _feature_map(feature_map)
    if causal and form == "chunked":                                 # features made chunk group by chunk group
        _check_features(phi(p.q[:, :1]), phi(p.k[:, :1]), p.q[:, :1], p.k[:, :1])
        return p.finish(_causal_chunked(p.q, p.k, p.v, phi, chunk_size, eps))
    fq, fk = phi(p.q), phi(p.k)                                      # (batch, n_q, m), (batch, n_k, m)
    _check_features(fq, fk, p.q, p.k)
    return p.finish(kernel_attention(fq, fk, p.v, causal=causal, form=form, chunk_size=chunk_size, eps=eps))


def _check_features(fq, fk, q, k) -> None:
    if not isinstance(fq, torch.Tensor) or not isinstance(fk, torch.Tensor) or fq.shape[:-1] != q.shape[:-1] \
            or fk.shape[:-1] != k.shape[:-1] or fq.shape[-1] != fk.shape[-1]:
        raise AttentionInputError(
            "feature_map must return a tensor (..., n, m) with the same m for q and k, got "
            f"{tuple(getattr(fq, 'shape', ()))} for q and {tuple(getattr(fk, 'shape', ()))} for k")


def kernel_attention(fq, fk, v, *, causal: bool, form: str, chunk_size: int = 64, eps: float = 1e-6):
    """The computation shared by linear and Performer attention, on features already computed.

    fq (batch, n_q, m), fk (batch, n_k, m), v (batch, n_k, d_v) -> (batch, n_q, d_v).
    """
    if not causal:
        return _bidirectional(fq, fk, v, form, chunk_size, eps)
    if form == "parallel":
        return _causal_parallel(fq, fk, v, eps)
    if form == "chunked":
        return _causal_chunked(fq, fk, v, lambda x: x, chunk_size, eps)
    return _causal_recurrent(fq, fk, v, eps)


def _bidirectional(fq, fk, v, form, chunk_size, eps):
    """No mask: one state H = Σ φ(k_j) v_jᵀ and z = Σ φ(k_j) for every query."""
    batch, n_k, m = fk.shape
    if form == "parallel":
        state = fk.transpose(-2, -1) @ v                             # (batch, m, d_v)
        z = fk.sum(-2)                                               # (batch, m)
    else:
        step = 1 if form == "recurrent" else chunk_size
        state = fk.new_zeros(batch, m, v.shape[-1])                  # (batch, m, d_v)
        z = fk.new_zeros(batch, m)                                   # (batch, m)
        for j0 in range(0, n_k, step):
            fk_c, v_c = fk[:, j0:j0 + step], v[:, j0:j0 + step]      # (batch, step, m), (batch, step, d_v)
            state = state + fk_c.transpose(-2, -1) @ v_c             # (batch, m, d_v)
            z = z + fk_c.sum(-2)                                     # (batch, m)
    num = fq @ state                                                 # (batch, n_q, d_v)
    den = fq @ z.unsqueeze(-1)                                       # (batch, n_q, 1)
    return num / (den + eps)                                         # (batch, n_q, d_v)


def _causal_parallel(fq, fk, v, eps):
    """Every prefix state at once: H_i = Σ_{j<=i} φ(k_j) v_jᵀ via cumsum (n·m·d_v numbers)."""
    outer = fk.unsqueeze(-1) * v.unsqueeze(-2)                       # (batch, n, m, d_v)
    states = torch.cumsum(outer, dim=-3)                             # (batch, n, m, d_v)
    z = torch.cumsum(fk, dim=-2)                                     # (batch, n, m)
    num = (fq.unsqueeze(-2) @ states).squeeze(-2)                    # (batch, n, d_v)
    den = (fq * z).sum(-1, keepdim=True)                             # (batch, n, 1)
    return num / (den + eps)                                         # (batch, n, d_v)


def _causal_recurrent(fq, fk, v, eps):
    """One token at a time, like an RNN: the state (H, z) is all that is remembered."""
    batch, n, m = fk.shape
    state = fk.new_zeros(batch, m, v.shape[-1])                      # (batch, m, d_v)
    z = fk.new_zeros(batch, m)                                       # (batch, m)
    out = v.new_empty(batch, n, v.shape[-1])                         # (batch, n, d_v)
    for i in range(n):
        state = state + fk[:, i, :, None] * v[:, i, None, :]         # (batch, m, d_v)
        z = z + fk[:, i]                                             # (batch, m)
        num = (fq[:, i, None, :] @ state).squeeze(-2)                # (batch, d_v)
        den = (fq[:, i] * z).sum(-1, keepdim=True)                   # (batch, 1)
        out[:, i] = num / (den + eps)
    return out


GROUP_TOKENS = 2048    # the chunked form works through this many tokens at a time (all temporaries stay small)


def _causal_chunked(q, k, v, phi, chunk_size, eps):
    """Chunks of c tokens: a masked (c × c) kernel inside each chunk, a running state across chunks.

    The denominator rides along with the numerator: with a column of ones appended to v,
    Σ φ(k_j) [v_j, 1] gives the state H and the normaliser z in one product. The sequence is
    taken GROUP_TOKENS at a time (features φ included, so no temporary is larger than a group);
    `carry` holds the state of everything before the group.
    """
    batch, n = k.shape[:2]
    m = phi(k[:, :1]).shape[-1]
    d_v = v.shape[-1]
    c = min(chunk_size, n)
    per_group = max(1, GROUP_TOKENS // c)                            # chunks per group
    out = v.new_empty(batch, n, d_v)                                 # (batch, n, d_v)
    carry = v.new_zeros(batch, m, d_v + 1)                           # (batch, m, d_v + 1): S and z so far
    for t0 in range(0, n, per_group * c):
        t1 = min(t0 + per_group * c, n)
        chunks = math.ceil((t1 - t0) / c)
        pad = chunks * c - (t1 - t0)                                 # only the last group can be ragged
        fq_g, fk_g = phi(q[:, t0:t1]), phi(k[:, t0:t1])              # (batch, tokens, m)
        v1 = torch.cat([v[:, t0:t1], v.new_ones(batch, t1 - t0, 1)], dim=-1)   # (batch, tokens, d_v + 1)
        if pad:
            fq_g, fk_g, v1 = (F.pad(x, (0, 0, 0, pad)) for x in (fq_g, fk_g, v1))   # (batch, chunks·c, ·)
        fq_c = fq_g.reshape(batch, chunks, c, m)                     # (batch, chunks, c, m)
        fk_c = fk_g.reshape(batch, chunks, c, m)                     # (batch, chunks, c, m)
        v_c = v1.view(batch, chunks, c, d_v + 1)                     # (batch, chunks, c, d_v + 1)

        # What the earlier tokens contribute: the carried state, plus the chunks before this one in the group.
        num = (fq_c.reshape(batch, chunks * c, m) @ carry).view(batch, chunks, c, d_v + 1)   # (batch, chunks, c, d_v + 1)
        state = fk_c.transpose(-2, -1) @ v_c                         # (batch, chunks, m, d_v + 1)
        state.cumsum_(dim=1)                                         # state t = sum over chunks 0..t of the group
        if chunks > 1:
            num[:, 1:] += fq_c[:, 1:] @ state[:, :-1]                # (batch, chunks - 1, c, d_v + 1)
        carry = carry + state[:, -1]                                 # (batch, m, d_v + 1)

        # Inside each chunk: the kernel matrix with the future masked out (the only quadratic part, c²).
        kernel = (fq_c @ fk_c.transpose(-2, -1)).tril_()             # (batch, chunks, c, c)
        num += kernel @ v_c                                          # (batch, chunks, c, d_v + 1)
        num = num.view(batch, chunks * c, d_v + 1)[:, :t1 - t0]      # (batch, tokens, d_v + 1)
        torch.div(num[..., :d_v], num[..., d_v:] + eps, out=out[:, t0:t1])   # (batch, tokens, d_v)
    return out
