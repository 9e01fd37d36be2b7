"""Positional information: sinusoidal encodings, learned tables, rotary embeddings, and the
order experiments of chapter 4 (selfattn.explore.positions)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from selfattn import AttentionInputError, attention
from selfattn.embeddings import embed
from selfattn.explore import positions as xp
from selfattn.positions import LearnedPositions, frequencies, rotary, rotary_angles, sinusoidal


def loop_sinusoidal(n, d_model, base=10000.0):
    """The formula of Vaswani et al. (2017, section 3.5), one entry at a time."""
    pe = np.zeros((n, d_model))
    for pos in range(n):
        for i in range(d_model // 2):
            pe[pos, 2 * i] = math.sin(pos / base ** (2 * i / d_model))
            pe[pos, 2 * i + 1] = math.cos(pos / base ** (2 * i / d_model))
    return pe


def complex_rope(x, positions, base=10000.0):
    """RoPE as Su et al. write it: pair (x_2i, x_2i+1) is the complex number x_2i + i·x_2i+1,
    multiplied by e^{i·m·θ_i}."""
    x = np.asarray(x, dtype=np.float64)
    z = x[..., 0::2] + 1j * x[..., 1::2]
    d_k = x.shape[-1]
    theta = base ** (-np.arange(0, d_k, 2) / d_k)
    z = z * np.exp(1j * np.asarray(positions, dtype=np.float64)[:, None] * theta)
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = z.real, z.imag
    return out


# --- sinusoidal -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,d_model", [(1, 2), (7, 6), (50, 16), (16, 512)])
def test_sinusoidal_matches_the_formula(n, d_model):
    pe = sinusoidal(n, d_model, dtype=torch.float64)
    assert pe.shape == (n, d_model)
    np.testing.assert_allclose(pe.numpy(), loop_sinusoidal(n, d_model), atol=1e-12)


def test_sinusoidal_default_dtype_and_base():
    assert sinusoidal(3, 4).dtype == torch.get_default_dtype()
    np.testing.assert_allclose(sinusoidal(5, 4, base=100, dtype=torch.float64).numpy(),
                               loop_sinusoidal(5, 4, base=100), atol=1e-12)


def test_sinusoidal_dot_products_depend_on_distance_only():
    sim = xp.sinusoidal_similarity(12, 16)
    assert xp.diagonal_spread(sim) < 1e-10
    curve = xp.similarity_by_distance(11, 16)
    np.testing.assert_allclose(torch.diagonal(sim, offset=5).numpy(), curve[5].item(), atol=1e-10)
    assert curve[0] == pytest.approx(8.0)                 # d_model/2 pairs, each cos(0) = 1


def test_a_shift_is_a_linear_map_of_the_encoding():
    """Vaswani et al.'s reason for sinusoids: PE[pos + k] is a fixed rotation of PE[pos]."""
    from selfattn.explore.heads import shift_matrix
    pe = sinusoidal(20, 24, dtype=torch.float64)[:, :8]
    r = shift_matrix(3).to(torch.float64)
    torch.testing.assert_close(pe[:-3] @ r.T, pe[3:], atol=1e-6, rtol=0)


@pytest.mark.parametrize("args,needle", [((0, 4), "n must be"), ((3, 5), "d_model must be even"),
                                         ((3, 0), "d_model must be"), ((2.5, 4), "n must be"),
                                         ((True, 4), "n must be")])
def test_sinusoidal_refuses_bad_sizes(args, needle):
    with pytest.raises(AttentionInputError, match=needle):
        sinusoidal(*args)


def test_sinusoidal_refuses_a_bad_base():
    with pytest.raises(AttentionInputError, match="base"):
        sinusoidal(3, 4, base=1.0)
    with pytest.raises(AttentionInputError, match="base"):
        frequencies(4, base=float("inf"))


# --- learned ---------------------------------------------------------------------------------

def test_learned_positions_add_one_vector_per_position():
    lp = LearnedPositions(6, 4, init_std=1.0, seed=0)
    x = torch.randn(2, 5, 4)
    out = lp(x)
    torch.testing.assert_close(out - x, lp.table.weight[:5].detach().expand(2, 5, 4))
    torch.testing.assert_close(lp.encodings(5), lp.table.weight[:5])


def test_learned_positions_are_reproducible_and_trainable():
    a, b = LearnedPositions(4, 3, seed=1), LearnedPositions(4, 3, seed=1)
    torch.testing.assert_close(a.table.weight, b.table.weight)
    assert a.table.weight.std() < 0.1                     # init_std 0.02 by default
    loss = a(torch.zeros(3, 3)).sum()
    loss.backward()
    assert torch.equal(a.table.weight.grad[:3], torch.ones(3, 3))
    assert torch.equal(a.table.weight.grad[3], torch.zeros(3))   # position 3 was not used


def test_a_seeded_table_leaves_the_global_random_state_alone():
    torch.manual_seed(5)
    a = torch.rand(1)
    torch.manual_seed(5)
    LearnedPositions(16, 8, seed=3)
    assert torch.equal(torch.rand(1), a)


def test_learned_positions_have_nothing_beyond_max_len():
    lp = LearnedPositions(4, 3)
    with pytest.raises(AttentionInputError, match="max_len=4.*n=5"):
        lp(torch.zeros(5, 3))


@pytest.mark.parametrize("x,needle", [(torch.zeros(3, 5), "d_model=3"), (torch.zeros(3), "dimension"),
                                      ("abc", "numpy array or a torch tensor")])
def test_learned_positions_refuse_bad_input(x, needle):
    with pytest.raises(AttentionInputError, match=needle):
        LearnedPositions(4, 3)(x)


def test_learned_positions_refuse_bad_settings():
    with pytest.raises(AttentionInputError, match="max_len"):
        LearnedPositions(0, 3)
    with pytest.raises(AttentionInputError, match="init_std"):
        LearnedPositions(2, 3, init_std=-1.0)


# --- rotary ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 4), (2, 7, 8), (2, 3, 6, 16)])
def test_rotary_matches_complex_multiplication(shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    n = shape[-2]
    pos = np.arange(n) * 1.5 + 2
    np.testing.assert_allclose(rotary(x, pos).numpy(), complex_rope(x.numpy(), pos), atol=1e-12)
    np.testing.assert_allclose(rotary(x).numpy(), complex_rope(x.numpy(), np.arange(n)), atol=1e-12)


def test_rotary_keeps_kind_dtype_and_lengths():
    x = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    out = rotary(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)
    np.testing.assert_array_equal(out[0], x[0])           # position 0 is not rotated


@settings(max_examples=40, deadline=None)
@given(half=st.integers(1, 6), n=st.integers(2, 10), shift=st.integers(-50, 50), seed=st.integers(0, 10_000))
def test_rotary_scores_depend_only_on_the_offset(half, n, shift, seed):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 2 * half, generator=g, dtype=torch.float64)
    k = torch.randn(n, 2 * half, generator=g, dtype=torch.float64)
    pos = torch.arange(n, dtype=torch.float64)
    s1 = rotary(q, pos) @ rotary(k, pos).T
    s2 = rotary(q, pos + shift) @ rotary(k, pos + shift).T
    torch.testing.assert_close(s1, s2, atol=1e-9, rtol=0)


def test_rotary_score_table_is_constant_along_diagonals_and_absolute_is_not():
    g = torch.Generator().manual_seed(3)
    q, k = torch.randn(8, generator=g), torch.randn(8, generator=g)
    assert xp.diagonal_spread(xp.rotary_score_table(q, k, 10)) < 1e-10
    assert xp.diagonal_spread(xp.absolute_score_table(q, k, 10)) > 0.1
    with pytest.raises(AttentionInputError, match="same d_k"):
        xp.rotary_score_table(q, k[:4], 5)


def test_rotary_angles():
    a = rotary_angles(4, 6)
    assert a.shape == (4, 3)
    np.testing.assert_allclose(a[:, 0].numpy(), [0, 1, 2, 3])
    np.testing.assert_allclose(a[1].numpy(), frequencies(6).numpy())


@pytest.mark.parametrize("x,kw,needle", [
    (torch.zeros(3, 5), {}, "even d_k"),
    (torch.zeros(4), {}, "dimension"),
    (torch.zeros(3, 4), {"positions": [0, 1]}, r"positions must have shape \(n,\) = \(3,\)"),
    (torch.zeros(3, 4), {"positions": "abc"}, "positions must be"),
    (torch.zeros(3, 4), {"positions": [0, 1, float("nan")]}, "finite"),
    (torch.zeros(3, 4), {"positions": torch.ones(3, dtype=torch.bool)}, "integers or floats"),
    (torch.tensor([[float("nan"), 0.0]]), {}, "non-finite"),
    (torch.zeros(3, 4, dtype=torch.int64), {}, "floats"),
    (torch.zeros(3, 4), {"base": 0.5}, "base"),
])
def test_rotary_refuses_bad_input(x, kw, needle):
    with pytest.raises(AttentionInputError, match=needle):
        rotary(x, **kw)


# --- the order experiments (selfattn.explore.positions) ----------------------------------------

SENTENCE = "the cat sat on the mat"


def test_without_positions_outputs_only_move():
    cmp = xp.compare_orders(SENTENCE, [5, 1, 2, 3, 4, 0], "none")
    assert all(cmp.same_value)
    assert cmp.moved == [True, False, False, False, False, True]
    torch.testing.assert_close(cmp.weights_unshuffled(), cmp.weights)
    assert cmp.shuffled == ["mat", "cat", "sat", "on", "the", "the"]
    assert "same output, moved" in cmp.summary()[0]


@pytest.mark.parametrize("kind", ["sinusoidal", "learned", "rotary"])
def test_with_positions_outputs_change_value(kind):
    cmp = xp.compare_orders(SENTENCE, [5, 1, 2, 3, 4, 0], kind)
    assert not cmp.same_value[0] and not cmp.same_value[5]
    assert "output changed by" in cmp.summary()[0]
    same = xp.compare_orders(SENTENCE, list(range(6)), kind)      # no reordering: nothing changes
    assert all(same.same_value)
    zero = xp.compare_orders(SENTENCE, [5, 1, 2, 3, 4, 0], kind, strength=0.0)
    assert all(zero.same_value)                                   # strength 0 is "no positions"


def test_attend_with_positions_matches_its_definition():
    x = embed(SENTENCE).double()
    res = xp.attend_with_positions(x, "sinusoidal", strength=0.5)
    h = x + 0.5 * xp.position_vectors(6, "sinusoidal").double()
    torch.testing.assert_close(res.output, attention(xp.QUERY_GAIN * h, h, h).output)
    res = xp.attend_with_positions(x, "rotary")
    q = rotary(xp.QUERY_GAIN * x, base=xp.DEMO_BASE)
    k = rotary(x, base=xp.DEMO_BASE)
    torch.testing.assert_close(res.weights, attention(q, k, x).weights)


def test_compare_orders_takes_token_lists_and_refuses_bad_input():
    cmp = xp.compare_orders(["a", "b"], [1, 0], "rotary")
    assert cmp.shuffled == ["b", "a"]
    with pytest.raises(AttentionInputError, match="each position 0..2"):
        xp.compare_orders(["a", "b", "c"], [0, 0, 1])
    with pytest.raises(AttentionInputError, match="kind must be one of"):
        xp.compare_orders(["a"], [0], "absolute")
    with pytest.raises(AttentionInputError, match="at most 16"):
        xp.compare_orders(["a"] * 17, list(range(17)))
    with pytest.raises(AttentionInputError, match="no tokens"):
        xp.compare_orders([], [])
    with pytest.raises(AttentionInputError, match="no words"):
        xp.compare_orders("  ", [])
    with pytest.raises(AttentionInputError, match="strength"):
        xp.compare_orders(["a"], [0], "rotary", strength=-1)


def test_unicode_and_unknown_words_work():
    cmp = xp.compare_orders("la niña 🙂 cat", [3, 2, 1, 0], "sinusoidal")
    assert cmp.tokens == ["la", "niña", "🙂", "cat"]
    assert xp.unknown_words(cmp.tokens) == ["la", "niña", "🙂"]
    assert torch.isfinite(cmp.output_shuffled).all()


@pytest.mark.parametrize("text,expected", [("2 0 1", [2, 0, 1]), ("2,0,1", [2, 0, 1]), (" 1, 2 ,0 ", [1, 2, 0])])
def test_parse_order(text, expected):
    assert xp.parse_order(text, 3) == expected


@pytest.mark.parametrize("text,needle", [("", "type a new order"), ("0 1", "exactly once"), ("a b c", "whole numbers"),
                                         ("0 1 1", "exactly once"), ("1.5 0 2", "whole numbers"), ("0 1 3", "exactly once")])
def test_parse_order_explains_bad_orders(text, needle):
    with pytest.raises(AttentionInputError, match=needle):
        xp.parse_order(text, 3)


def test_random_order_is_reproducible_and_moves_something():
    for n in (2, 5, 16):
        for seed in range(5):
            order = xp.random_order(n, seed)
            assert sorted(order) == list(range(n)) and order != list(range(n))
            assert order == xp.random_order(n, seed)
    assert xp.random_order(1, 0) == [0]


def test_shifting_every_position_changes_nothing_with_rotary_and_everything_with_added_positions():
    for kind, changed in (("none", 0), ("rotary", 0), ("sinusoidal", 6), ("learned", 6)):
        cmp = xp.compare_shift("the cat sat on the mat", kind, 5)
        assert cmp.n_changed == changed, kind
    sin = xp.compare_shift("the cat sat on the mat", "sinusoidal", 5)
    x = embed(sin.tokens).double()
    pe = sinusoidal(11, 8, base=xp.DEMO_BASE, dtype=torch.float64)
    h0, h5 = x + pe[:6], x + pe[5:11]                                    # positions 0..5 and 5..10
    ref = (attention(3 * h5, h5, h5).output - attention(3 * h0, h0, h0).output).norm(dim=-1)
    torch.testing.assert_close(sin.change, ref)
    with pytest.raises(AttentionInputError, match="start"):
        xp.compare_shift("the cat sat on the mat", "learned", 11)        # 6 tokens from 11 need 17 table rows


def test_position_vectors_at_a_start():
    p = xp.position_vectors(4, "sinusoidal", start=3)
    torch.testing.assert_close(p, sinusoidal(7, 8, base=xp.DEMO_BASE)[3:])
    assert xp.position_vectors(4, "rotary", start=3) is None
    with pytest.raises(AttentionInputError, match="kind must be one of"):
        xp.position_vectors(4, "absolute")


def test_similarity_by_distance_normalised_and_rotation_arrows():
    raw = xp.similarity_by_distance(10, 8)
    norm = xp.similarity_by_distance(10, 8, normalised=True)
    assert float(raw[0]) == pytest.approx(4.0) and float(norm[0]) == pytest.approx(1.0)
    torch.testing.assert_close(norm, raw / 4.0)
    assert float(norm[6]) == pytest.approx(sum(math.cos(6 * w) for w in (1, 0.1, 0.01, 0.001)) / 4)
    pts, step = xp.rotation_arrows(8, 8)
    assert pts.shape == (8, 4, 2)
    torch.testing.assert_close(step, frequencies(8))
    torch.testing.assert_close(pts[3, 0], torch.tensor([math.cos(3.0), math.sin(3.0)], dtype=torch.float64))
    torch.testing.assert_close(pts.norm(dim=-1), torch.ones(8, 4, dtype=torch.float64))


def test_order_comparison_counts():
    cmp = xp.compare_orders("the cat sat on the mat", [5, 1, 2, 3, 4, 0], "rotary")
    assert cmp.n_moved == 2 and cmp.n_changed == 6
    none = xp.compare_orders("the cat sat on the mat", [5, 1, 2, 3, 4, 0], "none")
    assert none.n_moved == 2 and none.n_changed == 0


@pytest.mark.parametrize("strength", [-0.5, 10.5, True, float("nan"), "1"])
def test_strength_is_checked_with_the_shared_validator(strength):
    with pytest.raises(AttentionInputError, match="strength .*must be a finite number >= 0 and <= 10"):
        xp.compare_orders("a b", [1, 0], "rotary", strength=strength)
