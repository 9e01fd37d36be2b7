"""Chapter 9's live widgets: a sparse-pattern explorer and a random-feature (Performer) explorer.

Thin views: sliders hold the state, selfattn.explore.efficient computes, a Heatmap draws.
Each widget has `numbers()` (what it shows, for a plain notebook cell that nbval checks),
`demo()` (built at its largest allowed size) and `step(i)` (one representative slider move).
"""
from __future__ import annotations

import html
from contextlib import contextmanager

import ipywidgets as W
import torch

from ..errors import AttentionInputError
from ..explore import efficient as E
from .heatmap import Heatmap

MAX_TOKENS = 16


def _too_many(n, what: str) -> str | None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        return f"{what} needs n to be an integer of at least 2 tokens, got {n!r}."
    if n > MAX_TOKENS:
        return (f"{what} draws an n×n matrix and is limited to n ≤ {MAX_TOKENS} tokens so that it stays "
                f"readable and quick; got n = {n}. The figures in the chapter show longer sequences.")
    return None


def _on_one_thread(update):
    """Decorator: run a widget's update on one thread (see _one_thread)."""
    def wrapped(self, _change=None):
        with _one_thread():
            update(self, _change)
    wrapped.__doc__ = update.__doc__
    return wrapped


@contextmanager
def _one_thread():
    """Run a widget's update on one thread. Its tensors are tiny (n ≤ 16), and handing them to a
    pool of threads costs far more than the arithmetic: on a busy 2-core machine, 2 threads made
    one update 20-60 times slower (measured: 2 ms on one thread, 60-140 ms on two)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _slider(cls, description: str, **kwargs):
    return cls(description=description, continuous_update=True, style={"description_width": "110px"},
               layout=W.Layout(width="360px"), **kwargs)


class SparsePatternExplorer(W.VBox):
    """Window + global + random attention on n ≤ 16 tokens: the pattern, its weights and its error.

    Blocked (never computed) scores are grey; the readout compares the pattern with full causal
    (or bidirectional) attention on the same seeded q, k, v.
    """

    MAX_TOKENS = MAX_TOKENS

    def __init__(self, n: int = 12, *, window: int = 3, n_global: int = 1, n_random: int = 0,
                 locality: float = 1.0, causal: bool = True, seed: int = 0):
        self.message = W.HTML()
        problem = _too_many(n, "SparsePatternExplorer")
        if problem:
            self.message.value = f"<b>Cannot show this:</b> {html.escape(problem)}"
            self.report = None
            super().__init__([self.message])
            return
        self.n, self.causal, self.seed = n, causal, seed
        self.window = _slider(W.IntSlider, "window w", value=min(max(1, window), n), min=1, max=n)
        self.n_global = _slider(W.IntSlider, "global tokens", value=min(max(0, n_global), 4), min=0, max=4)
        self.n_random = _slider(W.IntSlider, "random keys", value=min(max(0, n_random), 4), min=0, max=4)
        self.locality = _slider(W.FloatSlider, "locality of q·k", value=locality, min=0.0, max=2.0, step=0.25)
        self.heatmap = Heatmap(title="weights over the pattern (grey: never computed)")
        for control in (self.window, self.n_global, self.n_random, self.locality):
            control.observe(self._update, names="value")
        super().__init__([W.VBox([self.window, self.n_global, self.n_random, self.locality]), self.heatmap,
                          self.message])
        self._update()

    @_on_one_thread
    def _update(self, _change=None) -> None:
        try:
            q, k, v = E.demo_inputs(self.n, locality=self.locality.value, seed=self.seed)
            mask = E.local_global_random_mask(self.n, self.window.value, n_global=self.n_global.value,
                                              n_random=self.n_random.value, causal=self.causal, seed=self.seed)
            self.report = E.pattern_report(q, k, v, mask, causal=self.causal)
            self.depth = E.depth_to_full_context(mask, causal=self.causal)
        except AttentionInputError as e:
            self.message.value = f"<b>Cannot show this:</b> {html.escape(str(e))}"
            return
        self.heatmap.annotate = self.n <= 10
        self.heatmap.show(self.report.weights, blocked=~self.report.mask)
        self.heatmap.caption = "rows: queries, columns: keys; hover a cell to read its weight"
        self.message.value = html.escape(self.text())

    def numbers(self) -> dict:
        """What the widget shows now, as plain numbers."""
        if self.report is None:
            return {}
        r = self.report
        return {"n": self.n, "window": self.window.value, "n_global": self.n_global.value,
                "n_random": self.n_random.value, "locality": self.locality.value,
                "computed": r.n_computed, "full": r.n_full, "fraction": round(r.fraction, 3),
                "missed_mass": round(r.missed_mass, 3), "max_error": round(r.max_error, 3),
                "layers_to_full_context": self.depth}

    def text(self) -> str:
        if self.report is None:
            return self.message.value
        depth = "never" if self.depth is None else f"{self.depth} layer(s)"
        return f"{self.report.summary()}; every token reaches every later query after {depth}"

    @classmethod
    def demo(cls) -> "SparsePatternExplorer":
        return cls(n=MAX_TOKENS, window=4, n_global=1, n_random=1)

    def step(self, i: int) -> None:
        """One slider move: the window cycles through 1..n."""
        self.window.value = 1 + int(i) % self.n

    def __repr__(self) -> str:
        return f"SparsePatternExplorer({self.numbers()})"


class RandomFeatureExplorer(W.VBox):
    """Exact softmax weights next to their FAVOR+ (Performer) approximation with m random features."""

    MAX_TOKENS = MAX_TOKENS
    FEATURE_CHOICES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

    def __init__(self, n: int = 10, *, n_features: int = 16, scale: float = 0.5, orthogonal: bool = True,
                 causal: bool = False, seed: int = 0):
        self.message = W.HTML()
        problem = _too_many(n, "RandomFeatureExplorer")
        if problem:
            self.message.value = f"<b>Cannot show this:</b> {html.escape(problem)}"
            self.report = None
            super().__init__([self.message])
            return
        if n_features not in self.FEATURE_CHOICES:
            n_features = min(self.FEATURE_CHOICES, key=lambda m: abs(m - n_features))
        self.n, self.causal, self.seed = n, causal, seed
        self.n_features = _slider(W.SelectionSlider, "random features m", options=self.FEATURE_CHOICES,
                                  value=n_features)
        self.scale = _slider(W.FloatSlider, "scale of q and k", value=scale, min=0.25, max=1.5, step=0.25)
        self.orthogonal = W.Checkbox(value=orthogonal, description="orthogonal features")
        self.exact = Heatmap(title="exact softmax weights")
        self.approx = Heatmap(title="random-feature estimate")
        for control in (self.n_features, self.scale, self.orthogonal):
            control.observe(self._update, names="value")
        super().__init__([W.VBox([self.n_features, self.scale, self.orthogonal]),
                          W.HBox([self.exact, self.approx]), self.message])
        self._update()

    @_on_one_thread
    def _update(self, _change=None) -> None:
        try:
            q, k, v = E.demo_inputs(self.n, scale=self.scale.value, seed=self.seed)
            self.report = E.random_feature_report(q, k, v, self.n_features.value, orthogonal=self.orthogonal.value,
                                                  seed=self.seed, causal=self.causal)
        except AttentionInputError as e:
            self.message.value = f"<b>Cannot show this:</b> {html.escape(str(e))}"
            return
        for hm, w in ((self.exact, self.report.exact_weights), (self.approx, self.report.weights)):
            hm.annotate = self.n <= 8
            hm.show(w)
        self.message.value = html.escape(self.text())

    def numbers(self) -> dict:
        if self.report is None:
            return {}
        r = self.report
        return {"n": self.n, "n_features": self.n_features.value, "scale": self.scale.value,
                "orthogonal": self.orthogonal.value, "max_weight_error": round(r.max_weight_error, 3),
                "max_error": round(r.max_error, 3), "relative_error": round(r.relative_error, 3)}

    def text(self) -> str:
        if self.report is None:
            return self.message.value
        return f"m = {self.n_features.value} features: {self.report.summary()}"

    @classmethod
    def demo(cls) -> "RandomFeatureExplorer":
        return cls(n=MAX_TOKENS, n_features=1024)

    def step(self, i: int) -> None:
        """One slider move: the number of random features cycles through its choices."""
        self.n_features.value = self.FEATURE_CHOICES[int(i) % len(self.FEATURE_CHOICES)]

    def __repr__(self) -> str:
        return f"RandomFeatureExplorer({self.numbers()})"
