"""Properties that must hold for any input (hypothesis draws the shapes and values)."""
import numpy as np
import torch
from hypothesis import given, settings, strategies as st

from selfattn import attention, masks

dims = st.integers(1, 7)


def tensor(seed, *shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@settings(max_examples=60, deadline=None)
@given(n_q=dims, n_k=dims, d_k=dims, d_v=dims, seed=st.integers(0, 10_000), p=st.floats(0, 1))
def test_rows_sum_to_one_where_visible_and_masked_weights_are_zero(n_q, n_k, d_k, d_v, seed, p):
    q, k, v = tensor(seed, n_q, d_k), tensor(seed + 1, n_k, d_k), tensor(seed + 2, n_k, d_v)
    mask = torch.rand(n_q, n_k, generator=torch.Generator().manual_seed(seed)) >= p
    res = attention(q, k, v, mask=mask)
    sums = res.weights.sum(-1)
    visible = mask.any(-1)
    assert torch.allclose(sums[visible], torch.ones_like(sums[visible]), atol=1e-12)
    assert (sums[~visible] == 0).all()
    assert (res.weights[~mask] == 0).all()
    assert torch.isfinite(res.output).all()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 8), d=dims, seed=st.integers(0, 10_000), data=st.data())
def test_permuting_tokens_permutes_outputs(n, d, seed, data):
    perm = torch.tensor(data.draw(st.permutations(range(n))))
    x = tensor(seed, n, d)
    w = [tensor(seed + i, d, d) for i in (1, 2, 3)]
    out = attention(x @ w[0], x @ w[1], x @ w[2]).output
    xp = x[perm]
    out_p = attention(xp @ w[0], xp @ w[1], xp @ w[2]).output
    assert torch.allclose(out_p, out[perm], atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 8), d=dims, seed=st.integers(0, 10_000), data=st.data())
def test_causal_output_ignores_the_future(n, d, seed, data):
    i = data.draw(st.integers(0, n - 2))
    q, k, v = tensor(seed, n, d), tensor(seed + 1, n, d), tensor(seed + 2, n, d)
    out = attention(q, k, v, causal=True).output
    k2, v2, q2 = k.clone(), v.clone(), q.clone()
    k2[i + 1:] = tensor(seed + 3, n - i - 1, d) * 5
    v2[i + 1:] = tensor(seed + 4, n - i - 1, d) * 5
    q2[i + 1:] = tensor(seed + 5, n - i - 1, d) * 5
    out2 = attention(q2, k2, v2, causal=True).output
    assert torch.equal(out[: i + 1], out2[: i + 1])
    assert not torch.allclose(out[i + 1:], out2[i + 1:])


@settings(max_examples=30, deadline=None)
@given(n_q=dims, n_k=dims, d=dims, seed=st.integers(0, 10_000))
def test_numpy_and_torch_agree(n_q, n_k, d, seed):
    q, k, v = tensor(seed, n_q, d), tensor(seed + 1, n_k, d), tensor(seed + 2, n_k, d)
    mask = masks.causal(n_q, n_k)
    rt = attention(q, k, v, mask=mask)
    rn = attention(q.numpy(), k.numpy(), v.numpy(), mask=mask.numpy())
    np.testing.assert_array_equal(rn.output, rt.output.numpy())
    np.testing.assert_array_equal(rn.weights, rt.weights.numpy())
