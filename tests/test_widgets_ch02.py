"""Chapter 2's widget as a reader drives it: controls change what is shown, bad input is refused visibly."""
import pytest
import torch

from selfattn.explore.projections import sentence_view
from selfattn.widgets.projections import ProjectionExplorer


def shown(heatmap):
    return torch.tensor([[float("-inf") if v is None else v for v in row] for row in heatmap.values], dtype=torch.float64)


def test_projection_explorer_shows_the_score_matrix_and_follows_the_sliders():
    w = ProjectionExplorer("the cat sat on the mat", query=1)
    ref = sentence_view("the cat sat on the mat", 1)
    torch.testing.assert_close(shown(w.heatmap), ref.scores.double(), atol=1e-5, rtol=0)
    assert w.heatmap.selected[0] == 1 and w.heatmap.row_labels[1] == "cat"
    v = w.values()
    assert v["query"] == "cat" and v["|q|"] == pytest.approx(3.1)
    assert v["q·k"].tolist() == pytest.approx([0.0, 0.0, 6.2, 0.0, 0.0, 0.0])
    w.which.value = "k"
    w.plane.value = (1, 2)
    w.angle.value = 60.0
    w.scale.value = 2.0
    ref = sentence_view("the cat sat on the mat", 1, which="k", angle_deg=60, scale=2.0, plane=(1, 2))
    torch.testing.assert_close(shown(w.heatmap), ref.scores.double(), atol=1e-5, rtol=0)
    assert "+60°" in w.report() and "action → place" in w.report()
    w.reset.click()
    assert w.angle.value == 0 and w.scale.value == 1.0
    torch.testing.assert_close(shown(w.heatmap), sentence_view("the cat sat on the mat", 1).scores.double(),
                               atol=1e-5, rtol=0)


def test_rotating_w_q_by_90_degrees_turns_cat_towards_itself():
    w = ProjectionExplorer("the cat sat on the mat", query=1)
    w.angle.value = 90.0
    v = w.values()
    assert v["q·k"].tolist() == pytest.approx([0.0, -6.2, 0.0, 0.0, 0.0, 0.0], abs=1e-3)
    assert "-0.000" not in w.report()                                  # no sign flips in the last bits


def test_projection_explorer_click_selects_query():
    w = ProjectionExplorer("the cat sat on the mat", query=1)
    w.heatmap.click(3, 0)
    assert w.query.value == 3 and w.view.row.query_index == 3 and w.values()["query"] == "on"


@pytest.mark.parametrize("text,fragment", [("", "no words"), ("   ", "no words"), ("word " * 30, "at most 16")])
def test_projection_explorer_refuses_bad_text_at_the_top_and_restores_the_text(text, fragment):
    w = ProjectionExplorer("the cat sat", query=0)
    before = w.heatmap.values
    w.text.value = text
    assert w.refused and fragment in w.refusal() and "Cannot show this" in w.message.value
    assert w.heatmap.values == before                                  # the last good sentence stays ...
    assert w.text.value == "the cat sat"                               # ... and the text box says which
    assert "refused:" in w.report()
    w.text.value = "the dog ran"
    assert not w.refused and w.values()["keys"] == "the dog ran"


def test_projection_explorer_unknown_and_unicode_words():
    w = ProjectionExplorer("the cat sat", query=0)
    w.text.value = "Le chat <b>dort</b> 🐱 — très bien"
    assert "no hand-designed vector" in w.status.value and "&lt;" in w.status.value   # escaped, not rendered
    assert len(w.heatmap.values) == len(w.view.tokens) <= 16
    assert all(v is not None for row in w.heatmap.values for v in row)
    w.text.value = "supercalifragilisticexpialidocious cat"
    assert w.heatmap.row_labels[0].endswith("…") and len(w.heatmap.row_labels[0]) == 12


def test_projection_explorer_demo_and_step():
    w = ProjectionExplorer.demo()
    assert len(w.view.tokens) == 16
    before = [row[:] for row in w.heatmap.values]
    w.step(3)
    assert w.heatmap.values != before and w.angle.value == -135.0
    assert repr(w).startswith("ProjectionExplorer: projection explorer")
