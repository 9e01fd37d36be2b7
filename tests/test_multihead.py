"""MultiHeadAttention against torch.nn.MultiheadAttention (through from_torch) and a per-head loop."""
import pytest
import torch
from torch import nn

from selfattn import MultiHeadAttention, attention, masks


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bias", [True, False])
def test_from_torch_self_attention(bias):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(16, 4, bias=bias, batch_first=True)
    mine = MultiHeadAttention.from_torch(ref)
    x = rand(2, 7, 16, seed=1)
    out_ref, w_ref = ref(x, x, x, average_attn_weights=False)
    out, w = mine(x)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w, w_ref, atol=1e-5, rtol=1e-5)


def test_from_torch_cross_attention_with_kdim_vdim():
    torch.manual_seed(1)
    ref = nn.MultiheadAttention(12, 3, kdim=5, vdim=7, batch_first=True)
    mine = MultiHeadAttention.from_torch(ref)
    xq, xk, xv = rand(2, 4, 12, seed=1), rand(2, 6, 5, seed=2), rand(2, 6, 7, seed=3)
    out_ref, w_ref = ref(xq, xk, xv, average_attn_weights=False)
    out, w = mine(xq, xk, xv)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-5)
    assert w.shape == (2, 3, 4, 6)
    torch.testing.assert_close(w, w_ref, atol=1e-5, rtol=1e-5)


def test_from_torch_with_causal_and_padding_masks():
    torch.manual_seed(2)
    ref = nn.MultiheadAttention(8, 2, batch_first=True)
    mine = MultiHeadAttention.from_torch(ref)
    x = rand(2, 5, 8, seed=4)
    lengths = [5, 3]
    pad = masks.padding(lengths, 5)                                    # (2, 1, 5) True = real token
    out_ref, w_ref = ref(x, x, x, attn_mask=~masks.causal(5), key_padding_mask=~pad[:, 0],
                         average_attn_weights=False)                   # torch: True = blocked
    out, w = mine(x, mask=masks.combine(masks.causal(5), pad)[:, None])  # (batch, 1, n, n)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w, w_ref, atol=1e-5, rtol=1e-5)
    out2, _ = mine(x, mask=pad[:, None], causal=True)
    torch.testing.assert_close(out2, out_ref, atol=1e-5, rtol=1e-5)


def test_batched_heads_equal_a_per_head_loop():
    torch.manual_seed(3)
    m = MultiHeadAttention(12, 3)
    x = rand(1, 5, 12, seed=5)
    out, w = m(x)
    heads = []
    for h in range(3):
        sl = slice(4 * h, 4 * (h + 1))
        q = x[0] @ m.w_q.weight[sl].T + m.w_q.bias[sl]                # (n, d_head)
        k = x[0] @ m.w_k.weight[sl].T + m.w_k.bias[sl]                # (n, d_head)
        v = x[0] @ m.w_v.weight[sl].T + m.w_v.bias[sl]                # (n, d_head)
        r = attention(q, k, v)
        torch.testing.assert_close(w[0, h], r.weights, atol=1e-6, rtol=1e-5)
        heads.append(r.output)
    concat = torch.cat(heads, dim=-1)                                 # (n, d_model)
    torch.testing.assert_close(out[0], m.w_o(concat), atol=1e-6, rtol=1e-5)


def test_unbatched_input_and_parameter_count():
    m = MultiHeadAttention(8, 2)
    out, w = m(rand(5, 8))
    assert out.shape == (5, 8) and w.shape == (2, 5, 5)
    assert m.n_parameters() == 4 * 8 * 8 + 4 * 8
    assert MultiHeadAttention(8, 2, n_kv_heads=1).n_parameters() == 2 * 64 + 2 * 8 * 4 + 2 * 8 + 2 * 4


@pytest.mark.parametrize("n_kv_heads", [1, 2])
@pytest.mark.parametrize("causal", [False, True])
def test_grouped_query_attention_equals_repeated_kv_heads(n_kv_heads, causal):
    """GQA folds query heads instead of copying K/V; the reference copies K/V per query head."""
    torch.manual_seed(4)
    m = MultiHeadAttention(16, 4, n_kv_heads=n_kv_heads)
    x = rand(2, 6, 16, seed=6)
    pad = masks.padding([6, 4], 6)
    out, w = m(x, mask=pad[:, None], causal=causal)
    q = m.split_heads(m.w_q(x), 4)                                    # (batch, 4, n, d_head)
    k = m.split_heads(m.w_k(x), n_kv_heads).repeat_interleave(4 // n_kv_heads, dim=1)
    v = m.split_heads(m.w_v(x), n_kv_heads).repeat_interleave(4 // n_kv_heads, dim=1)
    r = attention(q, k, v, mask=pad[:, None], causal=causal)
    torch.testing.assert_close(w, r.weights, atol=1e-6, rtol=1e-5)
    ref = m.w_o(r.output.transpose(1, 2).reshape(2, 6, 16))
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
