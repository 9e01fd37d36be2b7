"""Chapter 8's live widget: a context-length explorer.

Move n from 64 tokens to a million and read what a decoder of a given shape pays: attention
flops, the n×n score matrices it would store, its key/value cache, the work of one more token
with and without the cache, and how much weight one relevant token keeps (spread thin).

A thin view: selfattn.explore.cost computes (context_report, context_curves, needle_rows); this
module only draws (two small inline SVG charts, an HTML table and a Heatmap of short rows).
"""
from __future__ import annotations

import html
import math

import ipywidgets as W

from ..explore import cost
from ..limits import MAX_TOKENS
from .base import BookWidget
from .heatmap import Heatmap

N_CHOICES = tuple(2 ** p for p in range(6, 21))      # 64 .. 1,048,576: only formulas, no n×n is built
ROW_NS = tuple(2 ** i for i in range(MAX_TOKENS.bit_length()))  # 1, 2, 4, ..., MAX_TOKENS: rows short enough to draw every key
RED, BLUE, GREY = "#d62728", "#1f77b4", "#595959"
DASHES = ("", "6,3", "2,3")                          # lines differ by dash pattern as well as by colour


def _svg_chart(xs, series, marker: int, *, title: str, log_y: bool, y_format, width: int = 330,
               height: int = 200) -> str:
    """A small line chart as an SVG string: x on a log2 scale, one polyline per series, n marked."""
    left, right, bottom = 62, 10, 30
    top = 22 + 12 * len(series)                        # room for the title and one legend line per series
    lx = [math.log2(x) for x in xs]
    all_y = [y for _, _, ys in series for y in ys]
    if log_y:
        ty = [math.log10(max(y, 1e-300)) for y in all_y]
        lo, hi = min(ty), max(ty)
    else:
        lo, hi = 0.0, max(1.0, max(all_y))
    hi = hi if hi > lo else lo + 1

    def px(v):
        return left + (v - lx[0]) / (lx[-1] - lx[0]) * (width - left - right)

    def py(y):
        t = math.log10(max(y, 1e-300)) if log_y else y
        return top + (1 - (t - lo) / (hi - lo)) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape(title)}" style="font-family: sans-serif; font-size: 11px">',
             f'<text x="{left}" y="13" font-size="12" font-weight="bold">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#444"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#444"/>']
    for i, x in enumerate(xs):
        if i % 4 == 0 or i == len(xs) - 1:
            label = f"{x:,}" if x < 1_000_000 else f"{x / 2 ** 20:g}M"
            parts.append(f'<text x="{px(lx[i]):.1f}" y="{height - bottom + 13}" text-anchor="middle">{label}</text>')
    for y in (min(all_y), max(all_y)) if log_y else (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left - 4}" y="{py(y) + 3:.1f}" text-anchor="end">{html.escape(y_format(y))}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 3}" text-anchor="middle">context length n</text>')
    parts.append(f'<line x1="{px(lx[marker]):.1f}" y1="{top}" x2="{px(lx[marker]):.1f}" y2="{height - bottom}" '
                 f'stroke="{GREY}" stroke-dasharray="3,3"/>')
    for k, (name, colour, ys) in enumerate(series):
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(lx, ys))
        dash = f' stroke-dasharray="{DASHES[k % len(DASHES)]}"' if DASHES[k % len(DASHES)] else ""
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{points}"/>')
        parts.append(f'<circle cx="{px(lx[marker]):.1f}" cy="{py(ys[marker]):.1f}" r="4" fill="{colour}"/>')
        parts.append(f'<text x="{left + 6}" y="{27 + 12 * k}" fill="{colour}">'
                     f'{"—" if not DASHES[k % len(DASHES)] else "- -"} {html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt_weight(y: float) -> str:
    return f"{y:.2g}"


class ContextExplorer(BookWidget):
    """How the costs of attention and the focus of one query change with the context length n."""

    kind = "context-length explorer"
    N_CHOICES = N_CHOICES
    MAX_TOKENS = MAX_TOKENS

    def __init__(self, n: int = 4096, *, shape: str = cost.GQA, margin: float = 3.0):
        style = {"description_width": "130px"}
        problem = self._problem(n, shape)
        self.n = W.SelectionSlider(options=list(N_CHOICES), value=4096 if problem else n,
                                   description="context length n", continuous_update=True, style=style,
                                   layout=W.Layout(width="460px"))
        self.shape = W.Dropdown(options=list(cost.MODEL_SHAPES), value=cost.GQA if problem else shape,
                                description="attention", style=style, layout=W.Layout(width="460px"))
        self.margin = W.FloatSlider(value=margin, min=0.0, max=12.0, step=0.5, description="relevance margin δ",
                                    continuous_update=True, style=style, layout=W.Layout(width="460px"))
        self.table = W.HTML()
        self.memory_chart = W.HTML()
        self.focus_chart = W.HTML()
        self.summary = W.HTML()
        self.heatmap = Heatmap(title="short contexts: weight on the relevant key (rel.)")
        self._build([W.VBox([self.n, self.shape, self.margin]), self.table,
                     W.HBox([self.memory_chart, self.focus_chart]), self.heatmap, self.summary])
        for control in (self.n, self.shape, self.margin):
            control.observe(lambda _: self.redraw(), names="value")
        self.redraw()
        if problem:
            self.refuse(problem)

    @staticmethod
    def _problem(n, shape) -> str | None:
        if shape not in cost.MODEL_SHAPES:
            return f"attention must be one of {list(cost.MODEL_SHAPES)}, got {shape!r}."
        if isinstance(n, bool) or n not in N_CHOICES:
            return (f"the context length n must be a power of two from {N_CHOICES[0]:,} to {N_CHOICES[-1]:,} "
                    f"tokens, got {n!r}.")
        return None

    def redraw(self) -> None:
        shape = cost.MODEL_SHAPES[self.shape.value]
        margin = self.margin.value
        self.current = r = cost.context_report(self.n.value, shape, margin=margin)
        curves = cost.context_curves(N_CHOICES, shape, margin=margin)
        self.rows = cost.needle_rows(ROW_NS, margin=margin)
        lines = [("attention flops, whole forward pass (QKᵀ and AV)", cost.human_flops(r["attention_flops"])),
                 ("n×n score matrices if stored (all heads, all layers)", cost.human_bytes(r["score_matrix_bytes"])),
                 ("key/value cache for the n tokens", cost.human_bytes(r["kv_cache_bytes"])),
                 ("key/value cache per token", cost.human_bytes(r["kv_bytes_per_token"])),
                 ("flops for token n with the cache", cost.human_flops(r["step_flops_cached"])),
                 ("flops for token n without it (rerun everything)", cost.human_flops(r["step_flops_recompute"])),
                 ("weight on one relevant token", f"{r['needle_weight']:.3f}")]
        cells = "".join(f"<tr><td style='padding:1px 10px 1px 0'>{html.escape(a)}</td>"
                        f"<td style='text-align:right'><b>{html.escape(b)}</b></td></tr>" for a, b in lines)
        self.table.value = (f"<div style='font-family:sans-serif;font-size:13px'>{html.escape(shape.name)}: "
                            f"{shape.n_layers} layers, {shape.n_heads} query heads of d_head = {shape.d_head}, "
                            f"16-bit numbers<table>{cells}</table></div>")
        marker = N_CHOICES.index(self.n.value)
        self.memory_chart.value = _svg_chart(
            N_CHOICES, [("n×n scores", RED, curves["score_matrix_bytes"]),
                        ("K/V cache", BLUE, curves["kv_cache_bytes"])],
            marker, title="memory (log scale)", log_y=True, y_format=cost.human_bytes)
        self.focus_chart.value = _svg_chart(
            N_CHOICES, [("relevant token", RED, curves["needle_weight"]),
                        ("uniform, 1/n", GREY, [1 / m for m in N_CHOICES])],
            marker, title=f"focus at margin δ = {margin:g} (log scale)", log_y=True, y_format=_fmt_weight)
        blocked = self.rows != self.rows                             # nan: no such key in a shorter context
        self.heatmap.show(self.rows, [f"n = {m}" for m in ROW_NS],
                          ["rel."] + [str(j) for j in range(1, max(ROW_NS))], blocked=blocked)
        self.summary.value = html.escape(self.text())

    def values(self) -> dict:
        """What the widget shows now, as plain numbers."""
        r = self.current
        return {"n": self.n.value, "attention": self.shape.value, "margin": self.margin.value,
                "attention_flops": r["attention_flops"], "score_matrix_bytes": r["score_matrix_bytes"],
                "kv_cache_bytes": r["kv_cache_bytes"], "kv_bytes_per_token": r["kv_bytes_per_token"],
                "step_flops_cached": r["step_flops_cached"], "step_flops_recompute": r["step_flops_recompute"],
                "needle_weight": round(r["needle_weight"], 3),
                "short_context_weights": [round(float(w), 3) for w in self.rows[:, 0]]}

    def text(self) -> str:
        r = self.current
        ratio = r["step_flops_recompute"] / r["step_flops_cached"]
        return (f"n = {self.n.value:,}: the cache holds {cost.human_bytes(r['kv_cache_bytes'])}; "
                f"storing the scores would take {cost.human_bytes(r['score_matrix_bytes'])}; "
                f"the next token costs {ratio:,.0f}× more work without the cache; "
                f"one relevant token keeps {r['needle_weight']:.3f} of the attention")

    @classmethod
    def demo(cls) -> "ContextExplorer":
        return cls(n=N_CHOICES[-1], shape=cost.MHA, margin=12.0)

    def step(self, i: int) -> None:
        """One slider move: n cycles through its choices."""
        self.n.value = N_CHOICES[int(i) % len(N_CHOICES)]
