"""selfattn.attention against torch's scaled_dot_product_attention and a float64 oracle."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import selfattn
from selfattn import attention, masks
from oracle import batched_naive, naive_attention


def rand(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


@pytest.mark.parametrize("shape", [(5, 8), (2, 7, 8), (2, 3, 6, 4)])
def test_matches_sdpa_without_mask(shape):
    q, k, v = rand(*shape, seed=1), rand(*shape, seed=2), rand(*shape, seed=3)
    res = attention(q, k, v)
    ref = F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(res.output, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n_q,n_k", [(6, 6), (4, 7), (7, 4)])
def test_causal_matches_sdpa(n_q, n_k):
    q, k, v = rand(2, 3, n_q, 8, seed=1), rand(2, 3, n_k, 8, seed=2), rand(2, 3, n_k, 5, seed=3)
    res = attention(q, k, v, causal=True)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # rows with no visible key (n_q > n_k never happens with top-left causal: key 0 is always visible)
    torch.testing.assert_close(res.output, ref, atol=1e-5, rtol=1e-5)


def test_bool_mask_and_custom_scale_match_sdpa():
    q, k, v = rand(2, 2, 5, 8, seed=1), rand(2, 2, 6, 8, seed=2), rand(2, 2, 6, 3, seed=3)
    mask = rand(2, 1, 5, 6, seed=4) > -0.5
    mask[..., 0] = True  # every row sees something, so torch's NaN convention doesn't matter here
    res = attention(q, k, v, mask=mask, scale=0.3)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3)
    torch.testing.assert_close(res.output, ref, atol=1e-5, rtol=1e-5)


def test_padding_mask_matches_sdpa():
    lengths = [5, 3, 1]
    q, k, v = rand(3, 5, 4, seed=1), rand(3, 5, 4, seed=2), rand(3, 5, 4, seed=3)
    pad = masks.padding(lengths, 5)                    # (3, 1, 5)
    res = attention(q, k, v, mask=pad)
    ref = F.scaled_dot_product_attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1), attn_mask=pad.unsqueeze(1))
    torch.testing.assert_close(res.output, ref[:, 0], atol=1e-5, rtol=1e-5)
    # weights on padded keys are exactly zero
    assert (res.weights[1, :, 3:] == 0).all() and (res.weights[2, :, 1:] == 0).all()


def test_combined_causal_and_padding_matches_oracle():
    q, k, v = rand(2, 6, 4, seed=1), rand(2, 6, 4, seed=2), rand(2, 6, 3, seed=3)
    m = masks.combine(masks.causal(6), masks.padding([6, 4], 6))  # (2, 6, 6)
    res = attention(q, k, v, mask=m)
    out, w = batched_naive(q.numpy(), k.numpy(), v.numpy(), m.numpy())
    np.testing.assert_allclose(res.output.numpy(), out, atol=1e-5)
    np.testing.assert_allclose(res.weights.numpy(), w, atol=1e-6)


def test_float64_oracle_and_numpy_path():
    rs = np.random.default_rng(0)
    q, k, v = rs.normal(size=(4, 3)), rs.normal(size=(6, 3)), rs.normal(size=(6, 2))
    res = attention(q, k, v)
    assert isinstance(res.output, np.ndarray) and res.output.dtype == np.float64
    out, w = naive_attention(q, k, v)
    np.testing.assert_allclose(res.output, out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.weights, w, rtol=1e-12, atol=1e-12)
    # the torch path gives the same numbers
    rt = attention(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v))
    assert isinstance(rt.output, torch.Tensor)
    np.testing.assert_allclose(rt.output.numpy(), res.output, rtol=1e-12)


def test_scores_are_scaled_and_masked():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    k = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    v = torch.eye(2)
    res = attention(q, k, v, causal=True)
    s = 1 / math.sqrt(2)
    assert res.scores[0, 0].item() == pytest.approx(2 * s)
    assert res.scores[0, 1].item() == float("-inf")
    assert res.scores[1, 1].item() == pytest.approx(2 * s)
    assert res.weights[0].tolist() == [1.0, 0.0]


def test_fully_masked_row_is_zero_not_nan():
    q, k, v = rand(3, 4, seed=1), rand(5, 4, seed=2), rand(5, 2, seed=3)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1] = False
    res = attention(q, k, v, mask=mask)
    assert torch.isfinite(res.output).all()
    assert (res.weights[1] == 0).all() and (res.output[1] == 0).all()
    assert res.weights[0].sum().item() == pytest.approx(1.0)
    # torch 2.13's SDPA also gives 0 there (nn.MultiheadAttention gives NaN; chapter 5 shows both)
    ref = F.scaled_dot_product_attention(q[None, None], k[None, None], v[None, None], attn_mask=mask)[0, 0]
    torch.testing.assert_close(res.output[[0, 2]], ref[[0, 2]], atol=1e-5, rtol=1e-5)


def test_stable_softmax_survives_huge_scores():
    q = torch.tensor([[1000.0, 0.0]])
    k = torch.tensor([[1000.0, 0.0], [999.0, 0.0]])
    v = torch.tensor([[1.0], [0.0]])
    res = attention(q, k, v, scale=1.0)
    assert torch.isfinite(res.weights).all()
    assert res.weights.sum().item() == pytest.approx(1.0)
    assert res.output.item() == pytest.approx(1.0)  # e^(1e6 - 999000) dominates completely


def test_softmax_matches_torch():
    x = rand(4, 9, seed=5) * 10
    torch.testing.assert_close(selfattn.softmax(x), torch.softmax(x, dim=-1))


def test_gradients_flow_and_match_sdpa():
    q = rand(1, 2, 5, 4, seed=1).requires_grad_()
    k = rand(1, 2, 5, 4, seed=2).requires_grad_()
    v = rand(1, 2, 5, 4, seed=3).requires_grad_()
    attention(q, k, v, causal=True).output.sum().backward()
    g = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    for mine, ref in zip(g, (q.grad, k.grad, v.grad)):
        torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-4)
