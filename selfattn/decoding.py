"""Generating one token at a time, with and without a key/value cache.

A decoder produces token t+1 from tokens 1..t. With causal attention, the keys and values of
tokens 1..t never change once computed (a token cannot see the future, so nothing later alters
it). A *key/value cache* keeps them, so each new token computes only its own query, key and
value and attends from one query row to the cached keys:

    without a cache, step t recomputes all t tokens:  projections O(t·d_model²), attention O(t²·d_model)
    with a cache,    step t computes one token:       projections O(d_model²),   attention O(t·d_model)

Grouped-query attention (`n_kv_heads < n_heads`, multi-query when `n_kv_heads = 1`) stores only
n_kv_heads key/value heads. Decoding folds each group's query heads into the query axis, as
`MultiHeadAttention.forward` does, so one cached key/value head serves its whole group without
being copied once per query head.

    KVCache                    the cached keys and values of one attention layer
    decode_step(mha, x, cache) attend from new tokens to everything cached so far (and cache them)
    decode_incremental(mha, x) feed x through decode_step one token at a time
    decode_recompute(mha, x)   the baseline without a cache: rerun the whole prefix at every step
    memory_cache, cross_step   an encoder-decoder's cross-attention: source keys/values projected once
    TinyDecoder, generate      a one-layer language model with random weights, for timing and counting
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .attention import softmax
from .errors import AttentionInputError, as_tensor, check_finite
from .masks import causal as causal_mask
from .multihead import MultiHeadAttention
from .positions import rotary


@dataclass
class KVCache:
    """The keys and values of every token seen so far, for one attention layer.

    `k_buffer` and `v_buffer` are preallocated, shaped (batch, n_kv_heads, capacity, d_head);
    the first `length` positions are in use. Appending writes into the buffer (doubling it
    when full, so appending n tokens costs O(n) copies in total), and `keys`/`values` are
    views of the used part: reading the cache never copies it.
    """

    k_buffer: torch.Tensor
    v_buffer: torch.Tensor
    length: int = 0

    @classmethod
    def empty(cls, mha: MultiHeadAttention, batch: int = 1, *, capacity: int = 16,
              dtype: torch.dtype | None = None) -> "KVCache":
        """An empty cache for `mha` with room for `capacity` tokens before it first grows."""
        if not isinstance(mha, MultiHeadAttention):
            raise AttentionInputError(f"mha must be a selfattn.MultiHeadAttention, got {type(mha).__name__}")
        for name, val in (("batch", batch), ("capacity", capacity)):
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise AttentionInputError(f"{name} must be a positive integer, got {val!r}")
        dtype = mha.w_k.weight.dtype if dtype is None else dtype
        shape = (batch, mha.n_kv_heads, capacity, mha.d_head)
        return cls(torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype), 0)  # (batch, n_kv_heads, capacity, d_head)

    @property
    def batch(self) -> int:
        return self.k_buffer.shape[0]

    @property
    def n_kv_heads(self) -> int:
        return self.k_buffer.shape[1]

    @property
    def capacity(self) -> int:
        return self.k_buffer.shape[2]

    @property
    def d_head(self) -> int:
        return self.k_buffer.shape[3]

    @property
    def keys(self) -> torch.Tensor:
        """(batch, n_kv_heads, length, d_head): a view of the cached keys (no copy)."""
        return self.k_buffer[:, :, :self.length]

    @property
    def values(self) -> torch.Tensor:
        """(batch, n_kv_heads, length, d_head): a view of the cached values (no copy)."""
        return self.v_buffer[:, :, :self.length]

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached keys and values in use: 2 · batch · n_kv_heads · length · d_head · element size."""
        return 2 * self.batch * self.n_kv_heads * self.length * self.d_head * self.k_buffer.element_size()

    def append(self, k_new: torch.Tensor, v_new: torch.Tensor) -> None:
        """Store the keys and values of n_new new tokens, each (batch, n_kv_heads, n_new, d_head)."""
        expected = (self.batch, self.n_kv_heads, None, self.d_head)
        for name, t in (("k_new", k_new), ("v_new", v_new)):
            if t.dim() != 4 or any(e is not None and s != e for s, e in zip(t.shape, expected)):
                raise AttentionInputError(
                    f"{name} must have shape (batch={self.batch}, n_kv_heads={self.n_kv_heads}, n_new, "
                    f"d_head={self.d_head}), got {tuple(t.shape)}")
        if k_new.shape != v_new.shape:
            raise AttentionInputError(f"k_new and v_new must have the same shape, got {tuple(k_new.shape)} and {tuple(v_new.shape)}")
        n_new = k_new.shape[2]
        end = self.length + n_new
        if end > self.capacity:
            self._grow(max(end, 2 * self.capacity))
        self.k_buffer[:, :, self.length:end] = k_new
        self.v_buffer[:, :, self.length:end] = v_new
        self.length = end

    def truncate(self, length: int) -> None:
        """Forget every position from `length` on (to rerun a step, or to roll back a draft)."""
        if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= self.length:
            raise AttentionInputError(f"length must be an integer in 0..{self.length} (the cached length), got {length!r}")
        self.length = length

    def _grow(self, capacity: int) -> None:
        shape = (self.batch, self.n_kv_heads, capacity, self.d_head)
        k = torch.zeros(shape, dtype=self.k_buffer.dtype)                 # (batch, n_kv_heads, capacity, d_head)
        v = torch.zeros(shape, dtype=self.v_buffer.dtype)                 # (batch, n_kv_heads, capacity, d_head)
        k[:, :, :self.length] = self.keys
        v[:, :, :self.length] = self.values
        self.k_buffer, self.v_buffer = k, v


def _check_mha(mha) -> None:
    if not isinstance(mha, MultiHeadAttention):
        raise AttentionInputError(f"mha must be a selfattn.MultiHeadAttention, got {type(mha).__name__}")
    if mha.kdim != mha.d_model or mha.vdim != mha.d_model:
        raise AttentionInputError(
            f"decoding needs self-attention (kdim = vdim = d_model = {mha.d_model}), got kdim={mha.kdim}, vdim={mha.vdim}")


def _check_x(x, name: str, d_model: int) -> tuple[torch.Tensor, bool]:
    """(batch, n, d_model) or (n, d_model) -> ((batch, n, d_model), was it unbatched)."""
    t = as_tensor(x, name)
    if t.dim() not in (2, 3) or t.shape[-1] != d_model or t.shape[-2] == 0 or t.shape[0] == 0:
        raise AttentionInputError(
            f"{name} must have shape (batch, n, d_model={d_model}) or (n, d_model={d_model}) with n >= 1, "
            f"got {tuple(t.shape)}")
    check_finite(t, name)
    return (t.unsqueeze(0), True) if t.dim() == 2 else (t, False)


def decode_step(mha: MultiHeadAttention, x_new, cache: KVCache, *, rotary_base: float | None = None):
    """Attend from n_new new tokens to every cached token and to themselves; cache their keys and values.

    x_new: (batch, n_new, d_model) or (n_new, d_model); usually n_new = 1 (one generated token),
    or the whole prompt at once (the "prefill"), which is masked causally among itself.
    cache: a KVCache of this layer, updated in place (it grows by n_new positions).
    Returns (output (batch, n_new, d_model), weights (batch, n_heads, n_new, n)), where n is
    the cached length after the step: the same rows `mha(x, causal=True)` gives for these tokens.
    rotary_base: if given, queries and keys are rotated (`selfattn.positions.rotary`, RoPE) by
    their positions cache.length .. cache.length + n_new - 1 before attending; the cache then holds
    rotated keys, which never need rotating again (chapter 10's GPT with rotary positions).
    """
    _check_mha(mha)
    x, unbatched = _check_x(x_new, "x_new", mha.d_model)                  # (batch, n_new, d_model)
    if not isinstance(cache, KVCache):
        raise AttentionInputError(f"cache must be a KVCache (KVCache.empty(mha, batch)), got {type(cache).__name__}")
    batch, n_new, _ = x.shape
    if (cache.batch, cache.n_kv_heads, cache.d_head) != (batch, mha.n_kv_heads, mha.d_head):
        raise AttentionInputError(
            f"cache holds (batch={cache.batch}, n_kv_heads={cache.n_kv_heads}, d_head={cache.d_head}) but this step "
            f"needs (batch={batch}, n_kv_heads={mha.n_kv_heads}, d_head={mha.d_head}); "
            "make it with KVCache.empty(mha, batch)")
    x = x.to(cache.k_buffer.dtype)
    n_heads, n_kv_heads = mha.n_heads, mha.n_kv_heads
    q = mha.split_heads(mha.w_q(x), n_heads)                              # (batch, n_heads, n_new, d_head)
    k_new = mha.split_heads(mha.w_k(x), n_kv_heads)                       # (batch, n_kv_heads, n_new, d_head)
    v_new = mha.split_heads(mha.w_v(x), n_kv_heads)                       # (batch, n_kv_heads, n_new, d_head)
    if rotary_base is not None:
        where = torch.arange(cache.length, cache.length + n_new)          # (n_new,)
        q = rotary(q, where, base=rotary_base)                            # (batch, n_heads, n_new, d_head)
        k_new = rotary(k_new, where, base=rotary_base)                    # (batch, n_kv_heads, n_new, d_head)
    cache.append(k_new, v_new)
    n = cache.length
    visible = causal_mask(n_new, n, offset=n - n_new) if n_new > 1 else None  # (n_new, n)
    out, weights = _attend_to_cache(mha, q, cache, visible)              # (batch, n_new, d_model), (batch, n_heads, n_new, n)
    if unbatched:
        return out[0], weights[0]
    return out, weights


def _attend_to_cache(mha: MultiHeadAttention, q: torch.Tensor, cache: KVCache, visible):
    """Attention of queries q (batch, n_heads, n_new, d_head) to the cached keys and values, projected by W_O.

    visible: None, or a boolean mask broadcastable to (batch, n_new, n): True where a query may look.
    Returns (output (batch, n_new, d_model), weights (batch, n_heads, n_new, n)).
    """
    batch, n_heads, n_new, d_head = q.shape
    n_kv_heads, group = mha.n_kv_heads, mha.n_heads // mha.n_kv_heads
    keys, values = cache.keys, cache.values                               # (batch, n_kv_heads, n, d_head), views
    n = cache.length
    # Fold: the `group` query heads that share one key/value head become group·n_new query rows.
    q = q.reshape(batch, n_kv_heads, group * n_new, d_head)               # (batch, n_kv_heads, group·n_new, d_head)
    scores = (q @ keys.transpose(-2, -1)) / math.sqrt(d_head)             # (batch, n_kv_heads, group·n_new, n)
    if visible is not None:
        visible = torch.as_tensor(visible).expand(batch, n_new, n)        # (batch, n_new, n)
        visible = visible.repeat(1, group, 1).unsqueeze(1)                # (batch, 1, group·n_new, n)
        scores = scores.masked_fill(~visible, float("-inf"))              # (batch, n_kv_heads, group·n_new, n)
    weights = softmax(scores, dim=-1)                                     # (batch, n_kv_heads, group·n_new, n)
    out = weights @ values                                                # (batch, n_kv_heads, group·n_new, d_head)
    out = out.reshape(batch, n_heads, n_new, d_head)                      # (batch, n_heads, n_new, d_head)
    out = out.transpose(1, 2).reshape(batch, n_new, mha.d_model)          # (batch, n_new, d_model)
    out = mha.w_o(out)                                                    # (batch, n_new, d_model)
    return out, weights.reshape(batch, n_heads, n_new, n)                 # ..., (batch, n_heads, n_new, n)


def memory_cache(mha: MultiHeadAttention, memory) -> KVCache:
    """The keys and values of an encoder's output, projected once for a cross-attention layer.

    memory: (batch, n_mem, d_model). An encoder-decoder's decoder reads the same source at every
    step, so its cross-attention keys and values are computed once, before decoding starts, and
    never change; only the decoder's own self-attention cache grows (chapter 11).
    """
    _check_mha(mha)
    m, _ = _check_x(memory, "memory", mha.kdim)                           # (batch, n_mem, kdim)
    cache = KVCache.empty(mha, m.shape[0], capacity=m.shape[1], dtype=m.dtype)
    cache.append(mha.split_heads(mha.w_k(m), mha.n_kv_heads),             # (batch, n_kv_heads, n_mem, d_head)
                 mha.split_heads(mha.w_v(m), mha.n_kv_heads))             # (batch, n_kv_heads, n_mem, d_head)
    return cache


def cross_step(mha: MultiHeadAttention, x_new, cache: KVCache, *, memory_mask=None):
    """Cross-attention from new decoder tokens to a fixed `memory_cache` (nothing is appended).

    x_new: (batch, n_new, d_model). memory_mask: None or booleans (batch, n_mem) or (batch, 1, n_mem),
    True for real source tokens. Returns (output (batch, n_new, d_model), weights (batch, n_heads, n_new, n_mem)):
    the same as `mha(x_new, memory, memory, mask=memory_mask)`.
    """
    _check_mha(mha)
    x, unbatched = _check_x(x_new, "x_new", mha.d_model)                  # (batch, n_new, d_model)
    if not isinstance(cache, KVCache):
        raise AttentionInputError(f"cache must be a KVCache from memory_cache(mha, memory), got {type(cache).__name__}")
    q = mha.split_heads(mha.w_q(x.to(cache.k_buffer.dtype)), mha.n_heads)  # (batch, n_heads, n_new, d_head)
    visible = None
    if memory_mask is not None:
        visible = torch.as_tensor(memory_mask, dtype=torch.bool)
        visible = visible.unsqueeze(1) if visible.dim() == 2 else visible  # (batch, 1, n_mem)
    out, weights = _attend_to_cache(mha, q, cache, visible)              # (batch, n_new, d_model), (batch, n_heads, n_new, n_mem)
    if unbatched:
        return out[0], weights[0]
    return out, weights


def decode_incremental(mha: MultiHeadAttention, x, *, cache: KVCache | None = None) -> torch.Tensor:
    """Outputs for every position of x, computed one token at a time with a key/value cache.

    x: (batch, n, d_model). Equals `mha(x, causal=True)[0]` up to rounding.
    Returns (batch, n, d_model).
    """
    _check_mha(mha)
    x, unbatched = _check_x(x, "x", mha.d_model)                          # (batch, n, d_model)
    batch, n, _ = x.shape
    cache = KVCache.empty(mha, batch, capacity=n, dtype=x.dtype) if cache is None else cache
    rows = [decode_step(mha, x[:, t:t + 1], cache)[0] for t in range(n)]  # n × (batch, 1, d_model)
    out = torch.cat(rows, dim=1)                                          # (batch, n, d_model)
    return out[0] if unbatched else out


def decode_recompute(mha: MultiHeadAttention, x) -> torch.Tensor:
    """The baseline without a cache: at step t, run causal attention over the whole prefix x[:, :t]
    again and keep only its last row. Same result as `decode_incremental`, much more work.

    x: (batch, n, d_model). Returns (batch, n, d_model).
    """
    _check_mha(mha)
    x, unbatched = _check_x(x, "x", mha.d_model)                          # (batch, n, d_model)
    n = x.shape[1]
    rows = [mha(x[:, :t + 1], causal=True)[0][:, -1:] for t in range(n)]  # n × (batch, 1, d_model)
    out = torch.cat(rows, dim=1)                                          # (batch, n, d_model)
    return out[0] if unbatched else out


class TinyDecoder(nn.Module):
    """A one-layer causal language model with random weights, small enough to time on a laptop.

    token embedding + learned position embedding -> causal MultiHeadAttention (with a residual
    connection) -> a linear head that scores every word of the vocabulary. Position embeddings
    exist only for `context_window` positions: that table is the model's fixed context window,
    and nothing longer can be fed to it.
    """

    def __init__(self, vocab_size: int, d_model: int, n_heads: int, *, n_kv_heads: int | None = None,
                 context_window: int = 256, seed: int = 0):
        super().__init__()
        for name, val in (("vocab_size", vocab_size), ("context_window", context_window)):
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise AttentionInputError(f"{name} must be a positive integer, got {val!r}")
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.vocab_size, self.context_window = vocab_size, context_window
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(context_window, d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, n_kv_heads=n_kv_heads)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        torch.random.set_rng_state(gen_state)

    @property
    def d_model(self) -> int:
        return self.attn.d_model

    def _check_ids(self, ids, start: int = 0) -> torch.Tensor:
        if not torch.is_tensor(ids) or ids.dtype not in (torch.int64, torch.int32) or ids.dim() != 2 or ids.shape[1] == 0:
            raise AttentionInputError(
                f"ids must be an integer tensor of shape (batch, n) with n >= 1, got "
                f"{getattr(ids, 'dtype', type(ids).__name__)} of shape {tuple(getattr(ids, 'shape', ()))}")
        if (ids < 0).any() or (ids >= self.vocab_size).any():
            raise AttentionInputError(f"ids must lie in 0..{self.vocab_size - 1} (vocab_size={self.vocab_size})")
        end = start + ids.shape[1]
        if end > self.context_window:
            raise AttentionInputError(
                f"this model's context window is {self.context_window} positions, and n = {end} would pass it: "
                "it has no position embedding beyond its window")
        return ids.long()

    def _embed(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        positions = torch.arange(start, start + ids.shape[1])                # (n,)
        return self.tok(ids) + self.pos(positions)                          # (batch, n, d_model)

    def forward(self, ids) -> torch.Tensor:
        """ids (batch, n) -> logits (batch, n, vocab_size), every position at once (causal)."""
        ids = self._check_ids(ids)
        x = self._embed(ids, 0)                                             # (batch, n, d_model)
        h = x + self.attn(x, causal=True)[0]                                # (batch, n, d_model)
        return self.head(h)                                                 # (batch, n, vocab_size)

    def new_cache(self, batch: int = 1, *, capacity: int | None = None) -> KVCache:
        return KVCache.empty(self.attn, batch, capacity=capacity or self.context_window)

    def step(self, ids_new, cache: KVCache) -> torch.Tensor:
        """ids_new (batch, n_new) -> logits (batch, n_new, vocab_size), using and extending the cache."""
        ids_new = self._check_ids(ids_new, start=cache.length)
        x = self._embed(ids_new, cache.length)                              # (batch, n_new, d_model)
        h = x + decode_step(self.attn, x, cache)[0]                         # (batch, n_new, d_model)
        return self.head(h)                                                 # (batch, n_new, vocab_size)


@torch.no_grad()
def generate(model: TinyDecoder, prompt, n_new: int, *, use_cache: bool = True) -> torch.Tensor:
    """Greedy generation: append the most likely next token n_new times.

    prompt: (batch, n_prompt) token ids. With use_cache=True the prompt is run once (prefill)
    and each new token costs one cached step; with use_cache=False every step reruns the model
    over the whole sequence so far. Both give the same tokens. Returns (batch, n_prompt + n_new).
    """
    if not isinstance(model, TinyDecoder):
        raise AttentionInputError(f"model must be a TinyDecoder, got {type(model).__name__}")
    if isinstance(n_new, bool) or not isinstance(n_new, int) or n_new < 0:
        raise AttentionInputError(f"n_new must be a non-negative integer, got {n_new!r}")
    ids = model._check_ids(prompt)                                          # (batch, n_prompt)
    if ids.shape[1] + n_new > model.context_window:
        raise AttentionInputError(
            f"prompt ({ids.shape[1]} tokens) + n_new ({n_new}) = {ids.shape[1] + n_new} passes the model's "
            f"context window of {model.context_window} positions")
    if n_new == 0:
        return ids
    if use_cache:
        cache = model.new_cache(ids.shape[0])
        logits = model.step(ids, cache)                                     # (batch, n_prompt, vocab_size)
        for i in range(n_new):
            nxt = logits[:, -1].argmax(dim=-1, keepdim=True)                # (batch, 1)
            ids = torch.cat([ids, nxt], dim=1)                              # (batch, n + 1)
            if i < n_new - 1:                                               # the last token needs no step
                logits = model.step(nxt, cache)                             # (batch, 1, vocab_size)
        return ids
    for _ in range(n_new):
        logits = model(ids)                                                 # (batch, n, vocab_size)
        nxt = logits[:, -1].argmax(dim=-1, keepdim=True)                    # (batch, 1)
        ids = torch.cat([ids, nxt], dim=1)                                  # (batch, n + 1)
    return ids
