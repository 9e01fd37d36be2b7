"""An encoder-decoder transformer assembled from chapter 10's parts (no second transformer).

    source ids (batch, n_src) -> embed + positions -> [encoder Block: bidirectional self-attention, MLP] x L_enc
                                                   -> LayerNorm -> memory (batch, n_src, d_model)
    target ids (batch, n_tgt) -> embed + positions -> [decoder Block: causal self-attention,
                                                       cross-attention to memory, MLP] x L_dec
                                                   -> LayerNorm -> logits (batch, n_tgt, target vocabulary)

The three attention arrangements, and where their queries, keys and values come from:
    encoder self-attention        Q, K, V from the source                (every source token sees every other)
    decoder causal self-attention Q, K, V from the target so far         (a target token sees only earlier ones)
    decoder cross-attention       Q from the target, K and V from memory (the encoded source)

The blocks are `selfattn.explore.gpt.Block`; the decoder's loop is written out here (rather than
calling Block.forward) so that it can hand back every cross-attention map, switch cross-attention
off for the ablation, and read cached keys and values when decoding one token at a time.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ...decoding import KVCache, memory_cache
from ...errors import AttentionInputError, check_choice, check_int
from ...positions import LearnedPositions
from ..gpt import Block
from . import task


@dataclass(frozen=True)
class EncoderDecoderConfig:
    """The shape of the model (the training recipe is train.TrainSettings)."""

    d_model: int = 64
    n_heads: int = 4
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    d_mlp: int = 128

    def __post_init__(self):
        for name in ("d_model", "n_heads", "n_encoder_layers", "n_decoder_layers", "d_mlp"):
            check_int(getattr(self, name), name, minimum=1)
        if self.d_model % self.n_heads:
            raise AttentionInputError(f"d_model must be divisible by n_heads, got d_model={self.d_model}, "
                                      f"n_heads={self.n_heads}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DecoderOutput:
    logits: torch.Tensor                  # (batch, n_tgt, target vocabulary)
    self_weights: list[torch.Tensor]      # per decoder layer: (batch, n_heads, n_tgt, n_tgt so far)
    cross_weights: list[torch.Tensor]     # per decoder layer: (batch, n_heads, n_tgt, n_src)


class EncoderDecoder(nn.Module):
    """Dates in, ISO dates out. forward(src, src_mask, tgt_in) -> DecoderOutput (teacher forcing)."""

    def __init__(self, cfg: EncoderDecoderConfig = EncoderDecoderConfig(), *, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        d, h, hidden = cfg.d_model, cfg.n_heads, cfg.d_mlp
        with torch.random.fork_rng(devices=[]):          # seeded weights, torch's global generator left alone
            torch.manual_seed(seed)
            self.src_tok = nn.Embedding(len(task.SOURCE_VOCAB), d)
            self.tgt_tok = nn.Embedding(len(task.TARGET_VOCAB), d)
            self.encoder = nn.ModuleList(Block(d, h, hidden, causal=False) for _ in range(cfg.n_encoder_layers))
            self.decoder = nn.ModuleList(Block(d, h, hidden, causal=True, cross=True)
                                         for _ in range(cfg.n_decoder_layers))
            self.enc_norm, self.dec_norm = nn.LayerNorm(d), nn.LayerNorm(d)
            self.head = nn.Linear(d, len(task.TARGET_VOCAB), bias=False)
        self.src_pos = LearnedPositions(task.MAX_SOURCE_LEN, d, init_std=0.02, seed=seed + 1)
        self.tgt_pos = LearnedPositions(task.TARGET_LEN + 1, d, init_std=0.02, seed=seed + 2)

    # --- the encoder: bidirectional self-attention over the source ------------------------------

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor):
        """memory (batch, n_src, d_model) and the encoder's self-attention maps (batch, n_heads, n_src, n_src) per layer."""
        x = self.src_tok(src) + self.src_pos.table(torch.arange(src.shape[1]))   # (batch, n_src, d_model)
        keys_visible = src_mask[:, None, None, :]                                # (batch, 1, 1, n_src)
        maps = []
        for block in self.encoder:
            x, w = block(x, mask=keys_visible)                                   # (batch, n_src, d_model)
            maps.append(w)                                                       # (batch, n_heads, n_src, n_src)
        return self.enc_norm(x), maps                                            # (batch, n_src, d_model)

    # --- the decoder: causal self-attention, cross-attention to memory, MLP ---------------------

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor, *,
               start: int = 0, self_caches: list[KVCache] | None = None,
               memory_caches: list[KVCache] | None = None, cross: str = "on") -> DecoderOutput:
        """Decoder logits for target positions start .. start + n_tgt - 1.

        self_caches/memory_caches: per decoder layer, the growing self-attention cache and the fixed
        source keys/values (`new_caches`); without them every position is computed afresh.
        cross: "on", or "off" to switch cross-attention off (the ablation: the decoder then never
        sees the source).
        """
        check_choice(cross, "cross", ("on", "off"))
        n_tgt = tgt_in.shape[1]
        x = self.tgt_tok(tgt_in) + self.tgt_pos.table(torch.arange(start, start + n_tgt))  # (batch, n_tgt, d_model)
        self_maps, cross_maps = [], []
        for i, block in enumerate(self.decoder):
            x, w_self = block.attn(x, cache=None if self_caches is None else self_caches[i])  # (batch, n_tgt, d_model)
            if cross == "on":
                x, w_cross = block.cross(x, memory=memory, memory_mask=src_mask,
                                         cache=None if memory_caches is None else memory_caches[i])  # (batch, n_tgt, d_model)
            else:
                w_cross = torch.zeros(x.shape[0], self.cfg.n_heads, n_tgt, memory.shape[1])  # nothing read from the source
            x, _ = block.mlp(x)                                                  # (batch, n_tgt, d_model)
            self_maps.append(w_self)                                             # (batch, n_heads, n_tgt, n_tgt)
            cross_maps.append(w_cross)                                           # (batch, n_heads, n_tgt, n_src)
        logits = self.head(self.dec_norm(x))                                     # (batch, n_tgt, target vocabulary)
        return DecoderOutput(logits, self_maps, cross_maps)

    def forward(self, src, src_mask, tgt_in, *, cross: str = "on") -> DecoderOutput:
        memory, _ = self.encode(src, src_mask)                                   # (batch, n_src, d_model)
        return self.decode(tgt_in, memory, src_mask, cross=cross)

    def new_caches(self, memory: torch.Tensor) -> tuple[list[KVCache], list[KVCache]]:
        """Per decoder layer: an empty self-attention cache, and the source's keys/values projected once."""
        batch = memory.shape[0]
        self_caches = [KVCache.empty(b.attn.sublayer.attn, batch, capacity=task.TARGET_LEN + 1) for b in self.decoder]
        memory_caches = [memory_cache(b.cross.sublayer.attn, memory) for b in self.decoder]
        return self_caches, memory_caches


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
