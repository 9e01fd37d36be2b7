"""Chapter 11's widget: type a date, read the model's answer and the cross-attention behind it.

A thin view over selfattn.explore.encoder_decoder: `AlignmentExplorer.set_source` parses the date
(task.parse_source refuses anything the model was not trained on, with a message), decodes it
with the caches, and shows one decoder layer's cross-attention (one head, or the mean of the
heads) as a Heatmap: target characters down, source tokens across.
"""
from __future__ import annotations

import html

import ipywidgets as W
import torch

from ..errors import AttentionInputError
from ..explore.encoder_decoder import task
from ..explore.encoder_decoder.alignment import aligned_share
from ..explore.encoder_decoder.train import greedy_decode
from ..threads import on_one_thread
from .base import BookWidget
from .heatmap import Heatmap

MEAN = "mean of the heads"


class AlignmentExplorer(BookWidget):
    """Decode a typed date with the trained encoder-decoder and show where each output character looked."""

    kind = "cross-attention explorer"

    def __init__(self, model, source: str = "12 March 2024"):
        self.model = model
        n_layers, n_heads = model.cfg.n_decoder_layers, model.cfg.n_heads
        short = {"description_width": "initial"}          # the label as wide as its word, no wider
        self.source = W.Text(value=source, description="date", continuous_update=False, style=short,
                             placeholder="e.g. 12 March 2024", layout=W.Layout(width="240px"))
        self.layer = W.Dropdown(options=[(f"decoder layer {i}", i) for i in range(n_layers)], value=n_layers - 1,
                                description="layer", style=short, layout=W.Layout(width="190px"))
        self.head = W.Dropdown(options=[(f"head {h}", h) for h in range(n_heads)] + [(MEAN, -1)], value=-1,
                               description="head", style=short, layout=W.Layout(width="210px"))
        self.heatmap = Heatmap()
        self.heatmap.caption = ("rows: output characters; columns: source tokens. Click a row (or Enter on it) "
                                "to read where that character looked")
        self.heatmap.on_click(lambda row, col: self.select(row))
        self.row = -1                                     # the output character picked out (-1: none)
        self.readout = W.HTML()
        self.date: task.Date | None = None
        self.text = ""
        self.output = ""
        self.maps: list[torch.Tensor] = []
        self._busy = False
        controls = W.HBox([self.source, self.layer, self.head], layout=W.Layout(flex_flow="row wrap"))
        self._build([controls, self.heatmap, self.readout])
        self.source.observe(lambda ch: None if self._busy else self.set_source(ch["new"]), names="value")
        self.layer.observe(lambda ch: self._choose(), names="value")
        self.head.observe(lambda ch: self._choose(), names="value")
        self.set_source(source)

    @on_one_thread
    def set_source(self, text: str) -> bool:
        """Decode a new date; refuse it (keeping the last one drawn) if the model cannot read it."""
        try:
            date = task.parse_source(text)
        except AttentionInputError as e:
            self._busy = True
            self.source.value = self.text                     # the box shows the date still drawn
            self._busy = False
            return self.refuse(f"{text!r}: {e}")
        ids, maps = greedy_decode(self.model, [date])
        self.date, self.text, self.maps = date, text, maps
        self.output = task.decode_target(ids[0])
        self.accept()
        self.redraw()
        return True

    def select(self, row: int) -> None:
        """Pick out one output character: its row is outlined and the readout names where it looked most."""
        if not 0 <= int(row) < task.TARGET_LEN:
            self.refuse(f"there is no output character {row}; rows run from 0 to {task.TARGET_LEN - 1}")
            return
        self.row = int(row)
        self.accept()
        self.redraw()

    def _choose(self) -> None:
        """A layer or head was chosen: a good input, so an earlier refusal no longer stands."""
        self.accept()
        self.redraw()

    def _map(self):
        n_src = len(self.date.source_tokens())
        w = self.maps[self.layer.value][0, :, :task.TARGET_LEN, :n_src]          # (n_heads, T, n_src)
        return w.mean(0) if self.head.value == -1 else w[self.head.value]       # (T, n_src)

    def redraw(self) -> None:
        if self.date is None:
            return
        target = list(self.output.ljust(task.TARGET_LEN, "?"))[:task.TARGET_LEN]
        which = MEAN if self.head.value == -1 else f"head {self.head.value}"
        self.heatmap.title = f"decoder layer {self.layer.value}, {which}: cross-attention"
        self.heatmap.show(self._map(), [f"{i}:{c}" for i, c in enumerate(target)], self.date.source_tokens())
        right = "".join(self.date.target_tokens())
        verdict = "right" if self.output == right else f"wrong (the answer is {right})"
        share = aligned_share(self.maps, [self.date])[self.layer.value]               # (n_heads,)
        shown = float(share.mean() if self.head.value == -1 else share[self.head.value])
        lines = [f"<b>{html.escape(self.text)}</b> → <b>{html.escape(self.output)}</b> ({verdict})",
                 f"weight on the source tokens each character should read (mean over the 8 characters that have "
                 f"one): {shown:.2f}"]
        self.heatmap.selected = [self.row, -1]
        if self.row >= 0:
            row = self._map()[self.row]                                     # (n_src,)
            j = int(row.argmax())
            tokens = self.date.source_tokens()
            home = task.alignment(self.date)[self.row]
            should = (" and ".join(f"{p} ({html.escape(tokens[p])})" for p in home) if home
                      else "none: a dash has no source token")
            lines.append(f"output character {self.row} ({html.escape(target[self.row])}) looks most at source token "
                         f"{j} ({html.escape(tokens[j])}), weight {float(row[j]):.2f}; the task says it should read "
                         f"{should}")
        self.readout.value = "<br>".join(lines)

    def values(self) -> dict:
        if self.date is None:
            return {}
        return {"source": self.text, "output": self.output, "layer": self.layer.value,
                "head": "mean" if self.head.value == -1 else self.head.value, "selected_row": self.row,
                "weights": [[round(float(x), 3) for x in row] for row in self._map()]}

    @classmethod
    def demo(cls, model=None) -> "AlignmentExplorer":
        if model is None:
            from ..explore.encoder_decoder.train import load
            model = load()[0]
        return cls(model, "28 September 1999")

    def step(self, i: int) -> None:
        """One representative update for benchmarks: a new date typed."""
        self.source.value = f"{1 + i % 28} {task.MONTHS[i % 12]} {1950 + i % 100}"
