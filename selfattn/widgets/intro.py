"""The Start-here warm-up widget: one slider, one heatmap row, to show how the book's widgets work."""
from __future__ import annotations

import ipywidgets as W
import torch

from ..attention import softmax
from .heatmap import Heatmap

TOKENS = ["the", "cat", "sat", "on", "the", "mat"]
SCORES = torch.tensor([[0.2, 2.0, 1.2, 0.1, 0.2, 1.5]])   # (1, n) hand-set scores for one query


def weights_at(temperature: float) -> torch.Tensor:
    """(1, n) softmax(scores / temperature): low temperature sharpens, high temperature flattens."""
    return softmax(SCORES / temperature)


class SoftmaxDemo(W.VBox):
    """Move the slider; the row of weights redraws and still sums to 1."""

    def __init__(self, temperature: float = 1.0):
        self.slider = W.FloatSlider(value=temperature, min=0.1, max=5.0, step=0.1, description="temperature",
                                    continuous_update=True)
        self.heatmap = Heatmap(title="weights for one query")
        self.readout = W.HTML()
        self.slider.observe(self._update, names="value")
        super().__init__([self.slider, self.heatmap, self.readout])
        self._update()

    def _update(self, _change=None) -> None:
        w = weights_at(self.slider.value)
        self.heatmap.show(w, ["query"], TOKENS)
        self.readout.value = (f'<span class="sa-readout">largest weight {w.max():.3f} on "{TOKENS[int(w.argmax())]}"; '
                              f"row sum {w.sum():.3f}</span>")

    @classmethod
    def demo(cls) -> "SoftmaxDemo":
        return cls()

    def step(self, k: int) -> None:
        self.slider.value = round(0.1 + (k % 49) * 0.1, 1)
