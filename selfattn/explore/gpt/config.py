"""What a GPT is (its shape) and how it is trained (the recipe), kept apart.

`GPTConfig` fixes the function the model can compute: change it and the weights no longer fit.
`TrainConfig` fixes how the weights were found: change it and the same model trains differently.
The shipped weights of chapter 10 store the GPTConfig beside them, so loading checks the shape.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ...errors import AttentionInputError, check_choice, check_int, check_number


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a decoder-only transformer.

    vocab_size: number of distinct tokens (characters, here).
    context:    the context window n_ctx: the longest sequence the model reads (learned positions
                have one vector per position, so nothing longer fits).
    d_model, n_heads, n_layers: width of the residual stream, heads per attention layer, blocks.
    d_mlp:      hidden width of each MLP (default 4·d_model, as in the 2017 paper and GPT-2).
    dropout:    probability of zeroing an activation in training (0 in evaluation, always).
    positions:  "learned" (a table added to the token vectors) or "rotary" (q and k rotated).
    tied:       the output projection reuses the token embedding matrix (GPT-2 does).
    norm:       "pre" (LayerNorm before each sublayer, GPT-2) or "post" (after the residual sum,
                the 2017 paper).
    """

    vocab_size: int
    context: int = 128
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 4
    d_mlp: int | None = None
    dropout: float = 0.0
    positions: str = "learned"
    tied: bool = True
    norm: str = "pre"

    def __post_init__(self):
        check_int(self.vocab_size, "vocab_size", minimum=1)
        check_int(self.context, "context", minimum=1, meaning="context window, in tokens")
        check_int(self.d_model, "d_model", minimum=1)
        check_int(self.n_heads, "n_heads", minimum=1)
        check_int(self.n_layers, "n_layers", minimum=0)
        if self.d_model % self.n_heads:
            raise AttentionInputError(
                f"d_model must be divisible by n_heads (d_head = d_model / n_heads), got d_model={self.d_model}, "
                f"n_heads={self.n_heads}")
        if self.d_mlp is not None:
            check_int(self.d_mlp, "d_mlp", minimum=1)
        check_number(self.dropout, "dropout", minimum=0.0, maximum=1.0, meaning="a probability")
        check_choice(self.positions, "positions", ("learned", "rotary"))
        check_choice(self.norm, "norm", ("pre", "post"))
        if self.positions == "rotary" and (self.d_model // self.n_heads) % 2:
            raise AttentionInputError(f"rotary positions need an even d_head, got d_head={self.d_model // self.n_heads}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def hidden(self) -> int:
        """The MLP's hidden width (d_mlp, or 4·d_model)."""
        return 4 * self.d_model if self.d_mlp is None else self.d_mlp

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """How the weights are found: AdamW with a short warm-up and a cosine decay of the learning rate.

    steps, batch: optimiser steps, and sequences of GPTConfig.context tokens per step.
    lr, min_lr, warmup, weight_decay, grad_clip: the optimiser's settings.
    eval_every, eval_batches: how often, and on how many validation batches, the loss is estimated
    during training (the final number the chapter prints uses the whole validation text).
    seed: seeds the initial weights, the batches and dropout, so a rerun repeats.
    threads: torch CPU threads used while training (1 by default: on a busy shared machine a second
             thread mostly waits for the first; benchmarks/gpt_bench.py measures both).
    """

    steps: int = 600
    batch: int = 32
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup: int = 30
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_every: int = 50
    eval_batches: int = 8
    seed: int = 0
    threads: int = 1

    def __post_init__(self):
        for name in ("steps", "batch", "eval_every", "eval_batches", "threads"):
            check_int(getattr(self, name), name, minimum=1)
        check_int(self.warmup, "warmup", minimum=0)
        check_int(self.seed, "seed", minimum=0)
        for name in ("lr", "min_lr", "weight_decay", "grad_clip"):
            check_number(getattr(self, name), name, minimum=0.0)

    def to_dict(self) -> dict:
        return asdict(self)
