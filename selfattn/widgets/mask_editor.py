"""The mask editor (chapter 5): click a cell to block or open it, and watch the rows re-normalise.

A thin view. The sentence becomes Q, K, V through selfattn.explore.masking.sentence_qkv
(hand-designed embeddings and projections); presets come from `preset_mask`; a click calls
`apply_mask_edit`, which flips one cell and recomputes the weights with selfattn.attention.
The grid is the anywidget Heatmap: blocked cells are grey, and its `click(row, col)` replays a
click from Python. `report()` returns, as text, the numbers the widget shows.
"""
from __future__ import annotations

import html

import ipywidgets as W
import torch

from ..book import fmt
from ..errors import AttentionInputError
from ..explore import masking
from .heatmap import Heatmap

PRESET_LABELS = (
    ("bidirectional (encoder)", "bidirectional"),
    ("causal (decoder)", "causal"),
    ("padding", "padding"),
    ("sliding window (causal)", "window"),
    ("causal + padding", "causal+padding"),
)
DEMO_TEXT = "the cat sat on the mat because it was tired and slept by the river bank"


class MaskEditor(W.VBox):
    """An n×n grid of attention weights under an editable mask (n at most MAX_TOKENS = 16).

    Rows are queries, columns are keys. Choose a preset (bidirectional, causal, padding with a
    number of real tokens, a causal sliding window with a width, or causal + padding), then click
    any cell to block it (grey) or open it again; every row re-normalises over its open keys at
    once. The readout lists each row's sum, any row left with nothing to attend to, and any open
    cell that lets a query see a later token.
    """

    MAX_TOKENS = masking.MAX_TOKENS

    def __init__(self, text: str = "the bank by the river", preset: str = "causal", *,
                 length: int | None = None, width: int = 3):
        self.heatmap = Heatmap()
        self.heatmap.title = "attention weights under the mask"
        self.heatmap.caption = "click a cell to block it or open it again; hover to read a weight"
        self.heatmap.on_click(self._on_cell)
        self.sentence = W.Text(value=text, description="sentence", continuous_update=False,
                               layout=W.Layout(width="420px"))
        self.preset = W.Dropdown(options=PRESET_LABELS, value=preset if preset in masking.PRESETS else "causal",
                                 description="preset")
        self.length = W.IntSlider(value=1, min=0, max=1, description="real tokens", continuous_update=False)
        self.width = W.IntSlider(value=1, min=1, max=1, description="window", continuous_update=False)
        self.readout = W.HTML()
        self.message = W.HTML()
        self.tokens: list[str] = []
        self.q = self.k = self.v = None
        self.view: masking.MaskView | None = None
        self.clicks: list[tuple[int, int]] = []
        self._busy = False
        super().__init__(children=[W.HBox([self.sentence, self.preset]), W.HBox([self.length, self.width]),
                                   self.heatmap, self.readout, self.message])
        self.sentence.observe(lambda change: None if self._busy else self.set_text(change["new"]), names="value")
        self.preset.observe(lambda change: self._controls_changed(), names="value")
        self.length.observe(lambda change: self._controls_changed(), names="value")
        self.width.observe(lambda change: self._controls_changed(), names="value")
        self._pending = {"length": length, "width": width}
        self.set_text(text)

    # --- what the reader does ------------------------------------------------------------------

    def set_text(self, text: str) -> bool:
        """Tokenise and embed a new sentence; refuse (with a message, keeping the old one) if it cannot be shown."""
        try:
            tokens, q, k, v = masking.sentence_qkv(text, max_tokens=self.MAX_TOKENS)
        except AttentionInputError as e:
            self.message.value = f"<b>Not redrawn:</b> {html.escape(str(e))}"
            return False
        self.tokens, self.q, self.k, self.v = tokens, q, k, v
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
        self.message.value = ""
        self.set_preset(self.preset.value)
        return True

    def set_preset(self, kind: str, *, length: int | None = None, width: int | None = None) -> None:
        """Start again from a preset mask (this forgets the clicks made since the last preset)."""
        if kind not in masking.PRESETS:
            self.message.value = f"<b>Unknown preset</b> {html.escape(repr(kind))}; choose one of {', '.join(masking.PRESETS)}"
            return
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
        mask = masking.preset_mask(kind, len(self.tokens), length=self.length.value, width=self.width.value)
        self.clicks = []
        self.view = masking.masked_view(self.q, self.k, self.v, mask)
        self.message.value = ""
        self._draw()

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

    def _controls_changed(self) -> None:
        if not self._busy and self.tokens:
            self.set_preset(self.preset.value)

    def _on_cell(self, row: int, col: int) -> None:
        if self.view is None:
            return
        n = self.view.n
        if not (0 <= row < n and 0 <= col < n):
            self.message.value = f"<b>No such cell</b> ({row}, {col}): rows and columns run from 0 to {n - 1}"
            return
        self.view = masking.apply_mask_edit(self.q, self.k, self.v, self.view.mask, row, col)
        cell = (int(row), int(col))
        if cell in self.clicks:
            self.clicks.remove(cell)      # clicked twice: back to what the preset had
        else:
            self.clicks.append(cell)
        self.message.value = ""
        self._draw()

    def _name(self, i: int) -> str:
        return f"{i}:{self.tokens[i]}"

    def summary_lines(self) -> list[str]:
        """The readout under the grid, as plain lines of text."""
        v = self.view
        lines = []
        edited = ", ".join(f"({r}, {c})" for r, c in self.clicks) if self.clicks else "none"
        lines.append(f"preset: {self.preset.value}; cells changed since: {edited}")
        lines.append("row sums: " + " | ".join(f"{self._name(i)} {float(s):.3f}" for i, s in enumerate(v.row_sums)))
        empty = [self._name(i) for i in range(v.n) if bool(v.empty_rows[i])]
        lines.append("rows with nothing to attend to (weights 0, output 0): " + (", ".join(empty) if empty else "none"))
        leaks = [f"{self._name(i)} sees {self._name(j)}" for i, j in v.future]
        lines.append("queries that can see a later token: " + ("; ".join(leaks) if leaks else "none (causal)"))
        return lines

    def _draw(self) -> None:
        v = self.view
        blocked = (~v.mask).tolist()
        self.heatmap.show(v.weights, self.tokens, self.tokens, blocked=blocked)
        self.heatmap.title = f"attention weights under the {self.preset.value} mask" + (
            f", {len(self.clicks)} cell(s) changed" if self.clicks else "")
        self.readout.value = "<br>".join(html.escape(line) for line in self.summary_lines())

    def numbers(self) -> dict:
        """The values the widget shows, rounded to 3 decimals ({} when nothing is shown)."""
        if self.view is None:
            return {}
        v = self.view
        return {"n": v.n, "tokens": list(self.tokens), "preset": self.preset.value, "clicks": list(self.clicks),
                "weights": [[round(float(x), 3) for x in row] for row in v.weights],
                "row_sums": [round(float(s), 3) for s in v.row_sums],
                "empty_rows": [i for i in range(v.n) if bool(v.empty_rows[i])],
                "future": list(v.future)}

    def report(self) -> str:
        """Everything the widget shows, as text (for a plain notebook cell that nbval can check)."""
        if self.view is None:
            return self.message.value or "nothing to show"
        v = self.view
        parts = ["tokens: " + " ".join(self._name(i) for i in range(v.n)),
                 "mask (1 = open, 0 = blocked):", str(v.mask.to(torch.int64).numpy()),
                 "weights:", fmt(v.weights)]
        parts += self.summary_lines()
        if self.message.value:
            parts.append("message: " + html.unescape(self.message.value.replace("<b>", "").replace("</b>", "")))
        return "\n".join(parts)

    def __repr__(self) -> str:  # stable across runs
        n = self.view.n if self.view is not None else 0
        return f"MaskEditor({n} tokens, preset={self.preset.value!r}, {len(self.clicks)} cell(s) changed)"
