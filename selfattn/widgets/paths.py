"""Chapter 1's widget: pick two positions and see the path between them in each architecture.

Drawn as SVG in the browser (no matplotlib round trip), from the same layout that the static
figure (selfattn.viz.paths.path_comparison) draws.
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..explore import paths
from ..viz.paths import TITLES

MAX_TOKENS = 16


def path_svg(arch: str, n: int, i: int, j: int, kernel: int = 3, width: int = 300, height: int = 220) -> str:
    """An SVG drawing of paths.layout(...): grey edges, red shortest path, labelled length."""
    lay = paths.layout(arch, n, i, j, kernel)
    top = max(1, lay["layers"])
    pad_x, pad_top, pad_bottom = 18, 40, 26
    sx = (width - 2 * pad_x) / max(1, n - 1)
    sy = (height - pad_top - pad_bottom) / top

    def xy(node):
        layer, p = node
        return pad_x + p * sx, height - pad_bottom - layer * sy

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="sa-path" data-arch="{arch}" '
             f'data-length="{lay["length"]}">']
    for a, b in lay["edges"]:
        (x0, y0), (x1, y1) = xy(a), xy(b)
        parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#d0d0d0" stroke-width="0.7"/>')
    for a, b in zip(lay["path"], lay["path"][1:]):
        (x0, y0), (x1, y1) = xy(a), xy(b)
        parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#d62728" stroke-width="2.5"/>')
    for node in lay["nodes"]:
        x, y = xy(node)
        special = node in (lay["path"][:1] + lay["path"][-1:])
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if special else 3}" fill="{"#d62728" if special else "#1f77b4"}"/>')
    length = "no path: an RNN carries information forward only" if lay["length"] is None else f"path length {lay['length']}"
    parts.append(f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13" font-weight="bold">'
                 f'{html.escape(TITLES[arch].format(k=kernel))}</text>')
    parts.append(f'<text x="{width / 2}" y="30" text-anchor="middle" font-size="12">{length}</text>')
    parts.append("</svg>")
    return "".join(parts)


def summary(n: int, i: int, j: int, kernel: int = 3) -> dict[str, int | None]:
    """The numbers the widget shows: path length from token i to position j per architecture."""
    return {arch: paths.path_length(arch, n, i, j, kernel) for arch in ("rnn", "cnn", "dilated_cnn", "attention")}


class PathExplorer(W.VBox):
    """Sliders for n, the source token i and the target position j; one SVG panel per architecture."""

    def __init__(self, n: int = 10, i: int = 1, j: int = 8, kernel: int = 3):
        self.n = W.IntSlider(value=n, min=2, max=MAX_TOKENS, description="n")
        self.i = W.IntSlider(value=i, min=0, max=n - 1, description="from token i")
        self.j = W.IntSlider(value=j, min=0, max=n - 1, description="to position j")
        self.kernel = W.Dropdown(options=[3, 5, 7], value=kernel, description="CNN kernel")
        self.panels = W.HTML()
        self.readout = W.HTML()
        for control in (self.n, self.i, self.j, self.kernel):
            control.observe(self._update, names="value")
        super().__init__([W.HBox([self.n, self.kernel]), W.HBox([self.i, self.j]), self.panels, self.readout])
        self._update()

    def values(self) -> dict[str, int | None]:
        return summary(self.n.value, self.i.value, self.j.value, self.kernel.value)

    def _update(self, _change=None) -> None:
        n = self.n.value
        self.i.max = self.j.max = n - 1
        i, j, k = self.i.value, self.j.value, self.kernel.value
        svgs = "".join(path_svg(a, n, i, j, k) for a in ("rnn", "cnn", "attention"))
        self.panels.value = f'<div style="display:flex;gap:8px;flex-wrap:wrap">{svgs}</div>'
        vals = self.values()
        shown = ", ".join(f"{TITLES[a].format(k=k)}: {'none' if v is None else v}" for a, v in vals.items())
        self.readout.value = f'<span class="sa-readout">From token {i} to position {j} — {html.escape(shown)}</span>'

    @classmethod
    def demo(cls) -> "PathExplorer":
        return cls(n=MAX_TOKENS, i=0, j=MAX_TOKENS - 1)

    def step(self, k: int) -> None:
        self.j.value = (self.j.value + 1 + k) % self.n.value
