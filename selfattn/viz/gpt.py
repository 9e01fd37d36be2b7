"""Figures for chapter 10 (a GPT put together, trained and sampled). Each draws what it is given.

    residual_stream(n_layers)                the residual stream with its sublayers reading and adding
    gradient_norms(layers, by_kind)          gradient norm per layer at initialisation, pre- vs post-norm
    loss_curves(history, baselines)          train and validation loss against steps, baselines as lines
    bits_bars(results)                       bits per character of the baselines and the model
    scale_and_temperature(...)               the softmax scale inside attention beside the sampling temperature
    next_token_bars(labels, probs, kept)     a next-token distribution, kept tokens highlighted
    cache_speedup(rows)                      time per generated token with and without the cache
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .heatmap import to_numpy
from .style import ACCENT, MARKERS, PALETTE

WIDTH = 6.8


def _box(ax, x, y, w, h, text, colour, *, fontsize=9.5):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor="#333333", linewidth=1.0, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _arrow(ax, a, b, *, colour="#333333", style="-|>", lw=1.3, rad=0.0):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=11, color=colour, linewidth=lw,
                                 connectionstyle=f"arc3,rad={rad}", zorder=2))


def residual_stream(n_layers: int = 2, *, norm: str = "pre", title: str | None = None):
    """The residual stream drawn bottom to top: embeddings, n_layers blocks, final norm, logits.

    Each block's two sublayers branch off the stream, read it (through a LayerNorm first in
    pre-norm), and add their output back at a ⊕. Post-norm puts the LayerNorm on the stream
    itself, after each ⊕.
    """
    rows = 2 * n_layers
    height = 1.35 * rows + 2.6
    fig, ax = plt.subplots(figsize=(WIDTH, 0.55 * height + 0.6), layout="constrained")
    x_stream, x_branch = 1.6, 4.2
    y = 0.4
    _box(ax, x_stream, y, 2.6, 0.55, "token embedding + positions", "#f2f2f2")
    y_prev = y + 0.3
    for layer in range(n_layers):
        for part, colour in (("causal multi-head attention", "#cfe3f3"), ("MLP (d_model → 4·d_model → d_model, GELU)", "#fde0c5")):
            y += 1.35
            y_branch, y_add = y - 0.55, y + 0.35
            _arrow(ax, (x_stream, y_prev), (x_stream, y_add - 0.17), style="-")
            ax.add_patch(plt.Circle((x_stream, y_add), 0.17, facecolor="white", edgecolor="#333333", zorder=3))
            ax.text(x_stream, y_add, "+", ha="center", va="center", fontsize=11, zorder=4)
            label = part if norm == "post" else "LayerNorm → " + part
            _arrow(ax, (x_stream, y_branch), (x_branch - 1.9, y_branch), rad=0.0)
            _box(ax, x_branch + 0.25, y_branch + 0.2, 4.3, 0.5, f"{label}\n(layer {layer})", colour, fontsize=9)
            _arrow(ax, (x_branch + 0.25, y_branch + 0.45), (x_stream + 0.17, y_add), rad=0.25)
            y_prev = y_add + 0.17
            if norm == "post":
                ax.text(x_stream - 0.3, y_add + 0.35, "LayerNorm", ha="right", va="center", fontsize=9)
    y += 1.1
    top = "final LayerNorm → output projection → logits" if norm == "pre" else "output projection → logits"
    _arrow(ax, (x_stream, y_prev), (x_stream, y - 0.3))
    _box(ax, x_stream + 0.9, y, 4.4, 0.55, top, "#f2f2f2")
    ax.text(x_stream - 0.25, 0.75 + 0.5 * (y - 0.75), "residual stream  (batch, n, d_model)", rotation=90,
            ha="right", va="center", fontsize=9.5, color=ACCENT)
    ax.set_xlim(-0.4, 6.9)
    ax.set_ylim(-0.1, y + 0.5)
    ax.set_axis_off()
    ax.set_title(title or f"A {norm}-norm GPT with {n_layers} blocks: every sublayer reads the stream and adds to it",
                 fontsize=10)
    return fig


def gradient_norms(layers: Sequence[int], by_kind: Mapping[str, Sequence[float]], *, title: str | None = None):
    """Gradient norm of each block's MLP output matrix at initialisation, one line per kind (log scale)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6), layout="constrained")
    for i, (kind, norms) in enumerate(by_kind.items()):
        ax.plot(layers, norms, marker=MARKERS[i], color=PALETTE[i], label=kind)
        ax.annotate(kind, (layers[-1], norms[-1]), xytext=(6, 0), textcoords="offset points", va="center",
                    fontsize=9, color=PALETTE[i])
    ax.set_yscale("log")
    ax.set_xlabel("block (0 = nearest the input)")
    ax.set_ylabel("gradient norm, MLP output matrix")
    ax.set_xlim(layers[0] - 0.5, layers[-1] + 2.2)
    ax.set_xticks(list(layers))
    ax.set_title(title or "Gradient size per block at initialisation: same seed and initialisation, one batch", fontsize=10)
    return fig


def loss_curves(history, baselines: Mapping[str, float] | None = None, *, title: str | None = None):
    """Train and validation loss (bits per character) against the optimiser step; baselines as dashed lines."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6), layout="constrained")
    steps = list(history.steps)
    ax.plot(steps, history.train_bits, marker="o", markersize=3, color=PALETTE[0], label="train")
    ax.plot(steps, history.val_bits, marker="s", markersize=3, color=PALETTE[1], label="validation")
    for i, (name, bits) in enumerate((baselines or {}).items()):
        ax.axhline(bits, color=PALETTE[2 + i], linestyle="--", linewidth=1)
        ax.text(steps[-1] if steps else 1, bits, f" {name} {bits:.2f}", va="bottom", ha="right", fontsize=9,
                color=PALETTE[2 + i])
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss (bits per character)")
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.legend(loc="lower left", fontsize=9)
    ax.set_title(title or "Training: loss on training and validation text", fontsize=10)
    return fig


def bits_bars(results: Mapping[str, float], *, title: str | None = None):
    """Horizontal bars: bits per character of each predictor on the validation text (lower is better)."""
    names = list(results)
    vals = [results[k] for k in names]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 * len(names) + 1.2), layout="constrained")
    colours = [ACCENT if i == len(names) - 1 else PALETTE[0] for i in range(len(names))]
    ax.barh(range(len(names)), vals, color=colours)
    for i, v in enumerate(vals):
        ax.text(v, i, f" {v:.3f}", va="center", fontsize=9)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, max(vals) * 1.15)
    ax.set_xlabel("bits per character on the validation text (lower is better)")
    ax.set_title(title or "What each predictor pays per character", fontsize=10)
    return fig


def scale_and_temperature(scores, weights_by_scale: Mapping[str, Sequence[float]], labels: Sequence[str],
                          probs_by_temperature: Mapping[str, Sequence[float]], *, title: str | None = None):
    """Two panels. Left: one query's attention weights under several softmax scales (inside the
    model). Right: the next-character distribution under several sampling temperatures (outside it)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(WIDTH, 3.5), layout="constrained")
    k = np.arange(len(to_numpy(scores)))
    width = 0.8 / max(1, len(weights_by_scale))
    for i, (name, w) in enumerate(weights_by_scale.items()):
        a1.bar(k + (i - (len(weights_by_scale) - 1) / 2) * width, to_numpy(w), width, color=PALETTE[i], label=name,
               hatch=["", "//", ".."][i % 3], edgecolor="white")
    a1.set_xticks(k, [f"key {j}" for j in k], rotation=45, fontsize=9)
    a1.set_ylabel("attention weight")
    a1.set_ylim(0, 1)
    a1.legend(fontsize=8.5, loc="upper left")
    a1.set_title("Inside: softmax scale of attention", fontsize=10)
    j = np.arange(len(labels))
    width = 0.8 / max(1, len(probs_by_temperature))
    for i, (name, p) in enumerate(probs_by_temperature.items()):
        a2.bar(j + (i - (len(probs_by_temperature) - 1) / 2) * width, to_numpy(p), width, color=PALETTE[i + 3],
               label=name, hatch=["", "//", ".."][i % 3], edgecolor="white")
    a2.set_xticks(j, [f"'{s}'" for s in labels], fontsize=9)
    a2.set_ylabel("probability of the next character")
    a2.set_ylim(0, 1)
    a2.legend(fontsize=8.5, loc="upper right")
    a2.set_title("Outside: sampling temperature", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def next_token_bars(labels: Sequence[str], probs, kept, *, title: str | None = None):
    """Bars of a next-token distribution: kept tokens in colour, cut tokens grey and hatched."""
    p, keep = to_numpy(probs).astype(float), to_numpy(kept).astype(bool)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.0), layout="constrained")
    x = np.arange(len(p))
    ax.bar(x[keep], p[keep], color=PALETTE[0], label="kept")
    ax.bar(x[~keep], p[~keep], color="#d0d0d0", hatch="///", edgecolor="#595959", label="cut")
    ax.set_xticks(x, labels, fontsize=9)
    ax.set_ylabel("probability")
    ax.set_ylim(0, max(1e-9, p.max()) * 1.15)
    ax.legend(fontsize=9)
    ax.set_title(title or "Next-character distribution", fontsize=10)
    return fig


def cache_speedup(rows: Sequence[Mapping], *, title: str | None = None):
    """Milliseconds per generated token against context length, with and without the KV cache,
    and the speed-up written at each point. rows: {"context", "cached_ms", "recompute_ms"}."""
    n = [r["context"] for r in rows]
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6), layout="constrained")
    ax.plot(n, [r["recompute_ms"] for r in rows], marker="s", color=PALETTE[1], label="recompute the whole context")
    ax.plot(n, [r["cached_ms"] for r in rows], marker="o", color=PALETTE[0], label="key/value cache")
    for r in rows:
        ax.annotate(f"{r['recompute_ms'] / r['cached_ms']:.1f}×", (r["context"], r["recompute_ms"]),
                    xytext=(0, 6), textcoords="offset points", ha="center", fontsize=9)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(n, [str(v) for v in n])
    ax.set_xlabel("tokens already in the context")
    ax.set_ylabel("ms per generated token")
    ax.legend(fontsize=9, loc="upper left")
    ax.set_title(title or "Generating one more token: cost against context length", fontsize=10)
    return fig
