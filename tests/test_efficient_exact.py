"""The exact efficient methods (sliding window, block sparse, tiled) equal dense attention with
the equivalent mask: checked against tests/oracle.py's float64 loops and against selfattn.attention,
for causal and not, lengths that are not multiples of the block or window, batch and heads."""
import numpy as np
import pytest
import torch

from oracle import batched_naive
from selfattn import attention
from selfattn.efficient import (
    bigbird_layout, block_sparse_attention, fixed_layout, layout_mask, sliding_window_attention,
    sliding_window_mask, strided_layout, tiled_attention,
)

ATOL = 1e-5


def qkv(n, *, lead=(2, 2), d_k=4, d_v=3, seed=0, n_k=None):
    g = torch.Generator().manual_seed(seed)
    n_k = n if n_k is None else n_k
    q = torch.randn(*lead, n, d_k, generator=g)                      # (batch, n_heads, n_q, d_k)
    k = torch.randn(*lead, n_k, d_k, generator=g)                    # (batch, n_heads, n_k, d_k)
    v = torch.randn(*lead, n_k, d_v, generator=g)                    # (batch, n_heads, n_k, d_v)
    return q, k, v


def check_exact(out, q, k, v, mask):
    """out (float32) vs the float64 oracle and vs selfattn.attention with the same mask."""
    ref, _ = batched_naive(q.numpy(), k.numpy(), v.numpy(), None if mask is None else mask.numpy())
    np.testing.assert_allclose(out.numpy(), ref, atol=ATOL, rtol=0)
    dense = attention(q, k, v, mask=mask).output
    torch.testing.assert_close(out, dense, atol=ATOL, rtol=0)


# ---------------------------------------------------------------- sliding window
@pytest.mark.parametrize("n,window", [(23, 5), (16, 4), (9, 1), (7, 20), (1, 3)])
@pytest.mark.parametrize("causal", [True, False])
def test_sliding_window_equals_dense_with_window_mask(n, window, causal):
    q, k, v = qkv(n)
    out = sliding_window_attention(q, k, v, window, causal=causal)
    assert out.shape == (2, 2, n, 3)
    check_exact(out, q, k, v, sliding_window_mask(n, window, causal=causal))


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("global_tokens", [[0], [0, 13], [21, 3, 3], []])
def test_sliding_window_with_global_tokens(causal, global_tokens):
    q, k, v = qkv(22, lead=(2,))
    out = sliding_window_attention(q, k, v, 4, causal=causal, global_tokens=global_tokens)
    check_exact(out, q, k, v, sliding_window_mask(22, 4, causal=causal, global_tokens=global_tokens))


def test_sliding_window_mask_matches_masks_window_and_global_rule():
    from selfattn import masks
    assert torch.equal(sliding_window_mask(10, 3), masks.window(10, 3))
    m = sliding_window_mask(10, 2, causal=False, global_tokens=[4])
    assert m[4].all() and m[:, 4].all()
    assert not m[0, 9] and m[0, 1] and not m[0, 2]
    mc = sliding_window_mask(10, 2, causal=True, global_tokens=[4])
    assert mc[9, 4] and not mc[3, 4] and mc[4, :5].all() and not mc[4, 5:].any()


def test_sliding_window_larger_than_n_is_full_attention():
    q, k, v = qkv(12, lead=(1,))
    torch.testing.assert_close(sliding_window_attention(q, k, v, 12, causal=True),
                               attention(q, k, v, causal=True).output, atol=ATOL, rtol=0)
    torch.testing.assert_close(sliding_window_attention(q, k, v, 12, causal=False),
                               attention(q, k, v).output, atol=ATOL, rtol=0)


def test_sliding_window_float64_matches_oracle_tightly():
    q, k, v = (t.double() for t in qkv(19, lead=(2,)))
    out = sliding_window_attention(q, k, v, 6, causal=False, global_tokens=[2])
    ref, _ = batched_naive(q, k, v, sliding_window_mask(19, 6, causal=False, global_tokens=[2]).numpy())
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12, rtol=0)


# ---------------------------------------------------------------- block sparse
LAYOUTS = [
    lambda n: strided_layout(n, 4, 3),
    lambda n: strided_layout(n, 4, 2, causal=False),
    lambda n: fixed_layout(n, 4, 3, n_summary=1),
    lambda n: fixed_layout(n, 3, 4, n_summary=2, causal=False),
    lambda n: bigbird_layout(n, 4, window=3, n_global=1, n_random=2, seed=3),
    lambda n: bigbird_layout(n, 2, window=1, n_global=2, n_random=1, seed=0, causal=True),
]


@pytest.mark.parametrize("make", LAYOUTS)
@pytest.mark.parametrize("n", [30, 32])
def test_block_sparse_equals_dense_with_layout_mask(make, n):
    layout = make(n)
    q, k, v = qkv(n)
    out = block_sparse_attention(q, k, v, layout)
    assert out.shape == (2, 2, n, 3)
    check_exact(out, q, k, v, layout_mask(layout))


def test_block_sparse_row_with_no_visible_key_outputs_zero():
    blocks = torch.tensor([[True, False, False], [False, False, False], [True, True, True]])
    from selfattn.efficient import BlockLayout
    layout = BlockLayout(7, 3, blocks, causal=True)
    q, k, v = qkv(7, lead=(2,))
    out = block_sparse_attention(q, k, v, layout)
    assert torch.equal(out[:, 3:6], torch.zeros(2, 3, 3))
    check_exact(out, q, k, v, layout_mask(layout))


def test_layouts_follow_their_papers_at_block_level():
    s = strided_layout(8 * 4, 4, 3).blocks.int()                     # 8 blocks, stride 3
    assert s[7].tolist() == [0, 1, 0, 0, 1, 1, 1, 1]                 # last 3 blocks and every 3rd back
    f = fixed_layout(9 * 2, 2, 3, n_summary=1).blocks.int()          # segments {0,1,2},{3,4,5},{6,7,8}
    assert f[7].tolist() == [0, 0, 1, 0, 0, 1, 1, 1, 0]              # own segment up to itself + summaries 2, 5
    b = bigbird_layout(10 * 4, 4, window=3, n_global=2, n_random=3, seed=5)
    blocks = b.blocks
    assert blocks[:2].all() and blocks[:, :2].all()                 # global rows and columns
    for c in range(2, 10):
        row = blocks[c].clone()
        row[:2] = False
        row[max(c - 1, 0):c + 2] = False
        assert int(row.sum()) == 3                                   # exactly n_random extra blocks
    assert torch.equal(blocks, bigbird_layout(40, 4, seed=5).blocks)   # same seed, same layout
    assert not torch.equal(blocks, bigbird_layout(40, 4, seed=6).blocks)


def test_layout_mask_is_blocks_expanded_to_tokens():
    layout = strided_layout(10, 4, 2)                                # 3 blocks, the last one partial
    m = layout_mask(layout)
    assert m.shape == (10, 10)
    assert torch.equal(m, m.tril())
    assert m[9, 8] and m[8, 0] and not m[8, 9]
    assert layout.density() == pytest.approx(float(m.sum()) / 100)


# ---------------------------------------------------------------- tiled
@pytest.mark.parametrize("n,block_size,tile", [(29, 8, 10), (32, 8, 8), (17, 1, 3), (5, 64, None), (40, 7, 64)])
@pytest.mark.parametrize("causal", [True, False])
def test_tiled_equals_dense(n, block_size, tile, causal):
    q, k, v = qkv(n)
    out = tiled_attention(q, k, v, block_size=block_size, causal=causal, query_block_size=tile)
    mask = torch.ones(n, n, dtype=torch.bool).tril() if causal else None
    check_exact(out, q, k, v, mask)


@pytest.mark.parametrize("n_q,n_k", [(7, 19), (19, 7)])
@pytest.mark.parametrize("causal", [True, False])
def test_tiled_cross_attention_lengths(n_q, n_k, causal):
    q, k, v = qkv(n_q, n_k=n_k, lead=(2,))
    out = tiled_attention(q, k, v, block_size=4, causal=causal, query_block_size=5)
    torch.testing.assert_close(out, attention(q, k, v, causal=causal).output, atol=ATOL, rtol=0)


def test_tiled_survives_large_scores():
    """The running maximum keeps exp from overflowing: scores of several hundred are fine."""
    q, k, v = qkv(33, lead=(1,))
    q = q * 60
    out = tiled_attention(q, k, v, block_size=5)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, attention(q, k, v).output, atol=ATOL, rtol=0)


def test_online_softmax_step_block_by_block_equals_softmax():
    from selfattn.efficient import online_softmax_step
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(4, 11, generator=g, dtype=torch.float64) * 3   # (n_q, n_k)
    scores[0, :6] = float("-inf")                                    # a row whose first blocks are all hidden
    v = torch.randn(11, 5, generator=g, dtype=torch.float64)        # (n_k, d_v)
    m = torch.full((4, 1), float("-inf"), dtype=torch.float64)
    l, acc = torch.zeros(4, 1, dtype=torch.float64), torch.zeros(4, 5, dtype=torch.float64)
    before = scores.clone()
    for j0 in range(0, 11, 3):
        m, l, acc = online_softmax_step(m, l, acc, scores[:, j0:j0 + 3], v[j0:j0 + 3])
    assert torch.equal(scores, before)                               # inputs untouched
    torch.testing.assert_close(acc / l, torch.softmax(scores, -1) @ v)
    torch.testing.assert_close(m, scores.amax(-1, keepdim=True))


# ---------------------------------------------------------------- shared behaviour
def test_numpy_in_numpy_out_and_two_dimensional_inputs():
    q, k, v = (t[0, 0].numpy() for t in qkv(13))
    ref = attention(q, k, v, causal=True).output
    for out in (sliding_window_attention(q, k, v, 13),
                tiled_attention(q, k, v, block_size=4, causal=True),
                block_sparse_attention(q, k, v, strided_layout(13, 13, 1))):
        assert isinstance(out, np.ndarray) and out.shape == (13, 3)
        np.testing.assert_allclose(out, ref, atol=ATOL)


def test_leading_dimensions_broadcast():
    q, _, _ = qkv(11, lead=(2, 3))
    _, k, v = qkv(11, lead=(1, 3), seed=1)
    out = tiled_attention(q, k, v, block_size=4)
    assert out.shape == (2, 3, 11, 3)
    torch.testing.assert_close(out, attention(q, k, v).output, atol=ATOL, rtol=0)
    out = sliding_window_attention(q, k, v, 3, causal=False)
    torch.testing.assert_close(out, attention(q, k, v, mask=sliding_window_mask(11, 3, causal=False)).output,
                               atol=ATOL, rtol=0)


def test_custom_scale_is_used():
    q, k, v = qkv(12, lead=(1,))
    ref = attention(q, k, v, causal=True, scale=0.3).output
    torch.testing.assert_close(tiled_attention(q, k, v, block_size=5, causal=True, scale=0.3), ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(sliding_window_attention(q, k, v, 12, scale=0.3), ref, atol=ATOL, rtol=0)


def test_tiled_rescales_when_the_running_maximum_jumps():
    """Keys whose scores grow block after block (by far more than the lazy-rescale margin)."""
    g = torch.Generator().manual_seed(4)
    q = torch.randn(1, 20, 4, generator=g, dtype=torch.float64).abs() + 1.0
    k = torch.randn(1, 50, 4, generator=g, dtype=torch.float64).abs() * torch.linspace(0, 40, 50).view(1, 50, 1)
    v = torch.randn(1, 50, 3, generator=g, dtype=torch.float64)
    for causal in (False, True):
        out = tiled_attention(q, k, v, block_size=6, causal=causal, query_block_size=7)
        torch.testing.assert_close(out, attention(q, k, v, causal=causal).output, atol=1e-12, rtol=0)


def test_non_finite_input_is_refused_with_its_position():
    from selfattn import AttentionInputError
    q, k, v = qkv(6, lead=(1,))
    k[0, 4, 2] = float("nan")
    with pytest.raises(AttentionInputError, match=r"k contains 1 non-finite value.*NaN at index \(0, 4, 2\)"):
        sliding_window_attention(q, k, v, 2)
    big = torch.full((1, 6, 4), 3e38)                                # finite, although its sum overflows
    out = tiled_attention(big * 0, big, torch.ones(1, 6, 3), block_size=2)
    assert torch.isfinite(out).all()
