"""The four toy tasks of chapter 7, each a seeded generator of sentences with words to predict.

- "pronoun":   "the cat chased the dog because it was hungry" -> at "it" say "cat";
- "roles":     "the dog was chased by the cat" -> at the verb say who did it, "cat";
- "sense":     "we fished near the bank" -> at "bank" say "river" (or "money");
- "induction": "k d s m r w d s m" -> at each repeated letter, the letter that followed it before.

The first three are read in both directions (like BERT); letter sequences causally (like GPT).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from ...errors import AttentionInputError, check_choice, check_int
from ...limits import MAX_TOKENS
from .vocab import (AGENT_ADJ, ANIMAL_VERBS, ANIMALS, MEN, MONEY_NOUNS, MONEY_VERBS, NEUTRAL_ADJ, PATIENT_ADJ,
                    PEOPLE_VERBS, RIVER_NOUNS, RIVER_VERBS, SENSE_MOVES, SENSE_PEOPLE, SENSE_PREPS, SENSES, SYMBOLS,
                    WOMEN)

TASKS = ("pronoun", "roles", "sense", "induction")


@dataclass(frozen=True)
class Example:
    """One training sentence: its tokens, the words to predict at some positions, and why.

    targets: ((position, word), ...); info: the generator's bookkeeping (which cue, which sense...).
    causal: read with a causal mask (letter sequences) or in both directions (sentences).
    """

    task: str
    tokens: tuple[str, ...]
    targets: tuple[tuple[int, str], ...]
    info: tuple[tuple[str, str], ...] = ()
    causal: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def meta(self, key: str, default: str = "") -> str:
        return dict(self.info).get(key, default)


def pronoun_example(rng: random.Random, cue: str | None = None) -> Example:
    """'the A verb the B because PRONOUN was ADJ' -> at the pronoun, the noun it refers to.

    cue="gender": A and B are a man and a woman (either order) and he/she picks one of them.
    cue="adjective": A and B are animals, the pronoun is "it", and the adjective decides: an
    AGENT_ADJ ("hungry") means A (the one doing the verb), a PATIENT_ADJ ("scared") means B.
    """
    cue = check_choice(cue or rng.choice(("gender", "adjective")), "cue", ("gender", "adjective"))
    if cue == "gender":
        man, woman = rng.choice(MEN), rng.choice(WOMEN)
        a, b = (man, woman) if rng.random() < 0.5 else (woman, man)
        verb, adj = rng.choice(PEOPLE_VERBS), rng.choice(NEUTRAL_ADJ)
        pron = rng.choice(("he", "she"))
        referent = man if pron == "he" else woman
    else:
        a, b = rng.sample(ANIMALS, 2)
        verb, pron = rng.choice(ANIMAL_VERBS), "it"
        if rng.random() < 0.5:
            adj, referent = rng.choice(AGENT_ADJ), a
        else:
            adj, referent = rng.choice(PATIENT_ADJ), b
    tokens = ("the", a, verb, "the", b, "because", pron, "was", adj)
    role = "subject" if referent == a else "object"
    return Example("pronoun", tokens, ((6, referent),), (("cue", cue), ("role", role)))


def roles_example(rng: random.Random, voice: str | None = None) -> Example:
    """'the A verb the B' or 'the B was verb by the A' -> at the verb, who did it (A)."""
    voice = check_choice(voice or rng.choice(("active", "passive")), "voice", ("active", "passive"))
    if rng.random() < 0.5:
        a, b = rng.sample(ANIMALS, 2)
        verb = rng.choice(ANIMAL_VERBS)
    else:
        a, b = rng.choice(MEN + WOMEN), rng.choice(MEN + WOMEN)
        while b == a:
            b = rng.choice(MEN + WOMEN)
        verb = rng.choice(PEOPLE_VERBS)
    if voice == "active":
        tokens, verb_pos = ("the", a, verb, "the", b), 2
    else:
        tokens, verb_pos = ("the", b, "was", verb, "by", "the", a), 3
    return Example("roles", tokens, ((verb_pos, a),), (("voice", voice),))


def sense_example(rng: random.Random, sense: str | None = None) -> Example:
    """A sentence with "bank" and one word that says which bank -> at "bank", "river" or "money"."""
    sense = check_choice(sense or rng.choice(SENSES), "sense", SENSES)
    verbs = RIVER_VERBS if sense == "river" else MONEY_VERBS
    nouns = RIVER_NOUNS if sense == "river" else MONEY_NOUNS
    p = rng.choice(SENSE_PEOPLE)
    form = rng.randrange(4)
    if form == 0:      # cue verb before bank
        tokens = (p, rng.choice(verbs), rng.choice(SENSE_PREPS), "the", "bank")
        cue = tokens[1]
    elif form == 1:    # cue noun after bank
        tokens = (p, rng.choice(SENSE_MOVES), "to", "the", "bank", "with", "the", rng.choice(nouns))
        cue = tokens[-1]
    elif form == 2:    # cue noun before bank
        tokens = (p, "saw", "the", rng.choice(nouns), rng.choice(SENSE_PREPS), "the", "bank")
        cue = tokens[3]
    else:              # bank first, cue noun at the end
        tokens = ("the", "bank", rng.choice(SENSE_PREPS), "the", rng.choice(nouns), "was", rng.choice(NEUTRAL_ADJ))
        cue = tokens[4]
    return Example("sense", tokens, ((tokens.index("bank"), sense),), (("sense", sense), ("cue", cue)))


def induction_example(rng: random.Random, length: int | None = None) -> Example:
    """Distinct random letters, then a stretch of them again, read causally (GPT-style).

    "k d s m r w d s m": at every repeated letter but the last, predict the letter that came
    after it the first time ("d" -> "s", "s" -> "m"). Only an induction rule (find the earlier
    copy of the current letter, copy what followed it) can do this: the letters are random.
    """
    longest = min(len(SYMBOLS), MAX_TOKENS // 2)
    length = check_int(length or rng.randint(5, 8), "length", minimum=3, maximum=longest,
                       meaning="number of distinct letters")
    seq = rng.sample(SYMBOLS, length)
    start = rng.randrange(length - 2)
    stop = rng.randint(start + 2, length)
    tokens = tuple(seq) + tuple(seq[start:stop])
    targets = tuple((length + i, seq[start + i + 1]) for i in range(stop - start - 1) if start + i + 1 < length)
    return Example("induction", tokens, targets, (("start", str(start)),), causal=True)


GENERATORS = {"pronoun": pronoun_example, "roles": roles_example, "sense": sense_example,
              "induction": induction_example}


def make_examples(task: str, count: int, seed: int, *, exclude: frozenset[str] = frozenset()) -> list[Example]:
    """`count` examples of one task from a seeded generator (same seed, same list, on any machine).

    exclude: sentence texts to leave out (a test set), so test sentences are never trained on.
    """
    gen = GENERATORS[check_choice(task, "task", TASKS)]
    rng = random.Random(f"{task}-{seed}")
    out: list[Example] = []
    tries = 0
    while len(out) < count:
        ex = gen(rng)
        tries += 1
        if ex.text not in exclude:
            out.append(ex)
        if tries > 50 * count + 1000:
            raise AttentionInputError(f"could not draw {count} {task} examples outside the excluded set")
    return out


def make_test_sets(count: int = 100, seed: int = 1234) -> dict[str, list[Example]]:
    """A fixed test set per task, drawn without repeats inside each task."""
    sets = {}
    for task in TASKS:
        rng = random.Random(f"test-{task}-{seed}")
        seen: dict[str, Example] = {}
        while len(seen) < count:
            ex = GENERATORS[task](rng)
            seen.setdefault(ex.text, ex)
        sets[task] = list(seen.values())
    return sets


def make_train_set(count_per_task: int, seed: int, test_sets: dict[str, list[Example]],
                   tasks: Sequence[str] = TASKS) -> list[Example]:
    """Training examples from every task, none of them a test sentence."""
    held_out = frozenset(ex.text for exs in test_sets.values() for ex in exs)
    out: list[Example] = []
    for task in tasks:
        out += make_examples(task, count_per_task, seed, exclude=held_out)
    return out
