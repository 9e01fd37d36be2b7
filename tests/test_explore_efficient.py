"""selfattn.explore.efficient: the dense pictures behind chapter 9, against independent references."""
import math

import numpy as np
import pytest
import torch

from oracle import naive_attention
from selfattn import AttentionInputError, attention, masks
from selfattn.efficient import random_projection
from selfattn.explore import efficient as E


# --- inputs -----------------------------------------------------------------------------------

def test_demo_inputs_shapes_seed_and_locality():
    q, k, v = E.demo_inputs(10, d_k=6, d_v=3, seed=1)
    assert q.shape == (10, 6) and k.shape == (10, 6) and v.shape == (10, 3) and q.dtype == torch.float64
    q2, _, _ = E.demo_inputs(10, d_k=6, d_v=3, seed=1)
    assert torch.equal(q, q2)
    # locality is an exact recency bias in causal attention: with d_k = 1 only position is left,
    # and a key d steps back gets e^(-locality·d) times the weight of the query's own key
    loc = 0.7
    q, k, v = E.demo_inputs(12, d_k=1, locality=loc)
    w = attention(q, k, v, causal=True).weights
    for i in range(12):
        expected = torch.exp(-loc * torch.arange(i, -1, -1, dtype=torch.float64))
        torch.testing.assert_close(w[i, : i + 1], expected / expected.sum())
    q8, k8, _ = E.demo_inputs(12, locality=loc)
    q0, k0, _ = E.demo_inputs(12)
    assert torch.equal(q8[:, :-1], q0[:, :-1]) and (q8[:, -1] == 1).all()
    with pytest.raises(AttentionInputError, match="locality"):
        E.demo_inputs(4, locality=-1)
    with pytest.raises(AttentionInputError, match="from 1 to 512"):
        E.demo_inputs(10_000)


# --- patterns ---------------------------------------------------------------------------------

@pytest.mark.parametrize("causal", [True, False])
def test_mask_without_extras_is_the_window(causal):
    for n, w in [(1, 1), (7, 3), (12, 20)]:
        assert torch.equal(E.local_global_random_mask(n, w, causal=causal), masks.window(n, w, causal=causal))


def test_global_tokens_see_and_are_seen():
    m = E.local_global_random_mask(9, 2, n_global=2, causal=False)
    assert m[:, :2].all() and m[:2, :].all()
    mc = E.local_global_random_mask(9, 2, n_global=2, causal=True)
    assert mc[:, :2].tril().equal(torch.ones(9, 2, dtype=torch.bool).tril()) and mc[2:, :2].all()
    assert not (mc & ~masks.causal(9)).any(), "a causal pattern must not see the future"


@pytest.mark.parametrize("causal", [True, False])
def test_random_keys_are_extra_allowed_and_seeded(causal):
    n, w, r = 14, 2, 3
    base = masks.window(n, w, causal=causal)
    m = E.local_global_random_mask(n, w, n_random=r, causal=causal, seed=5)
    allowed = masks.causal(n) if causal else torch.ones(n, n, dtype=torch.bool)
    assert not (m & ~allowed).any()
    assert (m & base).equal(base)
    extra = (m & ~base).sum(dim=1)
    free = (allowed & ~base).sum(dim=1)
    assert torch.equal(extra, torch.minimum(free, torch.tensor(r)))
    assert torch.equal(m, E.local_global_random_mask(n, w, n_random=r, causal=causal, seed=5))
    assert not torch.equal(m, E.local_global_random_mask(n, w, n_random=r, causal=causal, seed=6))


def test_pattern_report_against_oracle():
    q, k, v = E.demo_inputs(11, d_k=4, locality=1.0, seed=3)
    mask = E.local_global_random_mask(11, 3, n_global=1, n_random=1, seed=2)
    rep = E.pattern_report(q, k, v, mask, causal=True)
    out_s, w_s = naive_attention(q, k, v, mask.numpy() & masks.causal(11).numpy())
    out_f, w_f = naive_attention(q, k, v, masks.causal(11).numpy())
    np.testing.assert_allclose(rep.weights.numpy(), w_s, atol=1e-12)
    np.testing.assert_allclose(rep.full_weights.numpy(), w_f, atol=1e-12)
    assert rep.max_error == pytest.approx(np.abs(out_s - out_f).max(), abs=1e-12)
    assert rep.missed_mass == pytest.approx((w_f * ~mask.numpy()).sum(axis=1).mean(), abs=1e-12)
    assert rep.n_computed == int(mask.sum()) and rep.n_full == 11 * 12 // 2
    assert rep.n_pairs == 121 and rep.density == rep.n_computed / 121 and rep.full_density == 66 / 121
    assert f"density {rep.density:.3f}" in rep.summary()


def test_density_is_the_fraction_of_all_query_key_pairs():
    assert E.density(torch.ones(4, 5, dtype=torch.bool)) == 1.0
    assert E.density(masks.causal(8)) == 36 / 64                     # (n + 1) / (2n)
    assert E.density(masks.window(10, 3)) == E.window_entries(10, 3) / 100
    with pytest.raises(AttentionInputError, match="bool"):
        E.density(torch.ones(3, 3))


def test_full_pattern_has_no_error_and_window_error_shrinks_with_locality():
    q, k, v = E.demo_inputs(12, seed=0)
    full = E.pattern_report(q, k, v, masks.causal(12))
    assert full.max_error == pytest.approx(0, abs=1e-12) and full.missed_mass == pytest.approx(0, abs=1e-12)
    errs = [E.pattern_report(*E.demo_inputs(12, locality=loc), masks.window(12, 3)).missed_mass
            for loc in (0.0, 1.0, 3.0)]
    assert errs[0] > errs[1] > errs[2]


def test_pattern_report_rejects_a_bad_mask():
    q, k, v = E.demo_inputs(5)
    with pytest.raises(AttentionInputError, match=r"mask must be a bool tensor of shape \(n_q=5, n_k=5\)"):
        E.pattern_report(q, k, v, torch.ones(5, 4, dtype=torch.bool))


# --- receptive field and counts ---------------------------------------------------------------

@pytest.mark.parametrize("w,layers", [(1, 3), (2, 1), (3, 2), (4, 3)])
def test_receptive_field_of_a_causal_window_grows_by_w_minus_1(w, layers):
    n = 20
    reach = E.receptive_field(masks.window(n, w), layers)
    for i in range(n):
        expected = set(range(max(0, i - layers * (w - 1)), i + 1))
        assert set(reach[i].nonzero().flatten().tolist()) == expected


def test_receptive_field_with_a_global_token_covers_everything_in_two_layers():
    m = E.local_global_random_mask(16, 2, n_global=1, causal=False)
    assert not E.receptive_field(m, 1).all()
    assert E.receptive_field(m, 2).all()
    assert torch.equal(E.receptive_field(m, 0), torch.eye(16, dtype=torch.bool))


def test_window_entries_counts_the_mask():
    for n in (1, 2, 9, 33):
        for w in (1, 2, 5, 40):
            for causal in (True, False):
                assert E.window_entries(n, w, causal=causal) == int(masks.window(n, w, causal=causal).sum())


# --- random features --------------------------------------------------------------------------

@pytest.mark.parametrize("orthogonal", [True, False])
def test_positive_features_are_unbiased_for_the_softmax_kernel(orthogonal):
    g = torch.Generator().manual_seed(0)
    x = 0.5 * torch.randn(3, 4, generator=g, dtype=torch.float64)
    y = 0.5 * torch.randn(3, 4, generator=g, dtype=torch.float64)
    omega = random_projection(4, 20_000, orthogonal=orthogonal, seed=1, dtype=torch.float64)
    est = E.positive_features(x, omega) @ E.positive_features(y, omega).T
    assert (E.positive_features(x, omega) > 0).all()
    torch.testing.assert_close(est, torch.exp(x @ y.T), rtol=0.06, atol=0)  # Monte Carlo with 20k features, seeded


def test_random_feature_error_falls_with_more_features():
    q, k, v = E.demo_inputs(12, scale=0.5)
    def mean_err(m):
        return np.mean([E.random_feature_report(q, k, v, m, seed=s).relative_error for s in range(6)])
    errs = [mean_err(m) for m in (4, 64, 1024)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.1
    rep = E.random_feature_report(q, k, v, 16, causal=True)
    torch.testing.assert_close(rep.weights.sum(-1), torch.ones(12, dtype=torch.float64))
    assert (rep.weights.triu(1) == 0).all()


# --- linear attention -------------------------------------------------------------------------

@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("feature_map", ["elu", "relu"])
def test_linear_attention_weights_match_a_loop(causal, feature_map):
    q, k, _ = E.demo_inputs(6, d_k=3, seed=4)
    phi = {"elu": lambda x: np.where(x > 0, x + 1, np.exp(x)), "relu": lambda x: np.maximum(x, 0)}[feature_map]
    fq, fk = phi(q.numpy()), phi(k.numpy())
    expected = np.zeros((6, 6))
    for i in range(6):
        keys = range(i + 1) if causal else range(6)
        total = sum(fq[i] @ fk[j] for j in keys)
        for j in keys:
            expected[i, j] = fq[i] @ fk[j] / total if total > 0 else 0.0
    np.testing.assert_allclose(E.linear_attention_weights(q, k, feature_map=feature_map, causal=causal).numpy(),
                               expected, atol=1e-12)
    with pytest.raises(AttentionInputError, match="feature_map"):
        E.linear_attention_weights(q, k, feature_map="tanh")


# --- online softmax ---------------------------------------------------------------------------

@pytest.mark.parametrize("block_size", [1, 3, 4, 50])
def test_online_softmax_trace_is_exact_after_every_block(block_size):
    g = torch.Generator().manual_seed(0)
    s = 3 * torch.randn(10, generator=g, dtype=torch.float64)
    vals = torch.randn(10, 2, generator=g, dtype=torch.float64)
    steps = E.online_softmax_trace(s, vals, block_size)
    assert len(steps) == -(-10 // block_size) and steps[-1].keys[1] == 10
    for st in steps:
        stop = st.keys[1]
        w = torch.softmax(s[:stop], 0)
        torch.testing.assert_close(st.output, w @ vals[:stop])
        assert st.running_max == pytest.approx(float(s[:stop].max()))
        assert st.running_sum == pytest.approx(float(torch.exp(s[:stop] - s[:stop].max()).sum()))
    assert steps[0].rescale == 0.0 and all(0 < st.rescale <= 1 for st in steps[1:])


def test_online_softmax_trace_rejects_mismatched_inputs():
    with pytest.raises(AttentionInputError, match="same n_k"):
        E.online_softmax_trace(torch.zeros(4), torch.zeros(3, 2), 2)


def test_depth_to_full_context():
    n = 17
    for w in (2, 3, 5):
        assert E.depth_to_full_context(masks.window(n, w)) == -(-(n - 1) // (w - 1))
    assert E.depth_to_full_context(masks.window(n, 1)) is None       # a window of 1 never mixes tokens
    assert E.depth_to_full_context(masks.causal(n)) == 1
    assert E.depth_to_full_context(E.local_global_random_mask(n, 2, n_global=1, causal=False), causal=False) == 2
    # causal: a global token at position 0 sees only itself, so it cannot relay later tokens onward
    assert E.depth_to_full_context(E.local_global_random_mask(n, 2, n_global=1)) == n - 2
    assert E.depth_to_full_context(torch.eye(3, dtype=torch.bool), causal=False, max_layers=4) is None


@pytest.mark.parametrize("orthogonal", [True, False])
def test_random_feature_picture_is_what_performer_attention_computes(orthogonal):
    from selfattn.efficient import performer_attention
    q, k, v = E.demo_inputs(20, scale=0.7, seed=2)
    rep = E.random_feature_report(q, k, v, 24, orthogonal=orthogonal, seed=3)
    out = performer_attention(q, k, v, 24, orthogonal=orthogonal, seed=3)
    torch.testing.assert_close(rep.weights @ v, out, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("causal", [True, False])
def test_linear_attention_weights_are_what_linear_attention_computes(causal):
    from selfattn.efficient import linear_attention
    q, k, v = E.demo_inputs(19, seed=6)
    out = linear_attention(q, k, v, causal=causal, form="recurrent", eps=0.0)
    torch.testing.assert_close(E.linear_attention_weights(q, k, causal=causal) @ v, out, atol=1e-9, rtol=1e-9)


# --- recall and the tile plan -------------------------------------------------------------------

def test_retrieval_softmax_fetches_the_key_and_linear_attention_stays_flat():
    r = E.retrieval_report(256, sharpness=3.0)
    assert r.softmax_weight > 0.8 and r.softmax_error < 0.5
    assert r.linear_weight < 4 / 256 and r.linear_error > 0.9
    small = E.retrieval_report(8, sharpness=3.0)
    assert small.linear_weight > r.linear_weight                      # fewer keys: less to average over
    assert E.retrieval_report(16, sharpness=1.0).softmax_weight < r.softmax_weight
    with pytest.raises(AttentionInputError, match="sharpness"):
        E.retrieval_report(8, sharpness=0)


def _visited_by_tiled(n, block, causal):
    """Which (tile, block) pairs tiled_attention's loop really touches, read from its rule in the source."""
    out = torch.zeros(-(-n // block), -(-n // block), dtype=torch.long)
    for t, i0 in enumerate(range(0, n, block)):
        i1 = min(i0 + block, n)
        for b, j0 in enumerate(range(0, min(n, i1) if causal else n, block)):
            j1 = min(j0 + block, n)
            out[t, b] = 1 if causal and j1 - 1 > i0 else 2
    return out


@pytest.mark.parametrize("n, block", [(24, 4), (25, 4), (7, 3), (5, 8)])
def test_tile_plan_follows_tiled_attention(n, block):
    plan = E.tile_plan(n, block, causal=True)
    assert torch.equal(plan, _visited_by_tiled(n, block, True))
    assert torch.equal(E.tile_plan(n, block, causal=False), torch.full_like(plan, 2))
    six = E.tile_plan(24, 4)
    assert int((six > 0).sum()) == 21 and int((six == 1).sum()) == 6 and int((six == 0).sum()) == 15
