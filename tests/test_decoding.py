"""Decoding with a key/value cache equals running the whole sequence with a causal mask."""
import pytest
import torch

from selfattn import AttentionInputError, MultiHeadAttention
from selfattn.explore.cost import tensor_memory
from selfattn.decoding import (KVCache, TinyDecoder, decode_incremental, decode_recompute, decode_step,
                               generate)

KINDS = {"MHA": 4, "GQA": 2, "MQA": 1}


def rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def layer(n_kv_heads, d_model=16, n_heads=4, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return MultiHeadAttention(d_model, n_heads, n_kv_heads=n_kv_heads).to(dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch", [1, 3])
def test_cached_decoding_equals_full_causal_pass(kind, batch):
    mha = layer(KINDS[kind])
    x = rand(batch, 11, 16, seed=1)                                      # (batch, n, d_model)
    with torch.no_grad():
        full, _ = mha(x, causal=True)
        got = decode_incremental(mha, x)
    torch.testing.assert_close(got, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_recompute_baseline_equals_full_causal_pass(kind):
    mha = layer(KINDS[kind], seed=2)
    x = rand(2, 9, 16, seed=3)
    with torch.no_grad():
        full, _ = mha(x, causal=True)
        torch.testing.assert_close(decode_recompute(mha, x), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_prefill_then_steps_give_the_rows_and_weights_of_the_full_pass(kind):
    mha = layer(KINDS[kind], seed=4, dtype=torch.float64)
    x = rand(2, 10, 16, seed=5, dtype=torch.float64)
    full_out, full_w = mha(x, causal=True)
    cache = KVCache.empty(mha, 2, capacity=3)                            # small: it must grow
    out_a, w_a = decode_step(mha, x[:, :6], cache)                       # prefill 6 tokens at once
    torch.testing.assert_close(out_a, full_out[:, :6])
    torch.testing.assert_close(w_a, full_w[:, :, :6, :6])
    for t in range(6, 10):
        out_t, w_t = decode_step(mha, x[:, t:t + 1], cache)
        torch.testing.assert_close(out_t[:, 0], full_out[:, t])
        torch.testing.assert_close(w_t[:, :, 0], full_w[:, :, t, :t + 1])


def test_cache_grows_by_one_position_per_step():
    mha = layer(2)
    x = rand(1, 8, 16)
    cache = KVCache.empty(mha, 1, capacity=2)
    lengths, shapes = [], []
    with torch.no_grad():
        for t in range(8):
            decode_step(mha, x[:, t:t + 1], cache)
            lengths.append(cache.length)
            shapes.append(tuple(cache.keys.shape))
    assert lengths == list(range(1, 9))
    assert shapes == [(1, 2, t, 4) for t in range(1, 9)]                 # (batch, n_kv_heads, n, d_head)
    assert cache.capacity >= 8
    assert cache.nbytes == 2 * 1 * 2 * 8 * 4 * 4                         # K and V, n_kv_heads=2, n=8, d_head=4, float32


def test_cache_stores_n_kv_heads_and_reads_are_views_not_copies():
    mha = layer(1)                                                       # multi-query: one key/value head
    cache = KVCache.empty(mha, 2, capacity=16)
    with torch.no_grad():
        decode_step(mha, rand(2, 5, 16), cache)
    assert cache.k_buffer.shape == (2, 1, 16, 4)                         # (batch, n_kv_heads, capacity, d_head)
    assert cache.keys.data_ptr() == cache.k_buffer.data_ptr()
    assert cache.values.data_ptr() == cache.v_buffer.data_ptr()


@pytest.mark.parametrize("n_kv_heads", [1, 2])
def test_decode_never_copies_keys_or_values_per_query_head(n_kv_heads):
    # A long cache, 4 query heads of d_head = 32: copying K per query head would create a
    # (batch, n_heads, n, d_head) tensor. Every tensor the step creates must be far smaller than that;
    # the largest is the (batch, n_kv_heads, group, n) score matrix, a factor d_head smaller.
    mha = layer(n_kv_heads, d_model=128, n_heads=4, seed=6)
    n = 2048
    cache = KVCache.empty(mha, 1, capacity=n + 1)
    with torch.no_grad():
        decode_step(mha, rand(1, n, 128, seed=7), cache)                  # prefill
        x_new = rand(1, 1, 128, seed=8)
        mem = tensor_memory(lambda: decode_step(mha, x_new, cache), x_new, cache.k_buffer, cache.v_buffer)
    per_head_copy = 1 * mha.n_heads * (n + 1) * mha.d_head * 4           # bytes of K expanded to every query head
    kv_head_copy = 1 * n_kv_heads * (n + 1) * mha.d_head * 4             # bytes of K for the key/value heads alone
    assert mem.largest_bytes < kv_head_copy / 4 < per_head_copy
    assert mem.peak_bytes < kv_head_copy / 2
    assert cache.length == n + 1


def test_truncate_rolls_back():
    mha = layer(2, dtype=torch.float64)
    x = rand(1, 5, 16, dtype=torch.float64)
    cache = KVCache.empty(mha, 1)
    decode_step(mha, x[:, :4], cache)
    first, _ = decode_step(mha, x[:, 4:], cache)
    cache.truncate(4)
    again, _ = decode_step(mha, x[:, 4:], cache)
    torch.testing.assert_close(first, again)
    with pytest.raises(AttentionInputError, match="length must be an integer in 0..5"):
        cache.truncate(9)


def test_unbatched_input_gives_unbatched_output():
    mha = layer(2, dtype=torch.float64)
    x = rand(6, 16, dtype=torch.float64)                                 # (n, d_model)
    torch.testing.assert_close(decode_incremental(mha, x), mha(x, causal=True)[0])
    cache = KVCache.empty(mha, 1)
    out, w = decode_step(mha, x[:2], cache)
    assert out.shape == (2, 16) and w.shape == (4, 2, 2)


def test_bad_inputs_name_the_argument():
    mha = layer(2)
    cache = KVCache.empty(mha, 2)
    with pytest.raises(AttentionInputError, match=r"x_new must have shape \(batch, n, d_model=16\)"):
        decode_step(mha, torch.zeros(2, 1, 8), cache)
    with pytest.raises(AttentionInputError, match="cache holds"):
        decode_step(mha, torch.zeros(3, 1, 16), cache)
    with pytest.raises(AttentionInputError, match="cache must be a KVCache"):
        decode_step(mha, torch.zeros(2, 1, 16), None)
    with pytest.raises(AttentionInputError, match="mha must be a selfattn.MultiHeadAttention"):
        decode_step(torch.nn.Linear(3, 3), torch.zeros(2, 1, 16), cache)
    with pytest.raises(AttentionInputError, match="self-attention"):
        decode_step(MultiHeadAttention(16, 4, kdim=8), torch.zeros(2, 1, 16), cache)
    with pytest.raises(AttentionInputError, match="k_new must have shape"):
        cache.append(torch.zeros(2, 4, 1, 4), torch.zeros(2, 4, 1, 4))


@pytest.mark.parametrize("kind", KINDS)
def test_generate_with_and_without_cache_gives_the_same_tokens(kind):
    model = TinyDecoder(40, 16, 4, n_kv_heads=KINDS[kind], context_window=32, seed=1).double()
    prompt = torch.randint(0, 40, (2, 5), generator=torch.Generator().manual_seed(2))
    a = generate(model, prompt, 12, use_cache=True)
    b = generate(model, prompt, 12, use_cache=False)
    assert a.shape == (2, 17)
    assert torch.equal(a[:, :5], prompt)
    assert torch.equal(a, b)


def test_tiny_decoder_step_matches_forward():
    model = TinyDecoder(30, 16, 4, n_kv_heads=2, context_window=20).double()
    ids = torch.randint(0, 30, (1, 9), generator=torch.Generator().manual_seed(3))
    cache = model.new_cache(1)
    logits = torch.cat([model.step(ids[:, :4], cache), model.step(ids[:, 4:], cache)], dim=1)
    torch.testing.assert_close(logits, model(ids))


def test_the_context_window_is_a_hard_limit():
    model = TinyDecoder(10, 8, 2, context_window=6)
    with pytest.raises(AttentionInputError, match="context window of 6 positions"):
        generate(model, torch.zeros(1, 4, dtype=torch.long), 3)
    with pytest.raises(AttentionInputError, match="context window is 6"):
        model(torch.zeros(1, 7, dtype=torch.long))
    with pytest.raises(AttentionInputError, match="ids must lie in 0..9"):
        model(torch.full((1, 2), 10))
    assert generate(model, torch.zeros(1, 4, dtype=torch.long), 2).shape == (1, 6)
    assert torch.equal(generate(model, torch.zeros(1, 3, dtype=torch.long), 0), torch.zeros(1, 3, dtype=torch.long))


def test_cross_step_with_a_memory_cache_equals_cross_attention():
    """Source keys/values projected once (memory_cache) give the same rows as full cross-attention."""
    from selfattn.decoding import cross_step, memory_cache
    from selfattn.multihead import MultiHeadAttention
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4).double()
    memory = torch.randn(2, 7, 16, dtype=torch.float64)              # (batch, n_mem, d_model)
    x = torch.randn(2, 5, 16, dtype=torch.float64)                   # (batch, n, d_model)
    real = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])      # (batch, n_mem)
    want, want_w = mha(x, memory, memory, mask=real[:, None, None, :])   # (batch, 1, 1, n_mem)
    cache = memory_cache(mha, memory)
    rows = [cross_step(mha, x[:, t:t + 1], cache, memory_mask=real) for t in range(5)]
    got = torch.cat([r[0] for r in rows], 1)
    got_w = torch.cat([r[1] for r in rows], 2)
    assert cache.length == 7                                          # nothing appended by the steps
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    torch.testing.assert_close(got_w, want_w, atol=1e-12, rtol=0)
    assert float(got_w[1, :, :, 4:].abs().max()) == 0.0               # padding gets no weight
