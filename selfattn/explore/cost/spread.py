"""Attention spread thin: how much a softmax row can give one key as the number of keys n grows (chapter 8).

    expected_needle_weight  weight on one relevant key with score margin δ among n - 1 random distractors
    margin_needed           the margin δ that keeps a given share: grows like log n
    spread_thin             measured largest weight, entropy (in bits) and relevant-key weight per n
    needle_rows             one such row per n, for a picture
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ...errors import AttentionInputError, check_int, check_positive

LN2 = math.log(2.0)


def expected_needle_weight(n, margin: float, sigma: float = 1.0):
    """Approximate weight on one relevant key scoring `margin` (δ) among n - 1 distractors with N(0, σ²) scores.

    softmax gives it e^δ / (e^δ + Σ_j e^{z_j}); the distractors' sum is close to its mean
    (n - 1)·e^{σ²/2}, so the weight is about e^δ / (e^δ + (n - 1)·e^{σ²/2}): it falls like 1/n.
    """
    n = np.asarray(n, dtype=float)
    if (n < 1).any():
        raise AttentionInputError("n must be >= 1")
    return 1.0 / (1.0 + (n - 1) * np.exp(sigma ** 2 / 2 - margin))


def margin_needed(n, weight: float = 0.5, sigma: float = 1.0):
    """The score margin δ at which the relevant key keeps `weight` of the attention among n keys.

    Solving weight = e^δ / (e^δ + (n-1)·e^{σ²/2}) for δ gives δ = ln(weight/(1-weight)) + ln(n-1) + σ²/2:
    to stay equally focused, the margin must grow like log n.
    """
    n = np.asarray(n, dtype=float)
    if not 0 < weight < 1:
        raise AttentionInputError(f"weight must lie strictly between 0 and 1, got {weight!r}")
    if (n < 2).any():
        raise AttentionInputError("n must be >= 2 (one relevant key and at least one distractor)")
    return np.log(weight / (1 - weight)) + np.log(n - 1) + sigma ** 2 / 2


def entropy_bits(weights: torch.Tensor) -> torch.Tensor:
    """H = -Σ_j a_j log₂ a_j over the last axis, in bits (0 for one-hot, log₂ n for uniform)."""
    w = weights.double()
    return -(w * torch.log2(w.clamp_min(1e-300))).sum(dim=-1)


def limit_entropy_bits(n, sigma: float = 1.0):
    """The entropy a row of n N(0, σ²) scores approaches for large n: log₂ n - σ²/(2 ln 2) bits."""
    return np.log2(np.asarray(n, dtype=float)) - sigma ** 2 / (2 * LN2)


@dataclass
class SpreadThin:
    """Statistics of softmax rows over n keys, averaged over rows (one entry per n)."""

    ns: np.ndarray
    max_weight: np.ndarray        # the largest weight in a row of random scores
    entropy: np.ndarray           # entropy of that row, in bits (log₂ n would be perfectly uniform)
    needle_weight: np.ndarray     # weight on the one relevant key (nan when margin is None)
    expected_needle: np.ndarray   # expected_needle_weight at the same n
    limit_entropy: np.ndarray     # limit_entropy_bits at the same n
    uniform_weight: np.ndarray    # 1/n, every key's weight in a uniform row
    uniform_entropy: np.ndarray   # log₂ n, the entropy of a uniform row
    margin: float | None
    sigma: float


def spread_thin(ns: Sequence[int], *, margin: float | None = 3.0, sigma: float = 1.0, n_rows: int = 64,
                seed: int = 0) -> SpreadThin:
    """Softmax over n scores, for each n: how concentrated is the attention?

    Random rows: n scores drawn from N(0, σ²) (random queries and keys, scaled by 1/√d_k, give
    scores of about unit variance). The largest weight shrinks and the entropy approaches
    log₂ n - σ²/(2 ln 2) bits: the row drifts towards uniform.
    Needle rows: key 0 is relevant and scores `margin`; the other n - 1 are random distractors.
    Its weight falls like 1/n (see expected_needle_weight).
    """
    ns = np.array([check_int(n, "n", minimum=1) for n in ns])
    sigma = check_positive(sigma, "sigma", meaning="spread of the scores")
    n_rows = check_int(n_rows, "n_rows", minimum=1)
    gen = torch.Generator().manual_seed(seed)
    max_w, ent, needle = [], [], []
    for n in ns:
        scores = sigma * torch.randn(n_rows, int(n), generator=gen, dtype=torch.float64)  # (n_rows, n)
        w = torch.softmax(scores, dim=-1)                                                  # (n_rows, n)
        max_w.append(float(w.max(dim=-1).values.mean()))
        ent.append(float(entropy_bits(w).mean()))
        if margin is None:
            needle.append(float("nan"))
        else:
            scores[:, 0] = margin
            needle.append(float(torch.softmax(scores, dim=-1)[:, 0].mean()))
    expected = (np.full(len(ns), np.nan) if margin is None else expected_needle_weight(ns, margin, sigma))
    return SpreadThin(ns, np.array(max_w), np.array(ent), np.array(needle), expected,
                      limit_entropy_bits(ns, sigma), 1.0 / ns, np.log2(ns.astype(float)), margin, float(sigma))


def needle_rows(ns: Sequence[int], *, margin: float = 3.0, sigma: float = 1.0, seed: int = 0) -> np.ndarray:
    """(len(ns), max(ns)) array: row r is a softmax over ns[r] keys, key 0 relevant (score `margin`),
    the others distractors with N(0, σ²) scores; positions past ns[r] are nan (no such key).

    The distractor scores are shared between rows (row r uses the first ns[r] - 1 of them), so
    the rows differ only in how many distractors there are.
    """
    ns = [check_int(n, "n", minimum=1) for n in ns]
    if not ns:
        raise AttentionInputError("ns must list at least one n")
    width = max(ns)
    gen = torch.Generator().manual_seed(seed)
    distractors = sigma * torch.randn(width - 1, generator=gen, dtype=torch.float64)   # (width - 1,)
    rows = np.full((len(ns), width), np.nan)
    for r, n in enumerate(ns):
        scores = torch.cat([torch.tensor([float(margin)], dtype=torch.float64), distractors[:n - 1]])  # (n,)
        rows[r, :n] = torch.softmax(scores, dim=0).numpy()
    return rows
