"""The hand-built heads of chapter 6 (selfattn.explore.heads) do the jobs they are named for."""
import pytest
import torch

from selfattn import AttentionInputError, MultiHeadAttention
from selfattn.embeddings import FEATURES, embed
from selfattn.explore import heads as xh
from selfattn.positions import sinusoidal

SENTENCE = "the dog ran by the river because it was tired"


@pytest.fixture(scope="module")
def view():
    return xh.head_view(SENTENCE)


def test_inputs_are_word_features_then_positions():
    x = xh.head_inputs(["the", "cat"])
    assert x.shape == (2, xh.D_MODEL) == (2, 32)
    torch.testing.assert_close(x[:, :8], embed(["the", "cat"]))
    torch.testing.assert_close(x[:, 8:], sinusoidal(2, 24))


def test_shift_matrix_moves_an_encoding_by_the_offset():
    pe = sinusoidal(16, 24, dtype=torch.float64)[:, :8]                # the 8 fastest features
    for offset in (-2, -1, 1, 4):
        r = xh.shift_matrix(offset).to(torch.float64)
        lo, hi = max(0, -offset), min(16, 16 - offset)
        torch.testing.assert_close(pe[lo:hi] @ r.T, pe[lo + offset:hi + offset], atol=1e-6, rtol=0)


def test_positional_heads_look_one_step_back_and_forward(view):
    n = len(view.tokens)
    back = view.weights[0, 0].argmax(-1).tolist()
    fwd = view.weights[0, 1].argmax(-1).tolist()
    assert back == [0] + list(range(n - 1))                              # token 0 has no previous word: itself
    assert fwd == list(range(1, n)) + [n - 1]
    assert (view.weights[0, 0][1:].max(-1).values > 0.95).all()


def test_positional_heads_do_not_care_about_the_words():
    other = xh.head_view(["money"] * 10)
    torch.testing.assert_close(other.weights[0, :2], xh.head_view(SENTENCE).weights[0, :2])


def test_naming_head_asks_every_query_the_same_question(view):
    w = view.weights[0, 2]
    torch.testing.assert_close(w, w[0].expand_as(w))                     # every row is the same
    nouns = [FEATURES.index(f) for f in ("animal", "place", "nature", "money")]
    noun_score = embed(view.tokens)[:, nouns].sum(-1)
    assert view.tokens[int(w[0].argmax())] == view.tokens[int(noun_score.argmax())]


def test_same_kind_head_matches_equal_words(view):
    w = view.weights[0, 3]
    i, j = view.tokens.index("the"), len(view.tokens) - 1 - view.tokens[::-1].index("the")
    assert i != j and float(w[i, j]) == pytest.approx(float(w[i, i]), rel=1e-5)          # the two 'the's share their weight


def test_output_blocks_carry_what_each_head_gathered(view):
    words = embed(view.tokens)                                           # (n, 8)
    prev = view.output[1:, :8]                                           # head 0's block for tokens 1..n-1
    torch.testing.assert_close(prev, words[:-1], atol=0.05, rtol=0)


def test_random_heads_are_reproducible_and_leave_the_global_seed_alone():
    torch.manual_seed(123)
    a = torch.rand(1)
    torch.manual_seed(123)
    m1, m2 = xh.random_heads(0), xh.random_heads(0)
    b = torch.rand(1)
    assert torch.equal(a, b)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p1, p2)
    v = xh.head_view(SENTENCE, "random")
    assert v.names == ("untrained",) * 4
    assert v.weights.max() < 0.5                                         # untrained heads are diffuse


def test_hand_built_heads_are_a_plain_multihead_attention():
    torch.manual_seed(9)
    a = torch.rand(1)
    torch.manual_seed(9)
    m = xh.hand_built_heads()
    assert torch.equal(torch.rand(1), a)                                  # building it used no global randomness
    assert isinstance(m, MultiHeadAttention) and m.n_heads == 4 and m.d_head == 8
    assert m.n_parameters() == 4 * 32 * 32 + 4 * 32


@pytest.mark.parametrize("arg,needle", [("", "no words"), ("a " * 17, "at most 16"), ([], "no tokens")])
def test_head_view_refuses_bad_sentences(arg, needle):
    with pytest.raises(AttentionInputError, match=needle):
        xh.head_view(arg)


def test_head_view_refuses_unknown_kinds_and_heads(view):
    with pytest.raises(AttentionInputError, match="kind must be one of"):
        xh.head_view("the cat", "trained")
    with pytest.raises(AttentionInputError, match="head must be an integer from 0 to 3"):
        view.strongest(4)


def test_unicode_and_unknown_words():
    v = xh.head_view("Ünïcode 🙂 words, cat!")
    assert v.tokens == ("ünïcode", "🙂", "words", ",", "cat", "!")
    assert torch.isfinite(v.weights).all()
    assert v.strongest(0)[1][1] == "ünïcode"


def test_head_maps_hold_every_layer_and_refuse_mismatched_shapes():
    w = torch.softmax(torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0)), -1)
    maps = xh.HeadMaps(tokens=("a", "b", "c", "d"), weights=w)
    assert (maps.n_layers, maps.n_heads, maps.names) == (2, 3, ("", "", ""))
    assert maps.strongest(1, layer=1)[0] == ("a", "abcd"[int(w[1, 1, 0].argmax())], float(w[1, 1, 0].max()))
    one = xh.HeadMaps(tokens=("a", "b", "c", "d"), weights=w[0])       # one layer: (n_heads, n, n)
    assert one.weights.shape == (1, 3, 4, 4)
    with pytest.raises(AttentionInputError, match="n_layers, n_heads, n=3"):
        xh.HeadMaps(tokens=("a", "b", "c"), weights=w)
    with pytest.raises(AttentionInputError, match="one label per head"):
        xh.HeadMaps(tokens=("a", "b", "c", "d"), weights=w, names=("x",))


def test_one_head_learns_only_one_neighbour_two_heads_learn_both():
    one = xh.train_neighbour_task(1, steps=300, seed=0)
    two = xh.train_neighbour_task(2, steps=300, seed=0)
    assert (one.d_head, two.d_head) == (32, 16)
    # one head of width 32: one answer right, the other at chance (1/8), loss near (0 + 3 bits) / 2
    assert sorted((one.accuracy_prev, one.accuracy_next))[1] > 0.99
    assert sorted((one.accuracy_prev, one.accuracy_next))[0] < 0.25
    assert 1.3 < one.final_loss_bits < 1.7
    # two heads of width 16, the same parameter count: both answers right
    assert min(two.accuracy_prev, two.accuracy_next) > 0.99 and two.final_loss_bits < 0.05
    back, fwd = two.weights.argmax(-1)[:, 3].tolist()                  # where each head's row 3 looks
    assert sorted((back, fwd)) == [2, 4]


def test_running_loss_bits_is_a_trailing_mean():
    r = xh.NeighbourResult(n_heads=1, d_head=4, seed=0, loss_bits=(3.0, 1.0, 2.0, 0.0))
    steps, loss = r.running_loss_bits(2)
    assert steps.tolist() == [2, 3, 4]
    assert loss.tolist() == [2.0, 1.5, 1.0]
    steps, loss = r.running_loss_bits(10)                  # longer than the run: one mean of everything
    assert steps.tolist() == [4] and loss.tolist() == [1.5]
