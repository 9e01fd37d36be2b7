"""Chapter 4's widget: reorder the words of a sentence and see which outputs only moved and which changed.

A thin view of selfattn.explore.positions.compare_orders: it holds the sentence, the order and
the kind of position information, and shows two live heatmaps (weights before and after the
reordering) and a table saying, for every token, whether its output moved or changed value.
A `BookWidget`: `values()` is what it shows, `redraw()` its one redraw, and a bad sentence or
order is refused at the top of the widget, with the text box put back to what is drawn.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from ..embeddings import tokenize
from ..errors import AttentionInputError
from ..explore.positions import (POSITION_KINDS, OrderComparison, compare_orders, parse_order, random_order,
                                 unknown_words)
from ..limits import MAX_TOKENS
from .base import BookWidget, on_one_thread
from .heatmap import Heatmap

DEMO_TEXT = "the cat sat on the mat because the dog ran by the river and it slept"


class OrderExplorer(BookWidget):
    """Type a sentence, reorder its tokens (shuffle, reverse, swap, type an order, or click two rows
    of the right-hand heatmap to swap those tokens), pick a kind of position information, and
    compare the attention before and after."""

    kind = "word-order explorer"
    MAX_TOKENS = MAX_TOKENS

    def __init__(self, text: str = "the cat sat on the mat", kind: str = "none", order=None, strength: float = 1.0):
        self.text = widgets.Text(value=text, description="sentence", continuous_update=False,
                                 layout=widgets.Layout(width="520px"))
        self.positions = widgets.ToggleButtons(options=list(POSITION_KINDS), value=kind, description="positions",
                                               style={"button_width": "90px"})
        self.strength = widgets.FloatSlider(value=strength, min=0.0, max=3.0, step=0.25, description="strength",
                                            continuous_update=False, readout_format=".2f")
        self.order_box = widgets.Text(description="new order", continuous_update=False,
                                      placeholder="e.g. 5 1 2 3 4 0", layout=widgets.Layout(width="520px"))
        self.shuffle_button = widgets.Button(description="shuffle", icon="random")
        self.reverse_button = widgets.Button(description="reverse")
        self.swap_button = widgets.Button(description="swap first and last")
        self.reset_button = widgets.Button(description="original order")
        self.status = widgets.HTML()
        self.before = Heatmap(title="weights, original order")
        self.after = Heatmap(title="weights, new order")
        self.table = widgets.HTML()
        self.comparison: OrderComparison | None = None
        self.tokens: list[str] = []
        self.order: list[int] = []
        self._text_shown = ""
        self._quiet = False                   # True while a text box is put back to what is drawn
        self._shuffles = 0
        self.picked = -1                      # a row of the right heatmap clicked once, waiting for a second
        self._build([
            self.text, self.positions, self.strength,
            widgets.HBox([self.shuffle_button, self.reverse_button, self.swap_button, self.reset_button]),
            self.order_box, self.status, widgets.HBox([self.before, self.after]), self.table])
        self.text.observe(lambda _: None if self._quiet else self._new_text(), names="value")
        self.positions.observe(lambda _: self.update(), names="value")
        self.strength.observe(lambda _: self.update(), names="value")
        self.order_box.observe(lambda _: None if self._quiet else self._typed_order(), names="value")
        self.shuffle_button.on_click(lambda _: self.shuffle())
        self.reverse_button.on_click(lambda _: self.set_order(list(reversed(range(len(self.tokens))))))
        self.swap_button.on_click(lambda _: self._swap_ends())
        self.reset_button.on_click(lambda _: self.set_order(list(range(len(self.tokens)))))
        self.after.on_click(lambda row, col: self.pick(row))
        self.after.caption = "click a row, then another, to swap those two tokens"
        self._new_text(order)

    # --- state changes ---------------------------------------------------------------------
    def _put_back(self, box, value: str) -> None:
        """Set a text box without its observer reacting (after a refusal, or to show the order)."""
        self._quiet = True
        try:
            box.value = value
        finally:
            self._quiet = False

    def _new_text(self, order=None) -> None:
        try:
            tokens = tokenize(self.text.value, max_tokens=self.MAX_TOKENS)
        except AttentionInputError as e:
            self.refuse(str(e))
            self._put_back(self.text, self._text_shown)
            return
        self.tokens, self._text_shown = tokens, self.text.value
        n = len(tokens)
        if order is None:
            order = list(range(n))
            if n > 1:
                order[0], order[-1] = order[-1], order[0]
        self.set_order(order)

    def _typed_order(self) -> None:
        if not self.tokens or self.order_box.value == " ".join(map(str, self.order)):
            return
        try:
            order = parse_order(self.order_box.value, len(self.tokens))
        except AttentionInputError as e:
            self.refuse(str(e))
            self._put_back(self.order_box, " ".join(map(str, self.order)))
            return
        self.set_order(order)

    def _swap_ends(self) -> None:
        order = list(self.order)
        if len(order) > 1:
            order[0], order[-1] = order[-1], order[0]
        self.set_order(order)

    def pick(self, row: int) -> None:
        """What a click on row `row` of the right heatmap does: the first click picks a token, a
        click on another row swaps the two, a second click on the same row lets go."""
        n = len(self.order)
        if not 0 <= row < n:
            return
        if self.picked < 0:
            self.picked = int(row)
            self.after.selected = [self.picked, -1]
            return
        first, self.picked = self.picked, -1
        self.after.selected = [-1, -1]
        if first == row:
            return
        order = list(self.order)
        order[first], order[row] = order[row], order[first]
        self.set_order(order)

    def shuffle(self, seed: int | None = None) -> None:
        """A new random order (seeded: the k-th shuffle is the same on every run)."""
        if not self.tokens:
            return
        self._shuffles += 1
        self.set_order(random_order(len(self.tokens), self._shuffles if seed is None else seed))

    def set_order(self, order) -> None:
        self.order = list(order)
        self.picked = -1
        self.after.selected = [-1, -1]
        self._put_back(self.order_box, " ".join(map(str, self.order)))
        self.update()

    @on_one_thread
    def update(self) -> None:
        """Recompute for the current sentence, order and kind, and redraw."""
        if not self.tokens:
            return
        try:
            cmp = compare_orders(self.tokens, self.order, self.positions.value, strength=self.strength.value)
        except AttentionInputError as e:
            self.refuse(str(e))
            return
        self.comparison = cmp
        self.accept()
        self.redraw()

    # --- the common face -------------------------------------------------------------------
    def redraw(self) -> None:
        cmp = self.comparison
        if cmp is None:
            return
        self.before.show(cmp.weights, cmp.tokens, cmp.tokens)
        self.after.show(cmp.weights_shuffled, cmp.shuffled, cmp.shuffled)
        self.table.value = self._table(cmp)
        unknown = unknown_words(cmp.tokens)
        note = ""
        if unknown:
            note = (" No hand-designed vector for " + ", ".join(f"'{html.escape(w)}'" for w in unknown)
                    + ": each gets a fixed pseudo-random one.")
        self.status.value = (f"<span style='color:#333333'>{cmp.n_moved} of {len(cmp.tokens)} tokens moved; "
                             f"{cmp.n_changed} output(s) changed value (positions: {cmp.kind}).{note}</span>")

    def values(self) -> dict:
        cmp = self.comparison
        if cmp is None:
            return {"shown": "nothing yet"}
        return {"positions": cmp.kind, "strength": float(self.strength.value),
                "new order": " ".join(cmp.shuffled), "tokens moved": f"{cmp.n_moved} of {len(cmp.tokens)}",
                "outputs changed value": f"{cmp.n_changed} of {len(cmp.tokens)}",
                "per token": "\n" + "\n".join(cmp.summary()), "weights in the new order": cmp.weights_shuffled}

    @staticmethod
    def _table(cmp: OrderComparison) -> str:
        rows = []
        for i, (tok, o, c, same) in enumerate(zip(cmp.shuffled, cmp.order, cmp.change.tolist(), cmp.same_value)):
            if same:
                verdict = "moved, same output" if o != i else "same place, same output"
                style = "color:#555"
            else:
                verdict = f"output changed by {c:.3f}"
                style = "color:#b00020;font-weight:bold"
            rows.append(f"<tr><td>{i}</td><td>{html.escape(tok)}</td><td>{o}</td>"
                        f"<td style='{style}'>{verdict}</td></tr>")
        head = "<tr><th>new position</th><th>token</th><th>was at</th><th>its output</th></tr>"
        return "<table style='font-size:12px'>" + head + "".join(rows) + "</table>"

    # --- for benchmarks and browser tests ---------------------------------------------------
    @classmethod
    def demo(cls) -> "OrderExplorer":
        """The widget at its largest allowed size: 16 tokens, rotary positions."""
        return cls(DEMO_TEXT, kind="rotary")

    def step(self, i: int) -> None:
        """One representative update: the i-th shuffle (as a click on "shuffle" does)."""
        self.shuffle(seed=int(i) + 1)
