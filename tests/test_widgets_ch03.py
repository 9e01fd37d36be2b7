"""Chapter 3 widgets as a reader drives them: controls change what is shown, bad input is refused at the top."""
import pytest
import torch

from selfattn.explore.pipeline import SATURATED, saturation_view, sentence_stages
from selfattn.limits import MAX_TOKENS
from selfattn.widgets.base import BookWidget
from selfattn.widgets.pipeline import PipelineStepper, SaturationExplorer


def shown(heatmap):
    return torch.tensor([[float("-inf") if v is None else v for v in row] for row in heatmap.values], dtype=torch.float64)


def test_pipeline_stepper_shows_each_stage_with_its_formula():
    w = PipelineStepper("the cat sat on the mat")
    assert isinstance(w, BookWidget) and w.kind == "attention stage stepper"
    ref = sentence_stages("the cat sat on the mat")
    for i, st in enumerate(ref.stages):
        w.stage.value = i
        torch.testing.assert_close(shown(w.heatmap), st.matrix.double(), atol=1e-5, rtol=0)
        assert st.formula in w.formula.value
        assert w.heatmap.signed == st.signed
        torch.testing.assert_close(w.values()["matrix"], st.matrix)
    assert w.heatmap.col_labels == list(ref.value_labels)                # ×V: columns are value features
    assert w.values()["columns"].split() == list(ref.value_labels)
    w.next.click()
    assert w.stage.value == 0
    w.prev.click()
    assert w.stage.value == 4


def test_pipeline_stepper_causal_mask_blocks_cells_and_rows_still_sum_to_one():
    w = PipelineStepper("the cat sat on the mat", stage=2, causal=True)
    assert w.heatmap.blocked[0][1] is True and w.heatmap.blocked[1][0] is False
    assert "-inf" in w.report() and "causal: True" in w.report()
    w.stage.value = 3
    weights = shown(w.heatmap)
    torch.testing.assert_close(weights.sum(-1), torch.ones(6, dtype=torch.float64), atol=1e-5, rtol=0)
    assert weights[0, 1] == 0 and weights[2, 1] == pytest.approx(0.882, abs=1e-3)
    w.heatmap.click(2, 0)
    assert "row \"sat\"" in w.row_readout.value and "row sum = 1.000" in w.row_readout.value
    assert "+0.882" in w.row_readout.value


@pytest.mark.parametrize("text,fragment", [("", "no words"), ("x " * 40, f"at most {MAX_TOKENS}")])
def test_pipeline_stepper_refuses_bad_text_at_the_top_and_puts_the_text_back(text, fragment):
    w = PipelineStepper("the cat sat")
    before = w.heatmap.values
    w.text.value = text
    assert w.refused and fragment in w.refusal() and w.message.layout.display is None
    assert w.text.value == "the cat sat"                                # the box agrees with the grid
    assert w.heatmap.values == before and len(w.heatmap.values) == 3
    assert "refused: Cannot show this" in w.report()
    w.text.value = "a dog ran"                                         # good text clears the refusal
    assert not w.refused and w.values()["rows"] == "a dog ran" and w.message.layout.display == "none"


def test_pipeline_stepper_unknown_words_are_named():
    w = PipelineStepper("the zyx sat")
    assert "no hand-designed vector" in w.status.value and "zyx" in w.status.value


def test_pipeline_stepper_demo_and_step():
    w = PipelineStepper.demo()
    assert len(w.result.tokens) == MAX_TOKENS
    w.step(1)
    assert w.stage.value == 1
    w.step(1)                                                           # same stage: toggles the mask
    assert w.causal.value is False
    assert repr(w).startswith("PipelineStepper: attention stage stepper")


def test_saturation_explorer_follows_sliders():
    w = SaturationExplorer(d_k=4, temperature=1.0, scaled=False, n=8)
    ref = saturation_view(4, 1.0, scaled=False, n=8)
    torch.testing.assert_close(shown(w.heatmap), ref.weights.double(), atol=1e-5, rtol=0)
    assert w.values()["mean largest weight"] == pytest.approx(0.583, abs=1e-3)
    w.d_k.value = 1024
    assert w.values()["mean largest weight"] > 0.9
    assert w.values()[f"saturated rows (max weight > {SATURATED:g})"] == "7 of 8"
    assert "7 of 8" in w.readout.value
    w.scaled.value = True
    assert w.values()["mean largest weight"] < 0.6
    assert "<td>divisor</td><td>32.000" in w.readout.value
    w.temperature.value = 10.0
    assert w.view.divisor == pytest.approx(320.0) and w.values()["divisor"] == pytest.approx(320.0)


def test_saturation_explorer_demo_refuses_too_many_tokens():
    w = SaturationExplorer.demo()
    assert len(w.heatmap.values) == MAX_TOKENS
    before = w.heatmap.values
    w.step(0)
    assert w.heatmap.values != before and w.view.d_k == 1
    with pytest.raises(Exception, match=f"1 to {MAX_TOKENS}"):
        SaturationExplorer(n=MAX_TOKENS + 1)
