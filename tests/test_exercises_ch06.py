"""Chapter 6's exercises pass their reference solutions and reject typical mistakes with a reason."""
import math

import numpy as np
import pytest
import torch

from selfattn import MultiHeadAttention
from selfattn.exercises import ch06 as ex


def test_every_reference_solution_passes():
    answers = {
        "shapes": ((3, 8, 10, 8), (3, 8, 10, 10)),
        "count_parameters": 4 * 512 ** 2 + 4 * 512,
        "split_heads": ex.solution_split_heads,
        "multi_head_loop": ex.solution_multi_head_loop,
        "design_head": ex.design_head.reference(),
    }
    from selfattn.exercises import exercises
    assert {e.name for e in exercises("ch06")} == set(answers)
    for name, answer in answers.items():
        r = getattr(ex, name).evaluate(answer)
        assert r.passed is True, (name, r.message)


def test_reference_count_is_what_the_module_holds():
    assert MultiHeadAttention(512, 8).n_parameters() == 4 * 512 ** 2 + 4 * 512


def test_reference_loop_matches_multi_head_attention():
    """The checker's reference is selfattn's batched module with the same weights."""
    g = np.random.default_rng(0)
    n, d_model, n_heads = 5, 12, 3
    x = g.standard_normal((n, d_model))
    ws = [g.standard_normal((d_model, d_model)) for _ in range(4)]
    m = MultiHeadAttention(d_model, n_heads, bias=False).double()
    with torch.no_grad():
        for lin, w in zip((m.w_q, m.w_k, m.w_v, m.w_o), ws):
            lin.weight.copy_(torch.from_numpy(w.T))
    out, _ = m(torch.from_numpy(x))
    np.testing.assert_allclose(ex.solution_multi_head_loop(x, *ws, n_heads), out.detach().numpy(), atol=1e-10)


@pytest.mark.parametrize("answer", [None, ...])
def test_placeholders_read_as_not_attempted(answer):
    for e in (ex.shapes, ex.count_parameters, ex.split_heads, ex.multi_head_loop):
        assert e.evaluate(answer).passed is None


@pytest.mark.parametrize("answer,needle", [
    (((3, 10, 8, 8), (3, 8, 10, 10)), "before the transpose"),
    (((3, 8, 10, 64), (3, 8, 10, 10)), "d_head = d_model / n_heads"),
    (((3, 8, 10, 8), (3, 10, 10)), "keep a head axis"),
    (((3, 8, 8, 10), (3, 8, 10, 10)), "(batch, n_heads, n, d_head)"),
    (((3, 8, 10, 8),), "2 items"),
    ((("a",), (3,)), "whole numbers"),
])
def test_shapes_mistakes(answer, needle):
    r = ex.shapes.evaluate(answer)
    assert r.passed is False and needle in r.message, r.message


@pytest.mark.parametrize("answer,needle", [
    (4 * 512 ** 2, "weight matrices only"),
    (3 * 512 ** 2 + 3 * 512, "output projection"),
    (8 * (4 * 512 ** 2 + 4 * 512), "do not each have full-size"),
    (8 * 4 * 64 ** 2, "512×64"),
    (12345, "not right"),
    ("many", "whole number"),
])
def test_count_parameters_mistakes(answer, needle):
    r = ex.count_parameters.evaluate(answer)
    assert r.passed is False and needle in r.message, r.message


def no_transpose(x, n_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, n, n_heads, d_model // n_heads)


def straight_reshape(x, n_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, n_heads, n, d_model // n_heads)


def strided(x, n_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, n, d_model // n_heads, n_heads).permute(0, 3, 1, 2)


@pytest.mark.parametrize("fn,needle", [(no_transpose, "transpose the token and head axes"),
                                       (straight_reshape, "wrong places"), (strided, "every n_heads-th"),
                                       (lambda x, n_heads: x, "shape")])
def test_split_heads_mistakes(fn, needle):
    r = ex.split_heads.evaluate(fn)
    assert r.passed is False and needle in r.message, r.message


def scaled_by_d_model(x, w_q, w_k, w_v, w_o, n_heads):
    n, d_model = x.shape
    return ex.solution_multi_head_loop(x * 1.0, w_q * math.sqrt(n_heads / 1.0) ** -1, w_k, w_v, w_o, n_heads)


def no_output_projection(x, w_q, w_k, w_v, w_o, n_heads):
    return ex.solution_multi_head_loop(x, w_q, w_k, w_v, np.eye(x.shape[1]), n_heads)


def one_big_head(x, w_q, w_k, w_v, w_o, n_heads):
    return ex.solution_multi_head_loop(x, w_q, w_k, w_v, w_o, 1)


@pytest.mark.parametrize("fn,needle", [(scaled_by_d_model, "√d_model"), (no_output_projection, "W_O"),
                                       (one_big_head, "single-head"),
                                       (lambda *a: np.zeros((2, 2)), "shape")])
def test_multi_head_loop_mistakes(fn, needle):
    r = ex.multi_head_loop.evaluate(fn)
    assert r.passed is False and needle in r.message, r.message


def _buggy_split_heads(x, n_heads):            # what the notebook's debug exercise shows
    batch, n, d_model = x.shape
    return x.reshape(batch, n_heads, n, d_model // n_heads)


def test_split_heads_debug_names_the_reshape_that_mixes_heads():
    r = ex.split_heads.evaluate(_buggy_split_heads)
    assert r.passed is False and "reshaping straight to" in r.message and "mixes tokens into heads" in r.message


def test_design_head_names_the_usual_mistakes():
    from selfattn.explore import heads as xh
    good = xh.POSITION_GAIN * xh.shift_matrix(-2)
    w = ex.design_weights(good)
    assert w.argmax(-1).tolist()[2:] == list(range(8)) and float(w.max(-1).values[2:].min()) > 0.95
    assert ex.design_head.evaluate(good).passed
    assert ex.design_head.evaluate(good.numpy()).passed
    cases = {"too gentle": xh.shift_matrix(-2), "two words ahead": xh.POSITION_GAIN * xh.shift_matrix(2),
             "one word back": xh.POSITION_GAIN * xh.shift_matrix(-1), "the token itself": 24 * torch.eye(8),
             "expected (8, 8)": torch.zeros(3, 3)}
    for needle, block in cases.items():
        r = ex.design_head.evaluate(block)
        assert r.passed is False and needle in r.message, (needle, r.message)
    assert ex.design_head.evaluate(...).passed is None
