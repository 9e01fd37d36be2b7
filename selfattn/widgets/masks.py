"""The mask editor (chapter 5): click a cell to block or open it, and watch the rows re-normalise.

A thin view. The sentence becomes Q, K, V through selfattn.explore.masks.sentence_qkv
(hand-designed embeddings and projections); presets come from `preset_mask`; a click calls
`apply_mask_edit`, which flips one cell and recomputes the weights with selfattn.attention.
The grid is the anywidget Heatmap: blocked cells are grey, and its `click(row, col)` replays a
click from Python. `values()` is what the widget shows; `report()` prints it.
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..errors import AttentionInputError
from ..explore import masks as mx
from ..limits import MAX_TOKENS
from .base import BookWidget, on_one_thread
from .heatmap import Heatmap

PRESET_LABELS = (
    ("bidirectional (encoder)", "bidirectional"),
    ("causal (decoder)", "causal"),
    ("padding", "padding"),
    ("sliding window (causal)", "window"),
    ("causal + padding", "causal+padding"),
)
DEMO_TEXT = "the cat sat on the mat because it was tired and slept by the river bank"


class MaskEditor(BookWidget):
    """An n×n grid of attention weights under an editable mask (n at most MAX_TOKENS).

    Rows are queries, columns are keys. Choose a preset (bidirectional, causal, padding with a
    number of real tokens, a causal sliding window with a width, or causal + padding), then click
    any cell to block it (grey) or open it again; every row re-normalises over its open keys at
    once. The readout lists each row's sum, any row left with nothing to attend to, and any open
    cell that lets a query see a later token. A sentence that cannot be shown is refused at the
    top of the widget, and the text box goes back to the sentence still drawn.
    """

    kind = "mask editor"
    MAX_TOKENS = MAX_TOKENS

    def __init__(self, text: str = "the bank by the river", preset: str = "causal", *,
                 length: int | None = None, width: int = 3):
        self.heatmap = Heatmap()
        self.heatmap.title = "attention weights under the mask"
        self.heatmap.caption = "click a cell to block it or open it again; hover to read a weight"
        self.heatmap.on_click(self._on_cell)
        self.sentence = W.Text(value=text, description="sentence", continuous_update=False,
                               layout=W.Layout(width="420px"))
        self.preset = W.Dropdown(options=PRESET_LABELS, value=preset if preset in mx.PRESETS else "causal",
                                 description="preset")
        self.length = W.IntSlider(value=1, min=0, max=1, description="real tokens", continuous_update=False)
        self.width = W.IntSlider(value=1, min=1, max=1, description="window", continuous_update=False)
        self.readout = W.HTML()
        self.tokens: list[str] = []
        self.text = ""
        self.q = self.k = self.v = None
        self.view: mx.MaskView | None = None
        self.clicks: list[tuple[int, int]] = []
        self._busy = False
        self._build([W.HBox([self.sentence, self.preset]), W.HBox([self.length, self.width]),
                     self.heatmap, self.readout])
        self.sentence.observe(lambda change: None if self._busy else self.set_text(change["new"]), names="value")
        self.preset.observe(lambda change: self._controls_changed(), names="value")
        self.length.observe(lambda change: self._controls_changed(), names="value")
        self.width.observe(lambda change: self._controls_changed(), names="value")
        self._pending = {"length": length, "width": width}
        self.set_text(text)

    # --- what the reader does ------------------------------------------------------------------

    @on_one_thread
    def set_text(self, text: str) -> bool:
        """Tokenise and embed a new sentence; refuse it (keeping the old one drawn) if it cannot be shown."""
        try:
            tokens, q, k, v = mx.sentence_qkv(text, max_tokens=self.MAX_TOKENS)
        except AttentionInputError as e:
            self._set_quietly(self.sentence, self.text)     # the text box shows the sentence still drawn
            return self.refuse(str(e))
        self.tokens, self.q, self.k, self.v, self.text = tokens, q, k, v, text
        n = len(tokens)
        length = self._pending.get("length")
        width = self._pending.get("width")
        self._pending = {}
        self._busy = True
        try:
            self.length.max = n
            self.width.max = n
            self.length.value = n if length is None else max(0, min(int(length), n))
            self.width.value = max(1, min(int(width if width is not None else self.width.value), n))
            if self.sentence.value != text:
                self.sentence.value = text
        finally:
            self._busy = False
        self.accept()
        self.set_preset(self.preset.value)
        return True

    @on_one_thread
    def set_preset(self, kind: str, *, length: int | None = None, width: int | None = None) -> bool:
        """Start again from a preset mask (this forgets the clicks made since the last preset)."""
        if kind not in mx.PRESETS:
            return self.refuse(f"unknown preset {kind!r}; choose one of {', '.join(mx.PRESETS)}")
        self._busy = True
        try:
            self.preset.value = kind
            if length is not None:
                self.length.value = max(0, min(int(length), len(self.tokens)))
            if width is not None:
                self.width.value = max(1, min(int(width), len(self.tokens)))
            self.length.disabled = kind not in ("padding", "causal+padding")
            self.width.disabled = kind != "window"
        finally:
            self._busy = False
        mask = mx.preset_mask(kind, len(self.tokens), length=self.length.value, width=self.width.value)
        self.clicks = []
        self.view = mx.masked_view(self.q, self.k, self.v, mask)
        self.accept()
        self.redraw()
        return True

    def click(self, row: int, col: int) -> None:
        """Replay a click on cell (row, col), exactly as the reader's click in the grid does."""
        self.heatmap.click(row, col)

    def step(self, i: int) -> None:
        """One representative update for benchmarks: a click on a cell chosen from i."""
        n = len(self.tokens)
        self.click(i % n, (3 * i + 1) % n)

    @classmethod
    def demo(cls) -> "MaskEditor":
        """The editor at its largest allowed size: a 16-token sentence under a causal mask."""
        return cls(DEMO_TEXT, "causal")

    # --- what it shows ---------------------------------------------------------------------------

    def _set_quietly(self, control, value) -> None:
        self._busy = True
        try:
            control.value = value
        finally:
            self._busy = False

    def _controls_changed(self) -> None:
        if not self._busy and self.tokens:
            self.set_preset(self.preset.value)

    @on_one_thread
    def _on_cell(self, row: int, col: int) -> None:
        if self.view is None:
            return
        n = self.view.n
        if not (0 <= row < n and 0 <= col < n):
            self.refuse(f"no such cell ({row}, {col}): rows and columns run from 0 to {n - 1}")
            return
        self.view = mx.apply_mask_edit(self.q, self.k, self.v, self.view.mask, row, col)
        cell = (int(row), int(col))
        if cell in self.clicks:
            self.clicks.remove(cell)      # clicked twice: back to what the preset had
        else:
            self.clicks.append(cell)
        self.accept()
        self.redraw()

    def _name(self, i: int) -> str:
        return f"{i}:{self.tokens[i]}"

    def summary_lines(self) -> list[str]:
        """The readout under the grid, as plain lines of text."""
        v = self.view
        edited = ", ".join(f"({r}, {c})" for r, c in self.clicks) if self.clicks else "none"
        empty = [self._name(i) for i in range(v.n) if bool(v.empty_rows[i])]
        leaks = [f"{self._name(i)} sees {self._name(j)}" for i, j in v.future]
        return [f"preset: {self.preset.value}; cells changed since: {edited}",
                "row sums: " + " | ".join(f"{self._name(i)} {float(s):.3f}" for i, s in enumerate(v.row_sums)),
                "rows with nothing to attend to (weights 0, output 0): " + (", ".join(empty) if empty else "none"),
                "queries that can see a later token: " + ("; ".join(leaks) if leaks else "none (causal)")]

    def redraw(self) -> None:
        v = self.view
        if v is None:
            return
        blocked = (~v.mask).tolist()
        self.heatmap.show(v.weights, self.tokens, self.tokens, blocked=blocked)
        self.heatmap.title = f"attention weights under the {self.preset.value} mask" + (
            f", {len(self.clicks)} cell(s) changed" if self.clicks else "")
        self.readout.value = "<br>".join(html.escape(line) for line in self.summary_lines())

    def values(self) -> dict:
        """The values the widget shows, rounded to 3 decimals ({} when nothing is shown)."""
        if self.view is None:
            return {}
        v = self.view
        return {"tokens": " ".join(self._name(i) for i in range(v.n)),
                "preset": self.preset.value,
                "cells changed": list(self.clicks),
                "mask (1 = open, 0 = blocked)": "\n" + str(v.mask.int().numpy()),
                "weights": v.weights.detach().numpy().round(3),
                "row sums": v.row_sums.detach().numpy().round(3),
                "empty rows": [i for i in range(v.n) if bool(v.empty_rows[i])],
                "queries that see a later token": list(v.future)}

    def __repr__(self) -> str:  # stable across runs
        n = self.view.n if self.view is not None else 0
        return (f"MaskEditor: {self.kind}, {n} tokens, preset={self.preset.value!r}, {len(self.clicks)} cell(s) "
                "changed (run this cell in Jupyter to see and operate it)")
