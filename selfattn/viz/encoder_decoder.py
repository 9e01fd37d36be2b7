"""Chapter 11's figures: the three attention arrangements, the learned alignment, the ablation,
and one map of the whole book. Each draws what it is given (masks, weights, shares, accuracies)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from .heatmap import add_colorbar, annotate_cells, blocked_patch, draw_mask, label_matrix_axes, to_numpy
from .style import ACCENT, MARKERS, PALETTE, WEIGHTS_CMAP, set_alt


def arrangements_figure(panels: Sequence[dict]):
    """One panel per arrangement: its mask (open cells blue, blocked hatched) and where Q and K, V come from.

    panels: dicts with keys mask ((n_q, n_k) bool), rows, cols (token labels), title, q_from, kv_from.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(7.0, 3.3),
                             gridspec_kw={"width_ratios": [len(p["cols"]) for p in panels]})
    for ax, p in zip(np.atleast_1d(axes), panels):
        draw_mask(ax, to_numpy(p["mask"]).astype(bool))
        label_matrix_axes(ax, p["rows"], p["cols"], xlabel=f"keys, values: {p['kv_from']}",
                          ylabel=f"queries: {p['q_from']}")
        ax.set_title(p["title"], fontsize=10)
    fig.legend(handles=[Rectangle((0, 0), 1, 1, color="#4a98c9", label="may attend"), blocked_patch("blocked")],
               loc="lower center", ncol=2, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def alignment_figure(weights, target: Sequence[str], source: Sequence[str], aligned=None, *, title: str = ""):
    """Cross-attention as the classic alignment picture: target characters down, source tokens across.

    weights: (n_tgt, n_src) in [0, 1]; aligned: optional (n_tgt, n_src) bool, the cells the task says
    each target character should read, outlined in red.
    """
    w = to_numpy(weights).astype(float)
    fig, ax = plt.subplots(figsize=(0.62 * len(source) + 2.6, 0.36 * len(target) + 1.6))
    im = ax.imshow(w, cmap=WEIGHTS_CMAP, vmin=0, vmax=1, aspect="auto")
    label_matrix_axes(ax, list(target), list(source), xlabel="source token (keys, values from the encoder)",
                      ylabel="target character (query)")
    annotate_cells(ax, w, im, fmt="{:.2f}", fontsize=8)
    if aligned is not None:
        for i, j in zip(*np.nonzero(to_numpy(aligned).astype(bool))):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=ACCENT, linewidth=1.8, zorder=5))
    add_colorbar(im, ax, label="cross-attention weight")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def aligned_share_figure(shares, chance: float, *, title: str = ""):
    """Bars: for each decoder layer and head, the share of cross-attention on the right source tokens.

    shares: (n_layers, n_heads) in [0, 1]; chance: the share that evenly spread weights would get.
    """
    s = to_numpy(shares).astype(float)
    n_layers, n_heads = s.shape
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    width = 0.8 / n_layers
    for layer in range(n_layers):
        x = np.arange(n_heads) + (layer - (n_layers - 1) / 2) * width
        bars = ax.bar(x, s[layer], width=width * 0.95, color=PALETTE[layer], label=f"decoder layer {layer}",
                      hatch=None if layer == 0 else "..", edgecolor="black", linewidth=0.5)
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=1)
    ax.axhline(chance, color="black", linestyle="--", linewidth=1, label=f"evenly spread weights: {chance:.3f}")
    ax.set_xticks(range(n_heads), [f"head {h}" for h in range(n_heads)])
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("weight on the aligned\nsource tokens")
    ax.legend(fontsize=9, frameon=False, loc="upper left", ncol=n_layers + 1)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def ablation_figure(results: dict[str, float], *, title: str = ""):
    """Bars of held-out exact match (0..1) under each condition (intact, cross-attention off, ...)."""
    names, values = list(results), [float(v) for v in results.values()]
    fig, ax = plt.subplots(figsize=(5.6, 2.6))
    bars = ax.barh(names, values, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))], edgecolor="black",
                   linewidth=0.5)
    ax.bar_label(bars, labels=[f"{v:.1%}" for v in values], fontsize=9, padding=2)
    ax.set_xlim(0, 1.15)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])   # the bars' labels are percentages too
    ax.invert_yaxis()
    ax.set_xlabel("held-out dates rewritten exactly right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return set_alt(fig, (f"{title}: " if title else "") + "bars of the share of held-out dates rewritten exactly "
                   "right: " + ", ".join(f"{n} {v:.1%}" for n, v in zip(names, values)) + ".")


def decoding_cost_figure(steps: Sequence[int], cached: Sequence[float], recomputed: Sequence[float], *,
                         unit: str = "decoder positions computed"):
    """Work per generated character with and without caches (lines with markers and direct labels)."""
    fig, ax = plt.subplots(figsize=(5.6, 2.8))
    for ys, label, i in ((recomputed, "no cache: whole prefix again", 1), (cached, "cache: one new position", 0)):
        ax.plot(steps, ys, marker=MARKERS[i], color=PALETTE[i])
        ax.annotate(label, (steps[-1], ys[-1]), xytext=(-4, 6), textcoords="offset points", ha="right", fontsize=9,
                    color=PALETTE[i])
    ax.set_xlabel("decoding step t")
    ax.set_ylabel(unit)
    ax.set_ylim(0, None)
    fig.tight_layout()
    return set_alt(fig, f"Lines of {unit} against the decoding step t from {steps[0]} to {steps[-1]}: with the caches "
                   f"{cached[0]:g} at every step, without them rising from {recomputed[0]:g} to {recomputed[-1]:g}.")


def book_map_figure(chapters: Sequence[dict], links: Sequence[tuple[int, int]]):
    """The book's ideas on one page: a box per chapter with its key ideas, arrows for what builds on what.

    chapters: dicts with number, title, ideas (a short line), column, row (grid position).
    links: (from chapter, to chapter) pairs.
    """
    fig, ax = plt.subplots(figsize=(7.0, 6.2))
    ax.set_xlim(0, 3)
    ax.set_ylim(0, max(c["row"] for c in chapters) + 1)
    ax.invert_yaxis()
    ax.axis("off")
    where = {}
    for c in chapters:
        x, y = c["column"] + 0.5, c["row"] + 0.5
        where[c["number"]] = (x, y)
        box = FancyBboxPatch((x - 0.42, y - 0.36), 0.84, 0.72, boxstyle="round,pad=0.02",
                             facecolor=PALETTE[c["column"] % len(PALETTE)] + "22", edgecolor="black", linewidth=0.8)
        ax.add_patch(box)
        ax.text(x, y - 0.2, f"{c['number']} · {c['title']}", ha="center", va="center", fontsize=9, weight="bold",
                wrap=True)
        ax.text(x, y + 0.1, c["ideas"], ha="center", va="center", fontsize=8, linespacing=1.2)
    for a, b in links:
        (x0, y0), (x1, y1) = where[a], where[b]
        if x0 == x1:                                   # same column: bottom edge to top edge
            start, end = (x0, y0 + 0.36), (x1, y1 - 0.36)
        else:                                          # next column: side edge to side edge, through the gap
            side = 0.43 if x1 > x0 else -0.43
            # between different rows, leave from low on the side and arrive high on the other side, so the
            # arrow head stays clear of the straight arrows that meet a box at the middle of its side
            lift = 0.0 if y0 == y1 else 0.22 * np.sign(y1 - y0)
            start, end = (x0 + side, y0 + lift), (x1 - side, y1 - lift)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color="#555555",
                                     linewidth=0.9, shrinkA=1, shrinkB=1))
    fig.tight_layout()
    return set_alt(fig, "A map of the book: one box per chapter with its key ideas ("
                   + ", ".join(f"{c['number']} {c['title']}" for c in sorted(chapters, key=lambda c: c["number"]))
                   + "); arrows from a chapter to one that builds on it: "
                   + ", ".join(f"{a} to {b}" for a, b in links) + ".")
