"""Chapter 5's mask editor: it shows what the math computes, re-normalises on a click, refuses big sizes."""
import torch

from selfattn.explore import masking
from selfattn.widgets.mask_editor import MaskEditor


def test_editor_shows_the_masked_view_of_its_preset():
    w = MaskEditor("the bank by the river", "causal")
    tokens, q, k, v = masking.sentence_qkv("the bank by the river")
    view = masking.masked_view(q, k, v, masking.preset_mask("causal", 5))
    assert w.tokens == tokens
    assert torch.allclose(torch.tensor(w.heatmap.values), view.weights, atol=1e-6)
    assert torch.equal(torch.tensor(w.heatmap.blocked), ~view.mask)
    assert w.heatmap.row_labels == tokens and w.heatmap.col_labels == tokens
    assert w.numbers()["row_sums"] == [1.0] * 5
    assert "none (causal)" in w.readout.value


def test_a_click_blocks_or_opens_a_cell_and_rows_renormalise():
    w = MaskEditor("the bank by the river", "causal")
    w.click(2, 4)                                  # open a future key: "by" may now see "river"
    nums = w.numbers()
    assert nums["clicks"] == [(2, 4)] and nums["future"] == [(2, 4)]
    assert nums["weights"][2][4] > 0 and abs(sum(nums["weights"][2]) - 1) < 1e-3
    assert "2:by sees 4:river" in w.readout.value
    assert w.heatmap.blocked[2][4] is False
    w.click(0, 0)                                  # block the only key of row 0
    nums = w.numbers()
    assert nums["empty_rows"] == [0] and nums["row_sums"][0] == 0.0 and nums["weights"][0] == [0.0] * 5
    w.click(2, 4)                                  # clicking again undoes the change
    assert w.numbers()["clicks"] == [(0, 0)] and w.numbers()["future"] == []
    report = w.report()
    assert "weights:" in report and "rows with nothing to attend to" in report and "0:the" in report


def test_preset_controls_redraw_and_forget_clicks():
    w = MaskEditor("the cat sat on the mat", "bidirectional")
    w.click(1, 1)
    w.preset.value = "padding"
    assert not w.length.disabled and w.width.disabled
    w.length.value = 4
    assert w.numbers()["clicks"] == []
    assert torch.equal(w.view.mask, masking.preset_mask("padding", 6, length=4))
    w.preset.value = "window"
    w.width.value = 2
    assert torch.equal(w.view.mask, masking.preset_mask("window", 6, width=2))
    w.set_preset("causal+padding", length=0)         # no real tokens: every row is empty
    assert w.numbers()["empty_rows"] == list(range(6))


def test_typed_text_is_tokenised_and_bad_text_refused_with_a_message():
    w = MaskEditor()
    w.sentence.value = "The dog ran by the bank!"
    assert w.tokens == ["the", "dog", "ran", "by", "the", "bank", "!"]
    assert w.length.max == 7 and w.width.max == 7
    w.sentence.value = "word " * 17
    assert "Not redrawn" in w.message.value and "at most 16" in w.message.value
    assert len(w.tokens) == 7                         # the previous sentence stays on screen
    w.sentence.value = ""
    assert "no words" in w.message.value
    refused = MaskEditor("x " * 20)
    assert refused.numbers() == {} and "at most 16" in refused.report()
    w.set_preset("diagonal")
    assert "Unknown preset" in w.message.value


def test_demo_is_the_largest_size_and_step_changes_what_is_shown():
    w = MaskEditor.demo()
    assert w.numbers()["n"] == MaskEditor.MAX_TOKENS == 16
    first = w.numbers()
    for i in range(3):
        w.step(i)
    assert w.numbers() != first and len(w.numbers()["clicks"]) == 3
    assert repr(w) == "MaskEditor(16 tokens, preset='causal', 3 cell(s) changed)"


def test_a_click_message_from_the_browser_reaches_the_editor():
    # What the comm does with the message heatmap.js sends on a click (ipywidgets' Widget._handle_msg).
    w = MaskEditor("the bank by the river", "causal")
    msg = {"content": {"data": {"method": "custom", "content": {"event": "click", "row": 4, "col": 0}}}, "buffers": []}
    w.heatmap._handle_msg(msg)
    assert w.numbers()["clicks"] == [(4, 0)] and w.heatmap.blocked[4][0] is True
