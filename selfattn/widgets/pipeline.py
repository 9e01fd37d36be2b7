"""Chapter 3's widgets: step through attention stage by stage, and watch softmax saturate.

Thin views: `PipelineStepper` shows selfattn.explore.pipeline.sentence_stages one stage at a
time; `SaturationExplorer` shows selfattn.explore.pipeline.saturation_view for a d_k, a
temperature and a choice of scaling.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W

from ..errors import AttentionInputError
from ..explore.pipeline import MAX_TOKENS, STAGE_NAMES, SaturationView, SentenceStages, saturation_view, sentence_stages
from ..explore.projections import num
from .heatmap import Heatmap

DEMO_SENTENCE = "the cat sat on the mat by the river because the dog ran at it."   # 16 tokens
D_K_CHOICES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def _label(token: str, limit: int = 12) -> str:
    return token if len(token) <= limit else token[: limit - 1] + "…"


class PipelineStepper(W.VBox):
    """Type a sentence, then step QKᵀ → scale → mask → softmax → ×V; each stage shows its formula.

    The sentence is embedded with the book's hand-designed word vectors and projected with its
    hand-designed W_Q, W_K, W_V (selfattn.embeddings.hand_projections). Click a row to read it.
    """

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
        self._tokens: list[str] = []
        self._row = 1
        super().__init__([self.text, W.HBox([self.prev, self.stage, self.next]), self.causal, self.formula,
                          self.explain, self.status, W.HBox([self.heatmap, self.row_readout])])
        self._set_sentence(text)
        self.text.observe(lambda ch: self._set_sentence(ch["new"]), names="value")
        self.stage.observe(lambda _ch: self.draw(), names="value")
        self.causal.observe(lambda _ch: self._recompute(), names="value")
        self.prev.on_click(lambda _b: self._move(-1))
        self.next.on_click(lambda _b: self._move(+1))
        self.heatmap.on_click(self._on_click)

    def _set_sentence(self, text: str) -> None:
        try:
            tokens = sentence_stages(text, causal=self.causal.value).tokens
        except AttentionInputError as e:
            self.status.value = f"<span style='color:#b00'>⚠ {html.escape(str(e))}</span> (showing the last sentence that worked)"
            return
        self._tokens = tokens
        self._row = min(self._row, len(tokens) - 1)
        self._recompute()

    def _recompute(self) -> None:
        if not self._tokens:
            return
        self.result = sentence_stages(self._tokens, causal=self.causal.value)
        note = ""
        if self.result.unknown:
            shown = ", ".join(f'"{html.escape(_label(t))}"' for t in dict.fromkeys(self.result.unknown))
            note = f"no hand-designed vector for {shown}: each gets a small fixed random vector. "
        self.status.value = f"<span style='color:#555'>{note}Embeddings and projections are hand-designed, not learned.</span>"
        self.draw()

    def _move(self, delta: int) -> None:
        self.stage.value = (self.stage.value + delta) % len(STAGE_NAMES)

    def _on_click(self, row: int, _col: int) -> None:
        self._row = int(row)
        self.draw()

    def draw(self) -> None:
        """Show the current stage (what a click on a stage button does)."""
        if self.result is None:
            return
        st = self.result.stages[self.stage.value]
        labels = [_label(t) for t in self.result.tokens]
        cols = list(self.result.value_labels) if st.name == "×V" else labels
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
        vals = st.matrix[i]
        cells = []
        for j, c in enumerate(cols):
            v = float(vals[j])
            shown = "blocked (−∞)" if not math.isfinite(v) else num(v, sign=True)
            cells.append(f"<tr><td>{html.escape(c)}</td><td style='text-align:right'>{shown}</td></tr>")
        extra = ""
        if st.name == "softmax":
            extra = f"<br>row sum = {float(vals.sum()):.3f}"
        return (f"<b>row \"{html.escape(labels[i])}\"</b> at stage {st.name}<table style='font-size:12px'>"
                + "".join(cells) + "</table>" + extra)

    def summary(self) -> str:
        """The numbers on screen as text: the current stage's matrix, one line per row."""
        if self.result is None:
            return "nothing shown yet"
        st = self.result.stages[self.stage.value]
        cols = list(self.result.value_labels) if st.name == "×V" else self.result.tokens
        lines = [f"stage {self.stage.value + 1} ({st.name}), shape {st.shape}, causal={self.causal.value}",
                 " " * 9 + "".join(f"{c[:7]:>8}" for c in cols)]
        for tok, row in zip(self.result.tokens, st.matrix):
            lines.append(f"{tok[:8]:>8} " + "".join(num(v, width=8) for v in row))
        return "\n".join(lines)

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

    def __repr__(self) -> str:
        return f"PipelineStepper({len(self._tokens)} tokens, stage {self.stage.value + 1})"


class SaturationExplorer(W.VBox):
    """Random queries and keys of width d_k; weights = softmax(QKᵀ / divisor).

    divisor = temperature · √d_k with "divide by √d_k" ticked, else temperature alone. Without
    the √d_k, growing d_k makes each row approach one-hot and the softmax gradient vanish.
    """

    def __init__(self, d_k: int = 4, temperature: float = 1.0, scaled: bool = False, n: int = 8):
        if not 1 <= int(n) <= MAX_TOKENS:
            raise AttentionInputError(f"n must be in 1..{MAX_TOKENS} (a larger n×n heatmap is unreadable), got {n}")
        self.n = int(n)
        self.d_k = W.SelectionSlider(options=list(D_K_CHOICES), value=int(d_k), description="d_k",
                                     continuous_update=True)
        self.temperature = W.FloatLogSlider(value=float(temperature), base=10, min=-1, max=1, step=0.05,
                                            description="temperature", readout_format=".2f", continuous_update=True)
        self.scaled = W.Checkbox(value=bool(scaled), description="divide by √d_k", indent=False)
        self.heatmap = Heatmap(title="weights = softmax(QKᵀ / divisor), random q and k")
        self.readout = W.HTML()
        self.view: SaturationView | None = None
        self._labels = [f"t{i}" for i in range(self.n)]
        super().__init__([W.HBox([self.d_k, self.temperature, self.scaled]), W.HBox([self.heatmap, self.readout])])
        for control in (self.d_k, self.temperature, self.scaled):
            control.observe(lambda _ch: self.update(), names="value")
        self.update()

    def update(self) -> None:
        """Recompute for the current controls and redraw (what every slider move does)."""
        v = saturation_view(int(self.d_k.value), float(self.temperature.value), scaled=self.scaled.value, n=self.n)
        self.view = v
        self.heatmap.show(v.weights, self._labels, self._labels)
        uniform = math.log2(self.n)
        self.readout.value = (
            "<table style='font-size:12px'>"
            f"<tr><td>divisor</td><td>{v.divisor:.3f}</td></tr>"
            f"<tr><td>spread of the logits (std)</td><td>{v.logit_std:.3f}</td></tr>"
            f"<tr><td>mean largest weight</td><td>{float(v.max_weight.mean()):.3f} (uniform: {1 / self.n:.3f})</td></tr>"
            f"<tr><td>mean entropy</td><td>{num(v.entropy.mean())} bits (uniform: {uniform:.3f})</td></tr>"
            f"<tr><td>median ‖softmax Jacobian‖</td><td>{num(v.grad_norm.median())}</td></tr>"
            f"<tr><td>rows with max weight &gt; 0.99</td><td>{int((v.max_weight > 0.99).sum())} of {self.n}</td></tr>"
            "</table>")

    def summary(self) -> str:
        """The numbers on screen as text."""
        v = self.view
        return (f"d_k={v.d_k}, temperature={v.temperature:.2f}, divide by sqrt(d_k)={v.scaled}: divisor {v.divisor:.3f}\n"
                f"logit std {v.logit_std:.3f}, mean largest weight {float(v.max_weight.mean()):.3f}, "
                f"mean entropy {num(v.entropy.mean())} bits, median Jacobian norm {num(v.grad_norm.median())}, "
                f"saturated rows {int((v.max_weight > 0.99).sum())} of {self.n}")

    @classmethod
    def demo(cls) -> "SaturationExplorer":
        """The widget at its largest allowed size (16 tokens)."""
        return cls(d_k=64, n=MAX_TOKENS)

    def step(self, i: int) -> None:
        """One slider move: d_k to the next choice."""
        self.d_k.value = D_K_CHOICES[i % len(D_K_CHOICES)]

    def __repr__(self) -> str:
        return f"SaturationExplorer(n={self.n})"
