"""Figures for chapter 8 (the cost of attention): scaling on log-log axes, decode cost, spread thin,
key/value-cache sizes, and a static picture of the context-length explorer.

Every function takes what selfattn.cost computed and returns a matplotlib Figure.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from .. import cost
from .heatmap import attention_heatmap
from .style import ACCENT, PALETTE

_LABELS = {"naive": "naive (stores n×n)", "sdpa": "torch SDPA (fused)"}


def _pow2_axis(ax, ns) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(ns))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):,}"))
    ax.xaxis.set_minor_locator(plt.NullLocator())


def _compact_bytes(nbytes: float) -> str:
    """2**20 -> '1 MiB', 3 * 2**29 -> '1.5 GiB' (tick labels: no needless decimals)."""
    text = cost.human_bytes(nbytes)
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


def scaling_figure(run: cost.ScalingRun):
    """Time (if measured) and tensor memory of attention against n, log-log, with fitted slopes."""
    timed = any(run.seconds.get(m) for m in run.seconds)
    fig, axes = plt.subplots(1, 2 if timed else 1, figsize=(10.5 if timed else 5.6, 3.9), squeeze=False)
    axes = axes[0]
    ax_mem = axes[-1]
    if timed:
        ax = axes[0]
        for i, (name, secs) in enumerate(run.seconds.items()):
            if not secs:
                continue
            slope = cost.loglog_slope(run.ns, secs)
            ax.plot(run.ns, np.asarray(secs) * 1e3, "o-", color=PALETTE[i],
                    label=f"{_LABELS.get(name, name)}: slope {slope:.2f}")
        first = min(s[-1] for s in run.seconds.values() if s) * 1e3 / 4 ** (len(run.ns) - 1)
        _reference(ax, run.ns, first, 2, "slope 2 (n²)")
        ax.set_yscale("log")
        _pow2_axis(ax, run.ns)
        ax.set_xlabel("sequence length n")
        ax.set_ylabel("median time (ms)")
        ax.set_title(f"time, d_head = {run.d_head} (measured here)")
        ax.legend(fontsize=8)
    for i, (name, peak) in enumerate(run.peak_bytes.items()):
        slope = cost.loglog_slope(run.ns, peak)
        ax_mem.plot(run.ns, peak, "o-", color=PALETTE[i], label=f"{_LABELS.get(name, name)}: slope {slope:.2f}")
    ax_mem.plot(run.ns, run.matrix_bytes, "s--", color=ACCENT, ms=4, label="one n×n float32 matrix")
    ax_mem.set_yscale("log")
    _pow2_axis(ax_mem, run.ns)
    _bytes_axis(ax_mem)
    ax_mem.set_xlabel("sequence length n")
    ax_mem.set_ylabel("peak bytes of tensors created")
    ax_mem.set_title("memory")
    ax_mem.legend(fontsize=8)
    fig.tight_layout()
    return fig


def decode_cost_figure(dc: cost.DecodeCost):
    """Cost of producing token n, with and without a key/value cache: flops (counted) and time (if measured)."""
    timed = bool(dc.seconds_cached)
    fig, axes = plt.subplots(1, 2 if timed else 1, figsize=(10.5 if timed else 5.6, 3.9), squeeze=False)
    axes = axes[0]
    ax = axes[0]
    ax.plot(dc.ns, dc.flops_recompute, "o-", color=PALETTE[1], label="no cache: rerun all n tokens")
    ax.plot(dc.ns, dc.flops_cached, "o-", color=PALETTE[0], label="key/value cache: one new token")
    ax.set_yscale("log")
    _pow2_axis(ax, dc.ns)
    ax.set_xlabel("tokens in context n")
    ax.set_ylabel("matmul FLOPs for one new token")
    ax.set_title("work per generated token (counted)")
    ax.legend(fontsize=8)
    if timed:
        ax = axes[1]
        ax.plot(dc.ns, np.asarray(dc.seconds_recompute) * 1e3, "o-", color=PALETTE[1], label="no cache")
        ax.plot(dc.ns, np.asarray(dc.seconds_cached) * 1e3, "o-", color=PALETTE[0], label="key/value cache")
        ax.set_yscale("log")
        _pow2_axis(ax, dc.ns)
        ax.set_xlabel("tokens in context n")
        ax.set_ylabel("median time per token (ms)")
        ax.set_title("time per generated token (measured here)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def spread_thin_figure(st: cost.SpreadThin):
    """Left: the largest weight and the relevant token's weight fall as n grows. Right: entropy ~ log n."""
    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(10.5, 3.9))
    ns = st.ns
    ax.plot(ns, st.max_weight, "o-", color=PALETTE[0], label="largest weight, random scores")
    if st.margin is not None:
        ax.plot(ns, st.needle_weight, "o-", color=ACCENT, label=f"relevant token, margin {st.margin:g}")
        ax.plot(ns, st.expected_needle, ":", color="black", lw=1.2, label="1 / (1 + (n−1)·e^(σ²/2 − margin))")
    ax.plot(ns, 1 / ns, "--", color="grey", lw=1, label="uniform, 1/n")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("number of keys n")
    ax.set_ylabel("weight")
    ax.set_title("how much one key can get")
    ax.legend(fontsize=8)
    ax_h.plot(ns, st.entropy, "o-", color=PALETTE[0], label="entropy of a random row")
    ax_h.plot(ns, np.log(ns), "--", color="grey", lw=1, label="log n (perfectly uniform)")
    ax_h.plot(ns, np.log(ns) - st.sigma ** 2 / 2, ":", color="black", lw=1.2, label="log n − σ²/2")
    ax_h.set_xscale("log", base=2)
    ax_h.set_xlabel("number of keys n")
    ax_h.set_ylabel("entropy (nats)")
    ax_h.set_title("how spread out a row is")
    ax_h.legend(fontsize=8)
    fig.tight_layout()
    return fig


def needle_rows_figure(ns: Sequence[int], *, margin: float = 3.0, sigma: float = 1.0, seed: int = 0):
    """One softmax row per n (key 0 relevant, the rest distractors): the relevant cell pales as n grows."""
    rows = cost.needle_rows(ns, margin=margin, sigma=sigma, seed=seed)
    width = rows.shape[1]
    fig = attention_heatmap(np.nan_to_num(rows), [f"n = {n}" for n in ns],
                            ["rel."] + [str(j) for j in range(1, width)], mask=~np.isnan(rows),
                            annotate=width <= 8, xlabel="key (0 is the relevant one)", ylabel="context length",
                            title=f"one query's weights, relevant key at margin {margin:g}")
    fig.set_size_inches(max(4.5, 0.42 * width + 2.4), 0.42 * len(ns) + 1.9)
    fig.tight_layout()
    return fig


def kv_cache_figure(n: int, shapes: Sequence[cost.ModelShape] | None = None, *, dtype_bytes: int = 2):
    """Bytes of the key/value cache at n tokens for several model shapes (MHA, GQA, MQA)."""
    shapes = list(cost.MODEL_SHAPES.values()) if shapes is None else list(shapes)
    sizes = [cost.kv_cache_bytes(n, n_layers=s.n_layers, n_kv_heads=s.n_kv_heads, d_head=s.d_head,
                                 dtype=dtype_bytes) for s in shapes]
    fig, ax = plt.subplots(figsize=(6.4, 0.55 * len(shapes) + 1.6))
    y = np.arange(len(shapes))
    ax.barh(y, sizes, color=[PALETTE[i % len(PALETTE)] for i in range(len(shapes))])
    for yi, size in zip(y, sizes):
        ax.text(size, yi, "  " + cost.human_bytes(size), va="center", fontsize=9)
    ax.set_yticks(y, [s.name for s in shapes])
    ax.invert_yaxis()
    ax.set_xlim(0, max(sizes) * 1.35)
    ax.set_xticks([])
    ax.set_xlabel(f"key/value cache for n = {n:,} tokens ({dtype_bytes} bytes per number)")
    ax.set_title("the cache per sequence, all layers")
    fig.tight_layout()
    return fig


def context_figure(n: int, shape: cost.ModelShape, *, margin: float = 3.0, ns: Sequence[int] | None = None):
    """Static twin of the context-length explorer: memory and focus against n, with n marked."""
    ns = list(ns) if ns is not None else [2 ** p for p in range(6, 21)]
    reports = [cost.context_report(m, shape, margin=margin) for m in ns]
    here = cost.context_report(n, shape, margin=margin)
    fig, (ax, ax_w) = plt.subplots(1, 2, figsize=(10.5, 3.9))
    ax.plot(ns, [r["score_matrix_bytes"] for r in reports], "-", color=ACCENT, label="n×n scores, all heads and layers")
    ax.plot(ns, [r["kv_cache_bytes"] for r in reports], "-", color=PALETTE[0], label="key/value cache")
    ax.plot([n], [here["score_matrix_bytes"]], "o", color=ACCENT)
    ax.plot([n], [here["kv_cache_bytes"]], "o", color=PALETTE[0])
    ax.axvline(n, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _bytes_axis(ax)
    ax.set_xlabel("context length n")
    ax.set_ylabel("bytes (16-bit numbers)")
    ax.set_title(f"{shape.name}: memory")
    ax.legend(fontsize=8)
    ax_w.plot(ns, [r["needle_weight"] for r in reports], "-", color=ACCENT)
    ax_w.plot([n], [here["needle_weight"]], "o", color=ACCENT)
    ax_w.axvline(n, color="grey", lw=0.8)
    ax_w.set_xscale("log", base=2)
    ax_w.set_ylim(0, 1.02)
    ax_w.set_xlabel("context length n")
    ax_w.set_ylabel("weight on the relevant token")
    ax_w.set_title(f"focus, margin {margin:g}: {here['needle_weight']:.3f} at n = {n:,}")
    fig.tight_layout()
    return fig
