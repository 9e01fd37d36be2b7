"""Chapter 2 widgets as a reader drives them (chapter 3's are in test_widgets_ch03.py): controls change what is shown, bad input gives a message."""
import pytest
import torch

from selfattn.explore.projections import sentence_view
from selfattn.widgets.projections import ProjectionExplorer


def shown(heatmap):
    return torch.tensor([[float("-inf") if v is None else v for v in row] for row in heatmap.values], dtype=torch.float64)


# --- chapter 2 ---------------------------------------------------------------------------------

def test_projection_explorer_shows_the_score_matrix_and_follows_the_sliders():
    w = ProjectionExplorer("the cat sat on the mat", query=1)
    ref = sentence_view("the cat sat on the mat", 1)
    torch.testing.assert_close(shown(w.heatmap), ref.scores.double(), atol=1e-5, rtol=0)
    assert w.heatmap.selected[0] == 1 and w.heatmap.row_labels[1] == "cat"
    w.which.value = "k"
    w.plane.value = (1, 2)
    w.angle.value = 60.0
    w.scale.value = 2.0
    ref = sentence_view("the cat sat on the mat", 1, which="k", angle_deg=60, scale=2.0, plane=(1, 2))
    torch.testing.assert_close(shown(w.heatmap), ref.scores.double(), atol=1e-5, rtol=0)
    assert "+60°" in w.summary() and "action → place" in w.summary()
    w.reset.click()
    assert w.angle.value == 0 and w.scale.value == 1.0
    torch.testing.assert_close(shown(w.heatmap), sentence_view("the cat sat on the mat", 1).scores.double(),
                               atol=1e-5, rtol=0)


def test_projection_explorer_click_selects_query():
    w = ProjectionExplorer("the cat sat on the mat", query=1)
    w.heatmap.click(3, 0)
    assert w.query.value == 3 and w.view.row.query_index == 3 and 'query "on"' in w.summary()


@pytest.mark.parametrize("text,fragment", [("", "no words"), ("   ", "no words"), ("word " * 30, "at most 16")])
def test_projection_explorer_refuses_bad_text_with_a_message(text, fragment):
    w = ProjectionExplorer("the cat sat", query=0)
    before = w.heatmap.values
    w.text.value = text
    assert fragment in w.status.value and "⚠" in w.status.value
    assert w.heatmap.values == before                                   # the last good sentence stays


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
    assert w.heatmap.values != before
    assert repr(w) == "ProjectionExplorer(16 tokens)"
