"""Properties every efficient method must have: causal methods never look at the future, the
n×n matrix is never built, and bad input is refused with a clear AttentionInputError."""
import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from selfattn import AttentionInputError
from selfattn.efficient import (
    BlockLayout, bigbird_layout, block_sparse_attention, fixed_layout, linear_attention, performer_attention,
    sliding_window_attention, strided_layout, tiled_attention,
)

N = 40
CAUSAL_METHODS = {
    "sliding_window": lambda q, k, v: sliding_window_attention(q, k, v, 6),
    "sliding_window_global": lambda q, k, v: sliding_window_attention(q, k, v, 6, global_tokens=[0, 9, 30]),
    "strided": lambda q, k, v: block_sparse_attention(q, k, v, strided_layout(N, 4, 3)),
    "fixed": lambda q, k, v: block_sparse_attention(q, k, v, fixed_layout(N, 3, 4, n_summary=2)),
    "bigbird_causal": lambda q, k, v: block_sparse_attention(q, k, v, bigbird_layout(N, 4, causal=True)),
    "tiled": lambda q, k, v: tiled_attention(q, k, v, block_size=7, causal=True, query_block_size=9),
    "linear_parallel": lambda q, k, v: linear_attention(q, k, v, form="parallel"),
    "linear_chunked": lambda q, k, v: linear_attention(q, k, v, form="chunked", chunk_size=8),
    "linear_recurrent": lambda q, k, v: linear_attention(q, k, v, form="recurrent"),
}


@pytest.mark.parametrize("name", sorted(CAUSAL_METHODS))
@pytest.mark.parametrize("i", [0, 13, 31])
def test_causal_methods_do_not_leak_the_future(name, i):
    """Change every token after position i (queries, keys, values): outputs 0..i stay the same."""
    g = torch.Generator().manual_seed(i)
    q, k, v = (torch.randn(2, N, 5, generator=g, dtype=torch.float64) for _ in range(3))
    before = CAUSAL_METHODS[name](q, k, v)
    q2, k2, v2 = q.clone(), k.clone(), v.clone()
    for t in (q2, k2, v2):
        t[:, i + 1:] = torch.randn(2, N - i - 1, 5, generator=g, dtype=torch.float64) * 10
    after = CAUSAL_METHODS[name](q2, k2, v2)
    torch.testing.assert_close(after[:, :i + 1], before[:, :i + 1], atol=1e-12, rtol=0)
    assert not torch.allclose(after[:, i + 1:], before[:, i + 1:])   # the change did reach later tokens


class LargestTensor(TorchDispatchMode):
    """Records the number of elements of the largest tensor any torch operation produces."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


N_BIG = 1024
NO_SQUARE = {
    "sliding_window": lambda q, k, v: sliding_window_attention(q, k, v, 32, global_tokens=[0, 5]),
    "sliding_window_bidirectional": lambda q, k, v: sliding_window_attention(q, k, v, 32, causal=False),
    "tiled": lambda q, k, v: tiled_attention(q, k, v, block_size=256, query_block_size=256),
    "tiled_causal": lambda q, k, v: tiled_attention(q, k, v, block_size=256, causal=True, query_block_size=256),
    "bigbird": lambda q, k, v: block_sparse_attention(q, k, v, bigbird_layout(N_BIG, 64)),
    "linear_chunked": lambda q, k, v: linear_attention(q, k, v, chunk_size=32),
    "performer": lambda q, k, v: performer_attention(q, k, v, 64),
}


@pytest.mark.parametrize("name", sorted(NO_SQUARE))
def test_no_intermediate_is_anywhere_near_n_by_n(name, monkeypatch):
    """Watch every tensor torch creates during the call: none comes close to n² elements.

    The methods size their pieces by a score budget (4 MB by default, which is n² at n = 1024);
    a smaller budget here makes the test fast while n² stays far above it.
    """
    monkeypatch.setattr("selfattn.efficient._common.SCORE_BUDGET", 1 << 14)
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, N_BIG, 16, generator=g) for _ in range(3))
    with LargestTensor() as spy:
        out = NO_SQUARE[name](q, k, v)
    assert out.shape == (1, N_BIG, 16)
    assert spy.largest <= N_BIG * N_BIG // 16, f"{name} made a tensor of {spy.largest} elements (n² = {N_BIG ** 2})"


def test_dispatch_spy_does_see_the_square_in_dense_attention():
    """The spy above would notice: plain attention makes (n, n) tensors."""
    from selfattn import attention
    q = torch.randn(1, 256, 8)
    with LargestTensor() as spy:
        attention(q, q, q, causal=True)
    assert spy.largest >= 256 * 256


def test_sliding_window_runs_where_n_by_n_would_not_fit_in_memory():
    """n = 2^17: an n×n float32 matrix would need 64 GiB; the window needs a few MB."""
    n = 1 << 17
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(n, 4, generator=g) for _ in range(3))
    out = sliding_window_attention(q, k, v, 8)
    assert out.shape == (n, 4) and torch.isfinite(out).all()
    i = n - 1                                                        # spot-check the last query by hand
    s = (q[i] @ k[i - 7:i + 1].T) / 2.0                              # scale 1/√4
    torch.testing.assert_close(out[i], torch.softmax(s, -1) @ v[i - 7:i + 1], atol=1e-5, rtol=0)


# ---------------------------------------------------------------- clear errors
def good(n=8, d_k=4):
    return torch.randn(n, d_k), torch.randn(n, d_k), torch.randn(n, 3)


@pytest.mark.parametrize("call,words", [
    (lambda q, k, v: sliding_window_attention(q, k, v, 0), "window must be an integer >= 1"),
    (lambda q, k, v: sliding_window_attention(q, k, v, 2.5), "window"),
    (lambda q, k, v: sliding_window_attention(q, k, v, 3, global_tokens=[8]), "global_tokens"),
    (lambda q, k, v: sliding_window_attention(q, k, v, 3, global_tokens=[0.5]), "global_tokens"),
    (lambda q, k, v: tiled_attention(q, k, v, block_size=0), "block_size must be an integer >= 1"),
    (lambda q, k, v: tiled_attention(q, k, v, block_size=4, query_block_size=-1), "query_block_size"),
    (lambda q, k, v: linear_attention(q, k, v, form="fast"), "form must be one of"),
    (lambda q, k, v: linear_attention(q, k, v, feature_map="tanh"), "feature_map must be one of"),
    (lambda q, k, v: linear_attention(q, k, v, chunk_size=0), "chunk_size"),
    (lambda q, k, v: performer_attention(q, k, v, 0), "n_features"),
    (lambda q, k, v: block_sparse_attention(q, k, v, strided_layout(9, 2, 2)), "built for n=9"),
    (lambda q, k, v: block_sparse_attention(q, k, v, "strided"), "layout must be a BlockLayout"),
])
def test_bad_arguments_are_named(call, words):
    with pytest.raises(AttentionInputError, match=words):
        call(*good())


@pytest.mark.parametrize("method", [
    lambda q, k, v: sliding_window_attention(q, k, v, 3),
    lambda q, k, v: tiled_attention(q, k, v, block_size=3),
    lambda q, k, v: linear_attention(q, k, v),
    lambda q, k, v: performer_attention(q, k, v, 8),
    lambda q, k, v: block_sparse_attention(q, k, v, strided_layout(8, 2, 2)),
])
def test_mismatched_shapes_are_explained(method):
    q, k, v = good()
    with pytest.raises(AttentionInputError, match="same d_k"):
        method(q, torch.randn(8, 5), v)
    with pytest.raises(AttentionInputError, match="same n_k"):
        method(q, k, torch.randn(7, 3))
    with pytest.raises(AttentionInputError, match="dtype"):
        method(q.int(), k, v)


def test_methods_that_need_one_sequence_say_so():
    q, k, v = torch.randn(5, 4), torch.randn(8, 4), torch.randn(8, 3)
    for call in (lambda: sliding_window_attention(q, k, v, 2),
                 lambda: linear_attention(q, k, v, causal=True),
                 lambda: block_sparse_attention(q, k, v, strided_layout(5, 2, 2))):
        with pytest.raises(AttentionInputError, match="n_q == n_k"):
            call()
    assert linear_attention(q, k, v, causal=False).shape == (5, 3)   # without a mask, lengths may differ


def test_block_layout_checks_its_table():
    with pytest.raises(AttentionInputError, match=r"\(3, 3\)"):
        BlockLayout(10, 4, torch.ones(2, 2, dtype=torch.bool))
    with pytest.raises(AttentionInputError, match="boolean"):
        BlockLayout(10, 4, torch.ones(3, 3))
    with pytest.raises(AttentionInputError, match="n_summary"):
        fixed_layout(16, 2, 2, n_summary=3)
    assert math.isclose(BlockLayout(4, 2, torch.ones(2, 2, dtype=torch.bool)).density(), 1.0)
