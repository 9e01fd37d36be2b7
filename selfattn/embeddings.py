"""Hand-designed word vectors whose dimensions mean something, for the worked examples.

These are NOT learned embeddings: every number here was chosen by hand so that a reader can see
why one word matches another. Chapter 7-style learned vectors come from training; these come
from us, and the book says so wherever they are used.
"""
from __future__ import annotations

import re
import zlib

import torch

from .errors import AttentionInputError

FEATURES = ("determiner", "animal", "action", "place", "relation", "nature", "money", "pronoun")
D_MODEL = len(FEATURES)

# word -> {feature: value}; unlisted features are 0.
_LEXICON: dict[str, dict[str, float]] = {
    "the": {"determiner": 1.0},
    "a": {"determiner": 0.9},
    "cat": {"animal": 1.0, "place": 0.1},
    "dog": {"animal": 1.0, "action": 0.1},
    "animal": {"animal": 0.9},
    "it": {"pronoun": 1.0, "animal": 0.3},
    "sat": {"action": 1.0, "place": 0.3},
    "ran": {"action": 1.0},
    "slept": {"action": 0.9, "place": 0.2},
    "crossed": {"action": 0.9, "place": 0.4},
    "deposited": {"action": 0.8, "money": 0.8},
    "on": {"relation": 1.0, "place": 0.3},
    "by": {"relation": 0.9, "place": 0.4},
    "at": {"relation": 0.8, "place": 0.3},
    "mat": {"place": 1.0},
    "street": {"place": 1.0},
    "river": {"place": 0.6, "nature": 1.0},
    "water": {"nature": 1.0},
    "tree": {"nature": 0.8, "place": 0.4},
    "money": {"money": 1.0},
    "cash": {"money": 1.0},
    "bank": {"place": 0.7, "nature": 0.5, "money": 0.5},   # ambiguous on purpose: river bank or money bank
    "was": {"action": 0.3},
    "tired": {"animal": 0.2, "action": 0.2},
    "because": {"relation": 0.5},
}
VOCAB = tuple(_LEXICON)


def tokenize(text: str, *, max_tokens: int = 16) -> list[str]:
    """Lower-case words and punctuation marks, e.g. "The cat sat." -> ['the', 'cat', 'sat', '.'].

    Refuses empty text and text longer than max_tokens with a message the reader can act on.
    """
    if not isinstance(text, str):
        raise AttentionInputError(f"text must be a string, got {type(text).__name__}")
    tokens = re.findall(r"\w+|[^\w\s]", text.lower())
    if not tokens:
        raise AttentionInputError("the text has no words: type at least one word")
    if len(tokens) > max_tokens:
        raise AttentionInputError(
            f"the text has {len(tokens)} tokens; this example takes at most {max_tokens} "
            "(an n×n matrix larger than that is unreadable on screen)")
    return tokens


def as_tokens(text_or_tokens, *, max_tokens: int = 16) -> list[str]:
    """A sentence as tokens: text goes through `tokenize`; a list is taken as it is, within the same limits."""
    if isinstance(text_or_tokens, str):
        return tokenize(text_or_tokens, max_tokens=max_tokens)
    tokens = [str(t) for t in text_or_tokens]
    if not tokens:
        raise AttentionInputError("the sentence has no tokens: give at least one word")
    if len(tokens) > max_tokens:
        raise AttentionInputError(f"the sentence has {len(tokens)} tokens; this view takes at most {max_tokens}")
    return tokens


def word_vector(word: str) -> torch.Tensor:
    """(d_model,) vector for one word. Unknown words get a small, fixed pseudo-random vector."""
    if word in _LEXICON:
        feats = _LEXICON[word]
        return torch.tensor([feats.get(f, 0.0) for f in FEATURES])
    g = torch.Generator().manual_seed(zlib.crc32(word.encode("utf-8")))
    return 0.3 * torch.randn(D_MODEL, generator=g)


def embed(tokens) -> torch.Tensor:
    """(n, d_model) matrix X whose row i is the vector of tokens[i]. Accepts a string or a list."""
    if isinstance(tokens, str):
        tokens = tokenize(tokens)
    if len(tokens) == 0:
        raise AttentionInputError("embed needs at least one token (n >= 1)")
    return torch.stack([word_vector(t) for t in tokens])            # (n, d_model)


def is_known(word: str) -> bool:
    return word in _LEXICON


# --- Hand-designed projections for the worked examples (chapters 2 and 3) ---------------------
# Like the word vectors above, these numbers were chosen by hand, not learned. The query/key
# space has four named dimensions. Along dimension c, a token's *query* says how strongly it is
# looking for c, and its *key* says how strongly it offers c; their product is large only when
# one token wants what the other has. Values are the word vectors themselves (W_V = identity),
# so an attention output can be read in the same FEATURES as the input.

QK_FEATURES = ("agent", "action", "place", "noun")
D_K = len(QK_FEATURES)

# (feature of the token, query/key dimension) -> weight; unlisted entries are 0.
_W_Q_ENTRIES: dict[tuple[str, str], float] = {
    ("determiner", "noun"): 3.0,     # "the" looks for the noun it belongs to
    ("animal", "action"): 3.0,       # an animal looks for what it did
    ("action", "agent"): 3.0,        # a verb looks for who did it ...
    ("action", "place"): 1.5,        # ... and, less strongly, where
    ("place", "action"): 1.0,        # a place looks, weakly, for what happened there
    ("relation", "place"): 3.0,      # "on", "by", "at" look for their place
    ("nature", "place"): 1.5,
    ("money", "action"): 1.5,
    ("pronoun", "agent"): 3.0,       # "it" looks for an agent to refer to
}
_W_K_ENTRIES: dict[tuple[str, str], float] = {
    ("animal", "agent"): 2.0,        # an animal offers itself as an agent ...
    ("animal", "noun"): 1.5,         # ... and as a noun
    ("action", "action"): 2.0,       # a verb offers an action
    ("place", "place"): 2.0,         # a place offers a place ...
    ("place", "noun"): 1.5,          # ... and a noun
    ("nature", "place"): 1.5,
    ("money", "noun"): 1.5,
    ("pronoun", "agent"): 0.5,
}


def _projection(entries: dict[tuple[str, str], float]) -> torch.Tensor:
    w = torch.zeros(D_MODEL, D_K)                                     # (d_model, d_k)
    for (feature, dim), value in entries.items():
        w[FEATURES.index(feature), QK_FEATURES.index(dim)] = value
    return w


def hand_projections() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fresh copies of the hand-designed (W_Q, W_K, W_V): (d_model, d_k), (d_model, d_k), (d_model, d_v).

    d_model = 8 (FEATURES), d_k = 4 (QK_FEATURES), d_v = 8 (W_V is the identity, so values are
    the word vectors and outputs read in FEATURES). Hand-designed, not learned. Each call returns
    new tensors, so a reader who edits one changes nothing for anyone else.
    """
    return _projection(_W_Q_ENTRIES), _projection(_W_K_ENTRIES), torch.eye(D_MODEL)
