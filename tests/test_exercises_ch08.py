"""Chapter 8's exercises: each accepts its reference solution and names what is wrong in typical mistakes."""
import math

import numpy as np
import torch

from selfattn.exercises import ch08 as ex
from selfattn.exercises import exercises


def test_every_reference_passes():
    assert len(exercises("ch08")) >= 3
    for e in exercises("ch08"):
        res = e.evaluate(e.reference_answer())
        assert res.passed is True, (e.name, res.message)


def test_placeholders_are_not_attempted():
    for e in exercises("ch08"):
        assert e.evaluate(...).passed is None
        assert e.evaluate(None).passed is None
    for e in (ex.count_flops, ex.kv_cache_bytes, ex.cached_step):
        assert e.evaluate(lambda *a: ...).passed is None


# --- count_flops ------------------------------------------------------------------------------

def test_flops_half_is_explained():
    res = ex.count_flops.evaluate(lambda n, d: 2 * n * n * d)
    assert res.passed is False and "half" in res.message


def test_flops_swapped_is_explained():
    res = ex.count_flops.evaluate(lambda n, d: 4 * n * d * d)
    assert res.passed is False and "swapped" in res.message


def test_flops_not_a_number_is_explained():
    res = ex.count_flops.evaluate(lambda n, d: "lots")
    assert res.passed is False and "number" in res.message


# --- kv_cache_bytes ---------------------------------------------------------------------------

def test_kv_without_values_is_explained():
    res = ex.kv_cache_bytes.evaluate(lambda n, L, h, kv, d, b: L * kv * d * n * b)
    assert res.passed is False and "keys AND values" in res.message


def test_kv_with_query_heads_is_explained():
    res = ex.kv_cache_bytes.evaluate(lambda n, L, h, kv, d, b: 2 * L * h * d * n * b)
    assert res.passed is False and "n_kv_heads" in res.message


def test_kv_without_layers_or_bytes_is_explained():
    res = ex.kv_cache_bytes.evaluate(lambda n, L, h, kv, d, b: 2 * kv * d * n * b)
    assert res.passed is False and "n_layers" in res.message
    res = ex.kv_cache_bytes.evaluate(lambda n, L, h, kv, d, b: 2 * L * kv * d * n)
    assert res.passed is False and "bytes_per_number" in res.message and "AND" not in res.message


# --- cached_step ------------------------------------------------------------------------------

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

def test_margin_mistakes_are_explained():
    res = ex.needle_margin.evaluate(math.log(1_000_000))
    assert res.passed is False and "σ²/2" in res.message
    res = ex.needle_margin.evaluate(math.log10(1_000_000) + 0.5)
    assert res.passed is False
    res = ex.needle_margin.evaluate(math.log10(1_000_000))
    assert res.passed is False and "natural logarithm" in res.message
    assert ex.needle_margin.evaluate(np.log(999_999) + 0.5).passed is True
