"""Looking inside the trained model: one sentence's weights and vectors, heads averaged over a
test set, heads switched off (chapter 7)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Sequence

import torch

from ...embeddings import as_tokens
from ...errors import AttentionInputError, check_choice, check_int
from ...limits import MAX_TOKENS
from ...masks import causal as causal_mask
from ..heads import HeadMaps
from .batch import encode_batch
from .model import TinyTransformer
from .tasks import Example
from .train import accuracy, deterministic
from .vocab import ANIMAL_VERBS, PEOPLE_VERBS, SYMBOLS, VOCAB, Vocab

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
        return self.top_predictions(pos, 1, vocab)[0]

    def top_predictions(self, pos: int, k: int = 2, vocab: Vocab = VOCAB) -> list[tuple[str, float]]:
        """The model's k most probable words at position pos, with their probabilities."""
        p, i = self.probs[pos].topk(k)
        return [(vocab.words[int(j)], float(q)) for q, j in zip(p, i)]

    def blocked(self) -> torch.Tensor | None:
        """(n, n) True where the causal mask hid key j from query i; None for a sentence read both ways."""
        return ~causal_mask(len(self.tokens)) if self.causal else None

    def top_keys(self, layer: int, head: int, query: int, k: int = 3) -> list[tuple[int, float]]:
        """The k keys (position, weight) that one head's query weighs most, largest first (ties: earlier key)."""
        row = self.weights[layer, head, query]                              # (n,)
        order = torch.argsort(row, descending=True, stable=True)[:k]
        return [(int(j), float(row[j])) for j in order]


@deterministic
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


def head_maps(model: TinyTransformer, text) -> HeadMaps:
    """Every (layer, head) of the model for one sentence, as the book's head gallery and viewer take it.

    mask: True where a query may attend (the causal mask for letter sequences, None for sentences);
    output: the model's probabilities (n, vocab_size); query: where the toy tasks ask their question.
    """
    ins = inspect(model, text)
    blocked = ins.blocked()
    return HeadMaps(tuple(ins.tokens), ins.weights, mask=None if blocked is None else ~blocked,
                    output=ins.probs, query=default_query(ins.tokens))


@dataclass(frozen=True)
class QuerySummary:
    """Where one head's query looks most, and what the model answers at that position."""

    top: tuple[tuple[str, float], ...]      # the k keys with the largest weights, largest first
    answer: str
    probability: float
    asked: bool                              # whether the toy tasks ever ask a question here


def query_summary(maps: HeadMaps, layer: int, head: int, query: int, *, k: int = 2,
                  vocab: Vocab = VOCAB) -> QuerySummary:
    """The k strongest keys of one head's query (ties: the earlier key) and the model's answer there.

    maps: from `head_maps` (its output holds the model's probabilities).
    """
    query = check_int(query, "query", minimum=0, maximum=len(maps.tokens) - 1)
    row = maps.weights[layer, head, query]                                  # (n,)
    order = torch.argsort(row, descending=True, stable=True)[:k]
    p, i = maps.output[query].max(-1)
    return QuerySummary(tuple((maps.tokens[int(j)], float(row[j])) for j in order), vocab.words[int(i)], float(p),
                        is_question(maps.tokens, query))


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


def is_question(tokens: Sequence[str], pos: int) -> bool:
    """Whether the toy tasks ever ask for an answer at this position (elsewhere the model's guess
    was never trained and means nothing)."""
    tokens = list(tokens)
    if reads_causally(tokens):
        return tokens[pos] in tokens[:pos]
    return pos == default_query(tokens) and (tokens[pos] in ("bank", "it", "he", "she")
                                             or tokens[pos] in PEOPLE_VERBS + ANIMAL_VERBS)


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
    task = RELATIONS[check_choice(relation, "relation", tuple(RELATIONS))][0]
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
    if relation == "previous":
        return [(pos, pos - 1) for pos, _ in example.targets]
    return [(pos, first[toks[pos]] + 1) for pos, _ in example.targets]


def _all_weights(model: TinyTransformer, examples: Sequence[Example]):
    batch = encode_batch(examples)
    with torch.no_grad():
        weights = torch.stack(model(batch.ids, batch.mask).weights, dim=1)  # (batch, n_layers, n_heads, n, n)
    return batch, weights


@deterministic
def mean_attention(model: TinyTransformer, examples: Sequence[Example], relation: str) -> torch.Tensor:
    """(n_layers, n_heads): the average weight each head puts where `relation` says to look."""
    _, weights = _all_weights(model, examples)
    total = torch.zeros(weights.shape[1:3], dtype=torch.float64)            # (n_layers, n_heads)
    count = 0
    for b, ex in enumerate(examples):
        for q, k in relation_pairs(ex, relation):
            total += weights[b, :, :, q, k].double()
            count += 1
    if count == 0:
        raise AttentionInputError(f"none of the {len(examples)} examples has a {relation!r} pair")
    return total / count


@deterministic
def attention_on_word(model: TinyTransformer, examples: Sequence[Example], word: str) -> tuple[torch.Tensor, float]:
    """How much attention lands on one word (e.g. the filler "the"), averaged over every real query.

    Returns (n_layers, n_heads) mean weight on keys equal to `word`, and the share that uniform
    attention over the visible keys would give it (the baseline to compare with).
    """
    batch, weights = _all_weights(model, examples)
    is_word = (batch.ids == VOCAB.index[word])                              # (batch, n)
    on_word = (weights * is_word[:, None, None, None, :]).sum(-1)           # (batch, n_layers, n_heads, n)
    real = torch.arange(batch.ids.shape[1])[None, :] < batch.lengths[:, None]   # (batch, n)
    per_head = (on_word.double() * real[:, None, None, :]).sum((0, 3)) / real.sum()   # (n_layers, n_heads)
    visible = batch.mask.double()                                           # (batch, n, n)
    uniform = ((visible * is_word[:, None, :]).sum(-1) / visible.sum(-1))   # (batch, n)
    baseline = float((uniform * real).sum() / real.sum())
    return per_head, baseline


@deterministic
def attention_onto(model: TinyTransformer, examples: Sequence[Example], key: int) -> torch.Tensor:
    """(n_layers, n_heads, n): the average weight each query position puts on one key position.

    The examples must share one length n (one sentence shape, such as the pronoun task's nine words),
    so that a position means the same word slot in every one of them.
    """
    lengths = {len(ex.tokens) for ex in examples}
    if len(lengths) != 1:
        raise AttentionInputError(f"examples must all have the same length, got lengths {sorted(lengths)}")
    n = lengths.pop()
    key = check_int(key, "key", minimum=0, maximum=n - 1)
    _, weights = _all_weights(model, examples)                              # (batch, n_layers, n_heads, n, n)
    return weights[..., key].double().mean(0)                               # (n_layers, n_heads, n)


@deterministic
def missed(model: TinyTransformer, examples: Sequence[Example]) -> list[tuple[Example, int, str, str]]:
    """Every target the model gets wrong: (example, position, the model's word, the right word)."""
    out = []
    for ex in examples:
        view = inspect(model, list(ex.tokens), causal=ex.causal)
        for pos, word in ex.targets:
            said = view.prediction(pos)[0]
            if said != word:
                out.append((ex, pos, said, word))
    return out


def head_columns(head: int, d_head: int) -> slice:
    """The columns of W_O (d_model, d_model) that read head `head`'s output: head·d_head .. (head+1)·d_head."""
    return slice(head * d_head, (head + 1) * d_head)


@contextmanager
def ablated(model: TinyTransformer, layer: int, head: int):
    """Switch one head off inside the block: its output is multiplied by 0 before W_O mixes the heads."""
    cfg = model.cfg
    layer = check_int(layer, "layer", minimum=0, maximum=cfg.n_layers - 1)
    head = check_int(head, "head", minimum=0, maximum=cfg.n_heads - 1)
    w_o = model.blocks[layer].attn.w_o.weight                              # (d_model, d_model)
    cols = head_columns(head, cfg.d_head)
    saved = w_o.data[:, cols].clone()                                      # (d_model, d_head)
    with torch.no_grad():
        w_o[:, cols] = 0.0
    try:
        yield model
    finally:
        with torch.no_grad():
            w_o[:, cols] = saved


@deterministic
def ablation_table(model: TinyTransformer, test_sets: dict[str, list[Example]]) -> dict[str, dict[str, float]]:
    """Test accuracy per task with nothing switched off ("none") and with each head switched off."""
    table = {"none": {t: accuracy(model, exs) for t, exs in test_sets.items()}}
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            with ablated(model, layer, head):
                table[f"layer {layer} head {head}"] = {t: accuracy(model, exs) for t, exs in test_sets.items()}
    return table
