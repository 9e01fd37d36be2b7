"""Linear attention: the parallel, chunked and recurrent forms agree with each other and with the
O(n²) definition (the masked kernel matrix, normalised row by row)."""
import numpy as np
import pytest
import torch

from selfattn.efficient import FEATURE_MAPS, FORMS, linear_attention


def qkv(n, *, lead=(2, 3), d_k=5, d_v=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*lead, n, d, generator=g, dtype=dtype) for d in (d_k, d_k, d_v))


def kernel_reference(q, k, v, *, causal, feature_map="elu", eps=1e-6):
    """The definition, written the slow way: an explicit (n_q, n_k) kernel matrix."""
    phi = FEATURE_MAPS[feature_map]
    kernel = phi(q) @ phi(k).transpose(-2, -1)                       # (..., n_q, n_k)
    if causal:
        kernel = kernel.tril()                                       # (..., n_q, n_k)
    return (kernel @ v) / (kernel.sum(-1, keepdim=True) + eps)        # (..., n_q, d_v)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("n,chunk_size", [(37, 8), (32, 8), (5, 64), (1, 4), (23, 1)])
def test_three_forms_agree_with_the_kernel_definition(causal, n, chunk_size):
    q, k, v = qkv(n)
    ref = kernel_reference(q, k, v, causal=causal)
    outs = {form: linear_attention(q, k, v, causal=causal, form=form, chunk_size=chunk_size) for form in FORMS}
    for form, out in outs.items():
        assert out.shape == (2, 3, n, 4)
        torch.testing.assert_close(out, ref, atol=1e-10, rtol=0, msg=f"form {form}")
    torch.testing.assert_close(outs["chunked"], outs["recurrent"], atol=1e-10, rtol=0)


def test_float32_forms_agree_to_1e5():
    q, k, v = qkv(200, lead=(2,), d_k=16, d_v=16, dtype=torch.float32)
    ref = kernel_reference(q.double(), k.double(), v.double(), causal=True)
    for form in FORMS:
        out = linear_attention(q, k, v, form=form, chunk_size=16)
        torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=0, msg=f"form {form}")


def test_relu_feature_map_and_a_custom_one():
    q, k, v = qkv(19, lead=(2,))
    ref = kernel_reference(q, k, v, causal=True, feature_map="relu")
    for form in FORMS:
        torch.testing.assert_close(linear_attention(q, k, v, feature_map="relu", form=form, chunk_size=4),
                                   ref, atol=1e-10, rtol=0)
    square = lambda x: x * x                                         # noqa: E731 (a positive kernel)
    out = linear_attention(q, k, v, feature_map=square, form="chunked", chunk_size=6)
    kernel = ((q * q) @ (k * k).transpose(-2, -1)).tril()
    torch.testing.assert_close(out, (kernel @ v) / (kernel.sum(-1, keepdim=True) + 1e-6), atol=1e-10, rtol=0)


def test_feature_map_may_change_the_width():
    """A feature map from d_k to m != d_k features (like random features) works in every form."""
    w = torch.randn(5, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    phi = lambda x: torch.exp(x @ w * 0.3)                           # noqa: E731 (batch, n, 9)
    q, k, v = qkv(14, lead=(3,))
    outs = [linear_attention(q, k, v, feature_map=phi, form=f, chunk_size=4) for f in FORMS]
    for out in outs[1:]:
        torch.testing.assert_close(out, outs[0], atol=1e-10, rtol=0)


def test_bidirectional_allows_different_query_and_key_lengths():
    q, _, _ = qkv(6)
    _, k, v = qkv(11, seed=1)
    out = linear_attention(q, k, v, causal=False, form="recurrent")
    assert out.shape == (2, 3, 6, 4)
    phi = FEATURE_MAPS["elu"]
    kernel = phi(q) @ phi(k).transpose(-2, -1)
    torch.testing.assert_close(out, (kernel @ v) / (kernel.sum(-1, keepdim=True) + 1e-6), atol=1e-10, rtol=0)


def test_numpy_in_numpy_out():
    q, k, v = (t[0, 0].numpy() for t in qkv(9))
    out = linear_attention(q, k, v)
    assert isinstance(out, np.ndarray) and out.shape == (9, 4)


def test_is_a_different_model_from_softmax_attention():
    """Linear attention is not an approximation of softmax attention: the outputs differ visibly."""
    from selfattn import attention
    q, k, v = qkv(30, lead=(1,))
    gap = (linear_attention(q, k, v) - attention(q, k, v, causal=True).output).abs().max()
    assert gap > 0.05
