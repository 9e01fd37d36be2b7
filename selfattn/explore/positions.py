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
from ..embeddings import D_MODEL, as_tokens, embed, is_known
from ..errors import AttentionInputError, check_choice, check_int, check_number
from ..limits import MAX_TOKENS
from ..positions import DEFAULT_BASE, LearnedPositions, frequencies, rotary, rotary_angles, sinusoidal

POSITION_KINDS = ("none", "sinusoidal", "learned", "rotary")
SAME_TOL = 1e-6                  # an output that moved by less than this counts as unchanged
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
    return check_choice(kind, "kind", POSITION_KINDS)


def _check_strength(strength) -> float:
    return check_number(strength, "strength", minimum=0, maximum=10, meaning="how strongly positions count")


def _check_start(start, n: int) -> int:
    return check_int(start, "start", minimum=0, maximum=MAX_TOKENS - n,
                     meaning=f"position of the first token; the learned table has {MAX_TOKENS} rows")


def position_vectors(n: int, kind: str, *, start: int = 0) -> torch.Tensor | None:
    """(n, d_model) the vectors added to the words at positions start .. start+n-1, for kind 'sinusoidal'
    or 'learned'; None otherwise."""
    kind = _check_kind(kind)
    start = _check_start(start, n)
    if kind == "sinusoidal":
        return sinusoidal(start + n, D_MODEL, base=DEMO_BASE)[start:]   # (n, d_model)
    if kind == "learned":
        with torch.no_grad():
            return _LEARNED.encodings(start + n)[start:].clone()        # (n, d_model)
    return None


def attend_with_positions(x: torch.Tensor, kind: str = "none", *, strength: float = 1.0,
                          start: int = 0) -> AttentionResult:
    """Self-attention of the (n, d_model) word vectors x with one kind of position information.

    The tokens sit at positions start, start+1, ..., start+n-1 (start = 0 unless a shift is asked for).

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
    start = _check_start(start, n)
    if kind == "rotary":
        pos = strength * torch.arange(start, start + n, dtype=torch.float64)   # (n,)
        q = rotary(QUERY_GAIN * x, pos, base=DEMO_BASE)                 # (n, d_model)
        k = rotary(x, pos, base=DEMO_BASE)                              # (n, d_model)
        return attention(q, k, x)
    p = position_vectors(n, kind, start=start)
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

    @property
    def n_moved(self) -> int:
        """How many tokens sit at a new position."""
        return sum(self.moved)

    @property
    def n_changed(self) -> int:
        """How many outputs changed value (not only place)."""
        return sum(not s for s in self.same_value)

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

    text_or_tokens: a string (tokenized by selfattn.embeddings.tokenize, at most MAX_TOKENS tokens)
    or a list of tokens. order: a reordering of 0..n-1 (see OrderComparison).
    """
    tokens = as_tokens(text_or_tokens, max_tokens=MAX_TOKENS)
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


@dataclass(frozen=True)
class ShiftComparison:
    """The same sentence attended at positions 0..n-1 and at start..start+n-1 (every position shifted).

    change[i] = |output at the shifted positions - output at 0..n-1| for token i (Euclidean).
    """

    tokens: list[str]
    kind: str
    start: int
    change: torch.Tensor              # (n,)

    @property
    def n_changed(self) -> int:
        """How many of the n outputs changed value when every position moved by `start`."""
        return int((self.change >= SAME_TOL).sum())


def compare_shift(text_or_tokens, kind: str, start: int, *, strength: float = 1.0) -> ShiftComparison:
    """Attend over a sentence placed at positions 0..n-1 and again at start..start+n-1, same order.

    Rotary positions depend only on offsets, so no output changes; added positions (sinusoidal,
    learned) give every token a different vector at a different absolute position.
    """
    tokens = as_tokens(text_or_tokens, max_tokens=MAX_TOKENS)
    x = embed(tokens).to(torch.float64)                                 # (n, d_model)
    at_zero = attend_with_positions(x, kind, strength=strength)
    shifted = attend_with_positions(x, kind, strength=strength, start=start)
    change = (shifted.output - at_zero.output).norm(dim=-1)             # (n,)
    return ShiftComparison(tokens, kind, int(start), change)


# --- what each kind of position does to a dot product ---------------------------------------

def sinusoidal_similarity(n: int, d_model: int) -> torch.Tensor:
    """(n, n) dot products PE[a] · PE[b] of sinusoidal encodings.

    Since sin·sin + cos·cos = cos(difference), the entry equals Σ_r cos(ω_r (a - b)): it depends
    on the distance a - b only, not on where the pair sits.
    """
    pe = sinusoidal(n, d_model, dtype=torch.float64)                    # (n, d_model)
    return pe @ pe.T                                                    # (n, n)


def similarity_by_distance(max_distance: int, d_model: int, *, normalised: bool = False) -> torch.Tensor:
    """(max_distance + 1,) Σ_r cos(ω_r·Δ) for Δ = 0..max_distance: PE[a]·PE[a+Δ] for any a.

    normalised=True divides by the value at Δ = 0 (d_model / 2), so the curve starts at 1.
    """
    max_distance = check_int(max_distance, "max_distance", minimum=0)
    omega = frequencies(d_model)                                        # (d_model/2,)
    delta = torch.arange(max_distance + 1, dtype=torch.float64)         # (max_distance+1,)
    curve = torch.cos(delta.unsqueeze(1) * omega).sum(dim=1)            # (max_distance+1,)
    return curve / curve[0] if normalised else curve


def rotation_arrows(n: int, d_k: int, *, base: float = DEFAULT_BASE) -> tuple[torch.Tensor, torch.Tensor]:
    """Where RoPE sends the vector (1, 0) of every feature pair at positions 0..n-1.

    Returns (points, step): points (n, d_k/2, 2) holds (cos θ, sin θ) with θ = p·ω_r for position p
    and pair r; step (d_k/2,) is ω_r, the angle each pair turns per position, in radians.
    """
    angles = rotary_angles(n, d_k, base=base)                           # (n, d_k/2)
    points = torch.stack((angles.cos(), angles.sin()), dim=-1)          # (n, d_k/2, 2)
    return points, frequencies(d_k, base=base)


def _two_vectors(q, k) -> tuple[torch.Tensor, torch.Tensor]:
    q = torch.as_tensor(q, dtype=torch.float64)
    k = torch.as_tensor(k, dtype=torch.float64)
    if q.dim() != 1 or k.dim() != 1 or q.shape != k.shape:
        raise AttentionInputError(f"q and k must be two (d_k,) vectors of the same d_k, got shapes "
                                  f"{tuple(q.shape)} and {tuple(k.shape)}")
    return q, k


def rotary_score_table(q: torch.Tensor, k: torch.Tensor, n: int) -> torch.Tensor:
    """(n, n) table S[i, j] = rotary(q at position i) · rotary(k at position j).

    q and k are single (d_k,) vectors placed at every position 0..n-1. RoPE makes S constant
    along every diagonal: the score depends on j - i only.
    """
    q, k = _two_vectors(q, k)
    rq = rotary(q.expand(n, -1))                                        # (n, d_k)
    rk = rotary(k.expand(n, -1))                                        # (n, d_k)
    return rq @ rk.T                                                    # (n, n)


def absolute_score_table(q: torch.Tensor, k: torch.Tensor, n: int, d_model: int | None = None) -> torch.Tensor:
    """(n, n) table S[i, j] = (q + PE[i]) · (k + PE[j]) with added sinusoidal encodings.

    Unlike rotary_score_table it is not constant along diagonals: the cross terms q·PE[j] and
    PE[i]·k depend on the absolute positions.
    """
    q, k = _two_vectors(q, k)
    pe = sinusoidal(n, q.shape[0], dtype=torch.float64)                 # (n, d_k)
    return (q + pe) @ (k + pe).T                                        # (n, n)


def diagonal_spread(table: torch.Tensor) -> float:
    """Largest range (max - min) along any diagonal of a square table; 0 for a function of j - i only."""
    n = table.shape[0]
    return max(float(torch.diagonal(table, offset=o).max() - torch.diagonal(table, offset=o).min())
               for o in range(-(n - 1), n))
