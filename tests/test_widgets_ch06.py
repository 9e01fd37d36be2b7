"""Chapter 6's HeadView: it shows what the math computes, selects a query on a click, refuses bad text."""
import pytest
import torch

from selfattn import masks
from selfattn.explore.heads import HeadMaps, head_view
from selfattn.widgets.heads import ALL, HeadView


def test_all_heads_and_one_head_show_the_computed_weights():
    w = HeadView("the cat sat on the mat")
    ref = head_view("the cat sat on the mat")
    grid = w.area.children[0]
    assert list(grid.children) == w.maps[:4]
    for h, m in enumerate(w.maps):
        assert m.values == [[round(float(v), 6) for v in row] for row in ref.weights[0, h]]
        assert m.title == f"head {h}: {ref.names[h]}"
    w.head.value = "head 1"
    assert w.area.children == (w.single,)
    assert w.single.title == "head 1: next word"
    assert w.single.values == w.maps[1].values
    assert w.layer.layout.display == "none"            # one layer: no layer buttons


def test_a_click_selects_a_query_and_the_readout_names_its_strongest_keys():
    w = HeadView("the cat sat on the mat")
    w.maps[0].click(2, 0)
    assert w.query == 2 and w.maps[3].selected == [2, -1]
    assert "query 'sat' (position 2)" in w.readout_text() and "previous word): cat 0.99" in w.readout_text()
    assert w.values()["head 0: previous word"].tolist() == pytest.approx([0.006, 0.987, 0.006, 0, 0, 0], abs=1e-3)
    w.maps[0].click(99, 0)                                 # outside: ignored
    assert w.query == 2
    w.sentence.value = "a cat"                             # shorter sentence: selection dropped
    assert w.query == -1 and w.values()["query"] == "none"


def test_random_heads_are_nearly_uniform():
    w = HeadView("the cat sat", chosen={"kind": "random"})
    assert w.maps[0].title == "head 0: untrained"
    assert "before training" in w.info.value
    assert max(max(row) for m in w.maps[:4] for row in m.values) < 0.5


@pytest.mark.parametrize("text,needle", [("", "no words"), ("x " * 20, "at most 16")])
def test_bad_text_is_refused_at_the_top_and_the_text_box_goes_back(text, needle):
    w = HeadView("the cat sat")
    w.sentence.value = text
    assert w.refused and needle in w.refusal()
    assert w.children[0] is w.message and w.message.layout.display is None
    assert w.sentence.value == "the cat sat" and len(w.maps[0].values) == 3
    w.sentence.value = "the dog ran"
    assert not w.refused and w.maps[0].row_labels == ["the", "dog", "ran"]


def test_unicode_is_escaped():
    w = HeadView("Ünïcode 🙂 <script>")
    assert "ünïcode" in w.maps[0].row_labels
    assert "<script>" not in w.info.value


def test_demo_and_step():
    w = HeadView.demo()
    assert len(w.view.tokens) == HeadView.MAX_TOKENS == 16 and w.head.value == ALL
    w.step(3)
    assert w.query == 3 and w.maps[0].selected == [3, -1]
    w.step(20)
    assert w.query == 4
    assert repr(w).startswith("HeadView: attention-head viewer, 16 tokens")


def _two_layer_maps(text, **_):
    tokens = tuple(text.split())
    if len(tokens) > 6:
        from selfattn.errors import AttentionInputError
        raise AttentionInputError("at most 6 words here")
    n = len(tokens)
    causal = masks.causal(n)
    w = torch.softmax(torch.randn(2, 3, n, n, generator=torch.Generator().manual_seed(n)).masked_fill(~causal, float("-inf")), -1)
    return HeadMaps(tokens=tokens, weights=w, mask=causal, query=n - 1)


def test_a_model_with_layers_masks_examples_and_its_own_description():
    seen = []

    def describe(maps, layer, head, query):
        seen.append((layer, head, query))
        return f"layer {layer}, {head}, query {maps.tokens[query]}"

    w = HeadView("a b c", compute=_two_layer_maps, examples=("a b c", "d e f g"), describe=describe, layer=1, head=2)
    assert w.layer.layout.display is None and w.layer.value == 1
    assert w.area.children == (w.single,) and w.single.title == "layer 1 · head 2"
    assert w.query == 2 and w.single.blocked == (~masks.causal(3)).tolist()
    assert w.readout_text() == "layer 1, head 2, query c"
    w.pick.value = "d e f g"
    assert w.sentence.value == "d e f g" and w.query == 3 and len(w.single.values) == 4
    w.sentence.value = "a b c d e f g h"
    assert w.refused and "at most 6 words" in w.refusal() and w.sentence.value == "d e f g"
    w.show_head(0, ALL)
    assert [m.title for m in w.area.children[0].children] == ["layer 0 · head 0", "layer 0 · head 1", "layer 0 · head 2"]
