"""The cost formulas against what torch really executes and allocates; the log-log fit; spread thin."""
import math

import numpy as np
import pytest
import torch

from selfattn import AttentionInputError, MultiHeadAttention, attention
from selfattn.explore import cost
from selfattn.decoding import KVCache, decode_step


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- counting -------------------------------------------------------------------------------------

def test_attention_flops_is_four_n_squared_d():
    assert cost.attention_flops(10, d_k=8) == 4 * 10 ** 2 * 8
    assert cost.attention_flops(3, 5, 4, 6) == 2 * 3 * 5 * 4 + 2 * 3 * 5 * 6
    assert cost.attention_flops(7, d_k=2, n_heads=3, batch=2) == 6 * 4 * 49 * 2
    # doubling n quadruples the work
    assert cost.attention_flops(2048, d_k=64) == 4 * cost.attention_flops(1024, d_k=64)


@pytest.mark.parametrize("n_q,n_k,d_k,d_v", [(6, 6, 8, 8), (3, 9, 4, 5), (1, 17, 16, 16)])
def test_attention_flops_equal_the_counted_matmuls(n_q, n_k, d_k, d_v):
    q, k, v = rand(2, n_q, d_k, seed=1), rand(2, n_k, d_k, seed=2), rand(2, n_k, d_v, seed=3)
    counted = cost.count_flops(lambda: attention(q, k, v))
    assert counted == cost.attention_flops(n_q, n_k, d_k, d_v, batch=2)
    assert cost.count_flops(lambda: cost.naive_attention(q, k, v)) == counted


def test_attention_matrix_bytes_match_the_stored_tensors():
    res = attention(rand(2, 3, 7, 4), rand(2, 3, 7, 4), rand(2, 3, 7, 4))
    assert res.weights.nbytes == cost.attention_matrix_bytes(7, batch=2, n_heads=3)
    assert cost.attention_matrix_bytes(4, 5, dtype=torch.float64) == 4 * 5 * 8
    assert cost.attention_matrix_bytes(4, dtype=2) == 32
    assert cost.attention_matrix_bytes(65536) == 16 * 2 ** 30          # 16 GiB for one float32 head


@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])
@pytest.mark.parametrize("causal", [False, True])
def test_mha_flops_equal_the_counted_forward_pass(n_kv_heads, causal):
    mha = MultiHeadAttention(16, 4, n_kv_heads=n_kv_heads)
    x = rand(2, 9, 16)
    with torch.no_grad():
        counted = cost.count_flops(lambda: mha(x, causal=causal))
    assert counted == cost.mha_flops(9, 16, 4, n_kv_heads, batch=2)


@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])
def test_decode_step_flops_equal_the_counted_steps(n_kv_heads):
    mha = MultiHeadAttention(32, 4, n_kv_heads=n_kv_heads)
    x = rand(1, 12, 32, seed=4)
    cache = KVCache.empty(mha, 1)
    with torch.no_grad():
        decode_step(mha, x[:, :11], cache)
        counted_cached = cost.count_flops(lambda: decode_step(mha, x[:, 11:], cache))
        counted_recompute = cost.count_flops(lambda: mha(x, causal=True))
    assert counted_cached == cost.decode_step_flops(12, 32, 4, n_kv_heads, cached=True)
    assert counted_recompute == cost.decode_step_flops(12, 32, 4, n_kv_heads, cached=False)
    # the attention part: linear in n with a cache, quadratic without
    step = [cost.decode_step_flops(n, 32, 4, n_kv_heads) for n in (100, 200, 300)]
    assert step[1] - step[0] == step[2] - step[1] == 4 * 100 * 32


def test_measure_decode_cost_counts_agree_with_formulas():
    mha = MultiHeadAttention(16, 4, n_kv_heads=2)
    run = cost.measure_decode_cost(mha, [1, 4, 9], timed=False)
    assert run.counted_cached == run.flops_cached
    assert run.counted_recompute == run.flops_recompute
    assert run.seconds_cached == [] and run.seconds_recompute == []
    assert run.flops_recompute[0] == run.flops_cached[0]                 # one token: nothing to reuse


def test_generation_flops_count_the_prefill_and_steps():
    mha = MultiHeadAttention(16, 4, n_kv_heads=1)
    x = rand(1, 10, 16, seed=5)
    cache = KVCache.empty(mha, 1)

    def cached():
        decode_step(mha, x[:, :4], cache)                                # prefill a 4-token prompt
        for t in range(4, 9):                                            # 5 more steps: 6 outputs after the prompt
            decode_step(mha, x[:, t:t + 1], cache)

    with torch.no_grad():
        counted = cost.count_flops(cached)
        counted_recompute = cost.count_flops(lambda: [mha(x[:, :n], causal=True) for n in range(4, 10)])
    assert counted == cost.generation_flops(4, 6, 16, 4, 1, cached=True)
    assert counted_recompute == cost.generation_flops(4, 6, 16, 4, 1, cached=False)
    assert cost.generation_flops(4, 0, 16, 4) == 0


def test_kv_cache_bytes_match_the_cache_and_known_shapes():
    mha = MultiHeadAttention(16, 4, n_kv_heads=2)
    cache = KVCache.empty(mha, 3)
    with torch.no_grad():
        decode_step(mha, rand(3, 7, 16), cache)
    assert cache.nbytes == cost.kv_cache_bytes(7, n_layers=1, n_kv_heads=2, d_head=4, batch=3, dtype=torch.float32)
    # a 32-layer, 32-head, d_head=64 model in 16-bit: half a mebibyte per token; GQA-8 a quarter of that
    assert cost.kv_cache_bytes(1, n_layers=32, n_kv_heads=32, d_head=128) == 2 * 32 * 32 * 128 * 2 == 2 ** 19
    assert cost.kv_cache_bytes(4096, n_layers=32, n_kv_heads=8, d_head=128) == 2 ** 29
    assert cost.kv_cache_bytes(0, n_layers=1, n_kv_heads=1, d_head=1) == 0


# --- measuring ------------------------------------------------------------------------------------

def test_tensor_memory_sees_the_n_by_n_matrices_of_naive_attention_only():
    n, d = 256, 16
    q, k, v = (rand(1, 1, n, d, seed=s) for s in range(3))
    naive = cost.tensor_memory(lambda: cost.naive_attention(q, k, v), q, k, v)
    fused = cost.tensor_memory(lambda: cost.fused_attention(q, k, v), q, k, v)
    assert naive.largest_bytes == n * n * 4 and math.prod(naive.largest_shape) == n * n
    assert naive.peak_bytes >= 2 * n * n * 4                              # scores and weights alive together
    assert fused.largest_bytes == n * d * 4                               # only the output
    assert fused.peak_bytes < n * n * 4 / 8


def test_measure_scaling_memory_slopes():
    run = cost.measure_scaling([64, 128, 256, 512], d_head=16, timed=False)
    assert run.flops == [cost.attention_flops(n, d_k=16) for n in run.ns]
    assert run.seconds == {"naive": [], "sdpa": []}
    assert run.slope("naive", "bytes") == pytest.approx(2, abs=0.1)
    assert run.slope("sdpa", "bytes") == pytest.approx(1, abs=0.05)
    with pytest.raises(AttentionInputError, match="method must be one of"):
        cost.measure_scaling([8], methods=["flash"])


def test_time_fn_runs_warmup_plus_repeats_and_returns_the_median():
    import selfattn.explore.cost.measure as measure
    clock = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0, 30.0, 37.0])     # runs of 1, 3, 2 and 7 seconds
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measure.time, "perf_counter", lambda: next(clock))
        seconds = cost.time_fn(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6
    assert seconds == 2.5                                             # the median of 1, 3, 2, 7
    with pytest.raises(AttentionInputError, match="repeats"):
        cost.time_fn(lambda: None, repeats=0)


def test_loglog_fit_recovers_a_power_law():
    x = np.array([128, 256, 512, 1024, 2048])
    fit = cost.loglog_fit(x, 3e-9 * x ** 2.0)
    assert fit.slope == pytest.approx(2.0)
    assert fit.coefficient == pytest.approx(3e-9)
    np.testing.assert_allclose(fit.predict(x), 3e-9 * x ** 2.0)
    noisy = 5.0 * x ** 1.5 * np.exp(np.random.default_rng(0).normal(0, 0.05, x.size))
    assert cost.loglog_slope(x, noisy) == pytest.approx(1.5, abs=0.1)


@pytest.mark.parametrize("x,y,match", [([1], [1], "length >= 2"), ([1, 2], [1, -1], "positive"),
                                       ([3, 3], [1, 2], "two different"), ([1, 2, 3], [1, 2], "same length")])
def test_loglog_fit_refuses_bad_input(x, y, match):
    with pytest.raises(AttentionInputError, match=match):
        cost.loglog_fit(x, y)


# --- spread thin ----------------------------------------------------------------------------------

def test_spread_thin_rows_drift_towards_uniform():
    st = cost.spread_thin([4, 16, 64, 256, 1024, 4096], margin=3.0, n_rows=128)
    assert np.all(np.diff(st.max_weight) < 0)
    assert np.all(np.diff(st.needle_weight) < 0)
    # entropy (bits) approaches log₂ n - σ²/(2 ln 2) for Gaussian scores
    assert st.entropy[-1] == pytest.approx(math.log2(4096) - 0.5 / math.log(2), abs=0.07)
    assert st.limit_entropy[-1] == pytest.approx(math.log2(4096) - 0.5 / math.log(2))
    np.testing.assert_allclose(st.uniform_entropy, np.log2(st.ns))
    np.testing.assert_allclose(st.needle_weight, st.expected_needle, rtol=0.1)
    # from n = 256 on, the needle's weight falls like 1/n: ×4 keys, about ÷4 weight
    assert st.needle_weight[-2] / st.needle_weight[-1] == pytest.approx(4, rel=0.1)


def test_margin_needed_inverts_expected_needle_weight():
    n = np.array([10, 100, 1000, 100000])
    m = cost.margin_needed(n, 0.5)
    np.testing.assert_allclose(cost.expected_needle_weight(n, m), 0.5)
    np.testing.assert_allclose(np.diff(cost.margin_needed(np.array([11, 101, 1001]), 0.9)), math.log(10), rtol=1e-12)
    assert cost.expected_needle_weight(1, 0.0) == 1.0
    with pytest.raises(AttentionInputError, match="weight must lie strictly between 0 and 1"):
        cost.margin_needed(10, 1.0)


def test_spread_thin_without_margin_and_bad_input():
    st = cost.spread_thin([2, 8], margin=None, n_rows=4)
    assert np.isnan(st.needle_weight).all() and np.isnan(st.expected_needle).all()
    with pytest.raises(AttentionInputError, match="n must be an integer >= 1"):
        cost.spread_thin([0])


# --- the explorer's numbers -----------------------------------------------------------------------

def test_context_report_numbers():
    shapes = cost.MODEL_SHAPES
    mha = cost.context_report(4096, shapes[cost.MHA])
    gqa = cost.context_report(4096, shapes[cost.GQA])
    mqa = cost.context_report(4096, shapes[cost.MQA])
    assert mha["kv_bytes_per_token"] == 2 ** 19
    assert mha["kv_cache_bytes"] == 4096 * 2 ** 19 == 2 * 2 ** 30
    assert gqa["kv_cache_bytes"] * 4 == mha["kv_cache_bytes"] == mqa["kv_cache_bytes"] * 32
    assert mha["attention_flops"] == gqa["attention_flops"] == 32 * 4 * 4096 ** 2 * 4096
    assert mha["score_matrix_bytes"] == 32 * 32 * 4096 ** 2 * 2
    assert mha["step_flops_recompute"] > 1000 * mha["step_flops_cached"]
    doubled = cost.context_report(8192, shapes[cost.MHA])
    assert doubled["attention_flops"] == 4 * mha["attention_flops"]
    assert doubled["kv_cache_bytes"] == 2 * mha["kv_cache_bytes"]
    with pytest.raises(AttentionInputError, match="ModelShape"):
        cost.context_report(8, "llama")


def test_human_units():
    assert cost.human_bytes(512) == "512 bytes"
    assert cost.human_bytes(1536) == "1.5 KiB"
    assert cost.human_bytes(2 ** 31) == "2.0 GiB"
    assert cost.human_flops(999) == "999 FLOP"
    assert cost.human_flops(3.2e9) == "3.2 GFLOP"


def test_needle_rows_are_softmax_rows_that_share_distractors():
    rows = cost.needle_rows([1, 4, 16], margin=2.0)
    assert rows.shape == (3, 16)
    assert rows[0, 0] == 1.0 and np.isnan(rows[0, 1:]).all()
    np.testing.assert_allclose(np.nansum(rows, axis=1), 1.0)
    assert np.isnan(rows[1, 4:]).all() and not np.isnan(rows[1, :4]).any()
    assert rows[0, 0] > rows[1, 0] > rows[2, 0]
    # the same distractors: the ratio of two distractors' weights is the same in every row
    assert rows[1, 1] / rows[1, 2] == pytest.approx(rows[2, 1] / rows[2, 2])
    with pytest.raises(AttentionInputError, match="at least one n"):
        cost.needle_rows([])


def test_time_fn_uses_the_thread_count_asked_for_and_restores_it():
    before, seen = torch.get_num_threads(), []
    cost.time_fn(lambda: seen.append(torch.get_num_threads()), repeats=2, warmup=0, threads=1)
    assert seen == [1, 1] and torch.get_num_threads() == before
    cost.time_fn(lambda: seen.append(torch.get_num_threads()), repeats=1, warmup=0, threads=None)
    assert seen[-1] == before


def test_entropy_bits_of_uniform_and_one_hot_rows():
    assert float(cost.entropy_bits(torch.full((8,), 1 / 8))) == pytest.approx(3.0)
    assert float(cost.entropy_bits(torch.tensor([1.0, 0.0, 0.0]))) == 0.0


def test_kernel_scratch_sees_what_tensor_memory_does_not():
    """SDPA's fused CPU kernel allocates work buffers inside itself: the profiler sees them, and at one
    thread they do not grow with n (only its n softmax statistics, 4 bytes per query, do)."""
    from selfattn.threads import torch_threads
    sizes = {}
    with torch_threads(1):
        for n in (1024, 4096):
            q, k, v = (torch.randn(1, 1, n, 64) for _ in range(3))
            sizes[n] = cost.kernel_scratch(lambda: cost.fused_attention(q, k, v))
            out_only = cost.tensor_memory(lambda: cost.fused_attention(q, k, v), q, k, v).peak_bytes
            assert out_only == n * 64 * 4 + n * 4 or out_only == n * 64 * 4      # output (+ statistics)
    assert sizes[1024] > 100 * 1024                                   # a real buffer, not nothing
    assert sizes[4096] - sizes[1024] == (4096 - 1024) * 4             # only the per-query statistics grow


def test_scaling_run_keeps_its_fitted_slopes():
    run = cost.measure_scaling([64, 128, 256], d_head=8, timed=False)
    assert run.memory_slopes == pytest.approx({m: run.slope(m, "bytes") for m in run.peak_bytes})
    assert run.memory_slopes["naive"] > 1.8 and run.memory_slopes["sdpa"] < 1.2


def test_model_shapes_are_the_published_ones():
    mha, gqa, mqa = (cost.MODEL_SHAPES[k] for k in (cost.MHA, cost.GQA, cost.MQA))
    assert (mha.n_layers, mha.d_model, mha.n_heads, mha.n_kv_heads, mha.d_head) == (32, 4096, 32, 32, 128)
    assert (gqa.n_kv_heads, mqa.n_kv_heads) == (8, 1)
    assert "Llama 2 7B" in cost.MHA and "Mistral 7B" in cost.GQA and "hypothetical" in cost.MQA
