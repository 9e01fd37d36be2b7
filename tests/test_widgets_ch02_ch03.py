"""Chapter 2 and 3 widgets as a reader drives them: controls change what is shown, bad input gives a message."""
import pytest
import torch

from selfattn.explore.pipeline import saturation_view, sentence_stages
from selfattn.explore.projections import sentence_view
from selfattn.widgets.pipeline import PipelineStepper, SaturationExplorer
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


# --- chapter 3 ---------------------------------------------------------------------------------

def test_pipeline_stepper_shows_each_stage_with_its_formula():
    w = PipelineStepper("the cat sat on the mat")
    ref = sentence_stages("the cat sat on the mat")
    for i, st in enumerate(ref.stages):
        w.stage.value = i
        torch.testing.assert_close(shown(w.heatmap), st.matrix.double(), atol=1e-5, rtol=0)
        assert st.formula in w.formula.value
        assert w.heatmap.signed == st.signed
    assert w.heatmap.col_labels == list(ref.value_labels)                # ×V: columns are value features
    w.next.click()
    assert w.stage.value == 0
    w.prev.click()
    assert w.stage.value == 4


def test_pipeline_stepper_causal_mask_blocks_cells_and_rows_still_sum_to_one():
    w = PipelineStepper("the cat sat on the mat", stage=2, causal=True)
    assert w.heatmap.blocked[0][1] is True and w.heatmap.blocked[1][0] is False
    assert "-inf" in w.summary()
    w.stage.value = 3
    weights = shown(w.heatmap)
    torch.testing.assert_close(weights.sum(-1), torch.ones(6, dtype=torch.float64), atol=1e-5, rtol=0)
    assert weights[0, 1] == 0
    w.heatmap.click(2, 0)
    assert "row \"sat\"" in w.row_readout.value and "row sum = 1.000" in w.row_readout.value


@pytest.mark.parametrize("text,fragment", [("", "no words"), ("x " * 40, "at most 16")])
def test_pipeline_stepper_bad_text(text, fragment):
    w = PipelineStepper("the cat sat")
    w.text.value = text
    assert fragment in w.status.value
    assert len(w.heatmap.values) == 3


def test_pipeline_stepper_demo_and_step():
    w = PipelineStepper.demo()
    assert len(w.result.tokens) == 16
    w.step(1)
    assert w.stage.value == 1
    w.step(1)                                                           # same stage: toggles the mask
    assert w.causal.value is False


def test_saturation_explorer_follows_sliders():
    w = SaturationExplorer(d_k=4, temperature=1.0, scaled=False, n=8)
    ref = saturation_view(4, 1.0, scaled=False, n=8)
    torch.testing.assert_close(shown(w.heatmap), ref.weights.double(), atol=1e-5, rtol=0)
    w.d_k.value = 1024
    assert float(w.view.max_weight.mean()) > 0.9 and "saturated rows" in w.summary()
    w.scaled.value = True
    assert float(w.view.max_weight.mean()) < 0.6
    assert "divisor</td><td>32.000" in w.readout.value
    w.temperature.value = 10.0
    assert w.view.divisor == pytest.approx(320.0)


def test_saturation_explorer_demo_refuses_too_many_tokens():
    w = SaturationExplorer.demo()
    assert len(w.heatmap.values) == 16
    before = w.heatmap.values
    w.step(0)
    assert w.heatmap.values != before
    with pytest.raises(Exception, match="at most|1..16"):
        SaturationExplorer(n=17)
