"""Every public entry point, fuzzed: a correct result or an AttentionInputError naming the argument.

hypothesis draws shapes (sizes 0 and 1 included), dtypes, numpy or torch, masks of every rank,
NaN and inf, and odd argument values. Whatever comes in, the call either returns what the
references say (torch's scaled_dot_product_attention, the float64 loops of tests/oracle.py) or
raises AttentionInputError whose message names the argument at fault; any other exception fails.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, event, given, settings, strategies as st

from oracle import batched_naive
from selfattn import AttentionInputError, MultiHeadAttention, attention, masks
from selfattn.attention import softmax
from selfattn.efficient import (block_sparse_attention, linear_attention, performer_attention,
                                sliding_window_attention, strided_layout, tiled_attention)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.bool, torch.complex64]
TOL = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 6e-2}


def _names_one_of(err, names) -> None:
    event("refused: " + str(err)[:50])
    msg = str(err)
    assert any(nm in msg for nm in names), f"message names none of {names}: {msg}"


def _array(draw, shape, dtype, as_numpy, special):
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    if dtype.is_floating_point or dtype.is_complex:
        t = torch.randn(tuple(shape), generator=g).to(dtype)
    elif dtype == torch.bool:
        t = torch.rand(tuple(shape), generator=g) > 0.5
    else:
        t = torch.randint(-3, 4, tuple(shape), generator=g).to(dtype)
    if special and t.numel() and (dtype.is_floating_point):
        t = t.clone()
        t.view(-1)[draw(st.integers(0, t.numel() - 1))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    if as_numpy:
        if dtype == torch.bfloat16:
            return t  # numpy has no bfloat16: use a tensor (the kinds then differ on purpose)
        return t.numpy()
    return t


def _rarely(draw, good, bad, odds=8):
    """Draw from `good`, except about once in `odds` draws from `bad` (edge cases stay a minority)."""
    # (hypothesis favours the ends of a range, so the rare branch is a value in the middle)
    return draw(bad) if draw(st.integers(0, odds - 1)) == odds // 2 else draw(good)


@st.composite
def qkv_case(draw):
    lead_q = tuple(draw(st.lists(_size(), max_size=2)))
    lead_k = lead_q if draw(st.integers(0, 3)) != 2 else tuple(draw(st.lists(st.sampled_from([1, 2]), max_size=2)))
    n_q, n_k = draw(_size()), draw(_size())
    d_k, d_v = draw(_size()), draw(_size(zero=False))
    d_k2 = _rarely(draw, st.just(d_k), st.just(d_k + 1), 12)          # a d_k mismatch now and then
    n_v = _rarely(draw, st.just(n_k), st.just(n_k + 1), 12)
    dtype = _rarely(draw, st.sampled_from(DTYPES[:4]), st.sampled_from(DTYPES[4:]))
    as_numpy = draw(st.booleans())
    special = draw(st.integers(0, 9)) == 5
    q = _array(draw, lead_q + (n_q, d_k), dtype, as_numpy, special)
    mixed = draw(st.integers(0, 15)) == 7                              # numpy q with torch k, now and then
    k = _array(draw, lead_k + (n_k, d_k2), dtype, as_numpy != mixed, False)
    v = _array(draw, lead_k + (n_v, d_v), dtype, as_numpy, False)
    return q, k, v


@st.composite
def _size_strategy(draw, zero=True):
    return _rarely(draw, st.integers(1, 5), st.just(0) if zero else st.just(1), 10)


def _size(zero=True):
    return _size_strategy(zero)


@st.composite
def mask_case(draw, n_q, n_k, lead=()):
    """Mostly masks that fit (any rank up to the scores'), sometimes ones that do not."""
    if draw(st.integers(0, 3)) == 0:
        return None
    fits = draw(st.integers(0, 5)) != 3
    if fits:
        rank_lead = draw(st.integers(0, len(lead)))
        shape = [draw(st.sampled_from([1, d])) for d in lead[len(lead) - rank_lead:]]
        shape += [draw(st.sampled_from([1, n_q])), draw(st.sampled_from([1, n_k]))]
        if draw(st.integers(0, 5)) == 0:
            shape = shape[-draw(st.integers(0, 1)) or len(shape):] if len(shape) > 2 else shape[1:]
    else:
        shape = [draw(st.sampled_from([2, 3])) for _ in range(draw(st.integers(0, 2)))]
        shape += [draw(st.sampled_from([1, n_q, n_q + 1])), draw(st.sampled_from([1, n_k, n_k + 2]))]
    dtype = _rarely(draw, st.just(torch.bool), st.sampled_from([torch.float32, torch.int64]), 10)
    m = torch.rand(tuple(shape)) > 0.3 if dtype == torch.bool else torch.ones(tuple(shape), dtype=dtype)
    return m.numpy() if draw(st.booleans()) else m


def _shapes(x):
    return tuple(x.shape)


@FUZZ
@given(case=qkv_case(), data=st.data())
def test_attention_fuzzed(case, data):
    q, k, v = case
    n_q = _shapes(q)[-2] if len(_shapes(q)) >= 2 else 1
    n_k = _shapes(k)[-2] if len(_shapes(k)) >= 2 else 1
    mask = data.draw(mask_case(n_q, n_k, _shapes(q)[:-2]))
    causal = data.draw(st.booleans())
    scale = _rarely(data.draw, st.sampled_from([None, 0.5, np.float32(0.7), 2]), st.sampled_from([0, -1.0, math.nan, True, "x"]))
    try:
        res = attention(q, k, v, mask=mask, causal=causal, scale=scale)
    except AttentionInputError as err:
        _names_one_of(err, ["q", "k", "v", "mask", "scale"])
        return
    qt, kt, vt = (torch.as_tensor(x) for x in (q, k, v))
    assert type(res.output) is type(q)
    out, w = (torch.as_tensor(np.asarray(x)) if isinstance(x, np.ndarray) else x for x in (res.output, res.weights))
    assert out.dtype == qt.dtype
    # the rule: the result has the broadcast shape of q, k and v; a mask never enlarges it
    lead = torch.broadcast_shapes(qt.shape[:-2], kt.shape[:-2], vt.shape[:-2])
    assert tuple(out.shape) == tuple(lead) + (qt.shape[-2], vt.shape[-1])
    m = None if mask is None else torch.as_tensor(np.asarray(mask) if isinstance(mask, np.ndarray) else mask)
    if causal:
        c = masks.causal(qt.shape[-2], kt.shape[-2])
        m = c if m is None else (m & c)
    s = None if scale is None else float(scale)
    ref_out, ref_w = batched_naive(qt.double().numpy(), kt.double().numpy(), vt.double().numpy(),
                                   None if m is None else m.numpy(), s)
    tol = TOL[qt.dtype] * (1 + float(np.abs(ref_out).max(initial=0)))
    np.testing.assert_allclose(out.double().numpy(), ref_out, atol=tol, rtol=TOL[qt.dtype])
    np.testing.assert_allclose(w.double().numpy(), ref_w, atol=TOL[qt.dtype] * 4, rtol=0)
    if qt.dtype == torch.float64 and m is not None and m.any(-1).all():
        # torch's SDPA agrees too (where every query sees at least one key)
        sdpa = F.scaled_dot_product_attention(qt.expand(*lead, *qt.shape[-2:]), kt.expand(*lead, *kt.shape[-2:]),
                                              vt.expand(*lead, *vt.shape[-2:]), attn_mask=m, scale=s)
        torch.testing.assert_close(out, sdpa, atol=1e-9, rtol=1e-7)


def test_a_mask_never_enlarges_the_result():
    q = torch.randn(5, 4)
    with pytest.raises(AttentionInputError, match="mask of shape \\(3, 5, 5\\)"):
        attention(q, q, q, mask=torch.ones(3, 5, 5, dtype=torch.bool))
    # a per-head mask against per-head q is the same rule, from the right
    qh = torch.randn(2, 3, 5, 4)                                       # (batch, n_heads, n, d_k)
    out = attention(qh, qh, qh, mask=torch.ones(3, 5, 5, dtype=torch.bool)).output
    assert out.shape == (2, 3, 5, 4)


@FUZZ
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=3), dim=st.integers(-4, 3),
       dtype=st.sampled_from(DTYPES), as_numpy=st.booleans(), special=st.sampled_from([None, math.nan, math.inf, -math.inf]),
       seed=st.integers(0, 1000))
def test_softmax_fuzzed(shape, dim, dtype, as_numpy, special, seed):
    g = torch.Generator().manual_seed(seed)
    t = (torch.randn(tuple(shape), generator=g) * 3).to(dtype) if dtype != torch.bool else torch.rand(tuple(shape), generator=g) > 0.5
    if special is not None and t.numel() and t.is_floating_point():
        t.view(-1)[seed % t.numel()] = special
    x = t.numpy() if as_numpy and dtype != torch.bfloat16 else t
    try:
        out = softmax(x, dim=dim)
    except AttentionInputError as err:
        _names_one_of(err, ["scores", "dim"])
        return
    assert type(out) is type(x)
    ot = torch.as_tensor(out).double()
    ref = t.double()
    row_ok = torch.isfinite(ref.amax(dim, keepdim=True))
    expected = torch.where(row_ok, torch.softmax(ref, dim), torch.zeros_like(ref))
    torch.testing.assert_close(ot, expected, atol=TOL.get(t.dtype, 1e-6) * 4, rtol=0)


@FUZZ
@given(fn=st.sampled_from(["causal", "bidirectional", "window", "padding", "combine", "empty_rows"]),
       a=st.one_of(st.integers(-2, 6), st.floats(-1, 5), st.just(True), st.just("3"), st.none()),
       b=st.one_of(st.integers(-2, 6), st.none(), st.just(2.5)),
       lengths=st.one_of(st.lists(st.integers(-1, 6), max_size=3), st.just([[1, 2], [3]]), st.just(["a"]),
                         st.just([True, False]), st.just([1.5])),
       offset=st.one_of(st.integers(-3, 3), st.just(0.5), st.just("x")))
def test_masks_fuzzed(fn, a, b, lengths, offset):
    try:
        if fn == "causal":
            m = masks.causal(a, b, offset=offset)
        elif fn == "bidirectional":
            m = masks.bidirectional(a, b)
        elif fn == "window":
            m = masks.window(a, b)
        elif fn == "padding":
            m = masks.padding(lengths, a)
        elif fn == "combine":
            m = masks.combine(masks.causal(3), np.ones((a, 1), bool) if type(a) is int and a >= 0 else a)
        else:
            m = masks.empty_rows(a if type(a) is not int or a < 0 else masks.causal(max(a, 1)))
    except AttentionInputError as err:
        _names_one_of(err, ["n_q", "n_k", "n", "w", "lengths", "length", "mask", "offset"])
        return
    assert isinstance(m, torch.Tensor) and m.dtype == torch.bool
    if fn == "causal":
        i, j = torch.meshgrid(torch.arange(m.shape[0]), torch.arange(m.shape[1]), indexing="ij")
        assert torch.equal(m, j <= i + offset)
    if fn == "padding":
        assert m.shape == (len(lengths), 1, a)
        assert torch.equal(m.sum(-1)[:, 0], torch.tensor(lengths))


@FUZZ
@given(batch=st.integers(1, 3), n_q=st.integers(1, 4), n_k=st.integers(1, 4), n_heads=st.sampled_from([1, 2]),
       gqa=st.booleans(), unbatched=st.booleans(), as_numpy=st.booleans(), cross=st.booleans(),
       causal=st.booleans(), odd=st.integers(0, 11), data=st.data())
def test_multihead_forward_fuzzed(batch, n_q, n_k, n_heads, gqa, unbatched, as_numpy, cross, causal, odd, data):
    # odd: 0 an empty batch, 1 no tokens, 2 float64 input, 3 int input, 4 a NaN; otherwise plain
    dtype = {2: torch.float64, 3: torch.int64}.get(odd, torch.float32)
    batch = 0 if odd == 0 else batch
    n_q = 0 if odd == 1 else n_q
    special = odd == 4
    d_model = 4
    torch.manual_seed(0)
    m = MultiHeadAttention(d_model, n_heads, n_kv_heads=1 if gqa else None)
    n_k = n_k if cross else n_q
    shape_q = (n_q, d_model) if unbatched else (batch, n_q, d_model)
    shape_k = (n_k, d_model) if unbatched else (batch, n_k, d_model)
    xq = (torch.randn(*shape_q) * 2).to(dtype)
    if special and xq.numel() and dtype.is_floating_point:
        xq.view(-1)[0] = math.nan
    xk = (torch.randn(*shape_k) * 2).to(dtype) if cross else None
    mask = data.draw(mask_case(n_q, n_k, (1 if unbatched else batch, n_heads)))
    if as_numpy:
        xq = xq.numpy()
        xk = None if xk is None else xk.numpy()
    try:
        out, w = m(xq, xk, mask=mask, causal=causal)
    except AttentionInputError as err:
        _names_one_of(err, ["x_q", "x_k", "x_v", "mask"])
        return
    # the reference: torch's SDPA per head, with the same mask rule (broadcast from the right)
    xq_t = torch.as_tensor(xq).reshape(-1, n_q, d_model)
    xk_t = xq_t if xk is None else torch.as_tensor(xk).reshape(-1, n_k, d_model)
    b = xq_t.shape[0]
    q = m.split_heads(m.w_q(xq_t), n_heads)                            # (batch, n_heads, n_q, d_head)
    k = m.split_heads(m.w_k(xk_t), m.n_kv_heads).repeat_interleave(n_heads // m.n_kv_heads, dim=1)
    v = m.split_heads(m.w_v(xk_t), m.n_kv_heads).repeat_interleave(n_heads // m.n_kv_heads, dim=1)
    full = torch.ones(b, n_heads, n_q, n_k, dtype=torch.bool)
    if mask is not None:
        full = full & torch.as_tensor(np.asarray(mask) if isinstance(mask, np.ndarray) else mask)
    if causal:
        full = full & masks.causal(n_q, n_k)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=full)      # (batch, n_heads, n_q, d_head)
    ref = torch.where(full.any(-1, keepdim=True), ref, torch.zeros_like(ref))   # fully blocked rows give 0
    ref = m.w_o(ref.transpose(1, 2).reshape(b, n_q, d_model))
    if unbatched:
        ref = ref[0]
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    assert w.shape == ((n_heads, n_q, n_k) if unbatched else (b, n_heads, n_q, n_k))


def test_multihead_three_d_masks_say_which_axis_they_mean():
    m = MultiHeadAttention(8, 2)
    x = torch.randn(1, 5, 8)
    per_head = torch.ones(2, 5, 5, dtype=torch.bool)
    with pytest.raises(AttentionInputError, match=r"mask\[:, None\].*mask\[None\]"):
        m(x, mask=per_head)
    out, w = m(x, mask=per_head[None])                                 # (1, n_heads, n, n)
    assert out.shape == (1, 5, 8) and w.shape == (1, 2, 5, 5)


EFFICIENT = ["sliding_window", "block_sparse", "tiled", "linear", "performer"]


@FUZZ
@given(case=qkv_case(), method=st.sampled_from(EFFICIENT),
       arg=st.integers(1, 6), odd_arg=st.sampled_from([0, -1, 2.5, True, None, "2"]), odd=st.integers(0, 7))
def test_efficient_input_checks_fuzzed(case, method, arg, odd_arg, odd):
    arg = odd_arg if odd == 4 else arg
    q, k, v = case
    try:
        if method == "sliding_window":
            out = sliding_window_attention(q, k, v, arg)
        elif method == "block_sparse":
            n = _shapes(q)[-2] if len(_shapes(q)) >= 2 else 0
            layout = strided_layout(n, arg, 2) if isinstance(arg, int) and not isinstance(arg, bool) and n > 0 and arg > 0 else arg
            out = block_sparse_attention(q, k, v, layout)
        elif method == "tiled":
            out = tiled_attention(q, k, v, block_size=arg)
        elif method == "linear":
            out = linear_attention(q, k, v, chunk_size=arg) if arg is not None else linear_attention(q, k, v)
        else:
            out = performer_attention(q, k, v, arg)
    except AttentionInputError as err:
        _names_one_of(err, ["q", "k", "v", "window", "layout", "block_size", "n", "chunk_size", "n_features",
                            "feature", "block"])
        return
    ot = torch.as_tensor(out)
    assert type(out) is type(q)
    lead = torch.broadcast_shapes(_shapes(q)[:-2], _shapes(k)[:-2], _shapes(v)[:-2])
    assert tuple(ot.shape) == tuple(lead) + (_shapes(q)[-2], _shapes(v)[-1])
    assert torch.isfinite(ot.double()).all()
