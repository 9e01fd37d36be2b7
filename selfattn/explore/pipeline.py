"""Scaled dot-product attention taken apart stage by stage, and the √d_k experiments (chapter 3).

* `attention_stages`: QKᵀ → scale → mask → softmax → ×V, each stage kept with its formula;
* `sentence_stages`: the same for a typed sentence with the hand-designed embeddings;
* `naive_softmax` / `stable_softmax`: the overflow and the max trick, side by side;
* `dot_product_variance`: Var(q·k) measured against d_k, with and without the 1/√d_k;
* `saturation_experiment`: how peaked softmax gets and how small its gradient becomes, measured
  with autograd, as d_k grows, with and without the 1/√d_k;
* `saturation_view`: what the d_k / temperature widget shows for one setting;
* `weighted_sum_terms`: out_i = Σ_j α_ij v_j, one term per key.

Math layer: numpy and torch only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..attention import attention, softmax
from ..embeddings import FEATURES, QK_FEATURES, as_tokens, embed, hand_projections, is_known
from ..errors import AttentionInputError, as_tensor, check_int, check_positive
from ..limits import MAX_TOKENS

MAX_D_K = 1024
#: a row of weights counts as saturated (softmax has become a hard max) when its largest weight exceeds this
SATURATED = 0.99
STAGE_NAMES = ("QKᵀ", "scale", "mask", "softmax", "×V")


# --- softmax, naive and stable -----------------------------------------------------------------

def naive_softmax(x, axis: int = -1) -> np.ndarray:
    """exp(x) / Σ exp(x) exactly as written: overflows to inf (and then NaN) for large x.

    Kept only to show the failure; use `stable_softmax` or selfattn.softmax. Works in the
    dtype it is given (float32 overflows for x above about 88.7, float64 above about 709.8).
    """
    a = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
    if a.dtype.kind not in "f":
        a = a.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a)
        return e / e.sum(axis=axis, keepdims=True)


def stable_softmax(x, axis: int = -1) -> np.ndarray:
    """exp(x - max x) / Σ exp(x - max x): the same numbers as the naive formula, without overflow."""
    a = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
    if a.dtype.kind not in "f":
        a = a.astype(np.float64)
    shifted = a - a.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def temperature_softmax(scores, temperature: float = 1.0) -> torch.Tensor:
    """softmax(scores / temperature) along the last axis; temperature > 0."""
    t = as_tensor(scores, "scores")
    temperature = check_positive(temperature, "temperature")
    return softmax(t / temperature, dim=-1)


def temperature_rows(scores, temperatures) -> dict[float, torch.Tensor]:
    """{T: softmax(scores / T)} for each temperature T: what the temperature figure draws."""
    return {float(t): temperature_softmax(scores, t) for t in temperatures}


def saturated_rows(weights) -> torch.Tensor:
    """(..., n_q) True where a row's largest weight exceeds SATURATED (softmax has become a hard max)."""
    return as_tensor(weights, "weights").amax(dim=-1) > SATURATED


def entropy_bits(weights) -> torch.Tensor:
    """Entropy of each row of weights, in bits: 0 for one-hot, log2(n_k) for uniform."""
    w = as_tensor(weights, "weights").to(torch.float64)
    terms = torch.where(w > 0, -w * torch.log2(torch.where(w > 0, w, torch.ones_like(w))), torch.zeros_like(w))
    return terms.sum(dim=-1)                                          # (..., n_q)


def softmax_jacobian_norm(weights) -> torch.Tensor:
    """Frobenius norm of the softmax Jacobian diag(p) - p pᵀ for each row p of weights.

    ‖diag(p) - p pᵀ‖²_F = Σ_j p_j² (1 - p_j)² + Σ_{j≠l} p_j² p_l²  =  Σ_j p_j² - 2 Σ_j p_j³ + (Σ_j p_j²)².
    It is 0 for a one-hot row (a saturated softmax passes no gradient back) and largest when the
    weights are spread out.
    """
    p = as_tensor(weights, "weights").to(torch.float64)
    s2 = (p ** 2).sum(dim=-1)                                         # (..., n_q)
    s3 = (p ** 3).sum(dim=-1)                                         # (..., n_q)
    return torch.sqrt(torch.clamp(s2 - 2 * s3 + s2 ** 2, min=0.0))


# --- attention, one stage at a time ------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """One stage of attention: its name, its formula (LaTeX), its matrix and how to read it."""

    name: str
    formula: str                 # LaTeX, without surrounding $ signs
    matrix: torch.Tensor         # (n_q, n_k) for the first four stages, (n_q, d_v) for ×V
    shape: str                   # e.g. "(n_q=6, n_k=6)"
    signed: bool                 # True when the values are unbounded scores (diverging colours)
    blocked: torch.Tensor | None # (n_q, n_k) True where masked, for the mask stage on; None otherwise
    explanation: str

    @property
    def row_sums(self) -> torch.Tensor:
        """(n_q,) the sum of each row (1 for every row of the softmax stage)."""
        return self.matrix.sum(dim=-1)


def attention_stages(q, k, v, *, mask=None, causal: bool = False, scale: float | None = None) -> list[Stage]:
    """The five stages of softmax(QKᵀ·scale + mask) V for q (n_q, d_k), k (n_k, d_k), v (n_k, d_v).

    The last three stages are exactly `selfattn.attention`'s scores, weights and output (the
    same function computes them), so the stepper never disagrees with the book's attention.
    """
    r = attention(q, k, v, mask=mask, causal=causal, scale=scale)
    qt, kt = as_tensor(q, "q"), as_tensor(k, "k")
    if qt.dim() != 2 or kt.dim() != 2:
        raise AttentionInputError(
            f"attention_stages shows one sequence at a time: q must have shape (n_q, d_k) and k (n_k, d_k), "
            f"got q {tuple(qt.shape)} and k {tuple(kt.shape)}")
    scores_t = torch.as_tensor(r.scores)
    dtype = scores_t.dtype
    d_k = qt.shape[-1]
    s = 1.0 / math.sqrt(d_k) if scale is None else float(scale)
    raw = qt.to(dtype) @ kt.to(dtype).transpose(-2, -1)               # (n_q, n_k)
    scaled = raw * s                                                  # (n_q, n_k)
    blocked = ~torch.isfinite(scores_t)                               # (n_q, n_k)
    weights = torch.as_tensor(r.weights)                              # (n_q, n_k)
    output = torch.as_tensor(r.output)                                # (n_q, d_v)
    n_q, n_k = raw.shape
    d_v = output.shape[-1]
    sq = f"(n_q={n_q}, n_k={n_k})"
    scale_tex = r"\frac{1}{\sqrt{d_k}}" if scale is None else f"{s:.3g}"
    any_blocked = bool(blocked.any())
    return [
        Stage("QKᵀ", r"(Q K^\top)_{ij} = q_i \cdot k_j", raw, sq, True, None,
              "Every query is compared with every key, its own included: a raw dot product per pair."),
        Stage("scale", rf"S = Q K^\top \cdot {scale_tex}" + (rf",\quad d_k = {d_k}" if scale is None else ""),
              scaled, sq, True, None,
              "The same scores divided by √d_k, so their spread does not grow with the width of q and k."),
        Stage("mask", r"S'_{ij} = S_{ij}\ \text{if allowed, else}\ -\infty", scores_t, sq, True,
              blocked if any_blocked else None,
              "Blocked pairs are set to −∞, so softmax gives them weight 0." if any_blocked else
              "No mask: every pair stays allowed (this stage changes nothing)."),
        Stage("softmax", r"\alpha_{ij} = \frac{e^{S'_{ij}}}{\sum_{l} e^{S'_{il}}}", weights, sq, False,
              blocked if any_blocked else None,
              "Each row becomes weights: positive, and summing to 1 over the keys."),
        Stage("×V", r"\mathrm{out}_i = \sum_j \alpha_{ij}\, v_j,\quad \mathrm{out} = \alpha V", output,
              f"(n_q={n_q}, d_v={d_v})", bool((output < 0).any()), None,
              "Each output row is the weighted average of the value rows, with that query's weights."),
    ]


@dataclass(frozen=True)
class SentenceStages:
    """A sentence run through attention with the hand-designed embeddings and projections."""

    tokens: list[str]
    unknown: list[str]
    x: torch.Tensor              # (n, d_model)
    q: torch.Tensor              # (n, d_k)
    k: torch.Tensor              # (n, d_k)
    v: torch.Tensor              # (n, d_v)
    stages: list[Stage]
    value_labels: tuple[str, ...] = field(default=FEATURES)
    qk_labels: tuple[str, ...] = field(default=QK_FEATURES)

    @property
    def weights(self) -> torch.Tensor:
        return self.stages[3].matrix

    @property
    def output(self) -> torch.Tensor:
        return self.stages[4].matrix


def sentence_stages(text_or_tokens, *, causal: bool = False, max_tokens: int = MAX_TOKENS) -> SentenceStages:
    """Tokenise, embed (hand-designed vectors), project (hand-designed W_Q, W_K, W_V) and attend."""
    tokens = as_tokens(text_or_tokens, max_tokens=max_tokens)
    w_q, w_k, w_v = hand_projections()
    x = embed(tokens)                                                 # (n, d_model)
    q = x @ w_q                                                       # (n, d_k)
    k = x @ w_k                                                       # (n, d_k)
    v = x @ w_v                                                       # (n, d_v)
    stages = attention_stages(q, k, v, causal=causal)
    return SentenceStages(tokens, [t for t in tokens if not is_known(t)], x, q, k, v, stages)


def weighted_sum_terms(weights, v, query_index: int) -> torch.Tensor:
    """(n_k, d_v) terms α_ij v_j of out_i = Σ_j α_ij v_j for one query i; they sum to out_i."""
    w = as_tensor(weights, "weights")
    vt = as_tensor(v, "v")
    if w.dim() != 2 or vt.dim() != 2 or w.shape[1] != vt.shape[0]:
        raise AttentionInputError(
            f"weights must have shape (n_q, n_k) and v shape (n_k, d_v) with the same n_k, got weights "
            f"{tuple(w.shape)} and v {tuple(vt.shape)}")
    query_index = check_int(query_index, "query_index", minimum=0, maximum=w.shape[0] - 1, meaning="a row of weights")
    dtype = torch.promote_types(w.dtype, vt.dtype)
    return w[query_index].to(dtype).unsqueeze(1) * vt.to(dtype)  # (n_k, d_v)


# --- why √d_k: measured ------------------------------------------------------------------------

def _d_ks(d_ks) -> list[int]:
    out = [check_int(d, "each of d_ks", minimum=1, maximum=MAX_D_K) for d in np.asarray(d_ks).reshape(-1).tolist()]
    if not out:
        raise AttentionInputError(f"d_ks must be a non-empty list of integers in 1..{MAX_D_K}, got {list(out)}")
    return out


@dataclass(frozen=True)
class VarianceResult:
    """Measured Var(q·k) and Var(q·k/√d_k) for q, k with independent standard-normal entries."""

    d_ks: np.ndarray
    var_raw: np.ndarray          # ≈ d_k
    var_scaled: np.ndarray       # ≈ 1
    n_samples: int


def dot_product_variance(d_ks, *, n_samples: int = 20000, seed: int = 0) -> VarianceResult:
    """Draw n_samples pairs (q, k) with N(0, 1) entries for each d_k; measure the variance of q·k.

    Theory: q·k is a sum of d_k independent products of mean 0 and variance 1, so its variance
    is d_k, and dividing by √d_k brings it back to 1. This function measures instead of assuming.
    """
    ds = _d_ks(d_ks)
    g = torch.Generator().manual_seed(seed)
    var_raw, var_scaled = [], []
    for d_k in ds:
        q = torch.randn(n_samples, d_k, generator=g, dtype=torch.float64)   # (n_samples, d_k)
        k = torch.randn(n_samples, d_k, generator=g, dtype=torch.float64)   # (n_samples, d_k)
        dots = (q * k).sum(dim=1)                                           # (n_samples,)
        var_raw.append(float(dots.var()))
        var_scaled.append(float((dots / math.sqrt(d_k)).var()))
    return VarianceResult(np.array(ds), np.array(var_raw), np.array(var_scaled), n_samples)


@dataclass(frozen=True)
class SaturationResult:
    """Per d_k, with and without 1/√d_k: how peaked the weights are and how much gradient passes.

    max_weight:   mean over rows of the largest weight (1/n_k = uniform, 1 = one-hot)
    entropy:      mean entropy of a row of weights, in bits (log2 n_k = uniform, 0 = one-hot)
    grad_scores:  median over rows of ‖∂L/∂logits‖, measured with autograd (logits = what enters softmax)
    grad_query:   median over rows of ‖∂L/∂q‖, measured with autograd
                  (medians describe the typical row; a mean is dominated by the few rows that have
                  not saturated yet)
    saturated:    fraction of rows whose largest weight exceeds SATURATED = 0.99 (softmax has become a hard max)
    """

    d_ks: np.ndarray
    n_k: int
    max_weight: dict[str, np.ndarray]
    entropy: dict[str, np.ndarray]
    grad_scores: dict[str, np.ndarray]
    grad_query: dict[str, np.ndarray]
    saturated: dict[str, np.ndarray]


def saturation_experiment(d_ks, *, n_k: int = 16, n_samples: int = 2000, seed: int = 0) -> SaturationResult:
    """For each d_k, draw n_samples queries and n_k keys per query (N(0, 1) entries), attend with
    and without the 1/√d_k, and measure the weights and the gradients.

    The loss is L = Σ_j α_j g_j with a random upstream gradient g ~ N(0, 1) per row, standing in
    for whatever the rest of a network does with the weights. Gradients come from autograd.
    """
    ds = _d_ks(d_ks)
    n_k = check_int(n_k, "n_k", minimum=2, meaning="number of keys per query")
    g = torch.Generator().manual_seed(seed)
    out = {name: {"raw": [], "scaled": []} for name in ("max_weight", "entropy", "grad_scores", "grad_query", "saturated")}
    for d_k in ds:
        q0 = torch.randn(n_samples, 1, d_k, generator=g, dtype=torch.float64)      # (n_samples, 1, d_k)
        k = torch.randn(n_samples, n_k, d_k, generator=g, dtype=torch.float64)     # (n_samples, n_k, d_k)
        upstream = torch.randn(n_samples, 1, n_k, generator=g, dtype=torch.float64)  # (n_samples, 1, n_k)
        for kind, s in (("raw", 1.0), ("scaled", 1.0 / math.sqrt(d_k))):
            q = q0.clone().requires_grad_(True)
            logits = (q @ k.transpose(1, 2)) * s                      # (n_samples, 1, n_k)
            logits.retain_grad()
            weights = softmax(logits, dim=-1)                         # (n_samples, 1, n_k)
            loss = (weights * upstream).sum()
            loss.backward()
            w = weights.detach()
            out["max_weight"][kind].append(float(w.amax(dim=-1).mean()))
            out["entropy"][kind].append(float(entropy_bits(w).mean()))
            out["grad_scores"][kind].append(float(logits.grad.norm(dim=-1).median()))
            out["grad_query"][kind].append(float(q.grad.norm(dim=-1).median()))
            out["saturated"][kind].append(float(saturated_rows(w).double().mean()))
    conv = {name: {kind: np.array(vals) for kind, vals in d.items()} for name, d in out.items()}
    return SaturationResult(np.array(ds), n_k, conv["max_weight"], conv["entropy"], conv["grad_scores"],
                            conv["grad_query"], conv["saturated"])


@dataclass(frozen=True)
class SaturationView:
    """What the d_k / temperature widget shows for one setting."""

    d_k: int
    temperature: float
    scaled: bool
    divisor: float               # the number the raw scores are divided by: temperature (·√d_k if scaled)
    raw_scores: torch.Tensor     # (n, n) q_i · k_j
    logits: torch.Tensor         # (n, n) raw_scores / divisor
    weights: torch.Tensor        # (n, n)
    max_weight: torch.Tensor     # (n,)
    entropy: torch.Tensor        # (n,) bits
    grad_norm: torch.Tensor      # (n,) ‖softmax Jacobian‖_F per row
    logit_std: float
    n_saturated: int             # rows whose largest weight exceeds SATURATED

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def mean_max_weight(self) -> float:
        """The largest weight of a row, averaged over the rows (1/n uniform, 1 one-hot)."""
        return float(self.max_weight.mean())

    @property
    def mean_entropy(self) -> float:
        """The entropy of a row in bits, averaged over the rows."""
        return float(self.entropy.mean())

    @property
    def median_grad_norm(self) -> float:
        """The median over the rows of ‖softmax Jacobian‖_F (0: a saturated row passes no gradient)."""
        return float(self.grad_norm.median())

    @property
    def uniform_weight(self) -> float:
        """1/n: the weight of every key in a uniform row."""
        return 1.0 / self.n

    @property
    def uniform_entropy(self) -> float:
        """log2(n): the entropy of a uniform row, in bits (the most spread out a row can be)."""
        return math.log2(self.n)


_POOL: dict[tuple[int, int], torch.Tensor] = {}


def _pool(n: int, seed: int) -> torch.Tensor:
    """Running dot products of fixed random queries and keys of width MAX_D_K: entry [d, i, j] is
    q_i · k_j over the first d + 1 dimensions. A d_k view reads one slice, so moving the d_k slider
    adds dimensions instead of redrawing everything, and costs no matrix product at all."""
    key = (n, seed)
    if key not in _POOL:
        g = torch.Generator().manual_seed(seed)
        q = torch.randn(n, MAX_D_K, generator=g, dtype=torch.float64)                  # (n, MAX_D_K)
        k = torch.randn(n, MAX_D_K, generator=g, dtype=torch.float64)                  # (n, MAX_D_K)
        products = q.T.unsqueeze(2) * k.T.unsqueeze(1)                                 # (MAX_D_K, n, n)
        _POOL[key] = products.cumsum(dim=0)                                            # (MAX_D_K, n, n)
    return _POOL[key]


def saturation_view(d_k: int, temperature: float = 1.0, *, scaled: bool = True, n: int = 8, seed: int = 0) -> SaturationView:
    """Random queries and keys (N(0, 1) entries, fixed seed) of width d_k; weights = softmax(QKᵀ / divisor)
    with divisor = temperature · √d_k when scaled, else temperature."""
    d_k = check_int(d_k, "d_k", minimum=1, maximum=MAX_D_K, meaning="width of queries and keys")
    n = check_int(n, "n", minimum=1, maximum=MAX_TOKENS, meaning="number of tokens")
    temperature = check_positive(temperature, "temperature")
    raw = _pool(int(n), seed)[int(d_k) - 1]                           # (n, n) q_i · k_j over d_k dimensions
    divisor = float(temperature) * (math.sqrt(d_k) if scaled else 1.0)
    logits = raw / divisor                                            # (n, n)
    weights = softmax(logits, dim=-1)                                 # (n, n)
    return SaturationView(int(d_k), float(temperature), bool(scaled), divisor, raw, logits, weights,
                          weights.amax(dim=-1), entropy_bits(weights), softmax_jacobian_norm(weights),
                          float(logits.std()) if logits.numel() > 1 else 0.0, int(saturated_rows(weights).sum()))

