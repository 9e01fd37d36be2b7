"""What a language model must beat: bits per character of three models that need no training loop.

    uniform   every character equally likely:           log2(vocab_size) bits per character
    unigram   each character's frequency in the training text (ignores the context)
    bigram    P(next | previous character), counted in the training text

All three are scored as cross-entropy on the validation text, in bits (log base 2). Counts get
add-alpha smoothing (alpha = 1 by default: "add-one"), so no validation character has probability
zero however rare it was in training.
"""
from __future__ import annotations

import math

import torch

from ...errors import check_number


def cross_entropy_bits(probs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean -log2 p(target) of (m, vocab) probabilities (or (vocab,) for all) for (m,) targets."""
    p = probs[targets] if probs.dim() == 1 else probs[torch.arange(targets.shape[0]), targets]   # (m,)
    return float(-(p.double().log2()).mean())


def unigram_probs(train: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> torch.Tensor:
    """(vocab,) smoothed character frequencies of the training text."""
    check_number(alpha, "alpha", above=0.0)
    counts = torch.bincount(train, minlength=vocab_size).double() + alpha   # (vocab,)
    return counts / counts.sum()                                          # (vocab,)


def bigram_probs(train: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> torch.Tensor:
    """(vocab, vocab) P(next = column | previous = row), smoothed counts of the training text."""
    check_number(alpha, "alpha", above=0.0)
    pairs = train[:-1] * vocab_size + train[1:]                           # (n_train - 1,)
    counts = torch.bincount(pairs, minlength=vocab_size ** 2).double()    # (vocab²,)
    counts = counts.reshape(vocab_size, vocab_size) + alpha               # (vocab, vocab)
    return counts / counts.sum(dim=1, keepdim=True)                       # (vocab, vocab)


def baselines(train: torch.Tensor, val: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> dict[str, float]:
    """Bits per character on `val` of the uniform, unigram and bigram models fitted on `train`.

    Every validation character after the first is scored (the first has no previous character
    inside the validation text), the same characters the trained model is scored on.
    """
    targets = val[1:]                                                     # (n_val - 1,)
    bigram = bigram_probs(train, vocab_size, alpha)                       # (vocab, vocab)
    return {"uniform": math.log2(vocab_size),
            "unigram": cross_entropy_bits(unigram_probs(train, vocab_size, alpha), targets),
            "bigram": cross_entropy_bits(bigram[val[:-1]], targets)}
