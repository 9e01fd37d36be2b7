"""Chapter 1's widget: pick two positions and see the path between them in each architecture.

Drawn as SVG in the browser (no matplotlib round trip), from the same layouts
(selfattn.explore.paths.layout) that the static figure (selfattn.viz.paths.path_comparison) draws.
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..explore import paths
from ..limits import MAX_TOKENS
from ..viz.paths import title
from .base import BookWidget

PANELS = ("rnn", "cnn", "dilated_cnn", "attention")


def path_svg(lay: dict, width: int = 300, height: int = 220) -> str:
    """An SVG drawing of one paths.layout(...) dict: grey edges, red shortest path, labelled length."""
    arch, n = lay["arch"], lay["n"]
    top = max(1, lay["layers"])
    pad_x, pad_top, pad_bottom = 18, 40, 26
    sx = (width - 2 * pad_x) / max(1, n - 1)
    sy = (height - pad_top - pad_bottom) / top

    def xy(node):
        layer, p = node
        y = (height - pad_bottom - pad_top) / 2 + pad_top if arch == "rnn" else height - pad_bottom - layer * sy
        return pad_x + p * sx, y

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="sa-path" '
             f'data-arch="{arch}" data-length="{lay["length"]}" role="img" '
             f'aria-label="{html.escape(title(arch, lay["kernel"]))}: '
             f'{"no path" if lay["length"] is None else "path length " + str(lay["length"])}">']
    for a, b in lay["edges"]:
        (x0, y0), (x1, y1) = xy(a), xy(b)
        parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#c8c8c8" stroke-width="0.7"/>')
    for a, b in zip(lay["path"], lay["path"][1:]):
        (x0, y0), (x1, y1) = xy(a), xy(b)
        parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#d62728" stroke-width="2.5"/>')
    ends = lay["path"][:1] + lay["path"][-1:]
    for node in lay["nodes"]:
        x, y = xy(node)
        special = node in ends
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if special else 3}" fill="{"#d62728" if special else "#1f77b4"}"/>')
    length = "no path: an RNN carries information forward only" if lay["length"] is None else f"path length {lay['length']}"
    parts.append(f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13" font-weight="bold">'
                 f'{html.escape(title(arch, lay["kernel"]))}</text>')
    parts.append(f'<text x="{width / 2}" y="30" text-anchor="middle" font-size="12">{length}</text>')
    parts.append("</svg>")
    return "".join(parts)


class PathExplorer(BookWidget):
    """Sliders for n, the source token i and the target position j; one SVG panel per architecture."""

    kind = "path explorer (chapter 1)"

    def __init__(self, n: int = 10, i: int = 1, j: int = 8, kernel: int = 3):
        style = {"description_width": "initial"}
        self.n = W.IntSlider(value=n, min=2, max=MAX_TOKENS, description="n", style=style)
        self.kernel = W.Dropdown(options=[3, 5, 7], value=kernel, description="CNN kernel", style=style)
        self.positions = W.HBox()
        self.panels = W.HTML()
        self.readout = W.HTML()
        self._make_position_sliders(n, i, j)
        self.n.observe(self._on_n, names="value")
        self.kernel.observe(lambda _c: self.redraw(), names="value")
        self._build([W.HBox([self.n, self.kernel]), self.positions, self.panels, self.readout])
        self.redraw()

    def _make_position_sliders(self, n: int, i: int, j: int) -> None:
        """New sliders whose range is 0..n-1 from the start, so keyboard keys (End, Home) use the new range."""
        style = {"description_width": "initial"}
        self.i = W.IntSlider(value=min(i, n - 1), min=0, max=n - 1, description="from token i", style=style)
        self.j = W.IntSlider(value=min(j, n - 1), min=0, max=n - 1, description="to position j", style=style)
        for control in (self.i, self.j):
            control.observe(lambda _c: self.redraw(), names="value")
        self.positions.children = [self.i, self.j]

    def _on_n(self, change) -> None:
        n = change["new"]
        self._make_position_sliders(n, self.i.value, self.j.value)
        self.redraw()

    def values(self) -> dict:
        n, i, j, k = self.n.value, self.i.value, self.j.value, self.kernel.value
        return {"n": n, "i": i, "j": j, "kernel": k, **paths.summary(n, i, j, k)}

    def redraw(self) -> None:
        n, i, j, k = self.n.value, self.i.value, self.j.value, self.kernel.value
        svgs = "".join(path_svg(paths.layout(a, n, i, j, k)) for a in PANELS)
        self.panels.value = f'<div style="display:flex;gap:8px;flex-wrap:wrap">{svgs}</div>'
        shown = ", ".join(f"{title(a, k)}: {'none' if v is None else v}" for a, v in paths.summary(n, i, j, k).items())
        self.readout.value = f'<span class="sa-readout">From token {i} to position {j}: {html.escape(shown)}</span>'
        self.accept()

    @classmethod
    def demo(cls) -> "PathExplorer":
        return cls(n=MAX_TOKENS, i=0, j=MAX_TOKENS - 1)

    def step(self, k: int) -> None:
        self.j.value = (self.j.value + 1 + k) % self.n.value
