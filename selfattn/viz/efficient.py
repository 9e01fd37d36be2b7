"""Figures for chapter 9 (efficient attention): patterns, receptive fields, errors, tiles, benchmarks.

Every function takes plain data (masks, arrays, the benchmark's JSON records) and returns a
matplotlib Figure; the computations live in selfattn.explore.efficient and selfattn.efficient.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from .heatmap import to_numpy
from .style import ACCENT, MASK_BLOCKED, PALETTE

COMPUTED = "#2b6cb0"
_MASK_CMAP = ListedColormap([MASK_BLOCKED, COMPUTED])


def _mask_axes(ax, m: np.ndarray, title: str, *, ylabel: str = "query") -> None:
    ax.imshow(m.astype(float), cmap=_MASK_CMAP, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("key", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7, length=0)
    for side in ax.spines.values():
        side.set_visible(False)


def mask_gallery(masks: Mapping[str, object], *, ncols: int | None = None, count: bool = True,
                 suptitle: str | None = None):
    """Draw boolean (n_q, n_k) masks side by side: blue = score computed, grey = skipped.

    count=True adds "k of n_q·n_k scores" under each title, the number that sets the cost.
    """
    names = list(masks)
    ncols = ncols or min(len(names), 4)
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.55 * ncols, 2.75 * nrows), squeeze=False)
    for idx, ax in enumerate(axes.flat):
        if idx >= len(names):
            ax.set_visible(False)
            continue
        m = to_numpy(masks[names[idx]]).astype(bool)
        title = names[idx]
        if count:
            title += f"\n{int(m.sum())} of {m.size} scores ({100 * m.mean():.0f}%)"
        _mask_axes(ax, m, title, ylabel="query" if idx % ncols == 0 else "")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def receptive_field_figure(reach_by_layer: Sequence[object], query: int, *, title: str | None = None):
    """One row per layer: which key positions can have influenced `query` after that many layers.

    reach_by_layer[L] is the (n, n) bool matrix of selfattn.explore.efficient.receptive_field(mask, L).
    """
    rows = np.stack([to_numpy(r).astype(bool)[query] for r in reach_by_layer])      # (n_layers + 1, n)
    n_layers, n = rows.shape[0] - 1, rows.shape[1]
    fig, ax = plt.subplots(figsize=(min(9.0, 0.16 * n + 2.2), 0.42 * (n_layers + 1) + 1.3))
    ax.imshow(rows.astype(float), cmap=_MASK_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.scatter([query] * (n_layers + 1), range(n_layers + 1), marker="*", color=ACCENT, s=40, zorder=3)
    ax.set_yticks(range(n_layers + 1), [f"{L} layer{'s' if L != 1 else ''}: {int(r.sum())} token{'s' if r.sum() != 1 else ''}"
                                        for L, r in enumerate(rows)])
    ax.set_xlabel(f"position j (blue: its information can reach query {query}, marked ★)")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title or f"Receptive field of query {query}, layer by layer")
    fig.tight_layout()
    return fig


def curves(x: Sequence[float], ys: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str,
           title: str | None = None, logx: bool = False, logy: bool = False, markers: bool = True,
           hline: float | None = None, hline_label: str | None = None):
    """Several labelled curves on one axis (errors against a knob: window, n_features, ...)."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for idx, (label, y) in enumerate(ys.items()):
        ax.plot(x, y, marker="o" if markers else None, ms=4, color=PALETTE[idx % len(PALETTE)], label=label)
    if hline is not None:
        ax.axhline(hline, color="grey", lw=1, ls="--", label=hline_label)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def online_softmax_figure(scores, steps, *, title: str | None = None):
    """Left: one query's scores, coloured by key block, with the running max m after each block.
    Right: the running sum l and the rescale factor exp(m_old − m_new) applied at each block.

    steps: the list from selfattn.explore.efficient.online_softmax_trace(scores, values, block_size).
    """
    s = to_numpy(scores).astype(float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.3), gridspec_kw={"width_ratios": [3, 2]})
    for b, st in enumerate(steps):
        lo, hi = st.keys
        ax1.bar(range(lo, hi), s[lo:hi], color=PALETTE[b % len(PALETTE)], alpha=0.8, label=f"block {b}")
        ax1.hlines(st.running_max, lo - 0.45, hi - 0.55, color=ACCENT, lw=2)
        if b:
            ax1.axvline(lo - 0.5, color="grey", lw=0.8, ls=":")
    ax1.plot([], [], color=ACCENT, lw=2, label="running max m")
    ax1.axhline(0, color="black", lw=0.6)
    ax1.set_xlabel("key position j")
    ax1.set_ylabel("score s_j")
    ax1.legend(fontsize=7, frameon=False, ncol=2, loc="lower left")
    ax1.set_title("scores, read one block at a time", fontsize=10)
    blocks = np.arange(len(steps))
    ax2.bar(blocks - 0.2, [st.running_sum for st in steps], width=0.4, color=PALETTE[0], label="running sum l")
    ax2.set_xlabel("after block")
    ax2.set_ylabel("l = Σ exp(s_j − m)")
    ax2.set_xticks(blocks)
    ax3 = ax2.twinx()
    ax3.plot(blocks[1:], [st.rescale for st in steps[1:]], "s--", color=ACCENT, label="rescale exp(m_old − m_new)")
    ax3.set_ylim(-0.05, 1.1)
    ax3.set_ylabel("rescale factor")
    ax3.spines["right"].set_visible(True)
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=7, frameon=False, loc="upper left")
    ax2.set_title("what the online softmax keeps", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def tile_figure(n_blocks: int, *, causal: bool = True, title: str | None = None):
    """Query blocks × key blocks of tiled attention: which tiles are computed, which a causal mask
    lets the loop skip entirely, and which straddle the diagonal (computed with a mask)."""
    i = np.arange(n_blocks)[:, None]
    j = np.arange(n_blocks)[None, :]
    kind = np.where(j < i, 2, np.where(j == i, 1, 0)) if causal else np.full((n_blocks, n_blocks), 2)
    cmap = ListedColormap([MASK_BLOCKED, "#9ecae1", COMPUTED])
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(kind, cmap=cmap, vmin=0, vmax=2)
    for r in range(n_blocks):
        for c in range(n_blocks):
            label = {0: "skip", 1: "mask", 2: "full"}[int(kind[r, c])]
            ax.text(c, r, label, ha="center", va="center", fontsize=7, color="white" if kind[r, c] == 2 else "black")
    ax.set_xticks(range(n_blocks))
    ax.set_yticks(range(n_blocks))
    ax.set_xlabel("key block")
    ax.set_ylabel("query block")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    done = int((kind > 0).sum())
    ax.set_title(title or f"{done} of {n_blocks * n_blocks} tiles computed", fontsize=10)
    fig.tight_layout()
    return fig


def benchmark_figure(rows: Sequence[Mapping], *, methods: Sequence[str] | None = None,
                     labels: Mapping[str, str] | None = None, time_key: str = "median_s",
                     memory_key: str = "peak_mb", title: str | None = None):
    """Time and peak memory against n, log-log, one line per method, from benchmark records.

    rows: dicts with at least "method", "n", time_key and memory_key (None = not measured).
    """
    methods = list(methods) if methods is not None else list(dict.fromkeys(r["method"] for r in rows))
    labels = dict(labels or {})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    for idx, method in enumerate(methods):
        pts = sorted((r["n"], r.get(time_key), r.get(memory_key)) for r in rows if r["method"] == method)
        style = dict(marker="o", ms=4, color=PALETTE[idx % len(PALETTE)], label=labels.get(method, method))
        tp = [(n, t) for n, t, _ in pts if t is not None]
        mp = [(n, m) for n, _, m in pts if m is not None]
        if tp:
            ax1.plot(*zip(*tp), **style)
        if mp:
            ax2.plot(*zip(*mp), **style)
    for ax, ylabel in ((ax1, "median time (s)"), (ax2, "peak extra memory (MB)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length n")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
