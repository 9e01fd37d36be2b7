"""Chapter 9's live widgets: a sparse-pattern explorer and a random-feature (Performer) explorer.

Thin views on `BookWidget`: sliders hold the state, selfattn.explore.efficient computes, a
Heatmap draws. `values()` is what each shows (the next plain notebook cell prints `report()`),
`redraw()` its one redraw, `demo()` builds it at its largest allowed size and `step(i)` makes
one representative slider move (for the widget benchmarks). A size the widget cannot draw is
refused at its top, and a control whose new value cannot be drawn goes back to the value drawn.
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..errors import AttentionInputError, check_int
from ..explore import efficient as E
from ..limits import MAX_TOKENS
from .base import BookWidget, on_one_thread
from .heatmap import Heatmap


def _slider(cls, description: str, **kwargs):
    return cls(description=description, continuous_update=True, style={"description_width": "130px"},
               layout=W.Layout(width="380px"), **kwargs)


def _size_problem(n, what: str) -> str | None:
    try:
        check_int(n, "n", minimum=2, maximum=MAX_TOKENS, meaning="number of tokens")
    except AttentionInputError as e:
        return (f"{what} draws an n×n matrix of numbers, so it takes 2 to {MAX_TOKENS} tokens: {e}. "
                "The figures of the chapter show longer sequences.")
    return None


class _ControlsWidget(BookWidget):
    """What both explorers share: controls that redraw on change, one redraw that computes (`_compute`)
    and shows (`_show`), and going back to the last drawn values when a computation refuses."""

    controls: dict

    def _start(self, views) -> None:
        """Lay out the controls above `views`, wire them to `redraw`, and draw once."""
        self.readout = W.HTML()
        self._build([W.VBox(list(self.controls.values())), *views, self.readout])
        self._drawn = {name: c.value for name, c in self.controls.items()}
        self._restoring = False
        for control in self.controls.values():
            control.observe(lambda _change: self.redraw(), names="value")
        self.redraw()

    @on_one_thread
    def redraw(self) -> None:
        if self._restoring:
            return
        try:
            result = self._compute(self._settings())
        except AttentionInputError as e:
            self._refuse_and_restore(str(e))
            return
        self._show(result)
        self._drawn = self._settings()
        self.readout.value = f'<span class="sa-readout">{html.escape(self.text())}</span>'
        self.accept()

    def _settings(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def _refuse_and_restore(self, problem: str) -> None:
        self.refuse(problem)
        self._restoring = True
        try:
            for name, control in self.controls.items():
                control.value = self._drawn[name]
        finally:
            self._restoring = False



class SparsePatternExplorer(_ControlsWidget):
    """Window + global + random attention on up to MAX_TOKENS tokens: the pattern, its weights, its error.

    Scores never computed are hatched grey; the readout compares the pattern with full causal (or
    bidirectional) attention on the same seeded q, k, v.
    """

    kind = "sparse-pattern explorer (chapter 9)"
    MAX_TOKENS = MAX_TOKENS

    def __init__(self, n: int = 12, *, window: int = 3, n_global: int = 1, n_random: int = 0,
                 locality: float = 1.0, causal: bool = True, seed: int = 0):
        self.result, self.depth = None, None
        problem = _size_problem(n, "SparsePatternExplorer")
        if problem:
            self._build([])
            self.refuse(problem)
            return
        self.n, self.causal, self.seed = n, causal, seed
        self.window = _slider(W.IntSlider, "window w", value=min(max(1, window), n), min=1, max=n)
        self.n_global = _slider(W.IntSlider, "global tokens", value=min(max(0, n_global), 4), min=0, max=4)
        self.n_random = _slider(W.IntSlider, "random keys", value=min(max(0, n_random), 4), min=0, max=4)
        self.locality = _slider(W.FloatSlider, "locality of q·k", value=locality, min=0.0, max=2.0, step=0.25)
        self.heatmap = Heatmap(title="weights over the pattern (hatched: never computed)")
        self.controls = {"window": self.window, "n_global": self.n_global, "n_random": self.n_random,
                         "locality": self.locality}
        self._start([self.heatmap])

    def _compute(self, s: dict):
        q, k, v = E.demo_inputs(self.n, locality=s["locality"], seed=self.seed)
        mask = E.local_global_random_mask(self.n, s["window"], n_global=s["n_global"], n_random=s["n_random"],
                                          causal=self.causal, seed=self.seed)
        return E.pattern_report(q, k, v, mask, causal=self.causal), E.depth_to_full_context(mask, causal=self.causal)

    def _show(self, computed) -> None:
        self.result, self.depth = computed
        self.heatmap.annotate = self.n <= 10
        self.heatmap.show(self.result.weights, blocked=~self.result.mask)
        self.heatmap.caption = "rows: queries i, columns: keys j; hover a cell to read its weight"

    def values(self) -> dict:
        if self.result is None:
            return {}
        r = self.result
        return {"n": self.n, **self._drawn, "computed": r.n_computed, "density": round(r.density, 3),
                "full_attention_density": round(r.full_density, 3), "missed_mass": round(r.missed_mass, 3),
                "max_error": round(r.max_error, 3), "layers_to_full_context": self.depth}

    def text(self) -> str:
        if self.result is None:
            return self.refusal()
        depth = "never" if self.depth is None else f"{self.depth} layer(s)"
        return f"{self.result.summary()}; every token reaches every later query after {depth}"

    @classmethod
    def demo(cls) -> "SparsePatternExplorer":
        return cls(n=MAX_TOKENS, window=4, n_global=1, n_random=1)

    def step(self, i: int) -> None:
        """One slider move: the window cycles through 1..n."""
        self.window.value = 1 + int(i) % self.n


class RandomFeatureExplorer(_ControlsWidget):
    """Exact softmax weights next to their FAVOR+ (Performer) estimate with F random features."""

    kind = "random-feature explorer (chapter 9)"
    MAX_TOKENS = MAX_TOKENS
    FEATURE_CHOICES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

    def __init__(self, n: int = 10, *, n_features: int = 16, scale: float = 0.5, orthogonal: bool = True,
                 causal: bool = False, seed: int = 0):
        self.result = None
        problem = _size_problem(n, "RandomFeatureExplorer")
        if problem:
            self._build([])
            self.refuse(problem)
            return
        if n_features not in self.FEATURE_CHOICES:
            n_features = min(self.FEATURE_CHOICES, key=lambda m: abs(m - n_features))
        self.n, self.causal, self.seed = n, causal, seed
        self.n_features = _slider(W.SelectionSlider, "random features F", options=self.FEATURE_CHOICES,
                                  value=n_features)
        self.scale = _slider(W.FloatSlider, "scale of q and k", value=scale, min=0.25, max=1.5, step=0.25)
        self.orthogonal = W.Checkbox(value=orthogonal, description="orthogonal features")
        self.exact = Heatmap(title="exact softmax weights")
        self.approx = Heatmap(title="random-feature estimate")
        self.controls = {"n_features": self.n_features, "scale": self.scale, "orthogonal": self.orthogonal}
        self._start([W.HBox([self.exact, self.approx])])

    def _compute(self, s: dict):
        q, k, v = E.demo_inputs(self.n, scale=s["scale"], seed=self.seed)
        return E.random_feature_report(q, k, v, s["n_features"], orthogonal=s["orthogonal"], seed=self.seed,
                                       causal=self.causal)

    def _show(self, result) -> None:
        self.result = result
        for hm, w in ((self.exact, result.exact_weights), (self.approx, result.weights)):
            hm.annotate = self.n <= 8
            hm.show(w)

    def values(self) -> dict:
        if self.result is None:
            return {}
        r = self.result
        return {"n": self.n, **self._drawn, "max_weight_error": round(r.max_weight_error, 3),
                "max_error": round(r.max_error, 3), "relative_error": round(r.relative_error, 3)}

    def text(self) -> str:
        if self.result is None:
            return self.refusal()
        return f"F = {self._drawn['n_features']} features: {self.result.summary()}"

    @classmethod
    def demo(cls) -> "RandomFeatureExplorer":
        return cls(n=MAX_TOKENS, n_features=1024)

    def step(self, i: int) -> None:
        """One slider move: the number of random features cycles through its choices."""
        self.n_features.value = self.FEATURE_CHOICES[int(i) % len(self.FEATURE_CHOICES)]
