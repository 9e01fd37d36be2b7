"""Hand-built attention heads for chapter 6: one MultiHeadAttention whose four heads each do one job.

Nothing here is trained. Every weight below was set by hand so that each head visibly does one
thing, the way heads in trained models are often found to (Clark et al., 2019; Voita et al.,
2019): two heads attend by *position* (the previous word, the next word) and two by *content*
(words that name things, words of the same kind). The book says so wherever it shows them.

The input of a token is [word features (8) | sinusoidal position code (24)], so d_model = 32,
n_heads = 4 and d_head = 8. Each head's values copy the 8 word features, and W_O is the identity,
so the output of token i reads as four blocks: what head 0 gathered, what head 1 gathered, ...

Also here: `HeadMaps`, the attention maps of every (layer, head) of a model for one sentence,
which `selfattn.viz.heads.head_grid` draws and `selfattn.widgets.heads.HeadView` shows (chapters
6, 7 and 10 use the same pair), and `train_neighbour_task`, the measurement behind "one head is
not enough": one head cannot report both the previous and the next token, two heads of half the
width can. Math layer: numpy and torch only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..embeddings import D_MODEL as D_WORD
from ..embeddings import FEATURES, as_tokens, embed
from ..errors import AttentionInputError, check_choice, check_int
from ..limits import MAX_TOKENS
from ..multihead import MultiHeadAttention
from ..positions import frequencies, sinusoidal

D_POS = 24
D_MODEL = D_WORD + D_POS         # 32
N_HEADS = 4
D_HEAD = D_MODEL // N_HEADS      # 8
HEAD_NAMES = ("previous word", "next word", "naming words", "same kind of word")
KINDS = ("hand-built", "random")

# How strongly the positional heads prefer their target position, and how strongly the content
# heads prefer matching features. Larger is sharper; these give clear but not one-hot rows.
POSITION_GAIN = 24.0
CONTENT_GAIN = 12.0


def head_inputs(tokens) -> torch.Tensor:
    """(n, d_model=32) token inputs: hand-designed word features, then a sinusoidal position code."""
    words = embed(list(tokens))                                         # (n, 8)
    pos = sinusoidal(len(tokens), D_POS)                                # (n, 24)
    return torch.cat((words, pos), dim=-1)                              # (n, d_model)


def shift_matrix(offset: int, d: int = D_HEAD) -> torch.Tensor:
    """(d, d) block-diagonal rotation R with R · PE[pos] = PE[pos + offset] for the first d features.

    Each (sin, cos) pair turns by offset·ω_i: sin(a + b) = sin a cos b + cos a sin b and
    cos(a + b) = cos a cos b - sin a sin b. This is the "fixed linear function of PE[pos]" that
    Vaswani et al. (2017) gave as their reason for choosing sinusoids.
    """
    omega = frequencies(D_POS)[: d // 2]                                 # (d/2,)
    r = torch.zeros(d, d, dtype=torch.float64)
    for i, w in enumerate(omega.tolist()):
        c, s = torch.cos(torch.tensor(offset * w)), torch.sin(torch.tensor(offset * w))
        r[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor([[c, s], [-s, c]])
    return r.to(torch.get_default_dtype())


def hand_built_heads() -> MultiHeadAttention:
    """A MultiHeadAttention(d_model=32, n_heads=4) with every weight set by hand.

    head 0 "previous word":   q_i = g·R(-1)·PE_i, k_j = PE_j  -> peaks at j = i - 1
    head 1 "next word":       q_i = g·R(+1)·PE_i, k_j = PE_j  -> peaks at j = i + 1
    head 2 "naming words":    q_i = a constant (a bias), k_j = animal + place + nature + money
                              features of word j -> every query looks at the nouns
    head 3 "same kind of word": q_i = c·features_i, k_j = features_j -> words that share features
    Values copy the word features in every head; W_O is the identity.
    (PE here is the first 8 features of the 24-wide position code: its four fastest pairs.)
    """
    with torch.random.fork_rng(devices=[]):                               # the random init is overwritten below;
        m = MultiHeadAttention(D_MODEL, N_HEADS)                          # keep the caller's RNG state as it was
    w_q = torch.zeros(D_MODEL, D_MODEL)
    w_k = torch.zeros(D_MODEL, D_MODEL)
    w_v = torch.zeros(D_MODEL, D_MODEL)
    b_q = torch.zeros(D_MODEL)
    pos = slice(D_WORD, D_WORD + D_HEAD)                                 # the 8 fastest position features
    for h, offset in ((0, -1), (1, +1)):
        rows = slice(h * D_HEAD, (h + 1) * D_HEAD)
        w_q[rows, pos] = POSITION_GAIN * shift_matrix(offset)
        w_k[rows, pos] = torch.eye(D_HEAD)
    nouns = [FEATURES.index(f) for f in ("animal", "place", "nature", "money")]
    b_q[2 * D_HEAD] = CONTENT_GAIN                                        # head 2 asks one fixed question
    for f in nouns:
        w_k[2 * D_HEAD, f] = 1.0                                          # ... answered by naming features
    rows = slice(3 * D_HEAD, 4 * D_HEAD)
    w_q[rows, :D_WORD] = CONTENT_GAIN * torch.eye(D_WORD)
    w_k[rows, :D_WORD] = torch.eye(D_WORD)
    for h in range(N_HEADS):
        w_v[h * D_HEAD:(h + 1) * D_HEAD, :D_WORD] = torch.eye(D_WORD)   # every head carries word features
    with torch.no_grad():
        m.w_q.weight.copy_(w_q)
        m.w_k.weight.copy_(w_k)
        m.w_v.weight.copy_(w_v)
        m.w_o.weight.copy_(torch.eye(D_MODEL))
        m.w_q.bias.copy_(b_q)
        for lin in (m.w_k, m.w_v, m.w_o):
            lin.bias.zero_()
    return m.eval()


def random_heads(seed: int = 0) -> MultiHeadAttention:
    """The same shape with torch's default random initialisation: what heads look like before training."""
    with torch.random.fork_rng(devices=[]):                               # leave the caller's seed alone
        torch.manual_seed(seed)
        return MultiHeadAttention(D_MODEL, N_HEADS).eval()


_MODELS: dict[str, MultiHeadAttention] = {}


def heads_model(kind: str) -> MultiHeadAttention:
    """The hand-built or the random model (built once and reused)."""
    check_choice(kind, "kind", KINDS)
    if kind not in _MODELS:
        _MODELS[kind] = hand_built_heads() if kind == "hand-built" else random_heads()
    return _MODELS[kind]


@dataclass(frozen=True)
class HeadMaps:
    """The attention maps of every (layer, head) of a model for one sentence.

    tokens: the n tokens; weights: (n_layers, n_heads, n, n), rows are queries; names: one label
    per head ("" where a head has none); mask: (n, n) bool, True where a query may attend, or
    None when every key is open; output: what the model computed (optional); query: the row a
    view selects first (-1 for none).
    """

    tokens: tuple[str, ...]
    weights: torch.Tensor
    names: tuple[str, ...] = ()
    mask: torch.Tensor | None = None
    output: torch.Tensor | None = None
    query: int = -1

    def __post_init__(self):
        w = self.weights
        if w.dim() == 3:                                                   # one layer: (n_heads, n, n)
            object.__setattr__(self, "weights", w.unsqueeze(0))          # (1, n_heads, n, n)
        n = len(self.tokens)
        if self.weights.dim() != 4 or tuple(self.weights.shape[-2:]) != (n, n):
            raise AttentionInputError(f"weights must have shape (n_layers, n_heads, n={n}, n={n}), "
                                      f"got {tuple(w.shape)}")
        if not self.names:
            object.__setattr__(self, "names", ("",) * self.n_heads)
        if len(self.names) != self.n_heads:
            raise AttentionInputError(f"names must give one label per head ({self.n_heads}), got {len(self.names)}")

    @property
    def n_layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.weights.shape[1])

    def strongest(self, head: int, layer: int = 0) -> list[tuple[str, str, float]]:
        """For every query: (query token, the key it weights most, that weight) in one head."""
        check_int(head, "head", minimum=0, maximum=self.n_heads - 1)
        check_int(layer, "layer", minimum=0, maximum=self.n_layers - 1)
        w = self.weights[layer, head]                                     # (n, n)
        best = w.argmax(dim=-1)                                           # (n,)
        return [(self.tokens[i], self.tokens[j], float(w[i, j])) for i, j in enumerate(best.tolist())]


def head_view(text_or_tokens, kind: str = "hand-built") -> HeadMaps:
    """Run the hand-built (or random) heads on a sentence of at most MAX_TOKENS tokens."""
    tokens = as_tokens(text_or_tokens, max_tokens=MAX_TOKENS)
    model = heads_model(kind)
    x = head_inputs(tokens)                                              # (n, d_model)
    with torch.no_grad():
        out, weights = model(x)                                          # (n, d_model), (n_heads, n, n)
    names = HEAD_NAMES if kind == "hand-built" else ("untrained",) * N_HEADS
    return HeadMaps(tokens=tuple(tokens), weights=weights, names=names, output=out)


# --- one head is not enough: a measurement ----------------------------------------------------------

@dataclass(frozen=True)
class NeighbourTask:
    """Sequences of n random symbols; at every inner position i, name token i-1 and token i+1."""

    vocab: int = 8
    n: int = 8

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(tokens (size, n), previous (size, n-2), next (size, n-2)) for positions 1..n-2."""
        tokens = torch.randint(0, self.vocab, (size, self.n), generator=generator)   # (size, n)
        return tokens, tokens[:, :-2], tokens[:, 2:]                                  # (size, n-2) each


class NeighbourModel(nn.Module):
    """Token + position embeddings, one attention layer with a residual, a linear read-out of
    two answers (previous token, next token) at every position."""

    def __init__(self, task: NeighbourTask, d_model: int, n_heads: int):
        super().__init__()
        self.task = task
        self.tok = nn.Embedding(task.vocab, d_model)
        self.pos = nn.Embedding(task.n, d_model)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.out = nn.Linear(d_model, 2 * task.vocab)

    def forward(self, tokens: torch.Tensor):
        x = self.tok(tokens) + self.pos.weight                             # (batch, n, d_model)
        h, weights = self.attn(x)                                          # (batch, n, d_model), (batch, n_heads, n, n)
        logits = self.out(x + h)[:, 1:-1]                                  # (batch, n-2, 2·vocab)
        prev, nxt = logits.split(self.task.vocab, dim=-1)                 # (batch, n-2, vocab) each
        return prev, nxt, weights


@dataclass(frozen=True)
class NeighbourResult:
    """One training run: loss per step in bits, and held-out accuracy of each answer."""

    n_heads: int
    d_head: int
    seed: int
    loss_bits: tuple[float, ...] = field(repr=False)
    accuracy_prev: float = 0.0
    accuracy_next: float = 0.0
    weights: torch.Tensor | None = field(default=None, repr=False)   # (n_heads, n, n) on one held-out sequence

    @property
    def final_loss_bits(self) -> float:
        """Mean cross-entropy of the two answers over the last 20 steps, in bits per answer."""
        tail = self.loss_bits[-20:]
        return sum(tail) / len(tail)

    def running_loss_bits(self, window: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(steps, loss): the loss in bits averaged over the last `window` steps, from step `window` on."""
        loss = np.asarray(self.loss_bits, dtype=float)
        k = max(1, min(int(window), len(loss)))
        return np.arange(k, len(loss) + 1), np.convolve(loss, np.ones(k) / k, mode="valid")


def train_neighbour_task(n_heads: int, *, d_model: int = 32, steps: int = 300, batch: int = 64, seed: int = 0,
                         task: NeighbourTask = NeighbourTask(), lr: float = 0.01) -> NeighbourResult:
    """Train a `NeighbourModel` with n_heads heads of width d_model / n_heads; seeded, a second or two.

    The same width and parameter count for every n_heads: only how d_model is split differs.
    Loss is the mean cross-entropy of the two answers, in bits (nats / ln 2).
    """
    n_heads = check_int(n_heads, "n_heads", minimum=1)
    with torch.random.fork_rng(devices=[]):                               # leave the caller's RNG alone
        torch.manual_seed(seed)
        model = NeighbourModel(task, d_model, n_heads)
    gen = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ce = nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        tokens, prev, nxt = task.batch(batch, gen)
        p, q, _ = model(tokens)
        loss = 0.5 * (ce(p.reshape(-1, task.vocab), prev.reshape(-1)) + ce(q.reshape(-1, task.vocab), nxt.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item() / math.log(2))
    held_out = torch.Generator().manual_seed(10_000 + seed)
    tokens, prev, nxt = task.batch(1024, held_out)
    with torch.no_grad():
        p, q, w = model(tokens)
    return NeighbourResult(n_heads=n_heads, d_head=d_model // n_heads, seed=seed, loss_bits=tuple(losses),
                           accuracy_prev=float((p.argmax(-1) == prev).float().mean()),
                           accuracy_next=float((q.argmax(-1) == nxt).float().mean()),
                           weights=w[0])
