"""Chapter 7's widget: a thin view of selfattn.tiny.head_view that never shows a traceback."""
import pytest
import torch

from selfattn import tiny
from selfattn.widgets.learned import TYPED, LearnedAttention


@pytest.fixture(scope="module")
def model():
    # The widget's logic does not depend on training: an untrained (seeded) model keeps the tests fast.
    return tiny.TinyTransformer(tiny.TinyConfig(seed=3))


def shown(w):
    return torch.tensor(w.heatmap.values, dtype=torch.float64)


def test_opens_on_the_first_example_with_the_chosen_head(model):
    w = LearnedAttention(model, layer=1, head=0)
    v = tiny.head_view(model, tiny.EXAMPLES[0], 1, 0)
    assert w.view.ok and w.query == 6 and w.heatmap.selected == [6, -1]
    assert w.heatmap.row_labels == list(v.tokens) == w.heatmap.col_labels
    torch.testing.assert_close(shown(w), v.weights.double(), atol=1e-6, rtol=0)
    assert "'it'" in w.message.value and w.help.layout.display == "none"


def test_layer_and_head_buttons_redraw(model):
    w = LearnedAttention(model, layer=0, head=0)
    before = shown(w)
    w.head.value = 1
    torch.testing.assert_close(shown(w), tiny.head_view(model, tiny.EXAMPLES[0], 0, 1).weights.double(),
                               atol=1e-6, rtol=0)
    w.layer.value = 1
    assert w.view.layer == 1 and w.view.head == 1
    assert not torch.allclose(before, shown(w))


def test_click_selects_the_query_row(model):
    w = LearnedAttention(model)
    w.heatmap.click(1, 3)                                   # row 1 is 'cat'
    assert w.query == 1 and w.heatmap.selected == [1, -1]
    assert "query 'cat'" in w.view.message and "means nothing" in w.view.message
    w.heatmap.click(99, 0)                                  # outside the matrix: ignored
    assert w.query == 1


def test_picking_and_typing(model):
    w = LearnedAttention(model)
    w.pick.value = "we walked to the bank with the boat"
    assert w.text.value == "we walked to the bank with the boat" and w.view.query == 4
    w.text.value = "the fox bit the bird"
    assert w.pick.value == TYPED and w.view.tokens[w.view.query] == "bit"
    assert len(w.heatmap.values) == 5


def test_letters_are_drawn_with_the_causal_mask(model):
    w = LearnedAttention(model, text="b c d b")
    assert w.heatmap.blocked[0][1] is True and w.heatmap.blocked[1][0] is False
    assert w.view.query == 3 and "GPT" in w.message.value


def test_unknown_words_get_a_message_not_a_traceback(model):
    w = LearnedAttention(model)
    w.text.value = "the cat sat on the mat"
    assert not w.view.ok
    assert "never seen 'sat', 'on', 'mat'" in w.message.value
    assert w.help.layout.display is None and "bank" in w.help.value
    w.heatmap.click(0, 0)                                   # nothing to select: ignored
    w.text.value = " ".join(["the"] * 17)
    assert "at most 16" in w.message.value
    w.text.value = ""
    assert "no words" in w.message.value
    w.text.value = "the dog chased the cat"                 # and it recovers
    assert w.view.ok and w.help.layout.display == "none"


def test_step_always_updates_and_cycles_examples(model):
    w = LearnedAttention(model)
    calls = []
    original = w.update
    w.update = lambda: (calls.append(1), original())[1]
    w.step(0)                                               # the example already shown: still one update
    assert len(calls) == 1
    for i in range(1, len(tiny.EXAMPLES) + 1):
        w.step(i)
        assert w.text.value == tiny.EXAMPLES[i % len(tiny.EXAMPLES)] and w.view.ok


def test_demo_is_the_largest_size(model, monkeypatch):
    monkeypatch.setattr(tiny, "trained_model", lambda cfg=None: model)
    w = LearnedAttention.demo()
    assert len(w.view.tokens) == LearnedAttention.MAX_TOKENS == 16
    assert repr(w) == "LearnedAttention(n=16, layer=1, head=1)"
