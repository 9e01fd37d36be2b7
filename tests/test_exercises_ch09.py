"""Chapter 9's exercises: each accepts its reference solution and names what is wrong in typical mistakes."""
import math

import pytest
import torch

from selfattn.exercises import ch09 as ex
from selfattn.exercises import exercises


def verdict(exercise, answer):
    return exercise.evaluate(answer)


def test_every_reference_passes():
    assert {e.name for e in exercises("ch09")} >= {"merge_partials", "recall_prediction", "design_pattern", "fix_online_softmax"}
    for e in exercises("ch09"):
        res = verdict(e, e.reference_answer())
        assert res.passed is True, (e.name, res.message)


def test_placeholders_are_not_attempted():
    for e in exercises("ch09"):
        assert verdict(e, ...).passed is None
        if callable(e.reference()):
            assert verdict(e, lambda *a: ...).passed is None


# --- merge_partials ---------------------------------------------------------------------------

def test_merge_without_rescaling_is_explained():
    def no_rescale(m_a, l_a, o_a, m_b, l_b, o_b):
        m = torch.maximum(m_a, m_b)
        return m, l_a + l_b, (l_a * o_a + l_b * o_b) / (l_a + l_b)
    res = verdict(ex.merge_partials, no_rescale)
    assert res.passed is False and "rescale" in res.message


def test_merge_by_plain_average_is_explained():
    def average(m_a, l_a, o_a, m_b, l_b, o_b):
        a, b = torch.exp(m_a - torch.maximum(m_a, m_b)) * l_a, torch.exp(m_b - torch.maximum(m_a, m_b)) * l_b
        return torch.maximum(m_a, m_b), a + b, (o_a + o_b) / 2
    res = verdict(ex.merge_partials, average)
    assert res.passed is False and "plain average" in res.message


def test_merge_that_overflows_is_explained():
    def unstable(m_a, l_a, o_a, m_b, l_b, o_b):
        a, b = torch.exp(m_a) * l_a, torch.exp(m_b) * l_b          # exp of a raw max overflows for big scores
        m = torch.maximum(m_a, m_b)
        return m, (a + b) * torch.exp(-m), (a * o_a + b * o_b) / (a + b)
    res = verdict(ex.merge_partials, unstable)
    assert res.passed is False and "overflow" in res.message


def test_merge_with_wrong_return_is_explained():
    res = verdict(ex.merge_partials, lambda *a: a[2])
    assert res.passed is False and "three things" in res.message


# --- reachable --------------------------------------------------------------------------------

def test_reachable_off_by_one_is_explained():
    def too_far(n, window, n_layers, query):
        return set(range(max(0, query - n_layers * window), query + 1))
    res = verdict(ex.reachable, too_far)
    assert res.passed is False and "window − 1" in res.message


def test_reachable_without_clipping_is_explained():
    def unclipped(n, window, n_layers, query):
        return set(range(query - n_layers * (window - 1), query + 1))
    res = verdict(ex.reachable, unclipped)
    assert res.passed is False and "negative" in res.message


def test_reachable_looking_ahead_is_explained():
    def both_sides(n, window, n_layers, query):
        r = n_layers * (window - 1)
        return set(range(max(0, query - r), min(n, query + r + 1)))
    res = verdict(ex.reachable, both_sides)
    assert res.passed is False and "after the query" in res.message


# --- recall_prediction (predict, then check) ------------------------------------------------------

def test_recall_prediction_accepts_the_measured_weights_and_names_the_mistakes():
    soft, lin = ex.recall_truth()
    assert soft > 0.8 and lin < 4 / 256                              # the experiment the prediction is about
    assert verdict(ex.recall_prediction, (soft, lin)).passed is True
    res = verdict(ex.recall_prediction, (0.9, 0.9))
    assert res.passed is False and "linearly" in res.message
    res = verdict(ex.recall_prediction, (1 / 256, 1 / 256))
    assert res.passed is False and "spread its weight" in res.message
    res = verdict(ex.recall_prediction, (0.9,))
    assert res.passed is False and "two numbers" in res.message
    assert verdict(ex.recall_prediction, (1.5, 0.01)).passed is False


# --- design_pattern ---------------------------------------------------------------------------------

def test_design_pattern_accepts_a_hub_and_names_the_mistakes():
    from selfattn.explore import efficient as E
    assert verdict(ex.design_pattern, E.local_global_random_mask(32, 1, n_global=1, n_random=1, causal=False)).passed is True
    assert verdict(ex.design_pattern, lambda n: E.local_global_random_mask(n, 1, n_global=1, causal=False)).passed is True
    res = verdict(ex.design_pattern, torch.ones(32, 32, dtype=torch.bool))
    assert res.passed is False and "full attention" in res.message
    res = verdict(ex.design_pattern, E.local_global_random_mask(32, 2, causal=False))
    assert res.passed is False and "window alone" in res.message
    row_only = E.local_global_random_mask(32, 1, causal=False)
    row_only[0, :] = True                                             # token 0 gathers but nobody reads it
    res = verdict(ex.design_pattern, row_only)
    assert res.passed is False and "full column" in res.message
    res = verdict(ex.design_pattern, torch.ones(8, 8, dtype=torch.bool))
    assert res.passed is False and "shape" in res.message


# --- fix_online_softmax (debug) -----------------------------------------------------------------------

def test_the_buggy_version_is_really_wrong_and_the_fix_is_exact():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 10, generator=g, dtype=torch.float64)
    s[:, -1] = 5.0                                                     # the max grows in the last block
    v = torch.randn(10, 2, generator=g, dtype=torch.float64)
    exact = torch.softmax(s, dim=-1) @ v
    assert (ex.buggy_online_attention(s, v, 4) - exact).abs().max() > 1e-2
    assert verdict(ex.fix_online_softmax, ex.buggy_online_attention).passed is False
    assert "still matches the buggy version" in verdict(ex.fix_online_softmax, ex.buggy_online_attention).message


def test_fix_with_the_inverse_factor_or_no_shift_is_explained():
    def inverse(scores, values, block_size):
        m = torch.full((scores.shape[0], 1), -math.inf, dtype=scores.dtype)
        l_sum = torch.zeros(scores.shape[0], 1, dtype=scores.dtype)
        acc = torch.zeros(scores.shape[0], values.shape[1], dtype=scores.dtype)
        for j0 in range(0, scores.shape[1], block_size):
            s = scores[:, j0:j0 + block_size]
            m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
            alpha = torch.exp(torch.nan_to_num(m_new - m, posinf=0.0))   # upside down
            p = torch.exp(s - m_new)
            l_sum, acc, m = l_sum * alpha + p.sum(-1, keepdim=True), acc * alpha + p @ values[j0:j0 + block_size], m_new
        return acc / l_sum
    res = verdict(ex.fix_online_softmax, inverse)
    assert res.passed is False and "exp(m − m_new)" in res.message

    def unshifted(scores, values, block_size):
        p = torch.exp(scores)
        return (p @ values) / p.sum(-1, keepdim=True)
    res = verdict(ex.fix_online_softmax, unshifted)
    assert res.passed is False and "inf or NaN" in res.message


# --- smallest_window ----------------------------------------------------------------------------------

def test_smallest_window_too_small_and_too_large():
    res = verdict(ex.smallest_window, lambda n, n_layers: math.ceil(n / n_layers))
    assert res.passed is False and "reaches" in res.message
    res = verdict(ex.smallest_window, lambda n, n_layers: n)
    assert res.passed is False and "smaller one" in res.message


# --- linear_recurrent -------------------------------------------------------------------------

def _recurrent(q, k, v, *, normalise=True, self_first=True):
    phi_q, phi_k = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
    s = torch.zeros(q.shape[1], v.shape[1], dtype=q.dtype)
    z = torch.zeros(q.shape[1], dtype=q.dtype)
    rows = []
    for i in range(q.shape[0]):
        if self_first:
            s, z = s + torch.outer(phi_k[i], v[i]), z + phi_k[i]
        out = phi_q[i] @ s
        rows.append(out / (phi_q[i] @ z) if normalise and (phi_q[i] @ z) > 0 else out)
        if not self_first:
            s, z = s + torch.outer(phi_k[i], v[i]), z + phi_k[i]
    return torch.stack(rows)


def test_linear_recurrent_independent_solution_passes():
    assert verdict(ex.linear_recurrent, _recurrent).passed is True


def test_linear_recurrent_unnormalised_is_explained():
    res = verdict(ex.linear_recurrent, lambda q, k, v: _recurrent(q, k, v, normalise=False))
    assert res.passed is False and "normalised" in res.message


def test_linear_recurrent_update_after_read_is_explained():
    res = verdict(ex.linear_recurrent, lambda q, k, v: _recurrent(q, k, v, self_first=False))
    assert res.passed is False and "see itself" in res.message


def test_a_crashing_answer_is_reported_in_one_line():
    res = verdict(ex.linear_recurrent, lambda q, k, v: q @ v)
    assert res.passed is False and "raised" in res.message
