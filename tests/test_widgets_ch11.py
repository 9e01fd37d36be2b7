"""Chapter 11's alignment explorer: it decodes what is typed, shows that date's cross-attention,
refuses dates the model cannot read without losing the one it shows, and a click picks a row."""
import torch

from selfattn.explore.encoder_decoder import task
from selfattn.explore.encoder_decoder.train import greedy_decode, load
from selfattn.widgets.encoder_decoder import AlignmentExplorer

MODEL = load()[0]


def test_shows_the_decoded_date_and_its_cross_attention():
    w = AlignmentExplorer(MODEL, "7 July 1969")
    v = w.values()
    assert v["output"] == "1969-07-07" and v["layer"] == 1 and v["head"] == "mean"
    _, maps = greedy_decode(MODEL, [task.Date(7, 7, 1969)])
    want = maps[1][0, :, :10, :6].mean(0)
    assert torch.allclose(torch.tensor(v["weights"]), want, atol=1e-3)
    assert len(w.heatmap.values) == 10 and len(w.heatmap.values[0]) == 6
    w.head.value = 2                                       # one head instead of the mean
    assert torch.allclose(torch.tensor(w.values()["weights"]), maps[1][0, 2, :10, :6], atol=1e-3)


def test_refuses_an_impossible_date_and_keeps_the_last_one():
    w = AlignmentExplorer(MODEL, "7 July 1969")
    before = w.values()
    assert w.set_source("30 February 2001") is False
    assert w.refused and "no day 30" in w.refusal()
    assert w.source.value == "7 July 1969" and w.values() == before
    assert w.set_source("1 January 2000") and not w.refused
    assert w.values()["output"] == "2000-01-01"


def test_a_click_picks_out_a_row_and_names_where_it_looked():
    w = AlignmentExplorer(MODEL, "28 September 1999")
    w.heatmap.click(0, 3)
    assert w.heatmap.selected == [0, -1] and w.values()["selected_row"] == 0
    row = torch.tensor(w.values()["weights"][0])
    j = int(row.argmax())
    assert f"looks most at source token {j}" in w.readout.value
    w.select(11)
    assert w.refused and w.values()["selected_row"] == 0


def test_choosing_a_layer_or_head_after_a_refusal_clears_it():
    w = AlignmentExplorer(MODEL, "12 March 2024")
    w.set_source("31 June 2001")
    assert w.refused
    w.layer.value = 0                                      # a good input: the view now shows what was chosen
    assert not w.refused and w.values()["layer"] == 0 and w.source.value == "12 March 2024"
    w.set_source("1 Smarch 2001")
    w.head.value = 1
    assert not w.refused and w.values()["head"] == 1


def test_the_readout_says_where_a_character_should_look():
    w = AlignmentExplorer(MODEL, "12 March 2024")
    w.select(0)                                            # '2', the first year digit: source token 3
    assert "should read 3 (2)" in w.readout.value
    w.select(4)                                            # a dash
    assert "a dash has no source token" in w.readout.value
    w.select(8)                                            # the first day digit: both day tokens
    assert "should read 0 (1) and 1 (2)" in w.readout.value
