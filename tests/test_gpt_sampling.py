"""Chapter 10's sampling functions: properties of temperature, top-k and top-p, and their refusals."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from selfattn.errors import AttentionInputError
from selfattn.explore.gpt.sampling import (Sampler, distribution, greedy, sample, top_k_mask, top_p_mask,
                                           with_temperature)

logit_lists = st.lists(st.floats(-8, 8, allow_nan=False), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(logit_lists, st.sampled_from([0.0, 0.3, 1.0, 2.5]), st.integers(1, 30), st.floats(0.01, 1.0))
def test_distribution_sums_to_one_and_keeps_a_subset(logits, temperature, k, p):
    z = torch.tensor(logits)
    k = min(k, len(logits))
    probs, kept = distribution(z, temperature=temperature, top_k=k, top_p=p)
    assert math.isclose(float(probs.sum()), 1.0, rel_tol=1e-9)
    assert torch.all(probs[~kept] == 0) and torch.all(probs >= 0)
    assert 1 <= int(kept.sum()) <= k


@settings(max_examples=60, deadline=None)
@given(logit_lists, st.integers(1, 30))
def test_top_k_keeps_exactly_k(logits, k):
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float64), 0)
    k = min(k, len(logits))
    keep = top_k_mask(probs, k)
    assert int(keep.sum()) == k
    assert probs[keep].min() >= probs[~keep].max() if k < len(logits) else True


@settings(max_examples=80, deadline=None)
@given(logit_lists, st.floats(0.01, 1.0))
def test_top_p_keeps_the_smallest_set_over_p(logits, p):
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float64), 0)
    keep = top_p_mask(probs, p)
    m = int(keep.sum())
    ranked = torch.sort(probs, descending=True).values
    assert float(probs[keep].sum()) >= p - 1e-9                             # reaches p
    assert m == 1 or float(ranked[:m - 1].sum()) < p + 1e-9                 # one fewer does not
    assert probs[keep].min() >= probs[~keep].max() if m < len(logits) else True


def test_top_p_edge_cases():
    probs = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    assert top_p_mask(probs, 0.5).tolist() == [True, False, False]        # exactly p: stop there
    assert top_p_mask(probs, 0.51).tolist() == [True, True, False]
    assert top_p_mask(probs, 1.0).tolist() == [True, True, True]
    assert top_p_mask(probs, 0.01).tolist() == [True, False, False]       # always at least one
    assert top_p_mask(torch.tensor([0.25] * 4, dtype=torch.float64), 0.5).tolist() == [True, True, False, False]


def test_temperature_zero_is_greedy_and_low_temperature_approaches_it():
    z = torch.tensor([1.0, 3.0, 2.0, 3.0])
    probs, kept = distribution(z, temperature=0.0)
    assert probs.tolist() == [0.0, 1.0, 0.0, 0.0] and int(kept.sum()) == 1  # first of the tied maxima
    assert greedy(z) == 1
    assert all(sample(z, torch.Generator().manual_seed(s), temperature=0.0) == 1 for s in range(5))
    assert with_temperature(z, 0.05)[1] > 0.49
    torch.testing.assert_close(with_temperature(z, 1.0), torch.softmax(z.double(), 0))


def test_temperature_sharpens_and_flattens():
    z = torch.tensor([2.0, 1.0, 0.0])
    entropy = lambda p: float(-(p * p.log2()).sum())
    assert entropy(with_temperature(z, 0.5)) < entropy(with_temperature(z, 1.0)) < entropy(with_temperature(z, 2.0))


def test_seeded_sampling_repeats_and_follows_the_distribution():
    z = torch.tensor([0.0, 1.0, 2.0])
    draws = lambda seed: [sample(z, g) for g in [torch.Generator().manual_seed(seed)] for _ in range(200)]
    assert draws(7) == draws(7)
    counts = torch.bincount(torch.tensor(draws(7) + draws(8) + draws(9) + draws(10)), minlength=3) / 800
    torch.testing.assert_close(counts.double(), torch.softmax(z.double(), 0), atol=0.06, rtol=0)


@pytest.mark.parametrize("kwargs", [dict(temperature=-1.0), dict(temperature=float("nan")), dict(top_k=0),
                                    dict(top_k=5), dict(top_k=1.5), dict(top_p=0.0), dict(top_p=1.2),
                                    dict(temperature=True)])
def test_bad_settings_raise(kwargs):
    with pytest.raises(AttentionInputError):
        distribution(torch.tensor([0.0, 1.0, 2.0, 3.0]), **kwargs)


def test_bad_logits_raise():
    for bad in (torch.zeros(2, 3), torch.tensor([]), torch.tensor([0.0, float("inf")])):
        with pytest.raises(AttentionInputError):
            distribution(bad)
    with pytest.raises(AttentionInputError):
        Sampler(temperature=-0.1)
