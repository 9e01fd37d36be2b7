"""Hand-built attention heads for chapter 6: one MultiHeadAttention whose four heads each do one job.

Nothing here is trained. Every weight below was set by hand so that each head visibly does one
thing, the way heads in trained models are often found to (Clark et al., 2019; Voita et al.,
2019): two heads attend by *position* (the previous word, the next word) and two by *content*
(words that name things, words of the same kind). The book says so wherever it shows them.

The input of a token is [word features (8) | sinusoidal position code (24)], so d_model = 32,
n_heads = 4 and d_head = 8. Each head's values copy the 8 word features, and W_O is the identity,
so the output of token i reads as four blocks: what head 0 gathered, what head 1 gathered, ...
Math layer: numpy and torch only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..embeddings import D_MODEL as D_WORD
from ..embeddings import FEATURES, embed, tokenize
from ..errors import AttentionInputError
from ..multihead import MultiHeadAttention
from ..positions import frequencies, sinusoidal

D_POS = 24
D_MODEL = D_WORD + D_POS         # 32
N_HEADS = 4
D_HEAD = D_MODEL // N_HEADS      # 8
MAX_TOKENS = 16
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
    if kind not in KINDS:
        raise AttentionInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind not in _MODELS:
        _MODELS[kind] = hand_built_heads() if kind == "hand-built" else random_heads()
    return _MODELS[kind]


@dataclass(frozen=True)
class HeadView:
    """What each head of one model does on one sentence."""

    tokens: list[str]
    names: tuple[str, ...]
    weights: torch.Tensor      # (n_heads, n, n)
    output: torch.Tensor       # (n, d_model)

    def strongest(self, head: int) -> list[tuple[str, str, float]]:
        """For every query: (query token, the key it weights most, that weight) in this head."""
        if not 0 <= head < len(self.names):
            raise AttentionInputError(f"head must be 0..{len(self.names) - 1}, got {head}")
        w = self.weights[head]                                            # (n, n)
        best = w.argmax(dim=-1)                                           # (n,)
        return [(self.tokens[i], self.tokens[j], float(w[i, j])) for i, j in enumerate(best.tolist())]


def head_view(text_or_tokens, kind: str = "hand-built") -> HeadView:
    """Run the hand-built (or random) heads on a sentence of at most 16 tokens."""
    if isinstance(text_or_tokens, str):
        tokens = tokenize(text_or_tokens, max_tokens=MAX_TOKENS)
    else:
        tokens = [str(t) for t in text_or_tokens]
        if not tokens or len(tokens) > MAX_TOKENS:
            raise AttentionInputError(f"give between 1 and {MAX_TOKENS} tokens, got {len(tokens)}")
    model = heads_model(kind)
    x = head_inputs(tokens)                                              # (n, d_model)
    with torch.no_grad():
        out, weights = model(x)                                          # (n, d_model), (n_heads, n, n)
    names = HEAD_NAMES if kind == "hand-built" else ("untrained",) * N_HEADS
    return HeadView(tokens=tokens, names=names, weights=weights, output=out)
