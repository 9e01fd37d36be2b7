"""The two sets of numbers chapter 7 chooses: the model's shape, and how it is trained.

`TinyConfig` says what the model is (sizes, number type); `TrainSettings` says how it learns
(seed, steps, batch, learning rate, how many sentences per task). The defaults are the chapter's.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import AttentionInputError, check_choice, check_int, check_positive
from ...limits import MAX_TOKENS
from .vocab import VOCAB


@dataclass(frozen=True)
class TinyConfig:
    """The shape of the tiny transformer."""

    vocab_size: int = len(VOCAB)
    max_len: int = MAX_TOKENS     # positions 0 .. max_len - 1 have a learned vector
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2
    d_ff: int = 64                # width of the MLP's hidden layer
    dtype: str = "float64"

    def __post_init__(self):
        for name in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers", "d_ff"):
            check_int(getattr(self, name), f"TinyConfig.{name}", minimum=1)
        if self.d_model % self.n_heads:
            raise AttentionInputError(
                f"d_model must be divisible by n_heads: got d_model={self.d_model}, n_heads={self.n_heads}")
        check_choice(self.dtype, "TinyConfig.dtype", ("float32", "float64"))

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


@dataclass(frozen=True)
class TrainSettings:
    """How `train` trains: one seed for the initial weights and the order of the batches."""

    seed: int = 1
    steps: int = 1000
    batch: int = 64
    lr: float = 5e-3              # falls linearly to lr / 10 over the run
    weight_decay: float = 0.0
    count_per_task: int = 3000    # training sentences drawn per task (test sentences left out)

    def __post_init__(self):
        check_int(self.seed, "TrainSettings.seed", minimum=0)
        for name in ("steps", "batch", "count_per_task"):
            check_int(getattr(self, name), f"TrainSettings.{name}", minimum=1)
        check_positive(self.lr, "TrainSettings.lr", meaning="learning rate")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise AttentionInputError(f"TrainSettings.weight_decay must be a number >= 0, got {self.weight_decay!r}")
