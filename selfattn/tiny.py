"""A tiny transformer that learns on the CPU in seconds, and the toy tasks it learns (chapter 7).

Everything chapter 7 trains and inspects lives here:

* `TinyConfig` and `TinyTransformer`: word and position embeddings, `n_layers` pre-norm blocks
  (x + MultiHeadAttention(LayerNorm(x)), then x + MLP(LayerNorm(x))), a final LayerNorm and a
  linear read-out over the vocabulary. Each sentence carries its own mask: bidirectional for
  sentences, causal for letter sequences.
* Four synthetic tasks, each a generator of `Example`s with a target word at some positions:
    - "pronoun":   "the cat chased the dog because it was hungry" -> at "it" say "cat";
    - "roles":     "the dog was chased by the cat" -> at the verb say who did it, "cat";
    - "sense":     "we fished near the bank" -> at "bank" say "river" (or "money");
    - "induction": "k d s m r w d s m" -> at each repeated letter, the letter that followed it before.
* `train`: a deterministic training loop (fixed seeds, deterministic algorithms, float64, one
  thread) that returns the model and a `History` of losses and test accuracies.
* Looking inside: `inspect` (one sentence, every layer's weights and vectors), `mean_attention`
  and `relation_pairs` (where heads look, averaged over a test set), `attention_on_word`,
  `ablated` and `ablation_table` (switch heads off), `cosine`, `cosine_matrix`, `word_vectors`
  and `pca_2d` (contextual vectors), and `head_view` (what the chapter's widget shows).

The tasks are toys with rules we wrote ourselves; the chapter says so wherever it uses them.
Math layer: numpy and torch only.
"""
from __future__ import annotations

import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .embeddings import as_tokens
from .errors import AttentionInputError
from .masks import causal, padding
from .multihead import MultiHeadAttention

MAX_TOKENS = 16          # the longest sentence the model (and the widget) accepts
PAD = "<pad>"
IGNORE = -100            # target id of a position with nothing to predict

# --- the toy world's words ------------------------------------------------------------------

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

TASKS = ("pronoun", "roles", "sense", "induction")


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


VOCAB = Vocab(_words())


# --- the tasks --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    """One training sentence: its tokens, the words to predict at some positions, and why.

    targets: {position: word}; info: the generator's bookkeeping (which cue, which sense...).
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
    cue = cue or rng.choice(("gender", "adjective"))
    if cue == "gender":
        man, woman = rng.choice(MEN), rng.choice(WOMEN)
        a, b = (man, woman) if rng.random() < 0.5 else (woman, man)
        verb, adj = rng.choice(PEOPLE_VERBS), rng.choice(NEUTRAL_ADJ)
        pron = rng.choice(("he", "she"))
        referent = man if pron == "he" else woman
    elif cue == "adjective":
        a, b = rng.sample(ANIMALS, 2)
        verb, pron = rng.choice(ANIMAL_VERBS), "it"
        if rng.random() < 0.5:
            adj, referent = rng.choice(AGENT_ADJ), a
        else:
            adj, referent = rng.choice(PATIENT_ADJ), b
    else:
        raise AttentionInputError(f"cue must be 'gender' or 'adjective', got {cue!r}")
    tokens = ("the", a, verb, "the", b, "because", pron, "was", adj)
    role = "subject" if referent == a else "object"
    return Example("pronoun", tokens, ((6, referent),), (("cue", cue), ("role", role)))


def roles_example(rng: random.Random, voice: str | None = None) -> Example:
    """'the A verb the B' or 'the B was verb by the A' -> at the verb, who did it (A)."""
    voice = voice or rng.choice(("active", "passive"))
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
    elif voice == "passive":
        tokens, verb_pos = ("the", b, "was", verb, "by", "the", a), 3
    else:
        raise AttentionInputError(f"voice must be 'active' or 'passive', got {voice!r}")
    return Example("roles", tokens, ((verb_pos, a),), (("voice", voice),))


def sense_example(rng: random.Random, sense: str | None = None) -> Example:
    """A sentence with "bank" and one word that says which bank -> at "bank", "river" or "money"."""
    sense = sense or rng.choice(SENSES)
    if sense not in SENSES:
        raise AttentionInputError(f"sense must be 'river' or 'money', got {sense!r}")
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
    length = length or rng.randint(5, 8)
    if not 3 <= length <= min(len(SYMBOLS), MAX_TOKENS // 2):
        raise AttentionInputError(f"length must lie in 3..{min(len(SYMBOLS), MAX_TOKENS // 2)}, got {length}")
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
    if task not in GENERATORS:
        raise AttentionInputError(f"task must be one of {TASKS}, got {task!r}")
    rng = random.Random(f"{task}-{seed}")
    gen = GENERATORS[task]
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


@dataclass(frozen=True)
class Batch:
    """Examples as tensors: ids (batch, n), targets (batch, n) with IGNORE where nothing is
    predicted, lengths (batch,), mask (batch, n, n): True where query i may attend to key j
    (real tokens only; and only j <= i for causal examples)."""

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


# --- the model --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TinyConfig:
    """Sizes and training settings of the tiny transformer (the defaults are what chapter 7 uses)."""

    vocab_size: int = len(VOCAB)
    max_len: int = MAX_TOKENS
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2
    d_ff: int = 64
    seed: int = 1
    steps: int = 1000
    batch: int = 64
    lr: float = 5e-3
    weight_decay: float = 0.0
    count_per_task: int = 3000
    dtype: str = "float64"

    def __post_init__(self):
        for name in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers", "d_ff", "steps", "batch",
                     "count_per_task"):
            val = getattr(self, name)
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise AttentionInputError(f"TinyConfig.{name} must be a positive integer, got {val!r}")
        if self.d_model % self.n_heads:
            raise AttentionInputError(
                f"d_model must be divisible by n_heads: got d_model={self.d_model}, n_heads={self.n_heads}")
        if self.dtype not in ("float32", "float64"):
            raise AttentionInputError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


class Block(nn.Module):
    """One pre-norm transformer block: x + Attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(approximate="tanh"),
                                 nn.Linear(cfg.d_ff, cfg.d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None):
        a, weights = self.attn(self.ln1(x), mask=mask)                 # (batch, n, d_model), (batch, n_heads, n, n)
        x = x + a                                                      # (batch, n, d_model)
        x = x + self.mlp(self.ln2(x))                                  # (batch, n, d_model)
        return x, weights


@dataclass
class TinyOutput:
    """What one forward pass computed.

    logits:  (batch, n, vocab_size) scores for the word to predict at each position
    weights: one (batch, n_heads, n, n) attention tensor per layer
    hidden:  the residual stream, n_layers + 1 tensors (batch, n, d_model): hidden[0] is the
             input (word + position embedding), hidden[l] the vector after layer l
    """

    logits: torch.Tensor
    weights: list[torch.Tensor]
    hidden: list[torch.Tensor]


class TinyTransformer(nn.Module):
    """Word + position embeddings, cfg.n_layers blocks, LayerNorm, linear read-out over the vocabulary."""

    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.readout = nn.Linear(cfg.d_model, cfg.vocab_size)
        self.to(getattr(torch, cfg.dtype))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> TinyOutput:
        if not torch.is_tensor(ids) or ids.dtype != torch.long or ids.dim() not in (1, 2):
            raise AttentionInputError(
                f"ids must be a (batch, n) or (n,) tensor of word ids (torch.long), got "
                f"{type(ids).__name__} {getattr(ids, 'dtype', '')} {tuple(getattr(ids, 'shape', ()))}")
        if ids.dim() == 1:
            ids = ids.unsqueeze(0)                                         # (1, n)
        batch, n = ids.shape
        if n > self.cfg.max_len or n == 0:
            raise AttentionInputError(f"ids has n={n} tokens; the tiny model takes 1..{self.cfg.max_len}")
        if int(ids.min()) < 0 or int(ids.max()) >= self.cfg.vocab_size:
            raise AttentionInputError(f"word ids must lie in 0..{self.cfg.vocab_size - 1}")
        pos = torch.arange(n)                                              # (n,)
        x = self.tok_emb(ids) + self.pos_emb(pos)                          # (batch, n, d_model)
        hidden, weights = [x], []
        for block in self.blocks:
            x, w = block(x, mask)                                          # (batch, n, d_model), (batch, n_heads, n, n)
            hidden.append(x)
            weights.append(w)
        logits = self.readout(self.ln_f(x))                                # (batch, n, vocab_size)
        return TinyOutput(logits, weights, hidden)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# --- training ---------------------------------------------------------------------------------

@contextmanager
def deterministic(threads: int = 1):
    """Deterministic algorithms and a fixed thread count for the duration of a block (or a function,
    as a decorator). One thread: the tiny model's matrices are far too small to be worth splitting,
    on a busy machine two threads waiting for each other were 20 times slower, and a single thread
    also fixes the order of every sum."""
    was_det = torch.are_deterministic_algorithms_enabled()
    was_threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_det)
        torch.set_num_threads(was_threads)


@deterministic()
def accuracy(model: TinyTransformer, examples, vocab: Vocab = VOCAB) -> float:
    """Fraction of target positions where the model's top word is the right one.

    examples: a list of Examples, or a Batch already made from them with encode_batch.
    """
    batch = examples if isinstance(examples, Batch) else encode_batch(examples, vocab)
    with torch.no_grad():
        logits = model(batch.ids, batch.mask).logits                       # (batch, n, vocab_size)
    keep = batch.targets != IGNORE                                         # (batch, n)
    right = (logits.argmax(-1) == batch.targets) & keep                    # (batch, n)
    return float(right.sum()) / float(keep.sum())


@dataclass
class History:
    """What `train` recorded: the loss every step, test accuracy per task every `eval_every` steps."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    accuracy: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def final_accuracy(self) -> dict[str, float]:
        return {task: acc[-1] for task, acc in self.accuracy.items()}


def train(cfg: TinyConfig = TinyConfig(), *, tasks: Sequence[str] = TASKS, eval_every: int = 50,
          test_sets: dict[str, list[Example]] | None = None) -> tuple[TinyTransformer, History]:
    """Train a fresh TinyTransformer on a mixture of `tasks`; same cfg, same weights, every time.

    Returns the model and a History. AdamW (plain Adam when cfg.weight_decay = 0) with a learning
    rate that falls linearly from cfg.lr to cfg.lr / 10; batches of cfg.batch examples are drawn
    at random from a fixed pool of cfg.count_per_task examples per task (test sentences left out).
    """
    for t in tasks:
        if t not in TASKS:
            raise AttentionInputError(f"tasks must come from {TASKS}, got {t!r}")
    test_sets = make_test_sets() if test_sets is None else test_sets
    test_sets = {t: test_sets[t] for t in tasks}
    with deterministic():
        pool = make_train_set(cfg.count_per_task, cfg.seed, test_sets, tasks)
        data = encode_batch(pool)
        test_batches = {t: encode_batch(test_sets[t]) for t in tasks}
        model = TinyTransformer(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        g = torch.Generator().manual_seed(cfg.seed)
        hist = History(accuracy={t: [] for t in tasks})
        start = time.perf_counter()
        for step in range(1, cfg.steps + 1):
            for group in opt.param_groups:       # linear decay to a tenth: calm, reproducible ends
                group["lr"] = cfg.lr * (1.0 - 0.9 * (step - 1) / max(1, cfg.steps - 1))
            idx = torch.randint(len(pool), (cfg.batch,), generator=g)         # (batch,)
            out = model(data.ids[idx], data.mask[idx])
            loss = F.cross_entropy(out.logits.reshape(-1, cfg.vocab_size),   # (batch·n, vocab_size)
                                   data.targets[idx].reshape(-1), ignore_index=IGNORE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            hist.steps.append(step)
            hist.loss.append(float(loss.detach()))
            if step % eval_every == 0 or step == cfg.steps:
                model.eval()
                hist.eval_steps.append(step)
                for t in tasks:
                    hist.accuracy[t].append(accuracy(model, test_batches[t]))
                model.train()
        hist.seconds = time.perf_counter() - start
    model.eval()
    return model, hist


@lru_cache(maxsize=4)
def trained_model(cfg: TinyConfig = TinyConfig()) -> TinyTransformer:
    """The model chapter 7 trains, trained once per Python process and then reused (widget demos)."""
    model, _ = train(cfg)
    return model


# --- looking inside ---------------------------------------------------------------------------

def reads_causally(tokens: Sequence[str]) -> bool:
    """Letter sequences (the induction task) were trained with a causal mask; sentences were not."""
    return len(tokens) > 0 and all(t in SYMBOLS for t in tokens)


def tokens_of(text) -> list[str]:
    """A typed sentence (through selfattn.embeddings.tokenize) or a list of words, as a list."""
    return as_tokens(text, max_tokens=MAX_TOKENS)


@dataclass
class Inspection:
    """One sentence through the model.

    weights: (n_layers, n_heads, n, n) attention weights, rows are queries
    hidden:  (n_layers + 1, n, d_model) the vector of every token before layer 0 and after each layer
    probs:   (n, vocab_size) the model's probabilities for the word to say at each position
    """

    tokens: list[str]
    causal: bool
    weights: torch.Tensor
    hidden: torch.Tensor
    probs: torch.Tensor

    def prediction(self, pos: int, vocab: Vocab = VOCAB) -> tuple[str, float]:
        """The model's top word at position pos and its probability."""
        p, i = self.probs[pos].max(-1)
        return vocab.words[int(i)], float(p)


@deterministic()
def inspect(model: TinyTransformer, text, *, causal: bool | None = None, vocab: Vocab = VOCAB) -> Inspection:
    """Run one sentence (a string or a list of words) and keep every layer's weights and vectors.

    causal defaults to reads_causally(tokens): letter sequences causal, sentences bidirectional.
    """
    tokens = tokens_of(text)
    causal = reads_causally(tokens) if causal is None else bool(causal)
    batch = encode_batch([Example("inspect", tuple(tokens), (), causal=causal)], vocab)
    with torch.no_grad():
        out = model(batch.ids, batch.mask)
    weights = torch.stack([w[0] for w in out.weights])                     # (n_layers, n_heads, n, n)
    hidden = torch.stack([h[0] for h in out.hidden])                       # (n_layers + 1, n, d_model)
    probs = torch.softmax(out.logits[0], dim=-1)                           # (n, vocab_size)
    return Inspection(tokens, causal, weights, hidden, probs)


def default_query(tokens: Sequence[str]) -> int:
    """The position where the toy tasks ask their question: "bank", a pronoun, a verb, else the last token."""
    tokens = list(tokens)
    if "bank" in tokens:
        return tokens.index("bank")
    for t in ("it", "he", "she"):
        if t in tokens:
            return tokens.index(t)
    for i, t in enumerate(tokens):
        if t in PEOPLE_VERBS or t in ANIMAL_VERBS:
            return i
    return len(tokens) - 1


RELATIONS = {
    "referent": ("pronoun", "the pronoun's query -> the noun it refers to"),
    "adjective": ("pronoun", "the pronoun's query -> the adjective that decides (adjective-cued sentences)"),
    "agent": ("roles", "the verb's query -> the noun doing the action"),
    "cue": ("sense", "the query of 'bank' -> the word that says which bank"),
    "previous": ("induction", "each repeated letter's query -> the letter just before it"),
    "induction": ("induction", "each repeated letter's query -> the letter after its earlier copy"),
}


def relation_pairs(example: Example, relation: str) -> list[tuple[int, int]]:
    """(query position, key position) pairs for one example: where a relation says to look."""
    if relation not in RELATIONS:
        raise AttentionInputError(f"relation must be one of {tuple(RELATIONS)}, got {relation!r}")
    task = RELATIONS[relation][0]
    if example.task != task:
        raise AttentionInputError(f"relation {relation!r} belongs to the {task} task, got a {example.task} example")
    toks = example.tokens
    if relation == "referent":
        return [(6, 1 if example.meta("role") == "subject" else 4)]
    if relation == "adjective":
        return [(6, 8)] if example.meta("cue") == "adjective" else []
    if relation == "agent":
        return [(2, 1)] if example.meta("voice") == "active" else [(3, 6)]
    if relation == "cue":
        return [(toks.index("bank"), toks.index(example.meta("cue")))]
    first = {t: i for i, t in reversed(list(enumerate(toks)))}               # first occurrence of each letter
    pairs = []
    for pos, _ in example.targets:
        if relation == "previous":
            pairs.append((pos, pos - 1))
        else:
            pairs.append((pos, first[toks[pos]] + 1))
    return pairs


@deterministic()
def mean_attention(model: TinyTransformer, examples: Sequence[Example], relation: str) -> torch.Tensor:
    """(n_layers, n_heads): the average weight each head puts where `relation` says to look."""
    batch = encode_batch(examples)
    with torch.no_grad():
        weights = torch.stack(model(batch.ids, batch.mask).weights, dim=1)  # (batch, n_layers, n_heads, n, n)
    total = torch.zeros(weights.shape[1:3], dtype=torch.float64)            # (n_layers, n_heads)
    count = 0
    for b, ex in enumerate(examples):
        for q, k in relation_pairs(ex, relation):
            total += weights[b, :, :, q, k].double()
            count += 1
    if count == 0:
        raise AttentionInputError(f"none of the {len(examples)} examples has a {relation!r} pair")
    return total / count


@deterministic()
def attention_on_word(model: TinyTransformer, examples: Sequence[Example], word: str) -> tuple[torch.Tensor, float]:
    """How much attention lands on one word (e.g. the filler "the"), averaged over every real query.

    Returns (n_layers, n_heads) mean weight on keys equal to `word`, and the share that uniform
    attention over the visible keys would give it (the baseline to compare with).
    """
    batch = encode_batch(examples)
    with torch.no_grad():
        weights = torch.stack(model(batch.ids, batch.mask).weights, dim=1)  # (batch, n_layers, n_heads, n, n)
    is_word = (batch.ids == VOCAB.index[word])                              # (batch, n)
    on_word = (weights * is_word[:, None, None, None, :]).sum(-1)           # (batch, n_layers, n_heads, n)
    real = torch.arange(batch.ids.shape[1])[None, :] < batch.lengths[:, None]   # (batch, n)
    per_head = (on_word.double() * real[:, None, None, :]).sum((0, 3)) / real.sum()   # (n_layers, n_heads)
    visible = batch.mask.double()                                           # (batch, n, n)
    uniform = ((visible * is_word[:, None, :]).sum(-1) / visible.sum(-1))   # (batch, n)
    baseline = float((uniform * real).sum() / real.sum())
    return per_head, baseline


@contextmanager
def ablated(model: TinyTransformer, layer: int, head: int):
    """Switch one head off inside the block: its output is multiplied by 0 before W_O mixes the heads."""
    cfg = model.cfg
    if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
        raise AttentionInputError(f"layer must lie in 0..{cfg.n_layers - 1} and head in 0..{cfg.n_heads - 1}, "
                                  f"got layer={layer}, head={head}")
    w_o = model.blocks[layer].attn.w_o.weight                              # (d_model, d_model)
    cols = slice(head * cfg.d_head, (head + 1) * cfg.d_head)
    saved = w_o.data[:, cols].clone()                                      # (d_model, d_head)
    with torch.no_grad():
        w_o[:, cols] = 0.0
    try:
        yield model
    finally:
        with torch.no_grad():
            w_o[:, cols] = saved


@deterministic()
def ablation_table(model: TinyTransformer, test_sets: dict[str, list[Example]]) -> dict[str, dict[str, float]]:
    """Test accuracy per task with nothing switched off ("none") and with each head switched off."""
    table = {"none": {t: accuracy(model, exs) for t, exs in test_sets.items()}}
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            with ablated(model, layer, head):
                table[f"layer {layer} head {head}"] = {t: accuracy(model, exs) for t, exs in test_sets.items()}
    return table


# --- contextual vectors -----------------------------------------------------------------------

def cosine(u, v) -> float:
    """cos(u, v) = u·v / (|u| |v|): 1 for the same direction, 0 for perpendicular, -1 for opposite."""
    u, v = torch.as_tensor(u).double().reshape(-1), torch.as_tensor(v).double().reshape(-1)
    if u.shape != v.shape or u.numel() == 0:
        raise AttentionInputError(f"u and v must be non-empty vectors of the same length (d_model), "
                                  f"got {tuple(u.shape)} and {tuple(v.shape)}")
    nu, nv = u.norm(), v.norm()
    if nu == 0 or nv == 0:
        raise AttentionInputError("cosine similarity is undefined for a zero vector")
    return float(u @ v / (nu * nv))


def cosine_matrix(x) -> torch.Tensor:
    """(count, count) cosine similarity of every pair of rows of x (count, d_model)."""
    x = torch.as_tensor(x).double()
    if x.dim() != 2 or x.shape[0] == 0:
        raise AttentionInputError(f"x must have shape (count, d_model), got {tuple(x.shape)}")
    unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)               # (count, d_model)
    return unit @ unit.T                                                   # (count, count)


def word_vectors(model: TinyTransformer, sentences: Sequence, word: str, layer: int) -> torch.Tensor:
    """(count, d_model): the vector of `word` in each sentence, before layer 0 (layer=0) or after
    layer layer-1 (layer=1..n_layers). Each sentence must contain the word."""
    if not 0 <= layer <= model.cfg.n_layers:
        raise AttentionInputError(f"layer must lie in 0..{model.cfg.n_layers} (0 = the input vectors), got {layer}")
    rows = []
    for s in sentences:
        ins = inspect(model, s)
        if word not in ins.tokens:
            raise AttentionInputError(f"the sentence {' '.join(ins.tokens)!r} does not contain {word!r}")
        rows.append(ins.hidden[layer, ins.tokens.index(word)])             # (d_model,)
    return torch.stack(rows)                                               # (count, d_model)


def pca_2d(x) -> torch.Tensor:
    """(count, 2): the rows of x projected on their two main directions (signs fixed for reproducibility)."""
    x = torch.as_tensor(x).double()
    centred = x - x.mean(0, keepdim=True)                                  # (count, d_model)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)              # vh: (min(count, d_model), d_model)
    axes = vh[:2]                                                          # (2, d_model)
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))  # (2, 1)
    return centred @ (axes * signs).T                                      # (count, 2)


# --- what the chapter 7 widget shows ----------------------------------------------------------

EXAMPLES = (
    "the cat chased the dog because it was hungry",
    "the cat chased the dog because it was scared",
    "the king thanked the girl because she was kind",
    "the dog was chased by the cat",
    "the boy helped the queen",
    "we walked to the bank with the boat",
    "we walked to the bank with the cash",
    "she fished near the bank",
    "k d s m r w d s m",
    "b c d f g h j k b c d f g h j k",
)


def is_question(tokens: Sequence[str], pos: int) -> bool:
    """Whether the toy tasks ever ask for an answer at this position (elsewhere the model's guess
    was never trained and means nothing)."""
    tokens = list(tokens)
    if reads_causally(tokens):
        return tokens[pos] in tokens[:pos]
    return pos == default_query(tokens) and (tokens[pos] in ("bank", "it", "he", "she")
                                             or tokens[pos] in PEOPLE_VERBS + ANIMAL_VERBS)


@dataclass(frozen=True)
class HeadView:
    """One head's attention for one sentence, ready to draw, with a sentence that says what it shows.

    ok is False when the sentence cannot be shown (then `message` says why and the rest is empty).
    weights: (n, n); blocked: (n, n) True where a causal mask hides the key, or None.
    """

    ok: bool
    message: str
    tokens: tuple[str, ...] = ()
    weights: torch.Tensor | None = None
    blocked: torch.Tensor | None = None
    layer: int = 0
    head: int = 0
    query: int = -1
    prediction: str = ""
    probability: float = 0.0
    top: tuple[tuple[str, float], ...] = ()
    detail: str = ""


def head_view(model: TinyTransformer, text, layer: int, head: int, query: int | None = None) -> HeadView:
    """Everything the chapter 7 widget shows for a sentence, a layer and a head.

    Never raises for a bad sentence: an unknown word, an empty or over-long text gives ok=False
    and a message the reader can act on. query defaults to `default_query(tokens)`.
    """
    cfg = model.cfg
    if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
        return HeadView(False, f"layer must lie in 0..{cfg.n_layers - 1} and head in 0..{cfg.n_heads - 1}")
    try:
        tokens = tokens_of(text)
        ins = inspect(model, tokens)
    except AttentionInputError as e:
        return HeadView(False, str(e))
    n = len(tokens)
    query = default_query(tokens) if query is None else int(query)
    if not 0 <= query < n:
        return HeadView(False, f"query must lie in 0..{n - 1} (one of the {n} tokens), got {query}")
    w = ins.weights[layer, head]                                           # (n, n)
    blocked = ~causal(n) if ins.causal else None                          # (n, n)
    word, p = ins.prediction(query)
    order = torch.argsort(w[query], descending=True, stable=True)[:3]
    top = tuple((tokens[int(j)], float(w[query, j])) for j in order)
    looks = ", then ".join(f"'{t}' ({v:.2f})" for t, v in top[:2])
    mode = "read causally, like a GPT" if ins.causal else "read in both directions, like BERT"
    msg = (f"layer {layer} · head {head} · query '{tokens[query]}' (position {query}) puts most weight on "
           f"{looks}. The model's answer there: '{word}' (probability {p:.2f}).")
    if not is_question(tokens, query):
        msg += (" Note: the model was trained to answer only at a pronoun, a verb, 'bank' or a repeated "
                "letter, so its answer at this position means nothing.")
    return HeadView(True, msg, tuple(tokens), w, blocked, layer, head, query, word, p, top, f"{n} tokens, {mode}")
