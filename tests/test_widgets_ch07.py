"""Chapter 7's widget: a thin view of selfattn.explore.learned.inspect that never shows a traceback."""
import pytest
import torch

from selfattn.explore import learned
from selfattn.widgets.base import REFUSED_PREFIX
from selfattn.widgets.learned import TYPED, LearnedAttention


@pytest.fixture(scope="module")
def model():
    # The widget's logic does not depend on training: an untrained (seeded) model keeps the tests fast.
    return learned.TinyTransformer(learned.TinyConfig(), seed=3)


def shown(w):
    return torch.tensor(w.heatmap.values, dtype=torch.float64)


def test_opens_on_the_first_example_with_the_chosen_head(model):
    w = LearnedAttention(model, layer=1, head=0)
    ins = learned.inspect(model, learned.EXAMPLES[0])
    assert w.query == 6 and w.heatmap.selected == [6, -1] and not w.refused
    assert w.heatmap.row_labels == list(ins.tokens) == w.heatmap.col_labels
    torch.testing.assert_close(shown(w), ins.weights[1, 0].double(), atol=1e-6, rtol=0)
    assert "'it'" in w.readout.value and w.help.layout.display == "none"
    assert w.values()["query"] == "6:it"


def test_layer_and_head_buttons_redraw(model):
    w = LearnedAttention(model, layer=0, head=0)
    before = shown(w)
    w.head.value = 1
    ins = learned.inspect(model, learned.EXAMPLES[0])
    torch.testing.assert_close(shown(w), ins.weights[0, 1].double(), atol=1e-6, rtol=0)
    w.layer.value = 1
    torch.testing.assert_close(shown(w), ins.weights[1, 1].double(), atol=1e-6, rtol=0)
    assert not torch.allclose(before, shown(w))
    assert w.values()["layer"] == 1 and w.values()["head"] == 1


def test_click_selects_the_query_row(model):
    w = LearnedAttention(model)
    w.heatmap.click(1, 3)                                   # row 1 is 'cat'
    assert w.query == 1 and w.heatmap.selected == [1, -1]
    assert "query 'cat'" in w.readout_text() and "means nothing" in w.readout_text()
    w.heatmap.click(99, 0)                                  # outside the matrix: ignored
    assert w.query == 1


def test_picking_and_typing(model):
    w = LearnedAttention(model)
    w.pick.value = "we walked to the bank with the boat"
    assert w.text.value == "we walked to the bank with the boat" and w.query == 4
    w.text.value = "the fox bit the bird"
    assert w.pick.value == TYPED and w.ins.tokens[w.query] == "bit"
    assert len(w.heatmap.values) == 5


def test_letters_are_drawn_with_the_causal_mask(model):
    w = LearnedAttention(model, text="b c d b")
    assert w.heatmap.blocked[0][1] is True and w.heatmap.blocked[1][0] is False
    assert w.query == 3 and "GPT" in w.readout.value


def test_a_refused_sentence_keeps_the_last_drawing_and_says_why(model):
    w = LearnedAttention(model)
    drawn, labels = shown(w), list(w.heatmap.row_labels)
    w.text.value = "the cat sat on the mat"
    assert w.refused and REFUSED_PREFIX in w.message.value
    assert "never seen 'sat', 'on', 'mat'" in w.refusal()
    assert w.text.value == learned.EXAMPLES[0]              # the box shows the sentence still drawn
    torch.testing.assert_close(shown(w), drawn)             # no 1x1 "?" map: the old one, dimmed
    assert w.heatmap.row_labels == labels and "?" not in labels
    assert w.help.layout.display is None and "bank" in w.help.value
    w.text.value = " ".join(["the"] * 17)
    assert "at most 16" in w.refusal()
    w.text.value = ""
    assert w.refused and w.refusal()
    w.text.value = "the dog chased the cat"                 # and it recovers
    assert not w.refused and w.help.layout.display == "none" and w.heatmap.row_labels[1] == "dog"


def test_step_cycles_examples(model):
    w = LearnedAttention(model)
    for i in range(1, len(learned.EXAMPLES) + 1):
        w.step(i)
        assert w.text.value == learned.EXAMPLES[i % len(learned.EXAMPLES)] and not w.refused
        assert w.heatmap.row_labels == w.ins.tokens


def test_demo_is_the_largest_size(model, monkeypatch):
    monkeypatch.setattr(learned, "trained_model", lambda *a, **k: model)
    w = LearnedAttention.demo()
    assert len(w.ins.tokens) == LearnedAttention.MAX_TOKENS == 16
    assert repr(w).startswith("LearnedAttention: trained-model attention viewer")
