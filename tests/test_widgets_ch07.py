"""Chapter 7's widget: the book's HeadView fed by selfattn.explore.learned.head_maps; it never shows a traceback."""
import pytest
import torch

from selfattn.explore import learned
from selfattn.widgets.base import REFUSED_PREFIX
from selfattn.widgets.heads import ALL, TYPED
from selfattn.widgets.learned import LearnedAttention, describe


@pytest.fixture(scope="module")
def model():
    # The widget's logic does not depend on training: an untrained (seeded) model keeps the tests fast.
    return learned.TinyTransformer(learned.TinyConfig(), seed=3)


def shown(heatmap):
    return torch.tensor(heatmap.values, dtype=torch.float64)


def test_head_maps_carry_weights_mask_probabilities_and_the_question(model):
    maps = learned.head_maps(model, "b c d b")
    ins = learned.inspect(model, "b c d b")
    assert maps.tokens == ("b", "c", "d", "b") and maps.query == 3
    torch.testing.assert_close(maps.weights, ins.weights)
    assert maps.mask.tolist() == [[j <= i for j in range(4)] for i in range(4)]
    torch.testing.assert_close(maps.output, ins.probs)
    assert learned.head_maps(model, learned.EXAMPLES[0]).mask is None


def test_query_summary_names_the_strongest_keys_and_the_answer(model):
    maps = learned.head_maps(model, learned.EXAMPLES[0])
    s = learned.query_summary(maps, 1, 0, 6, k=3)
    row = maps.weights[1, 0, 6]
    assert [w for _, w in s.top] == sorted(row.tolist(), reverse=True)[:3]
    assert s.answer == learned.VOCAB.words[int(maps.output[6].argmax())] and s.asked
    assert not learned.query_summary(maps, 1, 0, 1).asked                # 'cat' is never asked about


def test_opens_on_the_first_example_with_the_chosen_head(model):
    w = LearnedAttention(model, layer=1, head=0)
    ins = learned.inspect(model, learned.EXAMPLES[0])
    assert w.query == 6 and not w.refused and w.head.value == "head 0"
    assert w.single.row_labels == list(ins.tokens) == w.single.col_labels
    torch.testing.assert_close(shown(w.single), ins.weights[1, 0].double(), atol=1e-6, rtol=0)
    assert "'it'" in w.readout_text() and w.values()["query"] == "6:it"


def test_all_heads_side_by_side_and_one_readout_per_head(model):
    w = LearnedAttention(model, layer=0, head=ALL)
    ins = learned.inspect(model, learned.EXAMPLES[0])
    for h in range(2):
        torch.testing.assert_close(shown(w.maps[h]), ins.weights[0, h].double(), atol=1e-6, rtol=0)
    text = describe(w.view, 0, ALL, 6)
    assert "head 0" in text and "head 1" in text and text.count("The model's answer") == 1


def test_click_selects_the_query_row(model):
    w = LearnedAttention(model)
    w.single.click(1, 3)                                    # row 1 is 'cat'
    assert w.query == 1 and w.single.selected == [1, -1]
    assert "query 'cat'" in w.readout_text() and "means nothing" in w.readout_text()
    w.single.click(99, 0)                                   # outside the matrix: ignored
    assert w.query == 1


def test_picking_and_typing(model):
    w = LearnedAttention(model)
    w.pick.value = "we walked to the bank with the boat"
    assert w.sentence.value == "we walked to the bank with the boat" and w.query == 4
    w.sentence.value = "the fox bit the bird"
    assert w.pick.value == TYPED and w.view.tokens[w.query] == "bit"
    assert len(w.single.values) == 5


def test_letters_are_drawn_with_the_causal_mask(model):
    w = LearnedAttention(model, text="b c d b")
    assert w.single.blocked[0][1] is True and w.single.blocked[1][0] is False
    assert w.query == 3 and "GPT" in w.info.value


def test_a_refused_sentence_keeps_the_last_drawing_and_says_why(model):
    w = LearnedAttention(model)
    drawn, labels = shown(w.single), list(w.single.row_labels)
    w.sentence.value = "the cat sat on the mat"
    assert w.refused and REFUSED_PREFIX in w.message.value
    assert "never seen 'sat', 'on', 'mat'" in w.refusal()
    assert w.sentence.value == learned.EXAMPLES[0]          # the box shows the sentence still drawn
    torch.testing.assert_close(shown(w.single), drawn)      # no 1x1 "?" map: the old one, dimmed
    assert w.single.row_labels == labels and "?" not in labels
    w.sentence.value = " ".join(["the"] * 17)
    assert "at most 16" in w.refusal()
    w.sentence.value = "the dog chased the cat"              # and it recovers
    assert not w.refused and w.single.row_labels[1] == "dog"


def test_step_cycles_examples(model):
    w = LearnedAttention(model)
    for i in range(1, len(learned.EXAMPLES) + 1):
        w.step(i)
        text = learned.EXAMPLES[i % len(learned.EXAMPLES)]
        assert w.sentence.value == text and not w.refused
        assert w.query == learned.default_query(text.split())


def test_demo_is_the_largest_size(model, monkeypatch):
    monkeypatch.setattr(learned, "trained_model", lambda *a, **k: model)
    w = LearnedAttention.demo()
    assert len(w.view.tokens) == LearnedAttention.MAX_TOKENS == 16
    assert repr(w).startswith("HeadView: trained-model attention viewer")
