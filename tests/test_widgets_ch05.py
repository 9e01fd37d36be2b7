"""Chapter 5's mask editor: it shows what the math computes, re-normalises on a click, refuses big sizes."""
import torch

from selfattn.explore import masks as mx
from selfattn.widgets.masks import MaskEditor


def test_editor_shows_the_masked_view_of_its_preset():
    w = MaskEditor("the bank by the river", "causal")
    tokens, q, k, v = mx.sentence_qkv("the bank by the river")
    view = mx.masked_view(q, k, v, mx.preset_mask("causal", 5))
    assert w.tokens == tokens
    assert torch.allclose(torch.tensor(w.heatmap.values), view.weights, atol=1e-6)
    assert torch.equal(torch.tensor(w.heatmap.blocked), ~view.mask)
    assert w.heatmap.row_labels == tokens and w.heatmap.col_labels == tokens
    assert w.values()["row sums"].tolist() == [1.0] * 5
    assert "none (causal)" in w.readout.value


def test_a_click_blocks_or_opens_a_cell_and_rows_renormalise():
    w = MaskEditor("the bank by the river", "causal")
    w.click(2, 4)                                  # open a future key: "by" may now see "river"
    nums = w.values()
    assert nums["cells changed"] == [(2, 4)] and nums["queries that see a later token"] == [(2, 4)]
    assert nums["weights"][2][4] == 0.633 and abs(nums["weights"][2].sum() - 1) < 1e-3
    assert "2:by sees 4:river" in w.readout.value
    assert w.heatmap.blocked[2][4] is False
    w.click(0, 0)                                  # block the only key of row 0
    nums = w.values()
    assert nums["empty rows"] == [0] and nums["row sums"][0] == 0.0 and nums["weights"][0].tolist() == [0.0] * 5
    w.click(2, 4)                                  # clicking again undoes the change
    assert w.values()["cells changed"] == [(0, 0)] and w.values()["queries that see a later token"] == []
    report = w.report()
    assert "weights:" in report and "empty rows: [0]" in report and "0:the" in report


def test_preset_controls_redraw_and_forget_clicks():
    w = MaskEditor("the cat sat on the mat", "bidirectional")
    w.click(1, 1)
    w.preset.value = "padding"
    assert not w.length.disabled and w.width.disabled
    w.length.value = 4
    assert w.values()["cells changed"] == []
    assert torch.equal(w.view.mask, mx.preset_mask("padding", 6, length=4))
    w.preset.value = "window"
    w.width.value = 2
    assert torch.equal(w.view.mask, mx.preset_mask("window", 6, width=2))
    w.set_preset("causal+padding", length=0)         # no real tokens: every row is empty
    assert w.values()["empty rows"] == list(range(6))


def test_typed_text_is_tokenised_and_bad_text_refused_at_the_top():
    w = MaskEditor()
    w.sentence.value = "The dog ran by the bank!"
    assert w.tokens == ["the", "dog", "ran", "by", "the", "bank", "!"]
    assert w.length.max == 7 and w.width.max == 7
    w.sentence.value = "word " * 17
    assert w.refused and "Cannot show this" in w.refusal() and "at most 16" in w.refusal()
    assert w.children[0] is w.message                 # the refusal is the first thing in the widget
    assert len(w.tokens) == 7 and len(w.heatmap.values) == 7       # the previous sentence stays drawn ...
    assert w.sentence.value == "The dog ran by the bank!"          # ... and the text box shows it again
    w.sentence.value = ""
    assert "no words" in w.refusal()
    w.sentence.value = "the cat"
    assert not w.refused and w.refusal() == "" and w.tokens == ["the", "cat"]
    refused = MaskEditor("x " * 20)
    assert refused.values() == {} and "at most 16" in refused.report()
    w.set_preset("diagonal")
    assert "unknown preset" in w.refusal()


def test_demo_is_the_largest_size_and_step_changes_what_is_shown():
    w = MaskEditor.demo()
    assert len(w.tokens) == MaskEditor.MAX_TOKENS == 16
    first = w.values()["weights"].copy()
    for i in range(3):
        w.step(i)
    assert not (w.values()["weights"] == first).all() and len(w.values()["cells changed"]) == 3
    assert repr(w).startswith("MaskEditor: mask editor, 16 tokens, preset='causal', 3 cell(s) changed")


def test_a_click_message_from_the_browser_reaches_the_editor():
    # What the comm does with the message heatmap.js sends on a click (ipywidgets' Widget._handle_msg).
    w = MaskEditor("the bank by the river", "causal")
    msg = {"content": {"data": {"method": "custom", "content": {"event": "click", "row": 4, "col": 0}}}, "buffers": []}
    w.heatmap._handle_msg(msg)
    assert w.values()["cells changed"] == [(4, 0)] and w.heatmap.blocked[4][0] is True
