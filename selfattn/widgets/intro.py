"""The Start-here warm-up widget: one slider, one heatmap row, to show how the book's widgets work.

The numbers come from selfattn.explore.intro.row_summary; this module only wires a slider to it.
"""
from __future__ import annotations

import ipywidgets as W

from ..explore.intro import TOKENS, row_summary
from .base import BookWidget
from .heatmap import Heatmap


class SoftmaxDemo(BookWidget):
    """Move the slider; the row of weights redraws and still sums to 1."""

    kind = "softmax temperature demo (chapter 0)"

    def __init__(self, temperature: float = 1.0):
        self.slider = W.FloatSlider(value=temperature, min=0.1, max=5.0, step=0.1, description="temperature",
                                    continuous_update=True, style={"description_width": "initial"},
                                    layout=W.Layout(width="420px"))
        self.heatmap = Heatmap(title="weights for one query")
        self.readout = W.HTML()
        self.slider.observe(lambda _change: self.redraw(), names="value")
        self._build([self.slider, self.heatmap, self.readout])
        self.redraw()

    def values(self) -> dict:
        w, largest, word, total = row_summary(self.slider.value)
        return {"temperature": round(float(self.slider.value), 1), "weights": w[0],
                "largest": f'{largest:.3f} on "{word}"', "row sum": total}

    def redraw(self) -> None:
        w, largest, word, total = row_summary(self.slider.value)
        self.heatmap.show(w, ["query"], list(TOKENS))
        self.readout.value = (f'<span class="sa-readout">largest weight {largest:.3f} on '
                              f'"{word}"; row sum {total:.3f}</span>')
        self.accept()

    @classmethod
    def demo(cls) -> "SoftmaxDemo":
        return cls()

    def step(self, k: int) -> None:
        self.slider.value = round(0.1 + (k % 49) * 0.1, 1)
