"""Figures for chapter 9 (efficient attention): patterns, receptive fields, errors, tiles, benchmarks.

Every function takes plain data (masks, arrays, a tile plan, the benchmark's JSON records) and
returns a matplotlib Figure; the computations live in selfattn.explore.efficient and
selfattn.efficient. Masks are drawn with the book's shared helpers: computed scores blue,
scores never computed light grey under a hatch, so the two differ by a pattern and not only a
shade; lines carry a marker of their own and a label at their end.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from ..explore.efficient import density
from .heatmap import blocked_patch, draw_mask, hatch_blocked, open_patch, to_numpy
from .style import ACCENT, MARKERS, MASK_OPEN, PALETTE

WIDTH = 7.0          # inches: at 90 dpi the figure fits a 1024 px notebook with text of at least 9 px


def _line_style(idx: int) -> dict:
    return dict(marker=MARKERS[idx % len(MARKERS)], ms=5, color=PALETTE[idx % len(PALETTE)])


def _label_line_ends(ax, ends: list[tuple[float, float, str, str]], *, log: bool) -> None:
    """Write each line's label just right of its last point, nudged apart vertically so none overlap."""
    if not ends:
        return
    lo, hi = ax.get_ylim()
    to_axis = (lambda y: np.log10(y)) if log else (lambda y: y)
    span = to_axis(hi) - to_axis(lo)
    placed = []
    for x, y, label, colour in sorted(ends, key=lambda e: e[1]):
        pos = (to_axis(y) - to_axis(lo)) / span
        if placed and pos - placed[-1] < 0.06:
            pos = placed[-1] + 0.06
        placed.append(pos)
        ax.annotate(label, xy=(x, y), xytext=(1.02, pos), textcoords=("axes fraction", "axes fraction"),
                    color="black", fontsize=8.5, va="center",
                    arrowprops=dict(arrowstyle="-", color=colour, lw=1.2))


def _plain_log2_ticks(ax, values) -> None:
    """A log-2 axis labelled with the values themselves (1,024 rather than 2^10)."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(values), [f"{v:,}" for v in values])
    ax.minorticks_off()


def mask_gallery(masks: Mapping[str, object], *, ncols: int | None = None, count: bool = True,
                 suptitle: str | None = None):
    """Draw boolean (n_q, n_k) masks: blue = score computed, hatched grey = never computed.

    count=True adds "k scores, density d" under each title: the count that sets the cost, and the
    density (k / (n_q·n_k), the fraction of all query-key pairs), the book's one definition.
    At most two panels per row, so the figure stays 7 in wide.
    """
    names = list(masks)
    ncols = ncols or min(len(names), 2)
    nrows = -(-len(names) // ncols)
    side = min(3.0, (WIDTH - 0.4) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(side * ncols + 0.4, (side + 0.55) * nrows + 0.45),
                             squeeze=False, layout="constrained")
    for idx, ax in enumerate(axes.flat):
        if idx >= len(names):
            ax.set_visible(False)
            continue
        m = to_numpy(masks[names[idx]]).astype(bool)
        draw_mask(ax, m, grid=max(m.shape) <= 24)
        title = names[idx]
        if count:
            title += f"\n{int(m.sum())} scores, density {density(masks[names[idx]]):.3f}"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("key j")
        ax.set_ylabel("query i" if idx % ncols == 0 else "")
        for side_ in ax.spines.values():
            side_.set_visible(False)
    fig.legend(handles=[open_patch("score computed"), blocked_patch("never computed")], loc="outside lower center",
               ncol=2, frameon=False, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def receptive_field_figure(reach_by_layer: Sequence[object], query: int, *, title: str | None = None):
    """One row per layer: which key positions can have influenced `query` after that many layers.

    reach_by_layer[L] is the (n, n) bool matrix of selfattn.explore.efficient.receptive_field(mask, L).
    """
    rows = np.stack([to_numpy(r).astype(bool)[query] for r in reach_by_layer])      # (n_layers + 1, n)
    n_layers, n = rows.shape[0] - 1, rows.shape[1]
    fig, ax = plt.subplots(figsize=(min(WIDTH, 0.16 * n + 2.8), 0.42 * (n_layers + 1) + 1.6), layout="constrained")
    ax.imshow(np.where(rows, 1.0, np.nan), cmap=ListedColormap([MASK_OPEN]), vmin=0, vmax=1, aspect="auto",
              interpolation="nearest")
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n_layers + 0.5, -0.5)
    hatch_blocked(ax, ~rows)
    ax.scatter([query] * (n_layers + 1), range(n_layers + 1), marker="*", color=ACCENT, s=60, zorder=3)
    ax.set_yticks(range(n_layers + 1), [f"{L} layer{'s' if L != 1 else ''}: {int(r.sum())} token{'s' if r.sum() != 1 else ''}"
                                        for L, r in enumerate(rows)])
    ax.set_xlabel(f"position j (blue: its information can reach query {query}, marked ★)")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.legend(handles=[open_patch("can reach the query"), blocked_patch("cannot")], loc="upper left",
              bbox_to_anchor=(0, -0.28), ncol=2, frameon=False, fontsize=9)
    ax.set_title(title or f"Receptive field of query {query}, layer by layer")
    return fig


def curves(x: Sequence[float], ys: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str,
           title: str | None = None, logx: bool = False, logy: bool = False,
           hline: float | None = None, hline_label: str | None = None):
    """Several curves on one axis (errors against a knob: window, number of features, ...), each with
    its own marker and line style, named in the legend. The y axis starts at 0 unless it is logarithmic."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    for idx, (label, y) in enumerate(ys.items()):
        ax.plot(x, y, label=label, ls=("-", "--", "-.", ":")[idx % 4], **_line_style(idx))
    if hline is not None:
        ax.axhline(hline, color="grey", lw=1, ls="--")
        if hline_label:
            ax.annotate(hline_label, xy=(x[0], hline), xytext=(0, 3), textcoords="offset points", fontsize=8.5, color="grey")
    if logx:
        _plain_log2_ticks(ax, x)
    if logy:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, frameon=False)
    if title:
        ax.set_title(title)
    return fig


def online_softmax_figure(scores, steps, *, title: str | None = None):
    """Two figures' worth in one row: one query's scores, key block by key block, with the running
    max m after each block; and the running sum l with the rescale factor exp(m_old − m_new).

    steps: the list from selfattn.explore.efficient.online_softmax_trace(scores, values, block_size).
    """
    s = to_numpy(scores).astype(float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(WIDTH, 3.9), gridspec_kw={"width_ratios": [3, 2]},
                                   layout="constrained")
    top = float(np.max(s))
    for b, st in enumerate(steps):
        lo, hi = st.keys
        ax1.bar(range(lo, hi), s[lo:hi], color=PALETTE[b % len(PALETTE)], alpha=0.85)
        ax1.hlines(st.running_max, lo - 0.45, hi - 0.55, color=ACCENT, lw=2)
        ax1.text((lo + hi - 1) / 2, top + 0.35, f"block {b}", ha="center", fontsize=9)
        if b:
            ax1.axvline(lo - 0.5, color="grey", lw=0.8, ls=":")
    ax1.plot([], [], color=ACCENT, lw=2, label="running max m after the block")
    ax1.axhline(0, color="black", lw=0.6)
    ax1.set_ylim(top=top + 0.9)
    ax1.set_xlabel("key position j")
    ax1.set_ylabel("score s_j")
    ax1.legend(fontsize=8.5, frameon=False, loc="upper left", bbox_to_anchor=(0, -0.2))
    ax1.set_title("scores, read one block at a time", fontsize=10)
    blocks = np.arange(len(steps))
    ax2.bar(blocks, [st.running_sum for st in steps], width=0.5, color=PALETTE[0], label="running sum l")
    ax2.set_xlabel("after block")
    ax2.set_ylabel("l = Σ exp(s_j − m)")
    ax2.set_xticks(blocks)
    ax2.set_ylim(bottom=0)
    ax3 = ax2.twinx()
    ax3.plot(blocks[1:], [st.rescale for st in steps[1:]], "s--", color=ACCENT, label="rescale exp(m_old − m_new)")
    ax3.set_ylim(0, 1.1)
    ax3.set_ylabel("rescale factor")
    ax3.spines["right"].set_visible(True)
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=8.5, frameon=False, loc="upper left", bbox_to_anchor=(0, -0.2))
    ax2.set_title("what the online softmax keeps", fontsize=10)
    if title:
        fig.suptitle(title)
    return fig


TILE_KINDS = {0: "skip", 1: "mask", 2: "full"}


def tile_figure(plan, *, title: str | None = None):
    """Query tiles × key blocks of tiled attention, from a plan (selfattn.explore.efficient.tile_plan):
    tiles computed in full (dark blue), computed with a mask (light blue, on the diagonal) and
    skipped (hatched grey), each also named in its cell."""
    kind = to_numpy(plan).astype(int)
    rows, cols = kind.shape
    fig, ax = plt.subplots(figsize=(min(WIDTH, 0.55 * cols + 1.6), 0.55 * rows + 1.5), layout="constrained")
    shown = np.where(kind > 0, kind.astype(float), np.nan)
    ax.imshow(shown, cmap=ListedColormap(["#9ecae1", "#2b6cb0"]), vmin=0.5, vmax=2.5)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    hatch_blocked(ax, kind == 0)
    for r in range(rows):
        for c in range(cols):
            k = int(kind[r, c])
            ax.text(c, r, TILE_KINDS[k], ha="center", va="center", fontsize=9, color="white" if k == 2 else "black",
                    zorder=3, bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.85) if k == 0 else None)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel("key block")
    ax.set_ylabel("query tile")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    done = int((kind > 0).sum())
    ax.set_title(title or f"{done} of {rows * cols} tiles computed", fontsize=10)
    return fig


def benchmark_figure(rows: Sequence[Mapping], *, methods: Sequence[str], quantity: str = "time",
                     labels: Mapping[str, str] | None = None, title: str | None = None):
    """One quantity against n, log-log, one line per method from the benchmark's records.

    quantity: "time" (median_s, in ms) or "memory" (peak_mib). Every line has its own marker
    and its label at its right end.
    """
    key, scale, ylabel = {"time": ("median_s", 1e3, "median time (ms)"),
                          "memory": ("peak_mib", 1.0, "peak extra memory (MiB)")}[quantity]
    labels = dict(labels or {})
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), layout="constrained")
    ends = []
    for idx, method in enumerate(methods):
        pts = sorted((r["n"], r[key] * scale) for r in rows if r["method"] == method and r.get(key) is not None)
        if not pts:
            continue
        style = _line_style(idx)
        ax.plot(*zip(*pts), label=labels.get(method, method), **style)
        ends.append((pts[-1][0], pts[-1][1], labels.get(method, method), style["color"]))
    _plain_log2_ticks(ax, sorted({r["n"] for r in rows if r["method"] in methods}))
    ax.set_yscale("log")
    ax.set_xlabel("sequence length n")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    _label_line_ends(ax, ends, log=True)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
