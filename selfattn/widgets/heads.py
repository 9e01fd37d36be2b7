"""Chapter 6's widget: look at one attention head, or all of them side by side.

A thin view of selfattn.explore.heads.head_view: type a sentence, choose the hand-built heads or
randomly initialised ones, and pick a head (or "all heads"). Clicking a row of any heatmap
selects that query and lists where it looks most in every head.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from ..errors import AttentionInputError
from ..explore.heads import KINDS, MAX_TOKENS, N_HEADS, HeadView, head_view
from ..explore.positions import unknown_words
from .heatmap import Heatmap

DEMO_TEXT = "the cat sat on the mat because the dog ran by the river and it slept"
ALL = "all heads"


class HeadExplorer(widgets.VBox):
    """Choose a head, or all heads side by side, for a sentence you type."""

    MAX_TOKENS = MAX_TOKENS

    def __init__(self, text: str = "the cat sat on the mat", kind: str = "hand-built", head: str | int = ALL):
        self.text = widgets.Text(value=text, description="sentence", continuous_update=False,
                                 layout=widgets.Layout(width="520px"))
        self.kind = widgets.ToggleButtons(options=list(KINDS), value=kind, description="heads",
                                          style={"button_width": "100px"})
        self.head = widgets.ToggleButtons(options=[ALL] + [f"head {h}" for h in range(N_HEADS)],
                                          value=head if isinstance(head, str) else f"head {head}",
                                          description="show", style={"button_width": "80px"})
        self.message = widgets.HTML()
        self.maps = [Heatmap() for _ in range(N_HEADS)]
        self.single = Heatmap()
        self.grid = widgets.GridBox(self.maps, layout=widgets.Layout(grid_template_columns="repeat(2, max-content)",
                                                                     grid_gap="4px 16px"))
        self.area = widgets.Box([self.grid])
        self.readout = widgets.HTML()
        self.view: HeadView | None = None
        self.query = -1
        super().__init__([self.text, self.kind, self.head, self.message, self.area, self.readout])
        for h, m in enumerate(self.maps):
            m.on_click(lambda r, c: self.select(r))
        self.single.on_click(lambda r, c: self.select(r))
        self.text.observe(lambda _: self.update(), names="value")
        self.kind.observe(lambda _: self.update(), names="value")
        self.head.observe(lambda _: self.redraw(), names="value")
        self.update()

    def update(self) -> None:
        """Recompute the heads for the current sentence and model, then redraw."""
        try:
            view = head_view(self.text.value, self.kind.value)
        except AttentionInputError as e:
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(e))}</span>"
            return
        self.view = view
        self.query = -1 if self.query >= len(view.tokens) else self.query
        unknown = unknown_words(view.tokens)
        note = ("" if not unknown else " No hand-designed vector for "
                + ", ".join(f"'{html.escape(w)}'" for w in unknown) + ": each gets a fixed pseudo-random one.")
        what = ("hand-built heads (weights set by hand, not trained)" if self.kind.value == "hand-built"
                else "randomly initialised heads (what a model starts from before training)")
        self.message.value = f"{len(view.tokens)} tokens, {what}.{note}"
        self.redraw()

    def redraw(self) -> None:
        v = self.view
        if v is None:
            return
        n = len(v.tokens)
        if self.head.value == ALL:
            for h, m in enumerate(self.maps):
                with m.hold_sync():
                    m.title = f"head {h}: {v.names[h]}"
                    m.show(v.weights[h], v.tokens, v.tokens)
                    m.cell_size = 26 if n <= 8 else 18
                    m.annotate = n <= 8
                    m.selected = [self.query, -1]
            self.area.children = [self.grid]
        else:
            h = int(self.head.value.split()[-1])
            with self.single.hold_sync():
                self.single.title = f"head {h}: {v.names[h]}"
                self.single.show(v.weights[h], v.tokens, v.tokens)
                self.single.selected = [self.query, -1]
            self.area.children = [self.single]
        self.readout.value = self._readout()

    def select(self, row: int) -> None:
        """Select a query row (what a click on any heatmap row does)."""
        if self.view is None or not 0 <= row < len(self.view.tokens):
            return
        self.query = int(row)
        self.redraw()

    def _readout(self) -> str:
        v = self.view
        if self.query < 0:
            return "<i>click a row to see where that query looks in every head</i>"
        parts = []
        for h in range(len(v.names)):
            q, k, w = v.strongest(h)[self.query]
            parts.append(f"head {h} ({html.escape(v.names[h])}): <b>{html.escape(k)}</b> {w:.2f}")
        return f"query <b>{html.escape(v.tokens[self.query])}</b> (position {self.query}) looks most at: " \
               + "; ".join(parts)

    @classmethod
    def demo(cls) -> "HeadExplorer":
        """The widget at its largest allowed size: 16 tokens, all heads side by side."""
        return cls(DEMO_TEXT, head=ALL)

    def step(self, i: int) -> None:
        """One representative update: select query i (mod n) and recompute every head, as a click
        on a row after editing the sentence does."""
        n = len(self.view.tokens) if self.view else 1
        self.query = int(i) % n
        self.update()

    def __repr__(self) -> str:
        return f"HeadExplorer(n={len(self.view.tokens) if self.view else 0}, kind={self.kind.value!r}, head={self.head.value!r})"
