"""Figures for chapter 4: word order, positional encodings, and images cut into patches.

Each function takes what the math computed (selfattn.positions, selfattn.explore.positions,
selfattn.patches) and returns a matplotlib Figure with labelled axes.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from .heatmap import attention_heatmap, to_numpy
from .style import ACCENT, MASK_BLOCKED, PALETTE, SCORES_CMAP


def encoding_figure(pe, *, title: str = "Sinusoidal positional encodings", waves: Sequence[int] = (0, 2, 4, 6)):
    """Left: the (n, d_model) encodings as an image (position × feature). Right: a few features
    plotted against position, showing waves that slow down from feature to feature."""
    m = to_numpy(pe).astype(float)
    n, d_model = m.shape
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.6), gridspec_kw={"width_ratios": [1.1, 1]})
    im = ax1.imshow(m, cmap=SCORES_CMAP, vmin=-1, vmax=1, aspect="auto")
    ax1.set_xlabel("feature (dimension of d_model)")
    ax1.set_ylabel("position")
    ax1.set_title(title)
    fig.colorbar(im, ax=ax1, fraction=0.046, pad=0.04, label="value")
    pos = np.arange(n)
    for idx, dim in enumerate(d for d in waves if d < d_model):
        kind = "sin" if dim % 2 == 0 else "cos"
        ax2.plot(pos, m[:, dim], marker="o", ms=3, lw=0.8, color=PALETTE[idx % len(PALETTE)],
                 label=f"feature {dim} ({kind}, pair {dim // 2})")
    ax2.set_xlabel("position")
    ax2.set_ylabel("encoding value")
    ax2.set_title("Each pair is a wave; later pairs turn more slowly")
    ax2.legend(fontsize=7, loc="lower left", framealpha=0.9)
    fig.tight_layout()
    return fig


def similarity_by_distance_figure(curves: Mapping[int, Sequence[float]]):
    """PE[a]·PE[a+Δ] against the distance Δ, one line per d_model, divided by its value at Δ = 0."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for idx, (d_model, curve) in enumerate(curves.items()):
        c = to_numpy(curve).astype(float)
        ax.plot(np.arange(len(c)), c / c[0], color=PALETTE[idx % len(PALETTE)], label=f"d_model = {d_model}")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_xlabel("distance Δ between two positions")
    ax.set_ylabel("PE[a]·PE[a+Δ]  (1 at Δ = 0)")
    ax.set_title("How alike are the encodings of two positions Δ apart?")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def score_tables_figure(tables: Sequence, titles: Sequence[str]):
    """Side-by-side (n, n) tables of q·k scores, rows = query position m, columns = key position j."""
    count = len(tables)
    fig, axes = plt.subplots(1, count, figsize=(4.1 * count, 3.8), squeeze=False)
    for ax, t, title in zip(axes.flat, tables, titles):
        m = to_numpy(t).astype(float)
        labels = [str(i) for i in range(m.shape[0])]
        attention_heatmap(m, labels, labels, ax=ax, title=title, signed=True, annotate=False, colorbar=True,
                          xlabel="key position j", ylabel="query position m")
    fig.tight_layout()
    return fig


def rotation_figure(angles, pairs: Sequence[int] = (0, 1, 3)):
    """How RoPE turns one (x, y) feature pair: the arrow for each position, for a few pairs.

    angles: (n, d_k/2) from selfattn.positions.rotary_angles."""
    a = to_numpy(angles).astype(float)
    n = a.shape[0]
    pairs = [p for p in pairs if p < a.shape[1]]
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.1 * len(pairs), 3.3), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, p in zip(axes.flat, pairs):
        for m in range(n):
            colour = cmap(m / max(1, n - 1))
            ax.annotate("", xy=(np.cos(a[m, p]), np.sin(a[m, p])), xytext=(0, 0),
                        arrowprops=dict(arrowstyle="->", color=colour, lw=1.4))
            ax.text(1.13 * np.cos(a[m, p]), 1.13 * np.sin(a[m, p]), str(m), fontsize=7, ha="center", va="center",
                    color=colour)
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="#cccccc"))
        ax.set_xlim(-1.3, 1.3)
        ax.set_ylim(-1.3, 1.3)
        ax.set_aspect("equal")
        ax.set_xlabel(f"feature {2 * p}")
        ax.set_ylabel(f"feature {2 * p + 1}")
        step = a[1, p] - a[0, p] if n > 1 else 0.0
        ax.set_title(f"pair {p}: {step:.3g} rad per position", fontsize=9)
    fig.suptitle("The vector (1, 0) rotated to positions 0..%d" % (n - 1), fontsize=10)
    fig.tight_layout()
    return fig


def order_comparison_figure(cmp, *, title: str | None = None):
    """Weights before and after reordering, and how much each token's output changed.

    cmp: an OrderComparison from selfattn.explore.positions.compare_orders."""
    n = len(cmp.tokens)
    size = max(3.0, min(5.0, 0.32 * n + 1.6))
    fig, axes = plt.subplots(1, 3, figsize=(2 * size + 3.6, size), gridspec_kw={"width_ratios": [1, 1, 0.8]})
    annotate = n <= 7
    attention_heatmap(cmp.weights, cmp.tokens, cmp.tokens, ax=axes[0], colorbar=False, annotate=annotate,
                      title="original order", xlabel="key", ylabel="query")
    attention_heatmap(cmp.weights_shuffled, cmp.shuffled, cmp.shuffled, ax=axes[1], colorbar=False,
                      annotate=annotate, title="new order", xlabel="key", ylabel="")
    change = to_numpy(cmp.change).astype(float)
    same = change < 1e-6
    colours = [MASK_BLOCKED if s else ACCENT for s in same]
    y = np.arange(n)
    axes[2].barh(y, np.where(same, 0.0, change), color=colours)
    for i, s in enumerate(same):
        if s:
            axes[2].text(0.01, i, "moved only" if cmp.moved[i] else "unchanged", va="center", fontsize=8,
                         color="#555555", transform=axes[2].get_yaxis_transform())
    axes[2].set_yticks(y, [f"{t} ({o}→{i})" for i, (t, o) in enumerate(zip(cmp.shuffled, cmp.order))])
    axes[2].invert_yaxis()
    axes[2].set_xlabel("|output change|")
    axes[2].set_title("did the output change value?")
    fig.suptitle(title or f"positions: {cmp.kind}", fontsize=11)
    fig.tight_layout()
    return fig


def patches_figure(image, patch_size: int, *, title: str = "The image cut into patches"):
    """The image with its patch grid drawn on top and each patch numbered in token order."""
    img = to_numpy(image).astype(float)
    if img.ndim == 3:
        img = img.mean(axis=0)
    h, w = img.shape
    fig, ax = plt.subplots(figsize=(3.8, 3.8))
    ax.imshow(img, cmap="Greys", vmin=0, vmax=1)
    for r in range(0, h + 1, patch_size):
        ax.axhline(r - 0.5, color=PALETTE[0], lw=1)
    for c in range(0, w + 1, patch_size):
        ax.axvline(c - 0.5, color=PALETTE[0], lw=1)
    cols = w // patch_size
    for idx in range((h // patch_size) * cols):
        r, c = divmod(idx, cols)
        ax.text(c * patch_size + 0.1, r * patch_size + 0.4, str(idx), fontsize=8, color=PALETTE[1],
                va="top", ha="left", fontweight="bold")
    ax.set_xlabel("pixel column")
    ax.set_ylabel("pixel row")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def patch_attention_figure(image, weights, patch_size: int, queries: Sequence[int]):
    """For each query patch, its row of attention weights laid back onto the image grid."""
    img = to_numpy(image).astype(float)
    w = to_numpy(weights).astype(float)
    h, wd = img.shape[-2:]
    rows, cols = h // patch_size, wd // patch_size
    fig, axes = plt.subplots(1, len(queries), figsize=(3.3 * len(queries), 3.4), squeeze=False)
    for ax, q in zip(axes.flat, queries):
        ax.imshow(img if img.ndim == 2 else img.mean(axis=0), cmap="Greys", vmin=0, vmax=1,
                  extent=(-0.5, wd - 0.5, h - 0.5, -0.5))
        grid = w[q].reshape(rows, cols)
        im = ax.imshow(grid, cmap="Reds", alpha=0.55, vmin=0, vmax=max(1e-9, grid.max()),
                       extent=(-0.5, wd - 0.5, h - 0.5, -0.5))
        for idx in range(rows * cols):
            r, c = divmod(idx, cols)
            ax.text(c * patch_size + patch_size / 2 - 0.5, r * patch_size + patch_size / 2 - 0.5,
                    f"{grid[r, c]:.2f}", fontsize=7, ha="center", va="center")
        r, c = divmod(q, cols)
        ax.add_patch(Rectangle((c * patch_size - 0.5, r * patch_size - 0.5), patch_size, patch_size,
                               fill=False, edgecolor=PALETTE[0], lw=2.5))
        ax.set_title(f"query patch {q} (blue outline)", fontsize=9)
        ax.set_xlabel("pixel column")
        ax.set_ylabel("pixel row")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="weight")
    fig.tight_layout()
    return fig
