"""Chapter 8's exercises: each accepts its reference solution and names what is wrong in typical mistakes."""
import math

import numpy as np
import torch

from selfattn.exercises import ch08 as ex
from selfattn.exercises import exercises

from exercise_helpers import fails, passes


def test_every_reference_passes():
    assert len(exercises("ch08")) >= 3
    for e in exercises("ch08"):
        res = e.evaluate(e.reference_answer())
        assert res.passed is True, (e.name, res.message)


def test_placeholders_are_not_attempted():
    for e in exercises("ch08"):
        assert e.evaluate(...).passed is None
        assert e.evaluate(None).passed is None
    for e in (ex.cached_step, ex.gqa_attention):
        assert e.evaluate(lambda *a: ...).passed is None


# --- predict_peak_memory ---------------------------------------------------------------------

def test_peak_prediction_matches_the_measurement():
    from selfattn.explore import cost
    n, d = ex.N_PREDICT, ex.D_PREDICT
    q, k, v = (torch.randn(1, 1, n, d) for _ in range(3))
    measured = cost.tensor_memory(lambda: cost.naive_attention(q, k, v), q, k, v).peak_bytes
    assert measured == ex.naive_peak_bytes(n, d)


def test_peak_mistakes_are_named():
    passes(ex.predict_peak_memory, 129)
    passes(ex.predict_peak_memory, 135.3)                              # 129 MiB written in MB
    fails(ex.predict_peak_memory, 65, "multiplies it by 4, not 2")
    fails(ex.predict_peak_memory, 64, "both exist")
    fails(ex.predict_peak_memory, 64.5, "multiplies it by 4, not 2")
    fails(ex.predict_peak_memory, 1000, "doubling n")


# --- kv_heads_for_budget ----------------------------------------------------------------------

def test_budget_mistakes_are_named():
    passes(ex.kv_heads_for_budget, 8)
    fails(ex.kv_heads_for_budget, 12, "does not divide")
    fails(ex.kv_heads_for_budget, 16, "over the 24 GiB budget")
    fails(ex.kv_heads_for_budget, 4, "a larger number does too")
    fails(ex.kv_heads_for_budget, 2.5, "whole number")


# --- gqa_attention ----------------------------------------------------------------------------

def _gqa_given(tile, causal=True):
    from selfattn import attention

    def gqa(q, k, v):
        group = q.shape[0] // k.shape[0]
        k = k.repeat(group, 1, 1) if tile else k.repeat_interleave(group, dim=0)
        v = v.repeat(group, 1, 1) if tile else v.repeat_interleave(group, dim=0)
        return attention(q, k, v, causal=causal).output
    return gqa


def test_gqa_mistakes_are_named():
    passes(ex.gqa_attention, _gqa_given(tile=False))
    fails(ex.gqa_attention, _gqa_given(tile=True), "repeat_interleave")
    fails(ex.gqa_attention, _gqa_given(tile=False, causal=False), "causal mask is gone")


def test_gqa_solution_matches_multihead_attention():
    from selfattn import MultiHeadAttention
    mha = MultiHeadAttention(16, 4, n_kv_heads=2).double()
    x = torch.randn(1, 5, 16, dtype=torch.float64)
    with torch.no_grad():
        want, _ = mha(x, causal=True)
        q = mha.split_heads(mha.w_q(x), 4)[0]                          # (n_heads, n, d_head)
        k = mha.split_heads(mha.w_k(x), 2)[0]                          # (n_kv_heads, n, d_head)
        v = mha.split_heads(mha.w_v(x), 2)[0]
        heads = ex._gqa_solution(q, k, v)                              # (n_heads, n, d_head)
        got = mha.w_o(heads.transpose(0, 1).reshape(1, 5, 16))          # (batch, n, d_model)
    torch.testing.assert_close(got, want)


def test_step_that_attends_before_appending_is_explained():
    def late(q_new, k_new, v_new, k_cache, v_cache):
        if k_cache.shape[0] == 0:
            out = v_new
        else:
            w = torch.softmax(q_new @ k_cache.T / math.sqrt(q_new.shape[-1]), dim=-1)
            out = w @ v_cache
        return out, torch.cat([k_cache, k_new]), torch.cat([v_cache, v_new])
    res = ex.cached_step.evaluate(late)
    assert res.passed is False and "BEFORE attending" in res.message


def test_step_without_scaling_is_explained():
    def unscaled(q_new, k_new, v_new, k_cache, v_cache):
        k_cache, v_cache = torch.cat([k_cache, k_new]), torch.cat([v_cache, v_new])
        return torch.softmax(q_new @ k_cache.T, dim=-1) @ v_cache, k_cache, v_cache
    res = ex.cached_step.evaluate(unscaled)
    assert res.passed is False and "not scaled" in res.message


def test_step_that_forgets_to_return_the_cache_is_explained():
    def forgetful(q_new, k_new, v_new, k_cache, v_cache):
        keys, values = torch.cat([k_cache, k_new]), torch.cat([v_cache, v_new])
        out = torch.softmax(q_new @ keys.T / math.sqrt(q_new.shape[-1]), dim=-1) @ values
        return out, k_cache, v_cache
    res = ex.cached_step.evaluate(forgetful)
    assert res.passed is False and "append the new key and value" in res.message
    res = ex.cached_step.evaluate(lambda *a: a[2])
    assert res.passed is False and "three things" in res.message


def test_step_that_raises_is_reported_in_one_line():
    res = ex.cached_step.evaluate(lambda *a: 1 / 0)
    assert res.passed is False and "ZeroDivisionError" in res.message


# --- needle_margin ----------------------------------------------------------------------------

