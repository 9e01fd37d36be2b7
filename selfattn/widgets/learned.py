"""Chapter 7's widget: the attention of a trained tiny transformer, one layer and head at a time.

Pick an example sentence or type one from the model's vocabulary, choose the layer and the head,
and click a row of the heatmap to make that token the query whose answer and strongest keys are
spelled out below. A sentence the model cannot read (an unknown word, too long, empty) is refused
at the top of the widget; the text box goes back to the sentence still drawn.

A thin view: `selfattn.explore.learned.inspect` computes, the Heatmap draws.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from ..errors import AttentionInputError
from ..explore import learned
from ..limits import MAX_TOKENS
from .base import BookWidget
from .heatmap import Heatmap

TYPED = "(type your own below)"


def describe(ins: learned.Inspection, layer: int, head: int, query: int) -> str:
    """The sentence under the map: where the query looks most, and what the model answers there."""
    tokens = ins.tokens
    top = ins.top_keys(layer, head, query, k=2)
    looks = ", then ".join(f"'{tokens[j]}' ({w:.2f})" for j, w in top)
    word, p = ins.prediction(query)
    msg = (f"layer {layer} · head {head} · query '{tokens[query]}' (position {query}) puts most weight on "
           f"{looks}. The model's answer there: '{word}' (probability {p:.2f}).")
    if not learned.is_question(tokens, query):
        msg += (" Note: the model was trained to answer only at a pronoun, a verb, 'bank' or a repeated "
                "letter, so its answer at this position means nothing.")
    return msg


class LearnedAttention(BookWidget):
    """Look inside a trained TinyTransformer: sentence, layer and head in; heatmap and answer out."""

    kind = "trained-model attention viewer"
    MAX_TOKENS = MAX_TOKENS

    def __init__(self, model: learned.TinyTransformer, text: str = learned.EXAMPLES[0], layer: int = 1,
                 head: int = 1, examples=learned.EXAMPLES):
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
        self.readout = widgets.HTML()
        self.help = widgets.HTML(self._vocabulary_html())
        self.help.layout.display = "none"
        self.ins: learned.Inspection | None = None
        self.sentence = ""
        self.query = -1
        self._busy = False
        self._build([self.pick, self.text, self.layer, self.head, self.heatmap, self.readout, self.help])
        self.heatmap.on_click(lambda row, col: self.select(row))
        self.pick.observe(self._on_pick, names="value")
        self.text.observe(lambda ch: None if self._busy else self.set_text(ch["new"]), names="value")
        self.layer.observe(lambda _: self.redraw(), names="value")
        self.head.observe(lambda _: self.redraw(), names="value")
        if not self.set_text(text):
            self.set_text(self.examples[0])

    # --- what the reader does ------------------------------------------------------------------

    def set_text(self, text: str) -> bool:
        """Run the model on a sentence and draw it; refuse it (keeping the sentence drawn) if it cannot be read."""
        try:
            ins = learned.inspect(self.model, text)
        except AttentionInputError as e:
            self._quietly(self.text, self.sentence)      # the text box shows the sentence still drawn
            self.help.layout.display = None
            return self.refuse(str(e))
        self.ins, self.sentence = ins, text
        self._quietly(self.text, text)
        self._quietly(self.pick, text if text in self.examples else TYPED)
        self.query = learned.default_query(ins.tokens)
        self.help.layout.display = "none"
        self.accept()
        self.redraw()
        return True

    def select(self, row: int) -> None:
        """Make the token in `row` the query (what a click on a heatmap row does)."""
        if self.ins is None or not 0 <= row < len(self.ins.tokens):
            return
        self.query = int(row)
        self.redraw()

    def _quietly(self, control, value) -> None:
        self._busy = True
        try:
            control.value = value
        finally:
            self._busy = False

    def _on_pick(self, change) -> None:
        if not self._busy and change["new"] != TYPED:
            self.set_text(change["new"])

    # --- what it shows -------------------------------------------------------------------------

    def redraw(self) -> None:
        ins = self.ins
        if ins is None:
            return
        layer, head = self.layer.value, self.head.value
        with self.heatmap.hold_sync():
            self.heatmap.title = f"layer {layer} · head {head} (rows: queries, columns: keys)"
            self.heatmap.show(ins.weights[layer, head], ins.tokens, ins.tokens, blocked=ins.blocked())
            self.heatmap.selected = [self.query, -1]
        mode = "read causally, like a GPT" if ins.causal else "read in both directions, like BERT"
        self.readout.value = (f"{html.escape(self.readout_text(), quote=False)}<br>"
                              f"<small>{len(ins.tokens)} tokens, {mode}</small>")

    def readout_text(self) -> str:
        """The line under the map, as plain text."""
        return describe(self.ins, self.layer.value, self.head.value, self.query)

    def values(self) -> dict:
        """What the widget shows: the sentence, layer, head, query, the query's row, and the readout."""
        ins = self.ins
        return {"sentence": self.sentence, "layer": self.layer.value, "head": self.head.value,
                "query": f"{self.query}:{ins.tokens[self.query]}",
                "row of the query": ins.weights[self.layer.value, self.head.value, self.query].numpy().round(2),
                "readout": self.readout_text()}

    @staticmethod
    def _vocabulary_html() -> str:
        words = " ".join(learned.VOCAB.known_words())
        return ("<small><b>Words the tiny model knows</b> (anything else is refused): "
                f"{html.escape(words)}</small>")

    @classmethod
    def demo(cls) -> "LearnedAttention":
        """The widget at its largest allowed size: a 16-token letter sequence on the trained model."""
        return cls(learned.trained_model(), text=learned.EXAMPLES[-1], layer=1, head=1)

    def step(self, i: int) -> None:
        """One representative update: pick example sentence i (mod the number of examples), as
        choosing it from the drop-down does."""
        self.set_text(self.examples[int(i) % len(self.examples)])
