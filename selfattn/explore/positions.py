"""The computations behind chapter 4's order experiments: shuffle tokens, with and without positions.

`compare_orders` runs the same self-attention on a sentence and on a reordering of it and says,
token by token, whether the output only *moved* (same vector, new place: what permutation
equivariance predicts when attention has no position information) or *changed value* (what
positions make happen). The widget in selfattn.widgets.positions is a view of this function.

To keep the arithmetic readable the projections are as simple as they can be (K = V = X and
Q = 3·X, X the hand-designed word vectors of selfattn.embeddings plus positions where asked);
chapter 2's learned projections would change the numbers, not the argument.
Math layer: numpy and torch only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..attention import AttentionResult, attention
from ..embeddings import D_MODEL, embed, is_known, tokenize
from ..errors import AttentionInputError
from ..positions import LearnedPositions, frequencies, rotary, sinusoidal

POSITION_KINDS = ("none", "sinusoidal", "learned", "rotary")
MAX_TOKENS = 16
SAME_TOL = 1e-6
# With only d_model = 8 features and at most 16 positions, the paper's base of 10000 would leave
# the last two feature pairs almost still (they turn by under 0.2 radian across 16 tokens). The
# demonstrations use base 100 so that every pair turns noticeably; the argument is unchanged.
DEMO_BASE = 100.0
# The hand-designed vectors have length about 1, so with Q = X the softmax is nearly flat. The
# demonstrations use W_Q = 3·I (queries three times longer), which sharpens every row the way
# learned projections do, and keep W_K = W_V = I.
QUERY_GAIN = 3.0

# One fixed, untrained learned table (seeded), so the widget and the printed numbers agree.
_LEARNED = LearnedPositions(MAX_TOKENS, D_MODEL, init_std=0.5, seed=4)


def _check_kind(kind: str) -> str:
    if kind not in POSITION_KINDS:
        raise AttentionInputError(f"kind must be one of {', '.join(POSITION_KINDS)}, got {kind!r}")
    return kind


def _check_strength(strength) -> float:
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 10:
        raise AttentionInputError(f"strength must be a number between 0 and 10, got {strength!r}")
    return float(strength)


def position_vectors(n: int, kind: str) -> torch.Tensor | None:
    """(n, d_model) the vectors added to the words for kind 'sinusoidal' or 'learned'; None otherwise."""
    kind = _check_kind(kind)
    if kind == "sinusoidal":
        return sinusoidal(n, D_MODEL, base=DEMO_BASE)                   # (n, d_model)
    if kind == "learned":
        with torch.no_grad():
            return _LEARNED.encodings(n).clone()                        # (n, d_model)
    return None


def attend_with_positions(x: torch.Tensor, kind: str = "none", *, strength: float = 1.0) -> AttentionResult:
    """Self-attention of the (n, d_model) word vectors x with one kind of position information.

    With H the vectors the model sees and g = QUERY_GAIN:
    none:       H = X;                      Q = g·H, K = V = H.
    sinusoidal: H = X + strength·PE, PE = sinusoidal(n, d_model, base=DEMO_BASE); Q = g·H, K = V = H.
    learned:    H = X + strength·P, P from a seeded, untrained LearnedPositions table; Q = g·H, K = V = H.
    rotary:     Q = rotary(g·X, strength·positions), K = rotary(X, strength·positions) (both with
                base=DEMO_BASE), V = X: RoPE rotates queries and keys only, never values.
    """
    kind = _check_kind(kind)
    strength = _check_strength(strength)
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise AttentionInputError(f"x must be an (n, d_model) tensor, got {getattr(x, 'shape', type(x).__name__)}")
    n = x.shape[0]
    if kind == "rotary":
        pos = strength * torch.arange(n, dtype=torch.float64)           # (n,)
        q = rotary(QUERY_GAIN * x, pos, base=DEMO_BASE)                 # (n, d_model)
        k = rotary(x, pos, base=DEMO_BASE)                              # (n, d_model)
        return attention(q, k, x)
    p = position_vectors(n, kind)
    h = x if p is None else x + strength * p.to(x.dtype)                # (n, d_model)
    return attention(QUERY_GAIN * h, h, h)


@dataclass(frozen=True)
class OrderComparison:
    """The same attention on the original order and on a reordering.

    order[i] is the original index of the token now at position i, so shuffled[i] = tokens[order[i]].
    change[i] is |output_shuffled[i] - output[order[i]]| (Euclidean): 0 means token order[i]'s
    output merely moved to position i; more than 0 means its value changed.
    """

    tokens: list[str]
    order: list[int]
    shuffled: list[str]
    kind: str
    weights: torch.Tensor             # (n, n) original order
    weights_shuffled: torch.Tensor    # (n, n) new order
    output: torch.Tensor              # (n, d_model)
    output_shuffled: torch.Tensor     # (n, d_model)
    change: torch.Tensor              # (n,) in the new order

    @property
    def moved(self) -> list[bool]:
        """For each position of the new order: does a different token sit here now?"""
        return [o != i for i, o in enumerate(self.order)]

    @property
    def same_value(self) -> list[bool]:
        """For each position of the new order: is that token's output vector unchanged?"""
        return [bool(c < SAME_TOL) for c in self.change]

    def weights_unshuffled(self) -> torch.Tensor:
        """(n, n) the new-order weights put back in the original order, to compare cell by cell."""
        inv = torch.argsort(torch.tensor(self.order))                  # (n,)
        return self.weights_shuffled[inv][:, inv]                        # (n, n)

    def summary(self) -> list[str]:
        """One line per token of the new order: where it came from and what happened to its output."""
        lines = []
        for i, (o, c) in enumerate(zip(self.order, self.change.tolist())):
            where = f"{o:>2} -> {i:>2}"
            size = f"{c:.3f}" if c >= 0.001 else f"{c:.1e}"
            what = "same output, moved" if c < SAME_TOL and o != i else \
                   "same output, same place" if c < SAME_TOL else f"output changed by {size}"
            lines.append(f"{self.shuffled[i]:>10}  {where}  {what}")
        return lines


def check_order(order, n: int) -> list[int]:
    """order as a list of ints, or AttentionInputError saying why it is not a reordering of 0..n-1."""
    try:
        order = [int(o) for o in order]
    except (TypeError, ValueError):
        raise AttentionInputError(f"order must be whole numbers, got {order!r}") from None
    if sorted(order) != list(range(n)):
        raise AttentionInputError(
            f"order must list each position 0..{n - 1} exactly once (a reordering of the {n} tokens), got {order}")
    return order


def parse_order(text: str, n: int) -> list[int]:
    """Read an order typed as '2 0 1' or '2, 0, 1' (0-based positions of the original tokens)."""
    if not isinstance(text, str):
        raise AttentionInputError(f"order must be typed as text such as '2 0 1', got {type(text).__name__}")
    parts = text.replace(",", " ").split()
    if not parts:
        raise AttentionInputError(f"type a new order: the positions 0..{n - 1}, each once, e.g. "
                                  + " ".join(str(i) for i in reversed(range(n))))
    if not all(p.lstrip("-").isdigit() for p in parts):
        raise AttentionInputError(f"the order may hold only whole numbers 0..{n - 1}, got {text!r}")
    return check_order(parts, n)


def random_order(n: int, seed: int) -> list[int]:
    """A reproducible shuffle of 0..n-1 that moves at least one token (for n > 1)."""
    g = torch.Generator().manual_seed(int(seed))
    for _ in range(100):
        order = torch.randperm(n, generator=g).tolist()
        if n == 1 or order != list(range(n)):
            return order
    return list(reversed(range(n)))


def compare_orders(text_or_tokens, order, kind: str = "none", *, strength: float = 1.0) -> OrderComparison:
    """Attend over a sentence and over a reordering of its tokens; compare the outputs token by token.

    text_or_tokens: a string (tokenized by selfattn.embeddings.tokenize, at most 16 tokens) or a
    list of tokens. order: a reordering of 0..n-1 (see OrderComparison).
    """
    if isinstance(text_or_tokens, str):
        tokens = tokenize(text_or_tokens, max_tokens=MAX_TOKENS)
    else:
        tokens = [str(t) for t in text_or_tokens]
        if not tokens:
            raise AttentionInputError("the sentence has no tokens: give at least one")
        if len(tokens) > MAX_TOKENS:
            raise AttentionInputError(f"the sentence has {len(tokens)} tokens; this view takes at most {MAX_TOKENS}")
    n = len(tokens)
    order = check_order(order, n)
    x = embed(tokens).to(torch.float64)                                 # (n, d_model)
    base = attend_with_positions(x, kind, strength=strength)
    moved = attend_with_positions(x[order], kind, strength=strength)
    change = (moved.output - base.output[order]).norm(dim=-1)           # (n,)
    return OrderComparison(tokens=tokens, order=order, shuffled=[tokens[o] for o in order], kind=kind,
                           weights=base.weights, weights_shuffled=moved.weights, output=base.output,
                           output_shuffled=moved.output, change=change)


def unknown_words(tokens) -> list[str]:
    """The tokens that have no hand-designed vector (they get a fixed pseudo-random one)."""
    return [t for t in dict.fromkeys(tokens) if not is_known(t)]


# --- what each kind of position does to a dot product ---------------------------------------

def sinusoidal_similarity(n: int, d_model: int) -> torch.Tensor:
    """(n, n) dot products PE[a] · PE[b] of sinusoidal encodings.

    Since sin·sin + cos·cos = cos(difference), the entry equals Σ_i cos(ω_i (a - b)): it depends
    on the distance a - b only, not on where the pair sits.
    """
    pe = sinusoidal(n, d_model, dtype=torch.float64)                    # (n, d_model)
    return pe @ pe.T                                                    # (n, n)


def similarity_by_distance(max_distance: int, d_model: int) -> torch.Tensor:
    """(max_distance + 1,) Σ_i cos(ω_i·Δ) for Δ = 0..max_distance: PE[a]·PE[a+Δ] for any a."""
    if isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 0:
        raise AttentionInputError(f"max_distance must be an integer >= 0, got {max_distance!r}")
    omega = frequencies(d_model)                                        # (d_model/2,)
    delta = torch.arange(max_distance + 1, dtype=torch.float64)         # (max_distance+1,)
    return torch.cos(delta.unsqueeze(1) * omega).sum(dim=1)             # (max_distance+1,)


def rotary_score_table(q: torch.Tensor, k: torch.Tensor, n: int) -> torch.Tensor:
    """(n, n) table S[m, j] = rotary(q at position m) · rotary(k at position j).

    q and k are single (d_k,) vectors placed at every position 0..n-1. RoPE makes S constant
    along every diagonal: the score depends on j - m only.
    """
    q = torch.as_tensor(q, dtype=torch.float64)
    k = torch.as_tensor(k, dtype=torch.float64)
    if q.dim() != 1 or k.dim() != 1 or q.shape != k.shape:
        raise AttentionInputError(f"q and k must be two (d_k,) vectors of the same d_k, got shapes "
                                  f"{tuple(q.shape)} and {tuple(k.shape)}")
    rq = rotary(q.expand(n, -1))                                        # (n, d_k)
    rk = rotary(k.expand(n, -1))                                        # (n, d_k)
    return rq @ rk.T                                                    # (n, n)


def absolute_score_table(q: torch.Tensor, k: torch.Tensor, n: int, d_model: int | None = None) -> torch.Tensor:
    """(n, n) table S[m, j] = (q + PE[m]) · (k + PE[j]) with added sinusoidal encodings.

    Unlike rotary_score_table it is not constant along diagonals: the cross terms q·PE[j] and
    PE[m]·k depend on the absolute positions.
    """
    q = torch.as_tensor(q, dtype=torch.float64)
    k = torch.as_tensor(k, dtype=torch.float64)
    if q.dim() != 1 or k.dim() != 1 or q.shape != k.shape:
        raise AttentionInputError(f"q and k must be two (d_k,) vectors of the same d_k, got shapes "
                                  f"{tuple(q.shape)} and {tuple(k.shape)}")
    pe = sinusoidal(n, q.shape[0], dtype=torch.float64)                 # (n, d_k)
    return (q + pe) @ (k + pe).T                                        # (n, n)


def diagonal_spread(table: torch.Tensor) -> float:
    """Largest range (max - min) along any diagonal of a square table; 0 for a function of j - m only."""
    n = table.shape[0]
    return max(float(torch.diagonal(table, offset=o).max() - torch.diagonal(table, offset=o).min())
               for o in range(-(n - 1), n))
