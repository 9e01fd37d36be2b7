"""Chapter 7's widget: the attention of a trained tiny transformer, one layer and head at a time.

A thin view of selfattn.tiny.head_view: pick an example sentence or type one from the model's
vocabulary, choose the layer and the head, and click a row of the heatmap to make that token
the query whose answer and strongest keys are spelled out below.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from .. import tiny
from .heatmap import Heatmap

TYPED = "(type your own below)"


class LearnedAttention(widgets.VBox):
    """Look inside a trained TinyTransformer: sentence, layer and head in; heatmap and answer out."""

    MAX_TOKENS = tiny.MAX_TOKENS

    def __init__(self, model: tiny.TinyTransformer, text: str = tiny.EXAMPLES[0], layer: int = 1, head: int = 1,
                 examples=tiny.EXAMPLES):
        self.model = model
        self.examples = tuple(examples)
        cfg = model.cfg
        self.pick = widgets.Dropdown(options=list(self.examples) + [TYPED],
                                     value=text if text in self.examples else TYPED, description="example",
                                     layout=widgets.Layout(width="520px"))
        self.text = widgets.Text(value=text, description="sentence", continuous_update=False,
                                 layout=widgets.Layout(width="520px"))
        self.layer = widgets.ToggleButtons(options=[(f"layer {i}", i) for i in range(cfg.n_layers)], value=layer,
                                           description="layer", style={"button_width": "70px"})
        self.head = widgets.ToggleButtons(options=[(f"head {i}", i) for i in range(cfg.n_heads)], value=head,
                                          description="head", style={"button_width": "70px"})
        self.heatmap = Heatmap()
        self.message = widgets.HTML()
        self.help = widgets.HTML(self._vocabulary_html())
        self.help.layout.display = "none"
        self.view: tiny.HeadView | None = None
        self.query: int | None = None
        super().__init__([self.pick, self.text, self.layer, self.head, self.heatmap, self.message, self.help])
        self.heatmap.on_click(lambda row, col: self.select(row))
        self.pick.observe(self._on_pick, names="value")
        self.text.observe(self._on_text, names="value")
        self.layer.observe(lambda _: self.update(), names="value")
        self.head.observe(lambda _: self.update(), names="value")
        self.update()

    def _on_pick(self, change) -> None:
        if change["new"] != TYPED:
            self.text.value = change["new"]          # _on_text does the update

    def _on_text(self, change) -> None:
        self.query = None                            # a new sentence: back to its natural question
        if change["new"] not in self.examples and self.pick.value != TYPED:
            self.pick.value = TYPED
        self.update()

    def update(self) -> None:
        """Recompute the chosen head for the current sentence and query, then redraw."""
        view = tiny.head_view(self.model, self.text.value, self.layer.value, self.head.value, self.query)
        self.view = view
        if not view.ok:
            self.message.value = f"<span style='color:#b00020'>{html.escape(view.message, quote=False)}</span>"
            self.help.layout.display = None
            with self.heatmap.hold_sync():
                self.heatmap.title = "nothing to show for this sentence"
                self.heatmap.show([[0.0]], ["?"], ["?"])
            return
        self.query = view.query
        self.help.layout.display = "none"
        with self.heatmap.hold_sync():
            self.heatmap.title = f"layer {view.layer} · head {view.head} (rows: queries, columns: keys)"
            self.heatmap.show(view.weights, view.tokens, view.tokens, blocked=view.blocked)
            self.heatmap.selected = [view.query, -1]
        message, detail = html.escape(view.message, quote=False), html.escape(view.detail, quote=False)
        self.message.value = f"{message}<br><small>{detail}</small>"

    def select(self, row: int) -> None:
        """Make the token in `row` the query (what a click on a heatmap row does)."""
        if self.view is None or not self.view.ok or not 0 <= row < len(self.view.tokens):
            return
        self.query = int(row)
        self.update()

    @staticmethod
    def _vocabulary_html() -> str:
        words = " ".join(w for w in tiny.VOCAB.words if w != tiny.PAD)
        return ("<small><b>Words the tiny model knows</b> (anything else is refused): "
                f"{html.escape(words)}</small>")

    @classmethod
    def demo(cls) -> "LearnedAttention":
        """The widget at its largest allowed size: a 16-token letter sequence on the trained model."""
        return cls(tiny.trained_model(), text=tiny.EXAMPLES[-1], layer=1, head=1)

    def step(self, i: int) -> None:
        """One representative update: pick example sentence i (mod the number of examples), as
        choosing it from the drop-down does."""
        text = self.examples[int(i) % len(self.examples)]
        if self.pick.value == text and self.text.value == text:
            self.update()
        else:
            self.pick.value = text

    def __repr__(self) -> str:
        n = len(self.view.tokens) if self.view is not None else 0
        return f"LearnedAttention(n={n}, layer={self.layer.value}, head={self.head.value})"
