"""The small computations behind chapter 9's figures and widgets (efficient attention).

Everything here works on one short sequence (n up to a few hundred) and builds dense (n, n)
pictures on purpose: these functions *show* which scores an efficient method computes, or what
attention matrix it implies. They are not the efficient methods themselves; those live in
selfattn.efficient and never build an n×n matrix.

- `demo_inputs`: seeded q, k, v whose scores can be made to favour nearby tokens (locality).
- `local_global_random_mask`: the token-level pattern of Longformer/BigBird (window + global + random).
- `pattern_report`: what a pattern keeps and misses compared with full attention.
- `receptive_field`: which tokens can reach which after L stacked layers of a pattern.
- `window_entries`: how many scores a sliding window computes.
- `draw_random_features`, `positive_features`, `random_feature_report`: FAVOR+ (Performer) as an
  explicit approximate attention matrix, and its error.
- `linear_attention_weights`: the attention matrix implied by kernelised linear attention.
- `online_softmax_trace`: the running max, running sum and output of an online softmax, block by block.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..attention import attention
from ..efficient import random_projection
from ..errors import AttentionInputError, as_tensor, check_finite
from ..masks import _positive_int, causal as causal_mask, window as window_mask

MAX_DEMO_N = 512          # these functions build (n, n) pictures; keep them small


def _check_n(n, name: str = "n") -> int:
    n = _positive_int(n, name)
    if n > MAX_DEMO_N:
        raise AttentionInputError(f"{name}={n} is too large for a dense picture; use at most {MAX_DEMO_N} "
                                  "(the efficient methods in selfattn.efficient handle long sequences)")
    return n


def _check_nonneg_int(value, name: str) -> int:
    return _positive_int(value, name, minimum=0)


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
    d_k = _positive_int(d_k, "d_k")
    d_v = d_k if d_v is None else _positive_int(d_v, "d_v")
    if not isinstance(locality, (int, float)) or isinstance(locality, bool) or not math.isfinite(locality) or locality < 0:
        raise AttentionInputError(f"locality must be a number >= 0, got {locality!r}")
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale <= 0:
        raise AttentionInputError(f"scale must be a positive number, got {scale!r}")
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
    window = _positive_int(window, "window")
    n_global = _check_nonneg_int(n_global, "n_global")
    n_random = _check_nonneg_int(n_random, "n_random")
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
    missed_mass:   per query, the full-attention weight that falls outside the pattern, averaged
    max_error:     largest |output_pattern - output_full| over all entries
    """

    mask: torch.Tensor
    weights: torch.Tensor
    full_weights: torch.Tensor
    n_computed: int
    n_full: int
    missed_mass: float
    max_error: float

    @property
    def fraction(self) -> float:
        """Share of full attention's scores that the pattern computes."""
        return self.n_computed / self.n_full

    def summary(self) -> str:
        return (f"computes {self.n_computed} of {self.n_full} scores ({100 * self.fraction:.1f}%); "
                f"full attention's weight outside the pattern: {self.missed_mass:.3f} per query; "
                f"max output error: {self.max_error:.3f}")


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
                         n_computed=int(kept.sum()), n_full=int(allowed.sum()),
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
    n_layers = _check_nonneg_int(n_layers, "n_layers")
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
    n = _positive_int(n, "n")
    window = _positive_int(window, "window")
    w = min(window, n)
    causal_count = w * n - w * (w - 1) // 2
    return causal_count if causal else 2 * causal_count - n


# --- random features (Performer, FAVOR+) ------------------------------------------------------

def draw_random_features(d_k: int, n_features: int, *, orthogonal: bool = True, seed: int = 0) -> torch.Tensor:
    """(n_features, d_k) float64 Gaussian directions ω_r for positive random features.

    The draw is the one `selfattn.efficient.random_projection` makes for the same seed (same
    random stream, same construction), done with one batched QR so that pictures with many
    features stay quick. orthogonal=True draws them in blocks of d_k mutually orthogonal
    directions, each rescaled to the length of a Gaussian vector (Choromanski et al., 2021):
    same expectation, lower variance.
    """
    d_k = _positive_int(d_k, "d_k")
    n_features = _positive_int(n_features, "n_features")
    if not orthogonal:
        return random_projection(d_k, n_features, orthogonal=False, seed=seed, dtype=torch.float64)
    g = torch.Generator().manual_seed(int(seed))
    n_blocks = -(-n_features // d_k)
    gauss = torch.randn(n_blocks, d_k, d_k, generator=g, dtype=torch.float64)     # (n_blocks, d_k, d_k)
    q_mat, r_mat = torch.linalg.qr(gauss)
    q_mat = q_mat * torch.sign(torch.diagonal(r_mat, dim1=-2, dim2=-1))[:, None, :]  # uniformly random rotations
    rows = q_mat.transpose(-2, -1).reshape(n_blocks * d_k, d_k)[:n_features]       # (n_features, d_k) orthonormal per block
    lengths = torch.randn(n_features, d_k, generator=g, dtype=torch.float64).norm(dim=1)  # (n_features,)
    return rows * lengths[:, None]                                                 # (n_features, d_k)


def positive_features(x, omega) -> torch.Tensor:
    """φ(x)_r = exp(ω_r·x − |x|²/2) / √m for x (n, d_k) and ω (m, d_k): (n, m), all positive.

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
    omega = draw_random_features(d_k, n_features, orthogonal=orthogonal, seed=seed)   # (n_features, d_k)
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

FEATURE_MAPS = {
    "elu": lambda x: torch.nn.functional.elu(x) + 1.0,      # Katharopoulos et al. (2020)
    "relu": lambda x: torch.relu(x),
    "exp": lambda x: torch.exp(x),
}


def linear_attention_weights(q, k, *, feature_map: str = "elu", causal: bool = True) -> torch.Tensor:
    """(n_q, n_k) the attention matrix that kernelised linear attention implies but never builds:
    w_ij = φ(q_i)·φ(k_j) / Σ_j' φ(q_i)·φ(k_j') over the keys j' the query may see.
    """
    if feature_map not in FEATURE_MAPS:
        raise AttentionInputError(f"feature_map must be one of {sorted(FEATURE_MAPS)}, got {feature_map!r}")
    qt, kt, _ = _qkv(q, k)
    phi = FEATURE_MAPS[feature_map]
    kernel = phi(qt) @ phi(kt).T                                                   # (n_q, n_k)
    if causal:
        kernel = kernel * causal_mask(qt.shape[0], kt.shape[0])
    total = kernel.sum(dim=-1, keepdim=True)                                       # (n_q, 1)
    return kernel / torch.where(total > 0, total, torch.ones_like(total))


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
    block_size = _positive_int(block_size, "block_size")
    m, l_sum = -math.inf, 0.0
    acc = torch.zeros(vt.shape[1], dtype=torch.float64)                            # (d_v,)
    steps = []
    for start in range(0, s.shape[0], block_size):
        stop = min(start + block_size, s.shape[0])
        block = s[start:stop]                                                      # (block,)
        block_max = float(block.max())
        new_m = max(m, block_max)
        rescale = math.exp(m - new_m) if math.isfinite(m) else 0.0
        p = torch.exp(block - new_m)                                               # (block,)
        l_sum = l_sum * rescale + float(p.sum())
        acc = acc * rescale + p @ vt[start:stop]                                   # (d_v,)
        m = new_m
        steps.append(OnlineStep((start, stop), block_max, m, rescale, l_sum, acc / l_sum))
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
    limit = n if max_layers is None else _check_nonneg_int(max_layers, "max_layers")
    step = (m | torch.eye(n, dtype=torch.bool)).to(torch.float64)                 # (n, n)
    reach = torch.eye(n, dtype=torch.float64)                                      # (n, n)
    for layers in range(limit + 1):
        if ((reach > 0) | ~target).all():
            return layers
        reach = ((step @ reach) > 0).to(torch.float64)                             # (n, n)
    return None
