"""Chapter 0: the warm-up widget's numbers, the widget itself, and the Transformer map's stages."""
import matplotlib
import pytest
import torch

from selfattn import AttentionInputError
from selfattn.explore import intro
from selfattn.widgets.intro import SoftmaxDemo

matplotlib.use("Agg")


def test_weights_at_divides_the_scores_by_the_temperature():
    for t in (0.3, 1.0, 3.0):
        w = intro.weights_at(t)
        ref = torch.exp(intro.SCORES / t) / torch.exp(intro.SCORES / t).sum()
        torch.testing.assert_close(w, ref)
    assert intro.largest_weight(0.1) == (pytest.approx(0.993, abs=1e-3), "cat")
    assert intro.largest_weight(1.0)[0] == pytest.approx(0.394, abs=1e-3)
    with pytest.raises(AttentionInputError, match="temperature .*positive"):
        intro.weights_at(0)


def test_softmax_demo_shows_weights_and_follows_the_slider():
    d = SoftmaxDemo()
    torch.testing.assert_close(torch.tensor(d.heatmap.values), intro.weights_at(1.0), atol=1e-6, rtol=0)
    d.slider.value = 0.3
    assert d.values()["largest"] == '0.790 on "cat"' and d.values()["row sum"] == pytest.approx(1.0)
    assert "0.790" in d.readout.value and d.slider.style.description_width == "initial"
    d.step(5)
    assert d.slider.value == pytest.approx(0.6)


def test_transformer_map_lists_the_block_in_order_and_draws_it():
    names = [s[0] for s in intro.TRANSFORMER_BLOCK]
    assert names[:2] == ["token embedding", "+ positions"] and names[-2:] == ["final norm", "logits"]
    inside = [s[0] for s in intro.TRANSFORMER_BLOCK if s[3]]
    assert inside == ["norm", "self-attention", "+ residual", "norm", "MLP", "+ residual"]
    from selfattn.viz.intro import transformer_map
    fig = transformer_map(intro.TRANSFORMER_BLOCK)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "self-attention" in texts and any("× N" in t for t in texts)
    assert fig.get_size_inches()[0] == pytest.approx(7.0)


def test_row_summary_is_what_the_widget_shows():
    w, largest, word, total = intro.row_summary(0.3)
    assert torch.allclose(w, intro.weights_at(0.3))
    assert (largest, word) == intro.largest_weight(0.3) and word == "cat"
    assert total == pytest.approx(1.0)
    assert f"{largest:.3f}" in SoftmaxDemo(temperature=0.3).values()["largest"]
