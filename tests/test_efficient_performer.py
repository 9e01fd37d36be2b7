"""Performer (FAVOR+): a seeded, reproducible estimate of softmax attention whose error falls as
the number of random features grows, and grows with the scale of the scores."""
import math

import numpy as np
import pytest
import torch

from selfattn import attention
from selfattn.efficient import PerformerError, performer_attention, performer_error, random_projection

SEEDS = range(4)


def qkv(n=48, *, d_k=16, d_v=8, size=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(2, n, d_k, generator=g, dtype=torch.float64) * size
    k = torch.randn(2, n, d_k, generator=g, dtype=torch.float64) * size
    v = torch.randn(2, n, d_v, generator=g, dtype=torch.float64)
    return q, k, v


def mean_error(n_features, *, size=0.5, orthogonal=True):
    q, k, v = qkv(size=size)
    return float(np.mean([performer_error(q, k, v, n_features, orthogonal=orthogonal, seed=s).relative for s in SEEDS]))


def test_error_falls_as_features_grow():
    errors = [mean_error(m) for m in (8, 64, 512)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < errors[0] / 3                                 # ~1/√m: 64× the features, ~8× smaller error


def test_error_grows_with_the_scale_of_queries_and_keys():
    """The estimate is poor when scores are large: FAVOR+'s variance grows like exp(2|q||k|/√d_k)."""
    assert mean_error(128, size=1.5) > 2 * mean_error(128, size=0.5)


def test_iid_features_also_converge():
    assert mean_error(1024, orthogonal=False) < mean_error(16, orthogonal=False) / 2


def test_same_seed_same_answer_and_different_seed_different_answer():
    q, k, v = qkv(20)
    a = performer_attention(q, k, v, 32, seed=3)
    assert torch.equal(a, performer_attention(q, k, v, 32, seed=3))
    assert not torch.equal(a, performer_attention(q, k, v, 32, seed=4))


def test_kernel_estimate_is_unbiased_on_average():
    """φ(q)·φ(k) averages to exp(q·k): check on one pair with many features."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, generator=g, dtype=torch.float64) * 0.4    # a query and a key
    omega = random_projection(8, 200_000, orthogonal=False, seed=1, dtype=torch.float64)   # (m, d_k)
    feats = torch.exp(x @ omega.T - 0.5 * (x * x).sum(-1, keepdim=True))   # (2, m)
    estimate = float((feats[0] * feats[1]).mean())
    assert estimate == pytest.approx(math.exp(float(x[0] @ x[1])), rel=0.02)


def test_orthogonal_projection_rows_are_orthogonal_within_a_block():
    omega = random_projection(8, 20, orthogonal=True, seed=0, dtype=torch.float64)
    assert omega.shape == (20, 8)
    block = omega[:8]
    gram = block @ block.T
    off_diagonal = gram - torch.diag(torch.diagonal(gram))
    assert off_diagonal.abs().max() < 1e-10


def test_outputs_finite_even_for_large_scores():
    q, k, v = qkv(30, size=6.0)
    out = performer_attention(q, k, v, 64)
    assert torch.isfinite(out).all()


def test_leading_dims_numpy_and_report_fields():
    q, k, v = qkv(10)
    out = performer_attention(q[0].float().numpy(), k[0].float().numpy(), v[0].float().numpy(), 16)
    assert isinstance(out, np.ndarray) and out.shape == (10, 8)
    rep = performer_error(q, k, v, 16)
    assert isinstance(rep, PerformerError) and rep.n_features == 16
    exact = attention(q, k, v).output
    approx = performer_attention(q, k, v, 16)
    assert rep.max_abs == pytest.approx(float((approx - exact).abs().max()))
    assert 0 <= rep.mean_abs <= rep.max_abs and rep.relative > 0
