"""Bad input is refused with a message in the book's terms: which argument, expected and actual shape."""
import numpy as np
import pytest
import torch

from selfattn import AttentionInputError, MultiHeadAttention, attention, masks


def t(*shape):
    return torch.ones(*shape)


@pytest.mark.parametrize("args,words", [
    ((t(4, 8), t(4, 6), t(4, 6)), ["q and k", "d_k", "d_k=8", "d_k=6"]),
    ((t(4, 8), t(5, 8), t(6, 8)), ["k and v", "n_k", "n_k=5", "n_k=6"]),
    ((t(0, 8), t(5, 8), t(5, 8)), ["q", "empty", "n >= 1"]),
    ((t(8), t(5, 8), t(5, 8)), ["q must have shape", "(8,)"]),
    ((torch.ones(4, 8, dtype=torch.int64), t(4, 8), t(4, 8)), ["q has dtype torch.int64", "floats"]),
    ((np.ones((4, 8), dtype=np.int32), np.ones((4, 8)), np.ones((4, 8))), ["q has dtype int32"]),
    ((torch.ones(4, 8, dtype=torch.complex64), t(4, 8), t(4, 8)), ["complex"]),
    ((t(4, 8), np.ones((4, 8)), t(4, 8)), ["must all be numpy arrays or all torch tensors", "k is a numpy array"]),
    (([[1.0]], t(1, 1), t(1, 1)), ["q must be a numpy array or a torch tensor", "list"]),
    ((t(2, 4, 8), t(3, 4, 8), t(3, 4, 8)), ["leading (batch, head) dimensions", "(2,)", "(3,)"]),
])
def test_shape_and_dtype_errors_name_the_argument(args, words):
    with pytest.raises(AttentionInputError) as err:
        attention(*args)
    for w in words:
        assert w in str(err.value)


def test_nan_and_inf_are_reported_with_position():
    k = t(5, 4)
    k[2, 1] = float("nan")
    with pytest.raises(AttentionInputError, match=r"k contains 1 non-finite value\(s\); the first is NaN at index \(2, 1\)"):
        attention(t(3, 4), k, t(5, 4))
    v = t(5, 4)
    v[0, 0] = float("inf")
    with pytest.raises(AttentionInputError, match="v contains .* inf at index"):
        attention(t(3, 4), t(5, 4), v)


@pytest.mark.parametrize("mask,words", [
    (torch.ones(3, 4, dtype=torch.bool), ["mask must broadcast to (..., n_q=3, n_k=5)", "(3, 4)"]),
    (torch.ones(3, 5), ["mask must be boolean", "torch.float32"]),
    (np.ones((3, 5), dtype=np.int64), ["mask must be boolean", "int64"]),
    (torch.ones(4, 3, 5, dtype=torch.bool), ["batch dimensions", "(4, 3, 5)"]),
])
def test_bad_masks(mask, words):
    with pytest.raises(AttentionInputError) as err:
        attention(t(2, 3, 4), t(2, 5, 4), t(2, 5, 4), mask=mask)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("scale", [0, -1.0, float("nan"), "big", True])
def test_bad_scale(scale):
    with pytest.raises(AttentionInputError, match="scale must be a positive finite number"):
        attention(t(2, 4), t(2, 4), t(2, 4), scale=scale)


def test_multihead_errors():
    with pytest.raises(AttentionInputError, match=r"d_model must be divisible by n_heads.*d_model=10, n_heads=3"):
        MultiHeadAttention(10, 3)
    with pytest.raises(AttentionInputError, match="n_kv_heads must be a positive integer that divides n_heads=4"):
        MultiHeadAttention(8, 4, n_kv_heads=3)
    m = MultiHeadAttention(8, 2)
    with pytest.raises(AttentionInputError, match=r"x_q must have shape \(batch, n, 8\) or \(n, 8\), got shape \(2, 5, 6\)"):
        m(t(2, 5, 6))
    with pytest.raises(AttentionInputError, match="x_k and x_v must have the same"):
        m(t(2, 5, 8), t(2, 4, 8), t(2, 3, 8))


def test_mask_builders_refuse_bad_sizes():
    with pytest.raises(AttentionInputError, match="n_q must be an integer >= 1, got 0"):
        masks.causal(0)
    with pytest.raises(AttentionInputError, match=r"every length must lie in 0..n=4, got lengths \[5, 2\]"):
        masks.padding([5, 2], 4)
    with pytest.raises(AttentionInputError, match="does not broadcast"):
        masks.combine(masks.causal(3), masks.causal(4))
    with pytest.raises(AttentionInputError, match="must be a boolean"):
        masks.combine(torch.ones(3, 3))
