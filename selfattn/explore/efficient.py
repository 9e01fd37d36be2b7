"""The small computations behind chapter 9's figures and widgets (efficient attention).

Everything here works on one short sequence (n up to a few hundred) and builds dense (n, n)
pictures on purpose: these functions *show* which scores an efficient method computes, or what
attention matrix it implies. They are not the efficient methods themselves; those live in
selfattn.efficient and never build an n×n matrix.

The module is a little over the book's usual 400 lines: it backs every figure and both widgets of
chapter 9, one short function each, and keeping them together keeps one home per chapter topic.

- `demo_inputs`: seeded q, k, v whose scores can be made to favour nearby tokens (locality).
- `local_global_random_mask`: the token-level pattern of Longformer/BigBird (window + global + random).
- `pattern_report`: what a pattern keeps and misses compared with full attention.
- `receptive_field`: which tokens can reach which after L stacked layers of a pattern.
- `window_entries`: how many scores a sliding window computes; `density`: the fraction of the n²
  query-key pairs a pattern computes (the one definition of density in chapter 9).
- `positive_features`, `random_feature_report`: FAVOR+ (Performer) as an explicit approximate
  attention matrix, and its error (the random directions are `selfattn.efficient.random_projection`'s).
- `linear_attention_weights`: the attention matrix implied by kernelised linear attention;
  `retrieval_report`: how sharply softmax and linear attention pick out one stored key.
- `online_softmax_trace`: the running max, running sum and output of an online softmax, block by
  block (each step is `selfattn.efficient.online_softmax_step`).
- `tile_plan`: which (query tile, key block) pairs tiled attention computes, masks or skips.

(About 440 lines: one short function or report per section of the chapter, each independent of
the others; splitting them would only scatter one chapter's pictures over several files.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..attention import attention
from ..efficient import FEATURE_MAPS, online_softmax_step, random_projection
from ..errors import AttentionInputError, as_tensor, check_choice, check_finite, check_int, check_positive
from ..masks import causal as causal_mask, window as window_mask

MAX_DEMO_N = 512          # these functions build (n, n) pictures; keep them small


def _check_n(n, name: str = "n") -> int:
    return check_int(n, name, minimum=1, maximum=MAX_DEMO_N,
                     meaning="tokens in a dense picture; selfattn.efficient handles long sequences")




def _matrix(x, name: str, names: str) -> torch.Tensor:
    t = as_tensor(x, name)
    if t.dim() != 2 or 0 in t.shape:
        raise AttentionInputError(f"{name} must have shape ({names}), got shape {tuple(t.shape)}")
    check_finite(t, name)
    return t.to(torch.float64)


def _qkv(q, k, v=None):
    qt = _matrix(q, "q", "n_q, d_k")
    kt = _matrix(k, "k", "n_k, d_k")
    if qt.shape[1] != kt.shape[1]:
        raise AttentionInputError(f"q and k must have the same d_k: q has shape (n_q={qt.shape[0]}, d_k={qt.shape[1]}), "
                                  f"k has shape (n_k={kt.shape[0]}, d_k={kt.shape[1]})")
    if v is None:
        return qt, kt, None
    vt = _matrix(v, "v", "n_k, d_v")
    if vt.shape[0] != kt.shape[0]:
        raise AttentionInputError(f"k and v must have the same n_k: k has shape (n_k={kt.shape[0]}, d_k={kt.shape[1]}), "
                                  f"v has shape (n_k={vt.shape[0]}, d_v={vt.shape[1]})")
    return qt, kt, vt


# --- inputs -----------------------------------------------------------------------------------

def demo_inputs(n: int, *, d_k: int = 8, d_v: int | None = None, locality: float = 0.0, scale: float = 1.0,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded float64 q (n, d_k), k (n, d_k), v (n, d_v) for the chapter's demonstrations.

    q and k are Gaussian with standard deviation `scale` (larger = peakier softmax). locality > 0
    gives the last dimension to position: q_i[-1] = 1 and k_j[-1] = locality·√d_k·j, so every
    score gains locality·j. Softmax ignores what is added to a whole row, so for causal attention
    this is exactly a recency bias of -locality per step back (as ALiBi's, Press et al. 2022):
    a key d positions back loses a factor e^(-locality·d) of weight against the query's own key.
    (In bidirectional attention the same term favours the last keys, not the nearest.)
    """
    n = _check_n(n)
    d_k = check_int(d_k, "d_k", minimum=1)
    d_v = d_k if d_v is None else check_int(d_v, "d_v", minimum=1)
    locality = 0.0 if (isinstance(locality, (int, float)) and not isinstance(locality, bool) and locality == 0) \
        else check_positive(locality, "locality", meaning="score added per position, >= 0")
    scale = check_positive(scale, "scale", meaning="standard deviation of q and k")
    g = torch.Generator().manual_seed(seed)
    q = scale * torch.randn(n, d_k, generator=g, dtype=torch.float64)     # (n, d_k)
    k = scale * torch.randn(n, d_k, generator=g, dtype=torch.float64)     # (n, d_k)
    v = torch.randn(n, d_v, generator=g, dtype=torch.float64)             # (n, d_v)
    if locality > 0:
        q[:, -1] = 1.0
        k[:, -1] = locality * math.sqrt(d_k) * torch.arange(n, dtype=torch.float64)
    return q, k, v


# --- sparse patterns (token level) -----------------------------------------------------------

def local_global_random_mask(n: int, window: int, *, n_global: int = 0, n_random: int = 0, causal: bool = True,
                             seed: int = 0) -> torch.Tensor:
    """(n, n) bool: the sliding window, plus global tokens, plus random keys per query.

    window: query i sees keys i-window+1..i (causal) or |i - j| < window (not causal), as
    selfattn.masks.window. n_global: the first n_global tokens are global, as Longformer's
    [CLS]: every query sees them and they see every key (the past only, if causal).
    n_random: each query also sees up to n_random keys drawn at random among those it may see
    and does not see yet (BigBird's random part, here per token rather than per block).
    """
    n = _check_n(n)
    window = check_int(window, "window", minimum=1)
    n_global = check_int(n_global, "n_global", minimum=0)
    n_random = check_int(n_random, "n_random", minimum=0)
    if n_global > n:
        raise AttentionInputError(f"n_global={n_global} must be at most n={n}")
    m = window_mask(n, window, causal=causal)                                      # (n, n)
    if n_global:
        m[:, :n_global] = True
        m[:n_global, :] = True
    allowed = causal_mask(n) if causal else torch.ones(n, n, dtype=torch.bool)    # (n, n)
    m &= allowed
    if n_random:
        g = torch.Generator().manual_seed(seed)
        for i in range(n):
            free = (allowed[i] & ~m[i]).nonzero().flatten()                        # keys query i could still see
            if len(free):
                pick = free[torch.randperm(len(free), generator=g)[:n_random]]
                m[i, pick] = True
    return m


@dataclass(frozen=True)
class PatternReport:
    """What a sparse pattern keeps and what it loses against full attention (same q, k, v).

    mask:          (n, n) the pattern (True = score computed)
    weights:       (n, n) softmax over the pattern only (0 where not computed)
    full_weights:  (n, n) exact attention (causal if the report is causal)
    n_computed:    scores the pattern computes
    n_full:        scores full attention computes (n² or n(n+1)/2 when causal)
    n_pairs:       n_q·n_k, all query-key pairs (the denominator of `density`)
    missed_mass:   per query, the full-attention weight that falls outside the pattern, averaged
    max_error:     largest |output_pattern - output_full| over all entries
    """

    mask: torch.Tensor
    weights: torch.Tensor
    full_weights: torch.Tensor
    n_computed: int
    n_full: int
    n_pairs: int
    missed_mass: float
    max_error: float

    @property
    def density(self) -> float:
        """Fraction of the n_q·n_k query-key pairs whose score the pattern computes."""
        return self.n_computed / self.n_pairs

    @property
    def full_density(self) -> float:
        """The same for full (causal) attention: 1, or (n + 1) / (2n) when causal."""
        return self.n_full / self.n_pairs

    def summary(self) -> str:
        return (f"computes {self.n_computed} scores, density {self.density:.3f} (full attention: {self.n_full}, "
                f"density {self.full_density:.3f}); full attention's weight outside the pattern: "
                f"{self.missed_mass:.3f} per query; max output error: {self.max_error:.3f}")


def pattern_report(q, k, v, mask, *, causal: bool = True) -> PatternReport:
    """Compare attention restricted to `mask` with full (causal) attention on the same q, k, v."""
    qt, kt, vt = _qkv(q, k, v)
    n_q, n_k = qt.shape[0], kt.shape[0]
    m = torch.as_tensor(mask)
    if m.dtype != torch.bool or tuple(m.shape) != (n_q, n_k):
        raise AttentionInputError(f"mask must be a bool tensor of shape (n_q={n_q}, n_k={n_k}), "
                                  f"got {m.dtype} of shape {tuple(m.shape)}")
    full = attention(qt, kt, vt, causal=causal)
    sparse = attention(qt, kt, vt, mask=m, causal=causal)
    allowed = causal_mask(n_q, n_k) if causal else torch.ones(n_q, n_k, dtype=torch.bool)
    kept = m & allowed
    missed = (full.weights * ~kept).sum(dim=-1)                                    # (n_q,)
    return PatternReport(mask=kept, weights=sparse.weights, full_weights=full.weights,
                         n_computed=int(kept.sum()), n_full=int(allowed.sum()), n_pairs=n_q * n_k,
                         missed_mass=float(missed.mean()),
                         max_error=float((sparse.output - full.output).abs().max()))


def receptive_field(mask, n_layers: int) -> torch.Tensor:
    """(n, n) bool: True at [i, j] if information from token j can reach position i through
    n_layers stacked attention layers that each use `mask` (the residual stream keeps a token's
    own information, so what was reachable stays reachable). n_layers = 0 gives the identity.
    """
    m = torch.as_tensor(mask)
    if m.dtype != torch.bool or m.dim() != 2 or m.shape[0] != m.shape[1]:
        raise AttentionInputError(f"mask must be a square bool tensor (n, n), got {m.dtype} of shape {tuple(m.shape)}")
    n_layers = check_int(n_layers, "n_layers", minimum=0)
    step = (m | torch.eye(m.shape[0], dtype=torch.bool)).to(torch.float64)         # (n, n)
    reach = torch.eye(m.shape[0], dtype=torch.float64)                             # (n, n)
    for _ in range(n_layers):
        reach = ((step @ reach) > 0).to(torch.float64)                             # (n, n)
    return reach > 0


def window_entries(n: int, window: int, *, causal: bool = True) -> int:
    """Number of scores a sliding window computes: the True entries of masks.window(n, window).

    Causal: query i sees min(i + 1, window) keys. Not causal: min(i, window - 1) on the left,
    min(n - 1 - i, window - 1) on the right, and itself.
    """
    n = check_int(n, "n", minimum=1)
    window = check_int(window, "window", minimum=1)
    w = min(window, n)
    causal_count = w * n - w * (w - 1) // 2
    return causal_count if causal else 2 * causal_count - n


def density(mask) -> float:
    """The density of a pattern: the fraction of the n_q·n_k query-key pairs whose score it computes.

    The one definition used throughout chapter 9: full attention has density 1, causal attention
    (n + 1) / (2n), a causal window of w about w / n.
    """
    m = torch.as_tensor(mask)
    if m.dtype != torch.bool or m.dim() != 2 or m.numel() == 0:
        raise AttentionInputError(f"mask must be a bool tensor (n_q, n_k), got {m.dtype} of shape {tuple(m.shape)}")
    return float(m.sum()) / m.numel()


# --- random features (Performer, FAVOR+) ------------------------------------------------------

def positive_features(x, omega) -> torch.Tensor:
    """φ(x)_r = exp(ξ_r·x − |x|²/2) / √F for x (n, d_k) and the F random directions ξ (`omega`, (F, d_k)): (n, F), all positive.

    E[φ(q)·φ(k)] = exp(q·k) exactly; FAVOR+ applies it to q/d_k^¼ and k/d_k^¼ so that the
    expectation is exp(q·k/√d_k), the unnormalised softmax weight.
    """
    xt = _matrix(x, "x", "n, d_k")
    om = _matrix(omega, "omega", "n_features, d_k")
    if om.shape[1] != xt.shape[1]:
        raise AttentionInputError(f"omega must have shape (n_features, d_k={xt.shape[1]}), got {tuple(om.shape)}")
    proj = xt @ om.T                                                               # (n, n_features)
    return torch.exp(proj - 0.5 * (xt * xt).sum(dim=1, keepdim=True)) / math.sqrt(om.shape[0])


@dataclass(frozen=True)
class RandomFeatureReport:
    """FAVOR+ as an explicit matrix, next to exact softmax attention.

    weights:       (n_q, n_k) approximate weights φ(q_i)·φ(k_j) / Σ_j' φ(q_i)·φ(k_j')
    exact_weights: (n_q, n_k) softmax(q kᵀ/√d_k)
    max_weight_error, max_error: largest absolute error of the weights and of the outputs
    relative_error: |out_approx − out_exact| / |out_exact| (Frobenius norms)
    """

    weights: torch.Tensor
    exact_weights: torch.Tensor
    max_weight_error: float
    max_error: float
    relative_error: float

    def summary(self) -> str:
        return (f"max weight error {self.max_weight_error:.3f}, max output error {self.max_error:.3f}, "
                f"relative output error {self.relative_error:.3f}")


def random_feature_report(q, k, v, n_features: int, *, orthogonal: bool = True, seed: int = 0,
                          causal: bool = False) -> RandomFeatureReport:
    """Approximate softmax attention with n_features positive random features and measure the error."""
    qt, kt, vt = _qkv(q, k, v)
    d_k = qt.shape[1]
    omega = random_projection(d_k, n_features, orthogonal=orthogonal, seed=seed, dtype=torch.float64)   # (F, d_k)
    phi_q = positive_features(qt / d_k ** 0.25, omega)                             # (n_q, n_features)
    phi_k = positive_features(kt / d_k ** 0.25, omega)                             # (n_k, n_features)
    kernel = phi_q @ phi_k.T                                                       # (n_q, n_k) ≈ exp(q·k/√d_k)
    if causal:
        kernel = kernel * causal_mask(qt.shape[0], kt.shape[0])
    weights = kernel / kernel.sum(dim=-1, keepdim=True)                            # (n_q, n_k)
    exact = attention(qt, kt, vt, causal=causal)
    out = weights @ vt                                                             # (n_q, d_v)
    return RandomFeatureReport(
        weights=weights, exact_weights=exact.weights,
        max_weight_error=float((weights - exact.weights).abs().max()),
        max_error=float((out - exact.output).abs().max()),
        relative_error=float((out - exact.output).norm() / exact.output.norm()))


# --- linear attention -------------------------------------------------------------------------

def linear_attention_weights(q, k, *, feature_map: str = "elu", causal: bool = True) -> torch.Tensor:
    """(n_q, n_k) the attention matrix that kernelised linear attention implies but never builds:
    w_ij = φ(q_i)·φ(k_j) / Σ_j' φ(q_i)·φ(k_j') over the keys j' the query may see.
    """
    check_choice(feature_map, "feature_map", sorted(FEATURE_MAPS))
    qt, kt, _ = _qkv(q, k)
    phi = FEATURE_MAPS[feature_map]
    kernel = phi(qt) @ phi(kt).T                                                   # (n_q, n_k)
    if causal:
        kernel = kernel * causal_mask(qt.shape[0], kt.shape[0])
    total = kernel.sum(dim=-1, keepdim=True)                                       # (n_q, 1)
    return kernel / torch.where(total > 0, total, torch.ones_like(total))


@dataclass(frozen=True)
class RetrievalReport:
    """How well attention fetches one stored value when the query matches exactly one key.

    Each of the n_keys keys serves once as the query (scaled by `sharpness`); the right answer is
    that key's own value. *_weight: the weight on the right key, averaged over the queries (1 is
    perfect retrieval, 1/n_keys is a uniform average); *_error: |output - right value| / |right
    value|, averaged. No mask: every key may be fetched.
    """

    n_keys: int
    sharpness: float
    softmax_weight: float
    linear_weight: float
    softmax_error: float
    linear_error: float


def retrieval_report(n_keys: int, *, d_k: int = 16, sharpness: float = 1.0, feature_map: str = "elu",
                     seed: int = 0) -> RetrievalReport:
    """Associative recall in one attention layer: softmax attention against linear attention.

    Keys are random directions of length √d_k, so a query equal to key i scores q·k_i/√d_k = √d_k
    on its own key and about N(0, 1) on the others; `sharpness` multiplies every query (a larger
    weight matrix W_Q would do the same). Softmax turns that margin into a weight near 1 on the
    right key; elu + 1 features grow only linearly, so linear attention's weights stay flat and
    its output is close to the average of all values.
    """
    n_keys = _check_n(n_keys, "n_keys")
    d_k = check_int(d_k, "d_k", minimum=1)
    sharpness = check_positive(sharpness, "sharpness", meaning="factor applied to every query")
    check_choice(feature_map, "feature_map", sorted(FEATURE_MAPS))
    g = torch.Generator().manual_seed(seed)
    k = torch.randn(n_keys, d_k, generator=g, dtype=torch.float64)                 # (n_keys, d_k)
    k = k / k.norm(dim=1, keepdim=True) * math.sqrt(d_k)                           # (n_keys, d_k), length √d_k
    v = torch.randn(n_keys, d_k, generator=g, dtype=torch.float64)                 # (n_keys, d_v)
    q = sharpness * k                                                              # (n_keys, d_k): query i looks for key i
    soft = attention(q, k, v).weights                                              # (n_keys, n_keys)
    lin = linear_attention_weights(q, k, feature_map=feature_map, causal=False)     # (n_keys, n_keys)

    def error(w):
        return float(((w @ v - v).norm(dim=1) / v.norm(dim=1)).mean())

    return RetrievalReport(n_keys, sharpness, float(soft.diagonal().mean()), float(lin.diagonal().mean()),
                           error(soft), error(lin))


def tile_plan(n: int, block_size: int, *, causal: bool = True, query_block_size: int | None = None) -> torch.Tensor:
    """(query tiles, key blocks) int64: what `selfattn.efficient.tiled_attention` does with each tile.

    0: skipped (a causal mask hides every key of the block from every query of the tile),
    1: computed with a mask (the block crosses the diagonal), 2: computed in full. The rule is
    tiled_attention's: a query tile i0..i1-1 visits key blocks that start before i1, and masks a
    block whose last key lies after the tile's first query.
    """
    n = check_int(n, "n", minimum=1)
    block_size = check_int(block_size, "block_size", minimum=1)
    tile = block_size if query_block_size is None else check_int(query_block_size, "query_block_size", minimum=1)
    i0 = torch.arange(0, n, tile).unsqueeze(1)                                     # (tiles, 1) first query of each tile
    i1 = torch.clamp(i0 + tile, max=n)                                             # (tiles, 1) one past the last query
    j0 = torch.arange(0, n, block_size).unsqueeze(0)                               # (1, blocks) first key of each block
    j1 = torch.clamp(j0 + block_size, max=n)                                       # (1, blocks)
    if not causal:
        return torch.full((i0.shape[0], j0.shape[1]), 2, dtype=torch.long)
    visited = j0 < i1                                                              # (tiles, blocks)
    masked = visited & (j1 - 1 > i0)                                               # (tiles, blocks)
    return visited.long() + (visited & ~masked).long()


# --- online softmax ---------------------------------------------------------------------------

@dataclass(frozen=True)
class OnlineStep:
    """The state of an online softmax after it has read one more block of keys.

    keys:        (first, last + 1) key positions in this block
    block_max:   largest score in the block
    running_max: m, the largest score seen so far
    rescale:     exp(m_old − m_new), the factor that corrects the earlier sum and output
    running_sum: l = Σ exp(s_j − m) over the keys seen so far
    output:      (d_v,) Σ exp(s_j − m) v_j / l: exact attention over the keys seen so far
    """

    keys: tuple[int, int]
    block_max: float
    running_max: float
    rescale: float
    running_sum: float
    output: torch.Tensor


def online_softmax_trace(scores, values, block_size: int) -> list[OnlineStep]:
    """Read one query's scores (n_k,) and values (n_k, d_v) block by block, as tiled/Flash attention
    does, keeping only a running max, a running sum and a running output. The last step's output
    equals softmax(scores) @ values.
    """
    s = as_tensor(scores, "scores").to(torch.float64)
    vt = as_tensor(values, "values").to(torch.float64)
    if s.dim() != 1 or vt.dim() != 2 or vt.shape[0] != s.shape[0] or s.shape[0] == 0:
        raise AttentionInputError(f"scores must have shape (n_k,) and values (n_k, d_v) with the same n_k, "
                                  f"got {tuple(s.shape)} and {tuple(vt.shape)}")
    check_finite(s, "scores")
    check_finite(vt, "values")
    block_size = check_int(block_size, "block_size", minimum=1)
    m = torch.full((1, 1), -math.inf, dtype=torch.float64)                        # (n_q=1, 1) running max
    l_sum = torch.zeros(1, 1, dtype=torch.float64)                                 # (1, 1) running sum
    acc = torch.zeros(1, vt.shape[1], dtype=torch.float64)                         # (1, d_v) unnormalised output
    steps = []
    for start in range(0, s.shape[0], block_size):
        stop = min(start + block_size, s.shape[0])
        block = s[start:stop].unsqueeze(0)                                         # (1, block)
        m_new, l_sum, acc = online_softmax_step(m, l_sum, acc, block, vt[start:stop])
        rescale = float(torch.exp(m - m_new))                                      # 0 before the first block
        m = m_new
        steps.append(OnlineStep((start, stop), float(block.max()), float(m), rescale, float(l_sum),
                                (acc / l_sum)[0]))
    return steps


def depth_to_full_context(mask, *, causal: bool = True, max_layers: int | None = None) -> int | None:
    """The fewest stacked layers of `mask` after which every query has been reached by every key
    it may see (all keys, or all earlier keys when causal); None if more layers never get there.
    """
    m = torch.as_tensor(mask)
    if m.dtype != torch.bool or m.dim() != 2 or m.shape[0] != m.shape[1]:
        raise AttentionInputError(f"mask must be a square bool tensor (n, n), got {m.dtype} of shape {tuple(m.shape)}")
    n = m.shape[0]
    target = causal_mask(n) if causal else torch.ones(n, n, dtype=torch.bool)    # (n, n)
    limit = n if max_layers is None else check_int(max_layers, "max_layers", minimum=0)
    step = (m | torch.eye(n, dtype=torch.bool)).to(torch.float64)                 # (n, n)
    reach = torch.eye(n, dtype=torch.float64)                                      # (n, n)
    for layers in range(limit + 1):
        if ((reach > 0) | ~target).all():
            return layers
        reach = ((step @ reach) > 0).to(torch.float64)                             # (n, n)
    return None
