"""selfattn.explore.pipeline (chapter 3) against torch's SDPA, the float64 oracle, autograd and theory."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from selfattn import AttentionInputError, attention
from selfattn.explore import pipeline as P
from oracle import naive_attention


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_stages_agree_with_oracle_and_sdpa():
    q, k, v = rand(5, 4, seed=1), rand(6, 4, seed=2), rand(6, 3, seed=3)
    st = P.attention_stages(q, k, v)
    assert [s.name for s in st] == list(P.STAGE_NAMES)
    qn, kn = q.numpy(), k.numpy()
    raw = np.array([[sum(qn[i, t] * kn[j, t] for t in range(4)) for j in range(6)] for i in range(5)])
    np.testing.assert_allclose(st[0].matrix.numpy(), raw, atol=1e-12)
    np.testing.assert_allclose(st[1].matrix.numpy(), raw / 2.0, atol=1e-12)          # √d_k = 2
    torch.testing.assert_close(st[2].matrix, st[1].matrix)                          # no mask: unchanged
    out, w = naive_attention(qn, kn, v.numpy())
    np.testing.assert_allclose(st[3].matrix.numpy(), w, atol=1e-12)
    np.testing.assert_allclose(st[4].matrix.numpy(), out, atol=1e-12)
    sdpa = F.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    torch.testing.assert_close(st[4].matrix, sdpa)
    assert st[0].shape == "(n_q=5, n_k=6)" and st[4].shape == "(n_q=5, d_v=3)"
    assert st[2].blocked is None and "changes nothing" in st[2].explanation


def test_causal_stage_blocks_the_future_and_rows_renormalise():
    q, k, v = rand(4, 3, seed=4), rand(4, 3, seed=5), rand(4, 2, seed=6)
    st = P.attention_stages(q, k, v, causal=True)
    blocked = st[2].blocked
    assert blocked.tolist() == [[j > i for j in range(4)] for i in range(4)]
    assert torch.isinf(st[2].matrix[blocked]).all()
    torch.testing.assert_close(st[3].matrix.sum(-1), torch.ones(4, dtype=torch.float64))
    sdpa = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
    torch.testing.assert_close(st[4].matrix, sdpa)


def test_custom_scale_and_errors():
    q, k, v = rand(3, 4, seed=1), rand(3, 4, seed=2), rand(3, 2, seed=3)
    st = P.attention_stages(q, k, v, scale=0.1)
    torch.testing.assert_close(st[1].matrix, 0.1 * st[0].matrix)
    with pytest.raises(AttentionInputError, match="same d_k"):
        P.attention_stages(q, rand(3, 5), v)
    with pytest.raises(AttentionInputError, match="one sequence at a time"):
        P.attention_stages(q[None], k[None], v[None])


def test_sentence_stages_worked_example():
    r = P.sentence_stages("The cat sat on the mat")
    assert r.tokens == ["the", "cat", "sat", "on", "the", "mat"] and r.unknown == []
    w = r.weights
    top = {tok: r.tokens[int(w[i].argmax())] for i, tok in enumerate(r.tokens)}
    assert top["cat"] == "sat" and top["sat"] == "cat" and top["on"] == "mat"
    torch.testing.assert_close(w.sum(-1), torch.ones(6))
    ref = attention(r.q, r.k, r.v)
    torch.testing.assert_close(r.output, ref.output)
    assert r.output.shape == (6, len(r.value_labels))
    with pytest.raises(AttentionInputError, match="no words"):
        P.sentence_stages("")
    with pytest.raises(AttentionInputError, match="at most 16"):
        P.sentence_stages(["x"] * 17)
    assert P.sentence_stages("ça 🐱").unknown == ["ça", "🐱"]


def test_weighted_sum_terms_add_up_to_output():
    w = torch.softmax(rand(3, 5, seed=1), -1)
    v = rand(5, 4, seed=2)
    for i in range(3):
        terms = P.weighted_sum_terms(w, v, i)
        assert terms.shape == (5, 4)
        torch.testing.assert_close(terms.sum(0), (w @ v)[i])
        torch.testing.assert_close(terms[2], w[i, 2] * v[2])
    with pytest.raises(AttentionInputError, match="same n_k"):
        P.weighted_sum_terms(w, rand(4, 4), 0)
    with pytest.raises(AttentionInputError, match="query_index"):
        P.weighted_sum_terms(w, v, 3)


def test_naive_softmax_overflows_and_stable_does_not():
    x = np.array([1000.0, 1001.0, 1002.0], dtype=np.float32)
    assert np.isnan(P.naive_softmax(x)).all()
    s = P.stable_softmax(x)
    np.testing.assert_allclose(s, P.naive_softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-6)
    y = rand(4, 7, seed=3)
    np.testing.assert_allclose(P.stable_softmax(y), torch.softmax(y, -1).numpy(), atol=1e-12)
    np.testing.assert_allclose(P.naive_softmax(y), torch.softmax(y, -1).numpy(), atol=1e-12)


def test_temperature_softmax_and_entropy():
    s = torch.tensor([[1.0, 2.0, 3.0]])
    torch.testing.assert_close(P.temperature_softmax(s, 2.0), torch.softmax(s / 2, -1))
    assert float(P.entropy_bits(torch.tensor([[0.25] * 4]))) == pytest.approx(2.0)
    assert float(P.entropy_bits(torch.tensor([[1.0, 0, 0]]))) == pytest.approx(0.0)
    with pytest.raises(AttentionInputError, match="temperature"):
        P.temperature_softmax(s, 0.0)


def test_softmax_jacobian_norm_matches_autograd():
    for seed in range(3):
        logits = rand(6, seed=seed) * (seed + 1)
        jac = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, -1), logits)   # (6, 6)
        p = torch.softmax(logits, -1)
        assert float(P.softmax_jacobian_norm(p)) == pytest.approx(float(jac.norm()), rel=1e-9)
    assert float(P.softmax_jacobian_norm(torch.tensor([1.0, 0.0, 0.0]))) == pytest.approx(0.0)


def test_dot_product_variance_follows_theory():
    r = P.dot_product_variance([1, 16, 256], n_samples=20000, seed=1)
    np.testing.assert_allclose(r.var_raw, [1, 16, 256], rtol=0.06)
    np.testing.assert_allclose(r.var_scaled, [1, 1, 1], rtol=0.06)
    with pytest.raises(AttentionInputError, match="d_ks"):
        P.dot_product_variance([0])


def test_saturation_experiment_shows_saturation_only_without_scaling():
    r = P.saturation_experiment([4, 256], n_k=8, n_samples=500, seed=2)
    assert r.max_weight["raw"][1] > 0.85 and r.max_weight["scaled"][1] < 0.45
    assert r.grad_scores["raw"][1] < 0.1 * r.grad_scores["scaled"][1]
    assert r.grad_query["raw"][1] < 0.5 * r.grad_query["scaled"][1]
    assert r.saturated["raw"][1] > 0.3 and r.saturated["scaled"][1] < 0.05
    assert abs(r.max_weight["scaled"][1] - r.max_weight["scaled"][0]) < 0.1   # scaled: d_k hardly matters
    assert r.entropy["raw"][1] < r.entropy["scaled"][1]


def test_saturation_experiment_gradients_are_autograd_gradients():
    # the same experiment by hand for one d_k: the loss gradient w.r.t. the logits is J(p)ᵀ g
    r = P.saturation_experiment([8], n_k=4, n_samples=3, seed=9)
    g = torch.Generator().manual_seed(9)
    q = torch.randn(3, 1, 8, generator=g, dtype=torch.float64)
    k = torch.randn(3, 4, 8, generator=g, dtype=torch.float64)
    up = torch.randn(3, 1, 4, generator=g, dtype=torch.float64)
    logits = (q @ k.transpose(1, 2)) / math.sqrt(8)
    p = torch.softmax(logits, -1)
    grad = p * (up - (p * up).sum(-1, keepdim=True))                  # analytic softmax backward
    assert r.grad_scores["scaled"][0] == pytest.approx(float(grad.norm(dim=-1).median()), rel=1e-9)
    grad_q = (grad @ k) / math.sqrt(8)                                # chain rule through logits = q kᵀ / √d_k
    assert r.grad_query["scaled"][0] == pytest.approx(float(grad_q.norm(dim=-1).median()), rel=1e-9)


def test_saturation_view():
    v = P.saturation_view(4, 1.0, scaled=True, n=5)
    assert v.weights.shape == (5, 5) and v.divisor == pytest.approx(2.0)
    torch.testing.assert_close(v.logits, v.raw_scores / 2)
    torch.testing.assert_close(v.weights.sum(-1), torch.ones(5, dtype=torch.float64))
    # the first d_k columns are shared, so d_k = 1 is a slice of d_k = 4
    v1 = P.saturation_view(1, 1.0, scaled=False, n=5)
    v4 = P.saturation_view(4, 1.0, scaled=False, n=5)
    assert not torch.equal(v1.raw_scores, v4.raw_scores)
    g = torch.Generator().manual_seed(0)                                # the same draws, computed directly
    q = torch.randn(5, P.MAX_D_K, generator=g, dtype=torch.float64)
    k = torch.randn(5, P.MAX_D_K, generator=g, dtype=torch.float64)
    torch.testing.assert_close(v4.raw_scores, q[:, :4] @ k[:, :4].T)
    torch.testing.assert_close(P.saturation_view(300, scaled=False, n=5).raw_scores, q[:, :300] @ k[:, :300].T)
    big = P.saturation_view(1024, 1.0, scaled=False, n=8)
    assert float(big.max_weight.mean()) > 0.9
    scaled = P.saturation_view(1024, 1.0, scaled=True, n=8)
    assert float(scaled.max_weight.mean()) < 0.6
    hot = P.saturation_view(16, 0.1, scaled=True, n=8)
    cold = P.saturation_view(16, 10.0, scaled=True, n=8)
    assert float(hot.entropy.mean()) < float(cold.entropy.mean())
    for bad in (dict(d_k=0), dict(d_k=2048), dict(d_k=4, temperature=-1.0), dict(d_k=4, n=17)):
        with pytest.raises(AttentionInputError):
            P.saturation_view(**bad)


def test_saturated_rows_uses_the_one_threshold():
    w = torch.tensor([[0.995, 0.005], [0.99, 0.01], [0.5, 0.5]], dtype=torch.float64)
    assert P.SATURATED == 0.99
    assert P.saturated_rows(w).tolist() == [True, False, False]        # strictly above 0.99
    v = P.saturation_view(1024, 1.0, scaled=False, n=8)
    assert v.n_saturated == int((v.max_weight > 0.99).sum()) == 7
    assert P.saturation_view(1024, 1.0, scaled=True, n=8).n_saturated == 0
    assert v.uniform_entropy == pytest.approx(3.0) and v.n == 8
    r = P.saturation_experiment([256], n_k=8, n_samples=200, seed=3)
    assert r.saturated["raw"][0] == pytest.approx(0.635, abs=0.15)


def test_temperature_rows_and_row_sums():
    s = torch.tensor([0.0, 0.0, 3.1, 0.0, 0.0, 0.0], dtype=torch.float64)
    rows = P.temperature_rows(s, (0.5, 1.0, 2.0))
    assert list(rows) == [0.5, 1.0, 2.0]
    assert float(rows[1.0][2]) == pytest.approx(math.exp(3.1) / (math.exp(3.1) + 5))
    assert float(rows[2.0][2]) == pytest.approx(math.exp(1.55) / (math.exp(1.55) + 5))
    st = P.sentence_stages("the cat sat on the mat", causal=True).stages
    torch.testing.assert_close(st[3].row_sums, torch.ones(6, dtype=st[3].matrix.dtype))
    assert float(st[0].row_sums[1]) == pytest.approx(6.2)               # "cat" row of QKᵀ: 6.2 on "sat" only


def test_saturation_view_summaries():
    v = P.saturation_view(4, 1.0, scaled=False, n=8)
    assert v.mean_max_weight == pytest.approx(0.583, abs=1e-3)
    assert v.mean_entropy == pytest.approx(1.663, abs=1e-3)
    assert v.median_grad_norm == pytest.approx(0.338, abs=1e-3)
    assert v.uniform_weight == 0.125 and v.n_saturated == 0
