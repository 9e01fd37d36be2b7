"""A GPT from the book's parts: token embedding, positions, a stack of blocks, a final norm, logits.

    ids (batch, n) -> embed + positions -> [block] x n_layers -> LayerNorm -> logits (batch, n, vocab_size)

    block (pre-norm, GPT-2):    x = x + Dropout(SelfAttention(LayerNorm(x)))
                                x = x + Dropout(MLP(LayerNorm(x)))
    block (post-norm, 2017):    x = LayerNorm(x + Dropout(SelfAttention(x)))
                                x = LayerNorm(x + Dropout(MLP(x)))

The vector x that flows from the embedding to the logits, and that every sublayer reads from and
adds to, is the *residual stream*. Attention is `selfattn.MultiHeadAttention` (chapter 6), learned
or rotary positions come from `selfattn.positions` (chapter 4) and generation reuses the key/value
cache of `selfattn.decoding` (chapter 8).

The parts are separate modules so chapter 11 can build an encoder-decoder from them: `Residual`
wraps any sublayer with its norm and dropout; `Block` is bidirectional or causal, and with
`cross=True` gets a third sublayer that attends to an encoder's output (`memory`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ...decoding import KVCache, cross_step, decode_step
from ...errors import AttentionInputError
from ...multihead import MultiHeadAttention
from ...positions import DEFAULT_BASE, LearnedPositions
from .config import GPTConfig


class SelfAttention(nn.Module):
    """Self-attention sublayer: multi-head attention of a sequence with itself, causal or not.

    forward(x, mask=None, cache=None) -> (out (batch, n, d_model), weights (batch, n_heads, n, n_k)).
    With rotary positions the queries and keys are rotated by their positions (the cache path of
    `selfattn.decoding.decode_step` does it, so training and generation share one code path).
    A KVCache makes it attend from the new tokens to everything cached (causal only).
    """

    def __init__(self, d_model: int, n_heads: int, *, causal: bool = True, rotary: bool = False):
        super().__init__()
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.causal, self.rotary = causal, rotary

    def forward(self, x, *, mask=None, cache: KVCache | None = None):
        if cache is None and not self.rotary:
            return self.attn(x, mask=mask, causal=self.causal)           # (batch, n, d_model), (batch, n_heads, n, n)
        if not self.causal or mask is not None:
            raise AttentionInputError("a key/value cache and rotary positions are offered for causal "
                                      "self-attention without an extra mask")
        if cache is None:                                                 # the whole sequence as one "prefill"
            cache = KVCache.empty(self.attn, x.shape[0], capacity=x.shape[1], dtype=x.dtype)
        return decode_step(self.attn, x, cache, rotary_base=DEFAULT_BASE if self.rotary else None)


class CrossAttention(nn.Module):
    """Cross-attention sublayer (chapter 11): queries from x, keys and values from `memory`."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.attn = MultiHeadAttention(d_model, n_heads)

    def forward(self, x, *, memory=None, memory_mask=None, cache: KVCache | None = None):
        """memory_mask: None or booleans (batch, n_mem), True for real (not padding) memory tokens.

        With `cache` (from `selfattn.decoding.memory_cache`) the memory's keys and values were
        projected once before decoding began and are only read here; `memory` is then not needed.
        """
        if cache is not None:
            return cross_step(self.attn, x, cache, memory_mask=memory_mask)  # (batch, n, d_model), (batch, n_heads, n, n_mem)
        mask = None if memory_mask is None else torch.as_tensor(memory_mask, dtype=torch.bool)[:, None, None, :]
        return self.attn(x, memory, memory, mask=mask)                   # (batch, n, d_model), (batch, n_heads, n, n_mem)


class MLP(nn.Module):
    """Position-wise feed-forward sublayer: d_model -> hidden -> GELU -> d_model, same for every token."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.up = nn.Linear(d_model, hidden)
        self.act = nn.GELU()                      # exact GELU (GPT-2 used its tanh approximation)
        self.drop = nn.Dropout(dropout)
        self.down = nn.Linear(hidden, d_model)

    def forward(self, x):
        h = self.drop(self.act(self.up(x)))                               # (batch, n, hidden)
        return self.down(h)                                               # (batch, n, d_model)


class Residual(nn.Module):
    """A sublayer on the residual stream with its LayerNorm and dropout, in pre- or post-norm order.

    pre:  x + Dropout(f(LayerNorm(x)))     post:  LayerNorm(x + Dropout(f(x)))
    `forward` returns (new x, whatever else f returned, e.g. attention weights, or None).
    """

    def __init__(self, sublayer: nn.Module, d_model: int, *, dropout: float = 0.0, norm: str = "pre"):
        super().__init__()
        self.sublayer, self.norm_kind = sublayer, norm
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, **kwargs):
        out = self.sublayer(self.norm(x) if self.norm_kind == "pre" else x, **kwargs)
        out, extra = out if isinstance(out, tuple) else (out, None)
        if self.norm_kind == "pre":
            return x + self.drop(out), extra                              # (batch, n, d_model)
        return self.norm(x + self.drop(out)), extra                       # (batch, n, d_model)


class Block(nn.Module):
    """One transformer block: self-attention, optional cross-attention, MLP, each a Residual.

    causal=True: a decoder block (GPT); causal=False: an encoder block (bidirectional).
    cross=True: between the two, attend to `memory` (an encoder-decoder's decoder block).
    forward(x, mask=None, cache=None, memory=None, memory_mask=None) -> (x, self-attention weights).
    """

    def __init__(self, d_model: int, n_heads: int, hidden: int, *, dropout: float = 0.0, causal: bool = True,
                 rotary: bool = False, cross: bool = False, norm: str = "pre"):
        super().__init__()
        self.attn = Residual(SelfAttention(d_model, n_heads, causal=causal, rotary=rotary), d_model,
                             dropout=dropout, norm=norm)
        self.cross = Residual(CrossAttention(d_model, n_heads), d_model, dropout=dropout, norm=norm) if cross else None
        self.mlp = Residual(MLP(d_model, hidden, dropout), d_model, dropout=dropout, norm=norm)

    def forward(self, x, *, mask=None, cache: KVCache | None = None, memory=None, memory_mask=None):
        x, weights = self.attn(x, mask=mask, cache=cache)                 # (batch, n, d_model)
        if self.cross is not None:
            if memory is None:
                raise AttentionInputError("this block has cross-attention: pass memory=(batch, n_mem, d_model)")
            x, _ = self.cross(x, memory=memory, memory_mask=memory_mask)  # (batch, n, d_model)
        x, _ = self.mlp(x)                                                # (batch, n, d_model)
        return x, weights


class GPT(nn.Module):
    """A decoder-only language model: ids (batch, n) -> logits (batch, n, vocab_size).

    Built from a GPTConfig with seeded weights (normal, std 0.02; the projections that write into
    the residual stream scaled by 1/√(2·n_layers), as GPT-2 does). forward(ids, caches=None):
    with `caches` (one KVCache per block, from `new_caches`) it reads and extends them, and the
    positions continue from the cached length.
    """

    def __init__(self, cfg: GPTConfig, *, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
            self.pos = (LearnedPositions(cfg.context, cfg.d_model, init_std=0.02, seed=seed)
                        if cfg.positions == "learned" else None)
            self.drop = nn.Dropout(cfg.dropout)
            self.blocks = nn.ModuleList(
                Block(cfg.d_model, cfg.n_heads, cfg.hidden, dropout=cfg.dropout, causal=True,
                      rotary=cfg.positions == "rotary", norm=cfg.norm) for _ in range(cfg.n_layers))
            self.norm = nn.LayerNorm(cfg.d_model) if cfg.norm == "pre" else nn.Identity()
            self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
            self._init_weights()
        if cfg.tied:
            self.head.weight = self.tok.weight

    def _init_weights(self) -> None:
        residual_std = 0.02 / math.sqrt(2 * max(self.cfg.n_layers, 1))
        for name, p in self.named_parameters():
            if name.endswith("bias") or ".norm." in name or name.startswith("norm.") or name.startswith("pos."):
                continue                                                  # biases 0, norms 1, positions seeded
            nn.init.normal_(p, std=residual_std if name.endswith(("w_o.weight", "down.weight")) else 0.02)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)

    def check_ids(self, ids, start: int = 0) -> torch.Tensor:
        if not torch.is_tensor(ids) or ids.dtype not in (torch.int64, torch.int32) or ids.dim() != 2 or ids.shape[1] == 0:
            raise AttentionInputError(f"ids must be an integer tensor of shape (batch, n) with n >= 1, got "
                                      f"{getattr(ids, 'dtype', type(ids).__name__)} of shape "
                                      f"{tuple(getattr(ids, 'shape', ()))}")
        if (ids < 0).any() or (ids >= self.cfg.vocab_size).any():
            raise AttentionInputError(f"ids must lie in 0..{self.cfg.vocab_size - 1} (vocab_size={self.cfg.vocab_size})")
        if start + ids.shape[1] > self.cfg.context:
            raise AttentionInputError(f"the context window is {self.cfg.context} tokens; positions up to "
                                      f"{start + ids.shape[1] - 1} do not fit")
        return ids.long()

    def embed(self, ids, start: int = 0) -> torch.Tensor:
        """Token vectors plus (learned) position vectors for positions start .. start + n - 1."""
        x = self.tok(ids)                                                 # (batch, n, d_model)
        if self.pos is not None:
            x = x + self.pos.table(torch.arange(start, start + ids.shape[1]))  # (batch, n, d_model)
        return self.drop(x)                                               # (batch, n, d_model)

    def forward(self, ids, *, caches: list[KVCache] | None = None, return_weights: bool = False):
        start = 0 if caches is None else caches[0].length
        return self._forward(self.check_ids(ids, start), start, caches, return_weights)

    def _forward(self, ids, start, caches, return_weights=False):
        """`forward` for ids already checked (generation feeds back tokens it drew itself)."""
        x = self.embed(ids, start)                                        # (batch, n, d_model)
        weights = []
        for i, block in enumerate(self.blocks):
            x, w = block(x, cache=None if caches is None else caches[i])  # (batch, n, d_model)
            weights.append(w)                                             # (batch, n_heads, n, n_k)
        logits = self.head(self.norm(x))                                  # (batch, n, vocab_size)
        return (logits, weights) if return_weights else logits

    def new_caches(self, batch: int = 1) -> list[KVCache]:
        """One empty KVCache per block, with room for the whole context window."""
        return [KVCache.empty(b.attn.sublayer.attn, batch, capacity=self.cfg.context) for b in self.blocks]


def parameter_counts(model: GPT) -> dict[str, int]:
    """Trainable parameters per part, counted from the model's tensors (a tied head counts 0)."""
    parts = {"token embedding": model.tok, "positions": model.pos, "final norm": model.norm}
    counts = {k: sum(p.numel() for p in m.parameters()) if m is not None else 0 for k, m in parts.items()}
    per_block = {"attention norm": 0, "attention": 0, "MLP norm": 0, "MLP": 0}
    for b in model.blocks:
        per_block["attention norm"] += sum(p.numel() for p in b.attn.norm.parameters())
        per_block["attention"] += sum(p.numel() for p in b.attn.sublayer.parameters())
        per_block["MLP norm"] += sum(p.numel() for p in b.mlp.norm.parameters())
        per_block["MLP"] += sum(p.numel() for p in b.mlp.sublayer.parameters())
    counts.update(per_block)
    counts["output projection"] = 0 if model.cfg.tied else model.head.weight.numel()
    counts["total"] = sum(p.numel() for p in model.parameters())          # parameters() counts a shared tensor once
    return counts


def parameter_formula(cfg: GPTConfig) -> dict[str, int]:
    """The same breakdown from the shape alone: V = vocab_size, d = d_model, h = hidden, L = n_layers.

    token embedding V·d; learned positions n_ctx·d; per block 2·(2d) for two LayerNorms,
    4d² + 4d for attention (W_Q, W_K, W_V, W_O and biases), 2·d·h + h + d for the MLP;
    final norm 2d (pre-norm only); output projection V·d unless tied.
    """
    V, d, h, L = cfg.vocab_size, cfg.d_model, cfg.hidden, cfg.n_layers
    out = {"token embedding": V * d,
           "positions": cfg.context * d if cfg.positions == "learned" else 0,
           "final norm": 2 * d if cfg.norm == "pre" else 0,
           "attention norm": L * 2 * d,
           "attention": L * (4 * d * d + 4 * d),
           "MLP norm": L * 2 * d,
           "MLP": L * (2 * d * h + h + d),
           "output projection": 0 if cfg.tied else V * d}
    out["total"] = sum(out.values())
    return out
