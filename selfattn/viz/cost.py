"""Figures for chapter 8 (the cost of attention): scaling on log-log axes, decode cost, spread thin,
key/value-cache sizes, and a static picture of the context-length explorer.

Every function takes what selfattn.explore.cost computed (a ScalingRun, a DecodeCost, a SpreadThin,
rows of weights, cache sizes, context curves) and draws it; nothing is computed here.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from ..explore.cost import human_bytes
from .heatmap import attention_heatmap
from .style import ACCENT, MARKERS, PALETTE

_LABELS = {"naive": "naive (stores n×n)", "sdpa": "torch SDPA (fused)"}


def _pow2_axis(ax, ns) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(ns))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):,}"))
    ax.xaxis.set_minor_locator(plt.NullLocator())


def _compact_bytes(nbytes: float) -> str:
    """2**20 -> '1 MiB', 3 * 2**29 -> '1.5 GiB' (tick labels: no needless decimals)."""
    text = human_bytes(nbytes)
    return text.replace(".0 ", " ")


def _bytes_axis(ax) -> None:
    """Log-scale y axis of bytes with ticks at powers of two (at most about six of them)."""
    ax.figure.canvas.draw_idle()
    lo, hi = ax.get_ylim()
    first, last = int(np.ceil(np.log2(max(lo, 1)))), int(np.floor(np.log2(max(hi, 2))))
    step = max(1, -(-(last - first + 1) // 6))
    ticks = [2.0 ** e for e in range(first, last + 1) if (e - first) % step == 0]
    ax.yaxis.set_major_locator(plt.FixedLocator(ticks))
    ax.yaxis.set_minor_locator(plt.NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: _compact_bytes(y)))


def _reference(ax, ns, anchor_y, power: int, label: str) -> None:
    """A dotted line of slope `power` through the first point, for comparison."""
    ns = np.asarray(ns, dtype=float)
    ax.plot(ns, anchor_y * (ns / ns[0]) ** power, ":", color="grey", lw=1.2, label=label)


def scaling_figure(run):
    """Time (if measured) and tensor memory of attention against n, log-log, with the slopes the run fitted."""
    timed = any(run.seconds.get(m) for m in run.seconds)
    fig, axes = plt.subplots(1, 2 if timed else 1, figsize=(7.0 if timed else 4.6, 3.4), squeeze=False)
    axes = axes[0]
    ax_mem = axes[-1]
    if timed:
        ax = axes[0]
        for i, (name, secs) in enumerate(run.seconds.items()):
            if not secs:
                continue
            ax.plot(run.ns, np.asarray(secs) * 1e3, "-", marker=MARKERS[i], color=PALETTE[i],
                    label=f"{_LABELS.get(name, name)}: slope {run.time_slopes[name]:.2f}")
        first = min(s[-1] for s in run.seconds.values() if s) * 1e3 / 4 ** (len(run.ns) - 1)
        _reference(ax, run.ns, first, 2, "slope 2 (n²)")
        ax.set_yscale("log")
        _pow2_axis(ax, run.ns)
        ax.set_xlabel("sequence length n")
        ax.set_ylabel("median time (ms)")
        ax.set_title(f"time, d_head = {run.d_head} (measured here)", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    for i, (name, peak) in enumerate(run.peak_bytes.items()):
        ax_mem.plot(run.ns, peak, "-", marker=MARKERS[i], color=PALETTE[i],
                    label=f"{_LABELS.get(name, name)}: slope {run.memory_slopes[name]:.2f}")
    ax_mem.plot(run.ns, run.matrix_bytes, "s--", color=ACCENT, ms=4, label="one n×n float32 matrix")
    ax_mem.set_yscale("log")
    _pow2_axis(ax_mem, run.ns)
    _bytes_axis(ax_mem)
    ax_mem.set_xlabel("sequence length n")
    ax_mem.set_ylabel("peak bytes of tensors created")
    ax_mem.set_title("peak memory of tensors", fontsize=10)
    ax_mem.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def _cache_panel(ax, ns, recompute, cached, *, ylabel: str, title: str, labels=("no cache", "key/value cache")):
    """One log-log panel: the no-cache line (squares) above the cached line (circles)."""
    ax.plot(ns, recompute, "-", marker="s", color=PALETTE[1], label=labels[0])
    ax.plot(ns, cached, "-", marker="o", color=PALETTE[0], label=labels[1])
    ax.set_yscale("log")
    _pow2_axis(ax, ns)
    ax.set_xlabel("tokens in context n")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def decode_cost_figure(dc):
    """Cost of producing token n, with and without a key/value cache: flops (counted) and time (if measured)."""
    timed = bool(dc.seconds_cached)
    fig, axes = plt.subplots(1, 2 if timed else 1, figsize=(7.0 if timed else 4.6, 3.4), squeeze=False)
    _cache_panel(axes[0][0], dc.ns, dc.flops_recompute, dc.flops_cached, ylabel="matmul flops for one new token",
                 title="work per token (counted)",
                 labels=("no cache: rerun all n tokens", "key/value cache: one new token"))
    if timed:
        _cache_panel(axes[0][1], dc.ns, np.asarray(dc.seconds_recompute) * 1e3, np.asarray(dc.seconds_cached) * 1e3,
                     ylabel="median time per token (ms)", title="time per token (measured here)")
    fig.tight_layout()
    return fig


def spread_thin_figure(st):
    """Left: the largest weight and the relevant token's weight fall as n grows. Right: entropy, in bits."""
    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(7.0, 3.6))
    ns = st.ns
    ax.plot(ns, st.max_weight, "-", marker="o", ms=4, color=PALETTE[0], label="largest weight, random scores")
    if st.margin is not None:
        ax.plot(ns, st.needle_weight, "-", marker="s", ms=4, color=ACCENT, label=f"relevant key, margin δ = {st.margin:g}")
        ax.plot(ns, st.expected_needle, ":", color="black", lw=1.2, label="formula 1 / (1 + (n−1)·e^(σ²/2 − δ))")
    ax.plot(ns, st.uniform_weight, "--", color="grey", lw=1, label="uniform, 1/n")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("number of keys n")
    ax.set_ylabel("weight")
    ax.set_title("how much one key can get", fontsize=10)
    ax.legend(fontsize=8)
    ax_h.plot(ns, st.entropy, "-", marker="o", ms=4, color=PALETTE[0], label="entropy of a random row")
    ax_h.plot(ns, st.uniform_entropy, "--", color="grey", lw=1, label="log₂ n (perfectly uniform)")
    ax_h.plot(ns, st.limit_entropy, ":", color="black", lw=1.2, label="log₂ n − σ²/(2 ln 2)")
    ax_h.set_xscale("log", base=2)
    ax_h.set_ylim(bottom=0)
    ax_h.set_xlabel("number of keys n")
    ax_h.set_ylabel("entropy (bits)")
    ax_h.set_title("how spread out a row is", fontsize=10)
    ax_h.legend(fontsize=8)
    fig.tight_layout()
    return fig


def needle_rows_figure(rows, ns: Sequence[int], *, margin: float):
    """One softmax row per n (key 0 relevant, the rest distractors; nan where a row has no such key):
    the relevant cell pales as n grows. rows: from selfattn.explore.cost.needle_rows."""
    rows = np.asarray(rows, dtype=float)
    width = rows.shape[1]
    fig = attention_heatmap(np.nan_to_num(rows), [f"n = {n}" for n in ns],
                            ["rel."] + [str(j) for j in range(1, width)], mask=~np.isnan(rows),
                            annotate=width <= 8, xlabel="key (0 is the relevant one)", ylabel="context length",
                            title=f"one query's weights, relevant key at margin δ = {margin:g}")
    fig.set_size_inches(max(4.5, 0.42 * width + 2.4), 0.42 * len(ns) + 1.9)
    fig.tight_layout()
    return fig


def kv_cache_figure(names: Sequence[str], sizes: Sequence[int], n: int, *, dtype_bytes: int = 2):
    """Bytes of the key/value cache at n tokens for several model shapes (computed by the caller)."""
    fig, ax = plt.subplots(figsize=(6.4, 0.55 * len(names) + 1.6))
    y = np.arange(len(names))
    ax.barh(y, sizes, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))])
    for yi, size in zip(y, sizes):
        ax.text(size, yi, "  " + human_bytes(size), va="center", fontsize=9)
    ax.set_yticks(y, list(names))
    ax.invert_yaxis()
    ax.set_xlim(0, max(sizes) * 1.35)
    ax.set_xticks([])
    ax.set_xlabel(f"key/value cache for n = {n:,} tokens ({dtype_bytes} bytes per number)")
    ax.set_title("the cache of one sequence, all layers", fontsize=10)
    fig.tight_layout()
    return fig


def context_figure(ns: Sequence[int], curves: dict, n: int, here: dict, shape_name: str, *, margin: float):
    """Static twin of the context-length explorer: memory and focus against n, with n marked.

    curves: selfattn.explore.cost.context_curves(ns, shape, margin=margin); here: context_report(n, ...).
    """
    fig, (ax, ax_w) = plt.subplots(1, 2, figsize=(7.0, 3.6))
    ax.plot(ns, curves["score_matrix_bytes"], "-s", color=ACCENT, ms=3, label="n×n scores, all heads and layers")
    ax.plot(ns, curves["kv_cache_bytes"], "--o", color=PALETTE[0], ms=3, label="key/value cache")
    ax.plot([n], [here["score_matrix_bytes"]], "s", color=ACCENT)
    ax.plot([n], [here["kv_cache_bytes"]], "o", color=PALETTE[0])
    ax.axvline(n, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _bytes_axis(ax)
    ax.set_xlabel("context length n")
    ax.set_ylabel("bytes (16-bit numbers)")
    ax.set_title(f"memory: {shape_name}", fontsize=9)
    ax.legend(fontsize=8)
    ax_w.plot(ns, curves["needle_weight"], "-o", color=ACCENT, ms=3)
    ax_w.plot([n], [here["needle_weight"]], "o", color=ACCENT, ms=7)
    ax_w.axvline(n, color="grey", lw=0.8)
    ax_w.set_xscale("log", base=2)
    ax_w.set_ylim(0, 1.02)
    ax_w.set_xlabel("context length n")
    ax_w.set_ylabel("weight on the relevant key")
    ax_w.set_title(f"focus, δ = {margin:g}: {here['needle_weight']:.3f} at n = {n:,}", fontsize=9)
    fig.tight_layout()
    return fig
