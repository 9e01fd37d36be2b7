"""What attention costs, by formula: flops counted exactly, bytes of score matrices and caches (chapter 8).

A flop is one floating-point multiply or add, so one multiply-add is 2 flops (the convention of
torch's FlopCounterMode and of most papers). Only matrix products are counted: softmax, scaling
and bias additions cost O(n²) or O(n·d) operations, a factor of about d fewer.

    attention_flops         2·n_q·n_k·d_k for QKᵀ plus 2·n_q·n_k·d_v for AV (4·n²·d for self-attention)
    attention_matrix_bytes  bytes of the n_q×n_k score (or weight) matrices
    projection_flops, mha_flops, decode_step_flops, generation_flops   a whole MultiHeadAttention layer
    kv_cache_bytes          2 · n_layers · n_kv_heads · d_head · n · element size
    context_report          every number the context-length explorer shows, for one n
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...errors import AttentionInputError, check_int
from .spread import expected_needle_weight


def bytes_per_element(dtype) -> int:
    """4 for torch.float32, 2 for float16/bfloat16; a plain positive integer is taken as the answer."""
    if isinstance(dtype, torch.dtype):
        return torch.empty((), dtype=dtype).element_size()
    if isinstance(dtype, (int, np.integer)) and not isinstance(dtype, bool) and dtype > 0:
        return int(dtype)
    raise AttentionInputError(f"dtype must be a torch dtype or a number of bytes per element, got {dtype!r}")


def attention_flops(n_q: int, n_k: int | None = None, d_k: int = 64, d_v: int | None = None, *,
                    n_heads: int = 1, batch: int = 1) -> int:
    """Matmul flops of softmax(QKᵀ/√d_k)V: 2·n_q·n_k·d_k (scores) + 2·n_q·n_k·d_v (weighted sum).

    For self-attention with n_q = n_k = n and d_k = d_v = d this is 4·n²·d per head: doubling n
    multiplies it by 4. A dense mask does not change it (masked scores are computed, then hidden).
    """
    n_q = check_int(n_q, "n_q", minimum=1)
    n_k = n_q if n_k is None else check_int(n_k, "n_k", minimum=1)
    d_k = check_int(d_k, "d_k", minimum=1)
    d_v = d_k if d_v is None else check_int(d_v, "d_v", minimum=1)
    return check_int(batch, "batch", minimum=1) * check_int(n_heads, "n_heads", minimum=1) * 2 * n_q * n_k * (d_k + d_v)


def attention_matrix_bytes(n_q: int, n_k: int | None = None, *, n_heads: int = 1, batch: int = 1,
                           dtype=torch.float32) -> int:
    """Bytes of one (batch, n_heads, n_q, n_k) matrix of scores or weights: grows with n²."""
    n_q = check_int(n_q, "n_q", minimum=1)
    n_k = n_q if n_k is None else check_int(n_k, "n_k", minimum=1)
    return check_int(batch, "batch", minimum=1) * check_int(n_heads, "n_heads", minimum=1) * n_q * n_k * bytes_per_element(dtype)


def _mha_dims(d_model: int, n_heads: int, n_kv_heads: int | None) -> tuple[int, int, int]:
    d_model, n_heads = check_int(d_model, "d_model", minimum=1), check_int(n_heads, "n_heads", minimum=1)
    n_kv_heads = n_heads if n_kv_heads is None else check_int(n_kv_heads, "n_kv_heads", minimum=1)
    if d_model % n_heads or n_heads % n_kv_heads:
        raise AttentionInputError(
            f"need d_model divisible by n_heads and n_heads divisible by n_kv_heads, got "
            f"d_model={d_model}, n_heads={n_heads}, n_kv_heads={n_kv_heads}")
    return d_model, d_model // n_heads, n_kv_heads


def projection_flops(n: int, d_model: int, n_heads: int, n_kv_heads: int | None = None) -> int:
    """Matmul flops of the four projections W_Q, W_K, W_V, W_O applied to n tokens.

    W_Q and W_O are d_model×d_model; W_K and W_V are d_model×(n_kv_heads·d_head).
    """
    d_model, d_head, n_kv_heads = _mha_dims(d_model, n_heads, n_kv_heads)
    d_kv = n_kv_heads * d_head
    return check_int(n, "n", minimum=1) * (2 * 2 * d_model * d_model + 2 * 2 * d_model * d_kv)


def mha_flops(n: int, d_model: int, n_heads: int, n_kv_heads: int | None = None, *, batch: int = 1) -> int:
    """Matmul flops of one MultiHeadAttention forward pass over n tokens (causal or not).

    projections 8·n·d_model² (fewer with n_kv_heads < n_heads) + attention 4·n²·d_model.
    """
    d_model, d_head, n_kv_heads = _mha_dims(d_model, n_heads, n_kv_heads)
    attn = attention_flops(n, n, d_head, n_heads=n_heads)
    return check_int(batch, "batch", minimum=1) * (projection_flops(n, d_model, n_heads, n_kv_heads) + attn)


def decode_step_flops(n: int, d_model: int, n_heads: int, n_kv_heads: int | None = None, *,
                      cached: bool = True, batch: int = 1) -> int:
    """Matmul flops to produce the output of token n (so n tokens are in context, itself included).

    cached=True: project the one new token and attend from one query to n cached keys:
        projection_flops(1, ...) + 4·n·d_model              (grows linearly with n)
    cached=False: rerun the layer over all n tokens (decoding.decode_recompute):
        projection_flops(n, ...) + 4·n²·d_model             (grows with n²)
    """
    n = check_int(n, "n", minimum=1)
    d_model, d_head, n_kv_heads = _mha_dims(d_model, n_heads, n_kv_heads)
    if cached:
        one = projection_flops(1, d_model, n_heads, n_kv_heads) + attention_flops(1, n, d_head, n_heads=n_heads)
        return check_int(batch, "batch", minimum=1) * one
    return mha_flops(n, d_model, n_heads, n_kv_heads, batch=batch)


def generation_flops(n_prompt: int, n_new: int, d_model: int, n_heads: int, n_kv_heads: int | None = None, *,
                     cached: bool = True, batch: int = 1) -> int:
    """Total attention-layer flops to read a prompt and produce n_new outputs after it.

    cached=True: one prefill pass over the prompt, then n_new - 1 single-token steps (the last
    generated token needs no step of its own), as `decoding.generate` does.
    cached=False: n_new full passes over n_prompt, n_prompt + 1, ... tokens.
    """
    n_prompt = check_int(n_prompt, "n_prompt", minimum=1)
    n_new = check_int(n_new, "n_new", minimum=0)
    if n_new == 0:
        return 0
    if cached:
        total = mha_flops(n_prompt, d_model, n_heads, n_kv_heads, batch=batch)
        total += sum(decode_step_flops(n, d_model, n_heads, n_kv_heads, cached=True, batch=batch)
                     for n in range(n_prompt + 1, n_prompt + n_new))
        return total
    return sum(mha_flops(n, d_model, n_heads, n_kv_heads, batch=batch) for n in range(n_prompt, n_prompt + n_new))


def kv_cache_bytes(n: int, *, n_layers: int, n_kv_heads: int, d_head: int, batch: int = 1,
                   dtype=torch.float16) -> int:
    """Bytes of a key/value cache holding n tokens:
    2 (K and V) · n_layers · n_kv_heads · d_head · n · batch · element size.

    Multi-head attention has n_kv_heads = n_heads; grouped-query attention fewer; multi-query 1.
    `dtype` is a torch dtype or a number of bytes per element (float16 and bfloat16: 2).
    """
    numbers_per_token = (2 * check_int(n_layers, "n_layers", minimum=1) * check_int(n_kv_heads, "n_kv_heads", minimum=1)
                         * check_int(d_head, "d_head", minimum=1))
    return numbers_per_token * check_int(n, "n", minimum=0) * check_int(batch, "batch", minimum=1) * bytes_per_element(dtype)


@dataclass(frozen=True)
class ModelShape:
    """The sizes of a decoder that set its attention costs (a named shape, not a trained model)."""

    name: str
    d_model: int
    n_heads: int
    n_kv_heads: int
    n_layers: int

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


# One published shape and two variants of it, at d_model 4096, 32 layers, 32 query heads of d_head 128:
#   Llama 2 7B (Touvron et al., 2023) uses multi-head attention: 32 key/value heads;
#   8 key/value heads (GQA) is the shape of Mistral 7B (Jiang et al., 2023), which v0.1 combines with
#   a 4,096-token sliding window (chapter 9) that caps its cache; here the cache is not capped;
#   1 key/value head (MQA) on this shape is hypothetical.
MODEL_SHAPES = {
    "MHA, 32 key/value heads (Llama 2 7B)": ModelShape("MHA, 32 key/value heads (Llama 2 7B)", 4096, 32, 32, 32),
    "GQA, 8 key/value heads (as Mistral 7B)": ModelShape("GQA, 8 key/value heads (as Mistral 7B)", 4096, 32, 8, 32),
    "MQA, 1 key/value head (hypothetical)": ModelShape("MQA, 1 key/value head (hypothetical)", 4096, 32, 1, 32),
}
MHA, GQA, MQA = MODEL_SHAPES


def context_report(n: int, shape: ModelShape, *, margin: float = 3.0, sigma: float = 1.0,
                   dtype=torch.float16) -> dict[str, float]:
    """Every number the context-length explorer shows for a context of n tokens and one model shape.

    attention_flops:       QKᵀ and AV for all heads and layers over n tokens (a full forward pass)
    score_matrix_bytes:    one n×n matrix for every head of every layer, if it were stored
    kv_cache_bytes:        the key/value cache for n tokens (`dtype`, default 2 bytes per number)
    kv_bytes_per_token:    the same for one token
    step_flops_cached / step_flops_recompute: the attention layers' flops for token n
    needle_weight:         expected weight on one relevant token with score margin `margin`
    """
    n = check_int(n, "n", minimum=1)
    if not isinstance(shape, ModelShape):
        raise AttentionInputError(f"shape must be a ModelShape (see MODEL_SHAPES), got {type(shape).__name__}")
    layers = shape.n_layers
    dims = (shape.d_model, shape.n_heads, shape.n_kv_heads)
    per_token = kv_cache_bytes(1, n_layers=layers, n_kv_heads=shape.n_kv_heads, d_head=shape.d_head, dtype=dtype)
    return {
        "n": n,
        "attention_flops": layers * attention_flops(n, n, shape.d_head, n_heads=shape.n_heads),
        "score_matrix_bytes": layers * attention_matrix_bytes(n, n_heads=shape.n_heads, dtype=dtype),
        "kv_cache_bytes": n * per_token,
        "kv_bytes_per_token": per_token,
        "step_flops_cached": layers * decode_step_flops(n, *dims, cached=True),
        "step_flops_recompute": layers * decode_step_flops(n, *dims, cached=False),
        "needle_weight": float(expected_needle_weight(n, margin, sigma)),
    }


def context_curves(ns, shape: ModelShape, *, margin: float = 3.0) -> dict[str, list[float]]:
    """context_report at every n of `ns`, as one list per quantity (what the explorer's charts draw)."""
    reports = [context_report(m, shape, margin=margin) for m in ns]
    return {key: [r[key] for r in reports] for key in reports[0]}


def human_bytes(nbytes: float) -> str:
    """1536 -> '1.5 KiB' (powers of 1024), for tables the reader can take in at a glance."""
    units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]
    value, unit = float(nbytes), 0
    while abs(value) >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{int(value)} bytes" if unit == 0 else f"{value:.1f} {units[unit]}"


def human_flops(flops: float) -> str:
    """3.2e9 -> '3.2 GFLOP' (powers of 1000)."""
    units = ["FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"]
    value, unit = float(flops), 0
    while abs(value) >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    return f"{int(value)} FLOP" if unit == 0 else f"{value:.1f} {units[unit]}"
