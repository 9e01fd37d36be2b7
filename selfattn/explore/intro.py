"""Chapter 0 (Start here): the numbers behind the warm-up widget, and the map of a Transformer.

`weights_at` is the whole computation of the first widget: one query's hand-set scores over six
words, divided by a temperature and turned into weights that sum to 1 (chapter 3 explains it).
`TRANSFORMER_BLOCK` lists the stages of a decoder-only Transformer in order, with the chapter that
teaches each one; selfattn.viz.intro.transformer_map draws it.
"""
from __future__ import annotations

import torch

from ..attention import softmax
from ..errors import check_positive

TOKENS = ("the", "cat", "sat", "on", "the", "mat")
SCORES = torch.tensor([[0.2, 2.0, 1.2, 0.1, 0.2, 1.5]])   # (1, n) hand-set scores for one query


def weights_at(temperature: float, scores: torch.Tensor = SCORES) -> torch.Tensor:
    """(1, n) softmax(scores / temperature): low temperature sharpens, high temperature flattens."""
    t = check_positive(temperature, "temperature", meaning="the number the scores are divided by")
    return softmax(scores / t)                                # (1, n)


def largest_weight(temperature: float) -> tuple[float, str]:
    """The largest weight at this temperature and the word it falls on."""
    w = weights_at(temperature)[0]                            # (n,)
    return float(w.max()), TOKENS[int(w.argmax())]


def row_summary(temperature: float) -> tuple[torch.Tensor, float, str, float]:
    """What the warm-up widget shows: the (1, n) weights, the largest weight, its word and the row sum."""
    w = weights_at(temperature)                               # (1, n)
    largest, word = largest_weight(temperature)
    return w, largest, word, float(w.sum())


# (stage, what it does, chapter that teaches it); "repeat" marks the stages inside each of the N blocks
TRANSFORMER_BLOCK = (
    ("token embedding", "each token id becomes a vector of width d_model", "ch. 2", False),
    ("+ positions", "add (or rotate in) where each token stands", "ch. 4", False),
    ("norm", "rescale each token vector", "ch. 10", True),
    ("self-attention", "every token reads the others (masked, multi-head)", "ch. 2-6, 9", True),
    ("+ residual", "add the input back", "ch. 10", True),
    ("norm", "rescale each token vector", "ch. 10", True),
    ("MLP", "the same small network on every token", "ch. 10", True),
    ("+ residual", "add the input back", "ch. 10", True),
    ("final norm", "rescale once more", "ch. 10", False),
    ("logits", "one score per vocabulary word, for the next token", "ch. 10", False),
)
