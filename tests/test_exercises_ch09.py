"""Chapter 9's exercises: each accepts its reference solution and names what is wrong in typical mistakes."""
import math

import pytest
import torch

from selfattn.exercises import ch09 as ex
from selfattn.exercises import exercises


def verdict(exercise, answer):
    return exercise.evaluate(answer)


def test_every_reference_passes():
    assert len(exercises("ch09")) >= 3
    for e in exercises("ch09"):
        res = verdict(e, e.reference())
        assert res.passed is True, (e.name, res.message)


def test_placeholders_are_not_attempted():
    for e in exercises("ch09"):
        assert verdict(e, ...).passed is None
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


# --- window_entries and smallest_window -------------------------------------------------------

def test_window_entries_n_times_w_is_explained():
    res = verdict(ex.window_entries, lambda n, window: n * window)
    assert res.passed is False and "fewer than" in res.message


def test_window_entries_other_mistake_names_the_expected_count():
    res = verdict(ex.window_entries, lambda n, window: n * window - 1)
    assert res.passed is False and "expected 27" in res.message


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
