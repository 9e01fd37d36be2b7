"""A live attention heatmap (anywidget): drawn in the browser, operated by mouse, keyboard and screen reader.

The JavaScript ships inside the package (static/heatmap.js): no CDN, works offline and in Binder.
Python sets `values` (and `blocked`); a click on a cell, or Enter/Space on the keyboard-focused
cell, calls every handler registered with `on_click`. The grid is one tab stop with ARIA grid
semantics (each cell reads 'query "a" → key "b": 0.123'), arrow keys move a visible focus and
never reach JupyterLab, a colour scale with its limits sits beside the grid, numbers are written
in the cells in text chosen for at least 4.5:1 contrast, and blocked cells are hatched.
The colours come from `selfattn.viz.style.widget_palette()` and the size limit from
`selfattn.limits.MAX_TOKENS`, both sent as synced traits: nothing is copied into the JavaScript.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import anywidget
import numpy as np
import traitlets

from ..limits import MAX_TOKENS
from ..viz.style import widget_palette

STATIC = Path(__file__).resolve().parent / "static"


def matrix_to_lists(m) -> list[list[float | None]]:
    """(n_q, n_k) array or tensor -> nested lists for the browser; -inf and NaN become None."""
    if hasattr(m, "detach"):
        m = m.detach().cpu().numpy()
    m = np.asarray(m, dtype=float)
    return [[(round(float(v), 6) if math.isfinite(v) else None) for v in row] for row in m]


def cell_size_for(n: int) -> int:
    """Cell side in px for an n-token grid: room for a number up to MAX_TOKENS, smaller beyond."""
    if n <= 10:
        return 40
    if n <= MAX_TOKENS:
        return 32
    return max(8, 32 * MAX_TOKENS // n)


class Heatmap(anywidget.AnyWidget):
    """Rows are queries, columns are keys. values in [0, 1] (or signed=True for raw scores)."""

    _esm = STATIC / "heatmap.js"
    _css = STATIC / "heatmap.css"
    values = traitlets.List([]).tag(sync=True)
    blocked = traitlets.List([]).tag(sync=True)         # [] or (n_q, n_k) booleans, True = blocked
    row_labels = traitlets.List([]).tag(sync=True)
    col_labels = traitlets.List([]).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    caption = traitlets.Unicode("hover over a cell to read its value").tag(sync=True)
    selected = traitlets.List([-1, -1]).tag(sync=True)  # [row, col] outlined in red
    signed = traitlets.Bool(False).tag(sync=True)
    annotate = traitlets.Bool(True).tag(sync=True)
    cell_size = traitlets.Int(0).tag(sync=True)       # px; 0 = chosen from the size (40 up to 10 tokens, else 32)
    value_label = traitlets.Unicode("").tag(sync=True)  # the colour scale's name ("" = weight, or score if signed)
    palette = traitlets.Dict().tag(sync=True)           # every colour, from selfattn.viz.style
    max_tokens = traitlets.Int(MAX_TOKENS).tag(sync=True)

    def __init__(self, values=None, row_labels=None, col_labels=None, **kwargs):
        kwargs.setdefault("palette", widget_palette())
        super().__init__(**kwargs)
        self._click_handlers: list[Callable[[int, int], None]] = []
        self.on_msg(self._on_custom_msg)
        if values is not None:
            self.show(values, row_labels, col_labels)

    def show(self, values, row_labels=None, col_labels=None, blocked=None) -> None:
        """Replace what is drawn (new lists are assigned, never mutated, so the change syncs)."""
        vals = matrix_to_lists(values)
        n_q, n_k = len(vals), len(vals[0]) if vals else 0
        with self.hold_sync():
            if row_labels is not None:
                self.row_labels = [str(s) for s in row_labels]
            elif len(self.row_labels) != n_q:
                self.row_labels = [str(i) for i in range(n_q)]
            if col_labels is not None:
                self.col_labels = [str(s) for s in col_labels]
            elif len(self.col_labels) != n_k:
                self.col_labels = [str(j) for j in range(n_k)]
            self.blocked = [] if blocked is None else [[bool(b) for b in row] for row in np.asarray(blocked)]
            self.cell_size = cell_size_for(max(n_q, n_k))
            self.values = vals

    def on_click(self, handler: Callable[[int, int], None]) -> None:
        """Register handler(row, col), called when the reader clicks a cell."""
        self._click_handlers.append(handler)

    def click(self, row: int, col: int) -> None:
        """Do what a click on (row, col) does; tests and notebooks call this to replay a click."""
        for handler in self._click_handlers:
            handler(int(row), int(col))

    def _on_custom_msg(self, _widget, content, _buffers) -> None:
        # (not named _handle_msg: that is ipywidgets' own comm handler, which this must not shadow)
        if isinstance(content, dict) and content.get("event") == "click":
            self.click(content["row"], content["col"])

    def __repr__(self) -> str:  # stable across runs (the default repr shows a memory address)
        return f"Heatmap({len(self.values)}×{len(self.values[0]) if self.values else 0}, title={self.title!r})"
