"""Chapter 10's text: the shipped corpus, its characters as tokens, a split by position, batches.

The corpus is the King James Version, Genesis to Ruth (public domain; see selfattn/data/README.md),
about 1 MB of ASCII English that ships inside the package: nothing is downloaded.
Tokens are characters: the vocabulary is the sorted set of characters in the text.
The validation text is the *last* 10% of the corpus, so no verse is split across the two sides
by a random shuffle and the validation text really is text the model never read.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from ...errors import AttentionInputError, check_int, check_number

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS = DATA / "kjv_genesis_to_ruth.txt"
CORPUS_NAME = "King James Version, Genesis to Ruth (1611, public domain)"


@lru_cache(maxsize=1)
def load_corpus() -> str:
    """The whole corpus as one string."""
    return CORPUS.read_text(encoding="ascii")


@dataclass(frozen=True)
class Vocabulary:
    """Characters <-> token ids. `chars[i]` is the character of id i (sorted, so ' ' and '\\n' come first)."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> "Vocabulary":
        return cls(tuple(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.chars)

    def unknown(self, text: str) -> list[str]:
        """The characters of `text` that have no token, in order of first appearance."""
        index = self._index()
        return list(dict.fromkeys(c for c in text if c not in index))

    def encode(self, text: str) -> torch.Tensor:
        """text -> (n,) int64 ids; a character outside the vocabulary raises AttentionInputError."""
        bad = self.unknown(text)
        if bad:
            raise AttentionInputError(f"these characters are not in the vocabulary of {self.size}: "
                                      f"{''.join(bad)!r}")
        index = self._index()
        return torch.tensor([index[c] for c in text], dtype=torch.long)   # (n,)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def label(self, i: int) -> str:
        """A printable name for token i (space and newline spelled out)."""
        c = self.chars[int(i)]
        return {" ": "␣", "\n": "⏎"}.get(c, c)

    def _index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.chars)}


@dataclass(frozen=True)
class Corpus:
    """The encoded text, split by position: train = the first (1 - val_fraction), val = the rest."""

    vocab: Vocabulary
    train: torch.Tensor   # (n_train,) int64
    val: torch.Tensor     # (n_val,) int64

    @property
    def split_at(self) -> int:
        return self.train.shape[0]


def corpus(val_fraction: float = 0.1) -> Corpus:
    """Encode the shipped text and split it by position (no shuffling)."""
    check_number(val_fraction, "val_fraction", above=0.0, maximum=0.5)
    text = load_corpus()
    vocab = Vocabulary.from_text(text)
    ids = vocab.encode(text)                                              # (n_chars,)
    cut = int(round(len(ids) * (1 - val_fraction)))
    return Corpus(vocab, ids[:cut], ids[cut:])


def batch(ids: torch.Tensor, batch_size: int, n: int, generator: torch.Generator):
    """A seeded batch of windows: inputs (batch, n) and targets (batch, n), the same text shifted by one."""
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    n = check_int(n, "n", minimum=1, maximum=ids.shape[0] - 1)
    start = torch.randint(0, ids.shape[0] - n, (batch_size,), generator=generator)     # (batch,)
    offsets = start[:, None] + torch.arange(n)                            # (batch, n)
    return ids[offsets], ids[offsets + 1]                                 # (batch, n), (batch, n)


def windows(ids: torch.Tensor, n: int):
    """The whole of `ids` cut into consecutive windows of n (the last one may be shorter):
    yields (inputs (1, m), targets (1, m)), so every token after the first is predicted once."""
    n = check_int(n, "n", minimum=1)
    for s in range(0, ids.shape[0] - 1, n):
        e = min(s + n, ids.shape[0] - 1)
        yield ids[None, s:e], ids[None, s + 1:e + 1]                      # (1, m), (1, m)
