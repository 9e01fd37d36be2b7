"""Examples as padded tensors, each sentence with its own attention mask (chapter 7)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ...errors import AttentionInputError
from ...limits import MAX_TOKENS
from ...masks import causal, padding
from .tasks import Example
from .vocab import IGNORE, VOCAB, Vocab


@dataclass(frozen=True)
class Batch:
    """Examples as tensors.

    ids:     (batch, n) word ids, 0 (padding) after each sentence's end
    targets: (batch, n) the id to predict, IGNORE where nothing is predicted
    lengths: (batch,) real tokens per sentence
    mask:    (batch, n, n) True where query i may attend to key j (real tokens only; and only
             j <= i for causal examples)
    """

    ids: torch.Tensor
    targets: torch.Tensor
    lengths: torch.Tensor
    mask: torch.Tensor


def encode_batch(examples: Sequence[Example], vocab: Vocab = VOCAB) -> Batch:
    """Pad a list of examples to the longest one and encode words as ids."""
    if len(examples) == 0:
        raise AttentionInputError("encode_batch needs at least one example")
    n = max(len(ex.tokens) for ex in examples)
    if n > MAX_TOKENS:
        raise AttentionInputError(f"an example has {n} tokens; the tiny model takes at most {MAX_TOKENS}")
    ids = torch.zeros(len(examples), n, dtype=torch.long)                     # (batch, n)
    targets = torch.full((len(examples), n), IGNORE, dtype=torch.long)        # (batch, n)
    for b, ex in enumerate(examples):
        ids[b, :len(ex.tokens)] = vocab.encode(ex.tokens)
        for pos, word in ex.targets:
            targets[b, pos] = vocab.index[word]
    lengths = torch.tensor([len(ex.tokens) for ex in examples])               # (batch,)
    mask = padding(lengths.tolist(), n).expand(len(examples), n, n)           # (batch, n, n)
    is_causal = torch.tensor([ex.causal for ex in examples])                  # (batch,)
    mask = mask & (causal(n) | ~is_causal[:, None, None])                     # (batch, n, n)
    return Batch(ids, targets, lengths, mask)
