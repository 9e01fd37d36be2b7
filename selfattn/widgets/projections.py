"""Chapter 2's widget: pick a query token, rotate or scale W_Q or W_K, watch every key's score move.

A thin view: the numbers come from selfattn.explore.projections.sentence_view; this module only
wires ipywidgets controls and a Heatmap to it.
"""
from __future__ import annotations

import html
import itertools

import ipywidgets as W

from ..embeddings import QK_FEATURES
from ..errors import AttentionInputError
from ..explore.projections import SentenceView, num, plane_names, sentence_view
from ..limits import MAX_TOKENS
from .base import BookWidget
from .heatmap import Heatmap

DEMO_SENTENCE = "the cat sat on the mat by the river because the dog ran at it."   # 16 tokens


def _tidy(t):
    """Rounded to 3 decimals with no negative zeros, so printed values do not flip sign in the last bits."""
    return t.round(decimals=3) + 0.0


def _label(token: str, limit: int = 12) -> str:
    return token if len(token) <= limit else token[: limit - 1] + "…"


class ProjectionExplorer(BookWidget):
    """Rows of the heatmap are queries, columns keys; each cell is the raw score q_i · k_j.

    Choose the query (dropdown, or click a cell), the projection to edit (W_Q or W_K), a plane
    of the query/key space, an angle and a scale. The table under the heatmap splits the chosen
    query's scores into |q|, |k| and cos θ.
    """

    kind = "projection explorer (chapter 2)"

    def __init__(self, text: str = "the cat sat on the mat", query: int = 1):
        wide = {"description_width": "initial"}      # labels are never cut short
        self.text = W.Text(value=text, description="sentence", continuous_update=False,
                           layout=W.Layout(width="460px"), style=wide)
        self.query = W.Dropdown(description="query", layout=W.Layout(width="220px"), style=wide)
        self.which = W.ToggleButtons(options=[("edit W_Q", "q"), ("edit W_K", "k")], value="q",
                                     style={"button_width": "90px"})
        planes = list(itertools.combinations(range(len(QK_FEATURES)), 2))
        self.plane = W.Dropdown(options=[(plane_names(p), p) for p in planes], value=(0, 1),
                                description="plane", layout=W.Layout(width="260px"), style=wide)
        self.angle = W.FloatSlider(value=0.0, min=-180.0, max=180.0, step=5.0, description="rotate (°)",
                                   continuous_update=True, readout_format=".0f", style=wide)
        self.scale = W.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.1, description="scale",
                                   continuous_update=True, readout_format=".1f", style=wide)
        self.reset = W.Button(description="reset edit", layout=W.Layout(width="110px"))
        self.status = W.HTML()
        self.heatmap = Heatmap(signed=True, title="scores q_i · k_j (rows: queries, columns: keys)")
        self.table = W.HTML()
        self.view: SentenceView | None = None
        self._tokens: list[str] = []
        self._text = text
        self._busy = False          # True while the widget sets its own controls
        self._build([
            self.text,
            W.HBox([self.query, self.which]),
            W.HBox([self.plane, self.reset]),
            W.HBox([self.angle, self.scale]),
            self.status,
            W.HBox([self.heatmap, self.table]),
        ])
        self._set_sentence(text, query)
        self.text.observe(self._on_text, names="value")
        for control in (self.query, self.which, self.plane, self.angle, self.scale):
            control.observe(self._on_control, names="value")
        self.reset.on_click(lambda _b: self._reset())
        self.heatmap.on_click(lambda row, _col: setattr(self.query, "value", row))

    # --- state changes ---------------------------------------------------------------------
    def _on_text(self, change) -> None:
        if not self._busy:
            self._set_sentence(change["new"], self.query.value or 0)

    def _set_sentence(self, text: str, query: int = 0) -> None:
        try:
            view = sentence_view(text, 0, max_tokens=MAX_TOKENS)
        except AttentionInputError as e:
            self.refuse(str(e))
            self._busy = True               # put the text box back to the sentence still drawn
            try:
                self.text.value = self._text
            finally:
                self._busy = False
            return
        self._text = text
        self._tokens = view.tokens
        options = [(f"{i}: {_label(t)}", i) for i, t in enumerate(view.tokens)]
        self._busy = True
        try:
            self.query.options = options
            self.query.value = min(max(int(query), 0), len(options) - 1)
        finally:
            self._busy = False
        self.redraw()

    def _reset(self) -> None:
        self._busy = True
        try:
            self.angle.value, self.scale.value = 0.0, 1.0
        finally:
            self._busy = False
        self.redraw()

    def _on_control(self, _change) -> None:
        if not self._busy:
            self.redraw()

    def redraw(self) -> None:
        """Recompute for the current controls and redraw (what every slider move does)."""
        if not self._tokens:
            return
        view = sentence_view(self._tokens, self.query.value or 0, which=self.which.value,
                             angle_deg=float(self.angle.value), scale=float(self.scale.value),
                             plane=tuple(self.plane.value))
        self.view = view
        labels = [_label(t) for t in view.tokens]
        self.heatmap.show(view.scores, labels, labels)
        self.heatmap.selected = [view.row.query_index, view.row.best_key]
        self.heatmap.caption = f'query "{labels[view.row.query_index]}" outlined; click any cell to choose its row'
        self.table.value = self._table_html(view)
        notes = []
        if view.unknown:
            shown = ", ".join(f'"{html.escape(_label(t))}"' for t in dict.fromkeys(view.unknown))
            notes.append(f"no hand-designed vector for {shown}: each gets a small fixed random vector")
        edited = "W_Q" if self.which.value == "q" else "W_K"
        notes.append(f"{edited} rotated {self.angle.value:+.0f}° in the {plane_names(tuple(self.plane.value))} "
                     f"plane and scaled ×{self.scale.value:.1f}")
        self.status.value = "<br>".join(f"<span style='color:#555'>{n}</span>" for n in notes)
        self.accept()

    @staticmethod
    def _table_html(view: SentenceView) -> str:
        r = view.row
        top = max(1e-9, float(r.scores.abs().max()))
        rows = []
        for j, tok in enumerate(view.tokens):
            s = float(r.scores[j])
            width = int(60 * abs(s) / top)
            colour = "#b2182b" if s >= 0 else "#2166ac"
            own = " (own key)" if j == r.query_index else ""
            rows.append(f"<tr><td>{html.escape(_label(tok))}{own}</td><td>{num(r.norms_k[j], 2)}</td>"
                        f"<td>{num(r.cosines[j], 2, sign=True)}</td><td>{num(s, 2, sign=True)}</td>"
                        f"<td><div style='background:{colour};height:10px;width:{width}px'></div></td></tr>")
        head = (f"<b>query \"{html.escape(_label(view.tokens[r.query_index]))}\"</b>, |q| = {r.norm_q:.2f}<br>"
                "<table style='font-size:12px'><tr><th>key</th><th>|k|</th><th>cos θ</th><th>q·k</th><th></th></tr>")
        return head + "".join(rows) + "</table>"

    # --- for readers, tests and the benchmark --------------------------------------------------
    def values(self) -> dict:
        """The chosen query's score with every key, split into |k| and cos θ, and the edit applied."""
        v = self.view
        r = v.row
        return {"query": v.tokens[r.query_index], "|q|": r.norm_q,
                "edit": f'{"W_Q" if self.which.value == "q" else "W_K"} rotated {self.angle.value:+.0f}° in '
                        f"{plane_names(tuple(self.plane.value))}, scaled x{self.scale.value:.1f}",
                "keys": " ".join(v.tokens), "|k|": _tidy(r.norms_k), "cos θ": _tidy(r.cosines), "q·k": _tidy(r.scores)}

    @classmethod
    def demo(cls) -> "ProjectionExplorer":
        """The widget at its largest allowed size (16 tokens)."""
        return cls(DEMO_SENTENCE, query=2)

    def step(self, i: int) -> None:
        """One slider move: rotate the edited projection to a new angle."""
        self.angle.value = float((i * 15) % 360 - 180)

