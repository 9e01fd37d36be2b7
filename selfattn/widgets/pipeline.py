"""Chapter 3's widgets: step through attention stage by stage, and watch softmax saturate.

Thin views: `PipelineStepper` shows selfattn.explore.pipeline.sentence_stages one stage at a
time; `SaturationExplorer` shows selfattn.explore.pipeline.saturation_view for a d_k, a
temperature and a choice of scaling. Both are `BookWidget`s: `values()` is what they show,
`redraw()` their one redraw, and bad input is refused at the top of the widget.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W

from ..errors import AttentionInputError
from ..explore.pipeline import SATURATED, STAGE_NAMES, SaturationView, SentenceStages, saturation_view, sentence_stages
from ..explore.projections import num
from ..limits import MAX_TOKENS
from .base import BookWidget, on_one_thread
from .heatmap import Heatmap

DEMO_SENTENCE = "the cat sat on the mat by the river because the dog ran at it."   # 16 tokens
D_K_CHOICES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def _label(token: str, limit: int = 12) -> str:
    return token if len(token) <= limit else token[: limit - 1] + "…"


class PipelineStepper(BookWidget):
    """Type a sentence, then step QKᵀ → scale → mask → softmax → ×V; each stage shows its formula.

    The sentence is embedded with the book's hand-designed word vectors and projected with its
    hand-designed W_Q, W_K, W_V (selfattn.embeddings.hand_projections). Click a row to read it.
    """

    kind = "attention stage stepper"
    MAX_TOKENS = MAX_TOKENS

    def __init__(self, text: str = "the cat sat on the mat", stage: int = 0, causal: bool = False):
        self.text = W.Text(value=text, description="sentence", continuous_update=False, layout=W.Layout(width="460px"))
        self.stage = W.ToggleButtons(options=[(f"{i + 1}. {name}", i) for i, name in enumerate(STAGE_NAMES)],
                                     value=int(stage), style={"button_width": "92px"})
        self.prev = W.Button(description="◀ previous", layout=W.Layout(width="100px"))
        self.next = W.Button(description="next ▶", layout=W.Layout(width="100px"))
        self.causal = W.Checkbox(value=bool(causal), description="causal mask (no looking ahead)", indent=False)
        self.formula = W.HTMLMath()
        self.explain = W.HTML()
        self.status = W.HTML()
        self.heatmap = Heatmap()
        self.row_readout = W.HTML()
        self.result: SentenceStages | None = None
        self._text_shown = ""
        self._quiet = False                                   # True while the text box is put back
        self._row = 1
        self._build([self.text, W.HBox([self.prev, self.stage, self.next]), self.causal, self.formula,
                     self.explain, self.status, W.HBox([self.heatmap, self.row_readout])])
        self.set_sentence(text)
        self.text.observe(lambda ch: None if self._quiet else self.set_sentence(ch["new"]), names="value")
        self.stage.observe(lambda _ch: self.redraw(), names="value")
        self.causal.observe(lambda _ch: self.set_sentence(self._text_shown), names="value")
        self.prev.on_click(lambda _b: self._move(-1))
        self.next.on_click(lambda _b: self._move(+1))
        self.heatmap.on_click(self._on_click)

    # --- state changes ------------------------------------------------------------------------
    @on_one_thread
    def set_sentence(self, text: str) -> None:
        """Compute every stage for `text` (and the causal setting) and draw; refuse bad text."""
        try:
            result = sentence_stages(text, causal=self.causal.value, max_tokens=self.MAX_TOKENS)
        except AttentionInputError as e:
            self.refuse(str(e))
            self._quiet = True                                 # put the text box back: it agrees with the grid
            try:
                self.text.value = self._text_shown
            finally:
                self._quiet = False
            return
        self.result, self._text_shown = result, text
        self._row = min(self._row, len(result.tokens) - 1)
        self.accept()
        self.redraw()

    def _move(self, delta: int) -> None:
        self.stage.value = (self.stage.value + delta) % len(STAGE_NAMES)

    def _on_click(self, row: int, _col: int) -> None:
        if self.result is not None and 0 <= row < len(self.result.tokens):
            self._row = int(row)
            self.redraw()

    # --- the common face ----------------------------------------------------------------------
    def redraw(self) -> None:
        """Show the current stage of the current sentence."""
        if self.result is None:
            return
        st = self.result.stages[self.stage.value]
        labels = [_label(t) for t in self.result.tokens]
        cols = list(self.result.value_labels) if st.name == "×V" else labels
        note = ""
        if self.result.unknown:
            shown = ", ".join(f'"{html.escape(_label(t))}"' for t in dict.fromkeys(self.result.unknown))
            note = f"no hand-designed vector for {shown}: each gets a small fixed random vector. "
        self.status.value = f"<span style='color:#555'>{note}Embeddings and projections are hand-designed, not learned.</span>"
        self.heatmap.signed = st.signed
        self.heatmap.title = f"stage {self.stage.value + 1}: {st.name} · shape {st.shape}"
        self.heatmap.show(st.matrix, labels, cols, blocked=None if st.blocked is None else st.blocked.tolist())
        self.heatmap.selected = [self._row, -1]
        self.heatmap.caption = "hover to read a cell; click a row to list it on the right"
        self.formula.value = f"$${st.formula}$$"
        self.explain.value = html.escape(st.explanation)
        self.row_readout.value = self._row_html(st, labels, cols)

    def _row_html(self, st, labels, cols) -> str:
        i = self._row
        cells = []
        for c, v in zip(cols, st.matrix[i].tolist()):
            shown = "blocked (−∞)" if not math.isfinite(v) else num(v, sign=True)
            cells.append(f"<tr><td>{html.escape(c)}</td><td style='text-align:right'>{shown}</td></tr>")
        extra = f"<br>row sum = {num(st.row_sums[i])}" if st.name == "softmax" else ""
        return (f"<b>row \"{html.escape(labels[i])}\"</b> at stage {st.name}<table style='font-size:12px'>"
                + "".join(cells) + "</table>" + extra)

    def values(self) -> dict:
        """The current stage's matrix with its labels (what the heatmap shows)."""
        if self.result is None:
            return {"shown": "nothing yet"}
        st = self.result.stages[self.stage.value]
        cols = list(self.result.value_labels) if st.name == "×V" else self.result.tokens
        return {"stage": f"{self.stage.value + 1} ({st.name})", "shape": st.shape, "causal": self.causal.value,
                "rows": " ".join(self.result.tokens), "columns": " ".join(cols), "matrix": st.matrix}

    # --- for benchmarks and browser tests -----------------------------------------------------
    @classmethod
    def demo(cls) -> "PipelineStepper":
        """The widget at its largest allowed size (16 tokens), causal mask on."""
        return cls(DEMO_SENTENCE, stage=0, causal=True)

    def step(self, i: int) -> None:
        """One click: go to stage i (mod 5); if that is the stage already shown, toggle the causal mask."""
        target = i % len(STAGE_NAMES)
        if target == self.stage.value:
            self.causal.value = not self.causal.value
        else:
            self.stage.value = target


class SaturationExplorer(BookWidget):
    """Random queries and keys of width d_k; weights = softmax(QKᵀ / divisor).

    divisor = temperature · √d_k with "divide by √d_k" ticked, else temperature alone. Without
    the √d_k, growing d_k makes each row approach one-hot and the softmax gradient vanish.
    """

    kind = "softmax saturation explorer"

    def __init__(self, d_k: int = 4, temperature: float = 1.0, scaled: bool = False, n: int = 8):
        self.view: SaturationView = saturation_view(d_k, temperature, scaled=scaled, n=n)   # refuses a bad n
        self.n = self.view.n
        self.d_k = W.SelectionSlider(options=list(D_K_CHOICES), value=self.view.d_k, description="d_k",
                                     continuous_update=True)
        self.temperature = W.FloatLogSlider(value=self.view.temperature, base=10, min=-1, max=1, step=0.05,
                                            description="temperature", readout_format=".2f", continuous_update=True,
                                            style={"description_width": "initial"})
        self.scaled = W.Checkbox(value=bool(scaled), description="divide by √d_k", indent=False)
        self.heatmap = Heatmap(title="weights = softmax(QKᵀ / divisor), random q and k")
        self.readout = W.HTML()
        self._labels = [f"t{i}" for i in range(self.n)]
        self._build([W.HBox([self.d_k, self.temperature, self.scaled]), W.HBox([self.heatmap, self.readout])])
        for control in (self.d_k, self.temperature, self.scaled):
            control.observe(lambda _ch: self.update(), names="value")
        self.redraw()

    @on_one_thread
    def update(self) -> None:
        """Recompute for the current controls and redraw (what every slider move does)."""
        self.view = saturation_view(int(self.d_k.value), float(self.temperature.value), scaled=self.scaled.value,
                                    n=self.n)
        self.redraw()

    def redraw(self) -> None:
        v = self.view
        self.heatmap.show(v.weights, self._labels, self._labels)
        rows = [("divisor", num(v.divisor)), ("spread of the logits (std)", num(v.logit_std)),
                ("mean largest weight", f"{num(v.mean_max_weight)} (uniform: {num(v.uniform_weight)})"),
                ("mean entropy", f"{num(v.mean_entropy)} bits (uniform: {num(v.uniform_entropy)})"),
                ("median ‖softmax Jacobian‖", num(v.median_grad_norm)),
                (f"rows with max weight &gt; {SATURATED:g}", f"{v.n_saturated} of {v.n}")]
        self.readout.value = ("<table style='font-size:12px'>"
                              + "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows) + "</table>")

    def values(self) -> dict:
        v = self.view
        return {"d_k": v.d_k, "temperature": round(v.temperature, 2), "divide by sqrt(d_k)": v.scaled,
                "divisor": v.divisor, "logit std": v.logit_std, "mean largest weight": v.mean_max_weight,
                "mean entropy (bits)": v.mean_entropy, "median Jacobian norm": v.median_grad_norm,
                f"saturated rows (max weight > {SATURATED:g})": f"{v.n_saturated} of {v.n}"}

    @classmethod
    def demo(cls) -> "SaturationExplorer":
        """The widget at its largest allowed size (16 tokens)."""
        return cls(d_k=64, n=MAX_TOKENS)

    def step(self, i: int) -> None:
        """One slider move: d_k to the next choice."""
        self.d_k.value = D_K_CHOICES[i % len(D_K_CHOICES)]
