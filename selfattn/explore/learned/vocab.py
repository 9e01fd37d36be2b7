"""The toy world's words and the vocabulary that turns them into ids (chapter 7).

The tasks are toys with rules we wrote ourselves: a few dozen words in groups (people, animals,
verbs, adjectives that decide who a pronoun means, words that settle which "bank" is meant) and
the letters of the induction task. Id 0 is the padding marker.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ...errors import AttentionInputError

PAD = "<pad>"
IGNORE = -100            # target id of a position with nothing to predict

MEN = ("man", "boy", "king")
WOMEN = ("woman", "girl", "queen")
ANIMALS = ("cat", "dog", "fox", "bird")
PEOPLE_VERBS = ("thanked", "helped", "called", "pushed")
ANIMAL_VERBS = ("chased", "bit", "followed", "pushed")
NEUTRAL_ADJ = ("kind", "tall", "late", "happy")
AGENT_ADJ = ("hungry", "angry", "brave")      # in our toy world, whoever is hungry/angry/brave acts
PATIENT_ADJ = ("scared", "slow", "tired")     # ... and whoever is scared/slow/tired is acted upon

SENSE_PEOPLE = ("i", "we", "they", "he", "she")
SENSE_PREPS = ("at", "by", "near", "from")
SENSE_MOVES = ("walked", "went", "ran")
RIVER_VERBS = ("fished", "rowed", "swam")
MONEY_VERBS = ("saved", "borrowed", "paid")
RIVER_NOUNS = ("river", "boat", "fish", "water")
MONEY_NOUNS = ("money", "cash", "loan", "coins")
SENSES = ("river", "money")

SYMBOLS = tuple("bcdfghjklmnprstvwz")          # the induction task's random tokens


def _words() -> tuple[str, ...]:
    """Every word of the toy world, in a fixed order (the vocabulary, after <pad>)."""
    groups = (("the", "was", "by", "because", "to", "with", "saw", "he", "she", "it"),
              MEN, WOMEN, ANIMALS, PEOPLE_VERBS, ANIMAL_VERBS, NEUTRAL_ADJ, AGENT_ADJ, PATIENT_ADJ,
              SENSE_PEOPLE, SENSE_PREPS, SENSE_MOVES, RIVER_VERBS, MONEY_VERBS, RIVER_NOUNS, MONEY_NOUNS,
              ("bank",), SYMBOLS)
    seen: dict[str, None] = {}
    for group in groups:
        for w in group:
            seen.setdefault(w, None)
    return tuple(seen)


class Vocab:
    """Words <-> integer ids. Id 0 is <pad>. Unknown words are refused with a readable message."""

    def __init__(self, words: Sequence[str]):
        self.words = (PAD,) + tuple(w for w in words if w != PAD)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def unknown(self, tokens: Sequence[str]) -> list[str]:
        """The tokens this vocabulary does not know, in order of first appearance."""
        out: list[str] = []
        for t in tokens:
            if t not in self.index and t not in out:
                out.append(t)
        return out

    def encode(self, tokens: Sequence[str]) -> torch.Tensor:
        """(n,) tensor of ids. Raises AttentionInputError naming the unknown words."""
        missing = self.unknown(tokens)
        if missing:
            raise AttentionInputError(
                f"the tiny model has never seen {', '.join(repr(w) for w in missing)}: it only knows the "
                f"{len(self) - 1} words of its toy tasks (for example 'the', 'cat', 'chased', 'bank', 'river', "
                "and the letters b c d f g ... z)")
        return torch.tensor([self.index[t] for t in tokens], dtype=torch.long)   # (n,)

    def decode(self, ids) -> list[str]:
        return [self.words[int(i)] for i in ids]

    def known_words(self) -> tuple[str, ...]:
        """Every word a sentence may use (the vocabulary without the padding marker)."""
        return self.words[1:]


VOCAB = Vocab(_words())
