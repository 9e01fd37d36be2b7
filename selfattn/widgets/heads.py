"""The book's one attention-head viewer: every (layer, head) of a model for a sentence you type.

`HeadView` is a thin view of a *compute* function that turns a sentence into a
`selfattn.explore.heads.HeadMaps` (tokens, weights (n_layers, n_heads, n, n), head names, an
optional mask, a default query). Chapter 6 shows its hand-built and random heads with it (the
default compute), chapter 7 a trained tiny model's, chapter 10 a small GPT's:

    HeadView(text, compute=lambda text: maps_for(model, text), examples=EXAMPLES,
             describe=lambda maps, layer, head, query: "...", layer=1, head=1)

Choose a layer (when there are several) and a head, or all heads of the layer side by side; click
a row of any heatmap to make that token the query; the line under the maps says where it looks
most in every head (or what `describe` says). A sentence `compute` refuses (it raises
AttentionInputError) is refused at the top of the widget, and the text box goes back to the
sentence still drawn.
"""
from __future__ import annotations

import html
from typing import Callable, Mapping, Sequence

import ipywidgets as widgets

from ..errors import AttentionInputError
from ..explore.heads import KINDS, HeadMaps, head_view
from ..explore.positions import unknown_words
from ..limits import MAX_TOKENS
from .base import BookWidget, on_one_thread
from .heatmap import Heatmap

DEMO_TEXT = "the cat sat on the mat because the dog ran by the river and it slept"
ALL = "all heads"
TYPED = "(type your own below)"


def _chapter6_heads(text: str, kind: str = "hand-built") -> HeadMaps:
    return head_view(text, kind)


def _chapter6_note(maps: HeadMaps, kind: str) -> str:
    unknown = unknown_words(maps.tokens)
    note = ("" if not unknown else " No hand-designed vector for "
            + ", ".join(f"'{w}'" for w in unknown) + ": each gets a fixed pseudo-random one.")
    what = ("hand-built heads (weights set by hand, not trained)" if kind == "hand-built"
            else "randomly initialised heads (what a model starts from before training)")
    return f"{len(maps.tokens)} tokens, {what}.{note}"


class HeadView(BookWidget):
    """A gallery of one layer's heads (or one head), for a sentence, with a clickable query row.

    text: the sentence first shown. compute(text, **choices) -> HeadMaps; default: chapter 6's
    hand-built or random heads (choice "kind"). options: {keyword: choices} shown as toggle
    buttons and passed to compute (default {"kind": ("hand-built", "random")} with the default
    compute, else none). examples: sentences offered in a drop-down. describe(maps, layer, head,
    query) -> str: the line under the maps (default: where the query looks most in every head of
    the layer). layer, head: what is shown first (head an int or "all heads"); query: the row
    selected first (default: the one HeadMaps names, or none); chosen: the first value of each
    option (default: its first choice). note(maps, **choices) -> str: a line above the maps.
    """

    kind = "attention-head viewer"
    MAX_TOKENS = MAX_TOKENS

    def __init__(self, text: str = "the cat sat on the mat", *, compute: Callable[..., HeadMaps] | None = None,
                 options: Mapping[str, Sequence[str]] | None = None, examples: Sequence[str] = (),
                 describe: Callable[[HeadMaps, int, int | str, int], str] | None = None,
                 layer: int = 0, head: int | str = ALL, query: int | None = None,
                 chosen: Mapping[str, str] | None = None, note=None):
        if compute is None:
            compute, note = _chapter6_heads, (note or _chapter6_note)
            options = {"kind": KINDS} if options is None else options
        self.compute = compute
        self.describe = describe
        self.note = note
        self.examples = tuple(examples)
        chosen = dict(chosen or {})
        self.choices = {name: widgets.ToggleButtons(options=list(values), value=chosen.get(name, list(values)[0]),
                                                    description=name,
                                                    style={"button_width": "100px"})
                        for name, values in (options or {}).items()}
        self.pick = widgets.Dropdown(options=list(self.examples) + [TYPED],
                                     value=text if text in self.examples else TYPED, description="example",
                                     layout=widgets.Layout(width="520px", display=None if self.examples else "none"))
        self.sentence = widgets.Text(value=text, description="sentence", continuous_update=False,
                                     layout=widgets.Layout(width="520px"))
        self.layer = widgets.ToggleButtons(options=[("layer 0", 0)], value=0, description="layer",
                                           style={"button_width": "70px"})
        self.head = widgets.ToggleButtons(options=[ALL], value=ALL, description="show",
                                          style={"button_width": "80px"})
        self.info = widgets.HTML()
        self.area = widgets.Box()
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_template_columns="repeat(2, max-content)",
                                                          grid_gap="4px 16px"))
        self.readout = widgets.HTML()
        self.maps: list[Heatmap] = []
        self.single = Heatmap()
        self.single.on_click(lambda r, c: self.select(r))
        self.view: HeadMaps | None = None
        self.text = ""
        self.query = -1
        self._wanted = {"layer": layer, "head": head, "query": query}
        self._busy = False
        picker = [self.pick] if self.examples else []        # no drop-down with nothing to choose from
        self._build([*picker, self.sentence, *self.choices.values(), self.layer, self.head, self.info, self.area,
                     self.readout])
        self.pick.observe(self._on_pick, names="value")
        self.sentence.observe(lambda ch: None if self._busy else self.set_text(ch["new"]), names="value")
        for control in self.choices.values():
            control.observe(lambda _: self.set_text(self.text), names="value")
        self.layer.observe(lambda _: None if self._busy else self.redraw(), names="value")
        self.head.observe(lambda _: None if self._busy else self.redraw(), names="value")
        self.set_text(text)

    # --- what the reader does ----------------------------------------------------------------------

    @on_one_thread
    def set_text(self, text: str) -> bool:
        """Compute every head for a sentence and draw it; refuse (keeping the old one) if it cannot be shown."""
        chosen = {name: control.value for name, control in self.choices.items()}
        try:
            view = self.compute(text, **chosen)
        except AttentionInputError as e:
            self._quietly(self.sentence, self.text)       # the text box shows the sentence still drawn
            return self.refuse(str(e))
        self.view, self.text = view, text
        self._quietly(self.sentence, text)
        self._fit_controls(view)
        wanted_query = self._wanted.pop("query", None)
        if wanted_query is not None:
            self.query = int(wanted_query)
        elif view.query >= 0:
            self.query = view.query
        if not 0 <= self.query < len(view.tokens):
            self.query = -1
        self.info.value = html.escape(self.note(view, **chosen)) if self.note else ""
        self.accept()
        self.redraw()
        return True

    def select(self, row: int) -> None:
        """Make the token in `row` the query (what a click on a heatmap row does)."""
        if self.view is None or not 0 <= row < len(self.view.tokens):
            return
        self.query = int(row)
        self.redraw()

    def show_head(self, layer: int = 0, head: int | str = ALL) -> None:
        """Show one layer's heads side by side (head="all heads") or one head."""
        self._busy = True
        try:
            self.layer.value = int(layer)
            self.head.value = head if head == ALL else f"head {int(head)}"
        finally:
            self._busy = False
        self.redraw()

    # --- what it shows -----------------------------------------------------------------------------

    def _quietly(self, control, value) -> None:
        self._busy = True
        try:
            control.value = value
        finally:
            self._busy = False

    def _on_pick(self, change) -> None:
        if not self._busy and change["new"] != TYPED:
            self.query = -1                      # a new sentence: back to its own question
            self.set_text(change["new"])

    def _fit_controls(self, view: HeadMaps) -> None:
        """Layer and head buttons for this model (kept where they still exist)."""
        layer = self._wanted.pop("layer", self.layer.value)
        head = self._wanted.pop("head", self.head.value)
        if isinstance(head, int):
            head = f"head {head}"
        self._busy = True
        try:
            layers = tuple((f"layer {i}", i) for i in range(view.n_layers))
            if tuple(self.layer.options) != layers:                    # only when the model changes
                self.layer.options = layers
            self.layer.layout.display = None if view.n_layers > 1 else "none"
            self.layer.value = layer if 0 <= layer < view.n_layers else 0
            heads = (ALL,) + tuple(f"head {h}" for h in range(view.n_heads))
            if tuple(self.head.options) != heads:
                self.head.options = heads
            self.head.value = head if head in heads else ALL
            if self.pick.value != TYPED and self.pick.value != self.text:
                self.pick.value = TYPED if self.text not in self.examples else self.text
        finally:
            self._busy = False
        while len(self.maps) < view.n_heads:
            m = Heatmap()
            m.on_click(lambda r, c: self.select(r))
            self.maps.append(m)

    def _title(self, layer: int, head: int) -> str:
        v = self.view
        where = f"head {head}" if v.n_layers == 1 else f"layer {layer} · head {head}"
        return where + (f": {v.names[head]}" if v.names[head] else "")

    def redraw(self) -> None:
        v = self.view
        if v is None:
            return
        n = len(v.tokens)
        layer = self.layer.value
        blocked = None if v.mask is None else (~v.mask).tolist()
        if self.head.value == ALL:
            shown = self.maps[:v.n_heads]
            for h, m in enumerate(shown):
                with m.hold_sync():
                    m.title = self._title(layer, h)
                    m.show(v.weights[layer, h], v.tokens, v.tokens, blocked=blocked)
                    m.cell_size = 26 if n <= 8 else 18
                    m.annotate = n <= 8
                    m.selected = [self.query, -1]
            if tuple(self.grid.children) != tuple(shown):
                self.grid.children = shown
            if self.area.children != (self.grid,):
                self.area.children = [self.grid]
        else:
            h = int(self.head.value.split()[-1])
            with self.single.hold_sync():
                self.single.title = self._title(layer, h)
                self.single.show(v.weights[layer, h], v.tokens, v.tokens, blocked=blocked)
                self.single.selected = [self.query, -1]
            if self.area.children != (self.single,):
                self.area.children = [self.single]
        self.readout.value = html.escape(self.readout_text()).replace("\n", "<br>")

    def readout_text(self) -> str:
        """The line under the maps, as plain text."""
        v = self.view
        if self.describe is not None:
            return self.describe(v, self.layer.value, self.head.value, self.query)
        if self.query < 0:
            return "click a row to see where that query looks in every head"
        parts = []
        for h in range(v.n_heads):
            _, k, w = v.strongest(h, self.layer.value)[self.query]
            parts.append(f"head {h}" + (f" ({v.names[h]})" if v.names[h] else "") + f": {k} {w:.2f}")
        return f"query {v.tokens[self.query]!r} (position {self.query}) looks most at: " + "; ".join(parts)

    def values(self) -> dict:
        """What the widget shows: tokens, layer, head, query and the query's row in each shown head."""
        v = self.view
        if v is None:
            return {}
        layer = self.layer.value
        heads = range(v.n_heads) if self.head.value == ALL else [int(self.head.value.split()[-1])]
        out = {"tokens": " ".join(f"{i}:{t}" for i, t in enumerate(v.tokens)), "layer": layer,
               "shown": self.head.value,
               "query": f"{self.query}:{v.tokens[self.query]}" if self.query >= 0 else "none"}
        if self.query >= 0:
            for h in heads:
                out[self._title(layer, h)] = v.weights[layer, h, self.query].detach().numpy().round(3)
        out["readout"] = self.readout_text()
        return out

    @classmethod
    def demo(cls) -> "HeadView":
        """The widget at its largest allowed size: 16 tokens, all four hand-built heads side by side."""
        return cls(DEMO_TEXT, head=ALL)

    def step(self, i: int) -> None:
        """One representative update: select query i (mod n) and recompute every head, as a click
        on a row after editing the sentence does."""
        n = len(self.view.tokens) if self.view else 1
        self.query = int(i) % n
        self.set_text(self.text)

    def __repr__(self) -> str:
        n = len(self.view.tokens) if self.view else 0
        return (f"HeadView: {self.kind}, {n} tokens, showing {self.head.value} "
                "(run this cell in Jupyter to see and operate it)")
