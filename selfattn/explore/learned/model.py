"""The tiny transformer of chapter 7, in one sitting.

    ids (batch, n) ──> word vector + position vector ──> x (batch, n, d_model)
    for each of n_layers blocks:
        x = x + MultiHeadAttention(LayerNorm(x))        # tokens look at each other
        x = x + MLP(LayerNorm(x))                       # each token thinks on its own
    logits = Linear(LayerNorm(x))                       # (batch, n, vocab_size)

This is the pre-norm block of GPT-2 and most later models, with the `MultiHeadAttention` of
chapter 6 unchanged. The running sum `x` is the residual stream; `forward` keeps it after every
block (`hidden`) and every head's weights (`weights`) so the chapter can look inside.

The weights start from the same draws PyTorch's default initialisation makes (normal for the
embeddings, uniform in ±1/√fan_in for linear layers), taken from the model's own
`torch.Generator`: building a model never touches torch's global random state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ...errors import AttentionInputError
from ...multihead import MultiHeadAttention
from .config import TinyConfig


class Block(nn.Module):
    """One pre-norm transformer block: x + Attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(approximate="tanh"),
                                 nn.Linear(cfg.d_ff, cfg.d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None):
        a, weights = self.attn(self.ln1(x), mask=mask)                 # (batch, n, d_model), (batch, n_heads, n, n)
        x = x + a                                                      # (batch, n, d_model)
        x = x + self.mlp(self.ln2(x))                                  # (batch, n, d_model)
        return x, weights


@dataclass
class TinyOutput:
    """What one forward pass computed.

    logits:  (batch, n, vocab_size) scores for the word to predict at each position
    weights: one (batch, n_heads, n, n) attention tensor per layer
    hidden:  the residual stream, n_layers + 1 tensors (batch, n, d_model): hidden[0] is the
             input (word + position vector), hidden[l] the vector after layer l - 1
    """

    logits: torch.Tensor
    weights: list[torch.Tensor]
    hidden: list[torch.Tensor]


class TinyTransformer(nn.Module):
    """Word + position embeddings, cfg.n_layers blocks, LayerNorm, linear read-out over the vocabulary.

    seed: the initial weights come from torch.Generator().manual_seed(seed) (same seed, same weights).
    """

    def __init__(self, cfg: TinyConfig = TinyConfig(), *, seed: int = 1):
        super().__init__()
        self.cfg = cfg
        with torch.device("meta"):                      # shapes only: the numbers are drawn below
            self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
            self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
            self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
            self.ln_f = nn.LayerNorm(cfg.d_model)
            self.readout = nn.Linear(cfg.d_model, cfg.vocab_size)
        self.to_empty(device="cpu")
        self._init_weights(torch.Generator().manual_seed(seed))
        self.to(getattr(torch, cfg.dtype))

    @torch.no_grad()
    def _init_weights(self, gen: torch.Generator) -> None:
        """PyTorch's default initialisation, module by module in the order they were built."""
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, generator=gen)
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=gen)   # ±1/√fan_in
                if module.bias is not None:
                    bound = 1 / math.sqrt(module.in_features)
                    nn.init.uniform_(module.bias, -bound, bound, generator=gen)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> TinyOutput:
        """ids: (batch, n) or (n,) word ids; mask: (batch, n, n) True where query i may see key j
        (one mask per sentence, shared by its heads)."""
        if not torch.is_tensor(ids) or ids.dtype != torch.long or ids.dim() not in (1, 2):
            raise AttentionInputError(
                f"ids must be a (batch, n) or (n,) tensor of word ids (torch.long), got "
                f"{type(ids).__name__} {getattr(ids, 'dtype', '')} {tuple(getattr(ids, 'shape', ()))}")
        if ids.dim() == 1:
            ids = ids.unsqueeze(0)                                         # (1, n)
        batch, n = ids.shape
        if n > self.cfg.max_len or n == 0:
            raise AttentionInputError(f"ids has n={n} tokens; the tiny model takes 1..{self.cfg.max_len}")
        if int(ids.min()) < 0 or int(ids.max()) >= self.cfg.vocab_size:
            raise AttentionInputError(f"word ids must lie in 0..{self.cfg.vocab_size - 1}")
        if mask is not None and mask.dim() == 3:
            mask = mask[:, None]                                           # (batch, 1, n, n): shared by the heads
        pos = torch.arange(n)                                              # (n,)
        x = self.tok_emb(ids) + self.pos_emb(pos)                          # (batch, n, d_model)
        hidden, weights = [x], []
        for block in self.blocks:
            x, w = block(x, mask)                                          # (batch, n, d_model), (batch, n_heads, n, n)
            hidden.append(x)
            weights.append(w)
        logits = self.readout(self.ln_f(x))                                # (batch, n, vocab_size)
        return TinyOutput(logits, weights, hidden)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
