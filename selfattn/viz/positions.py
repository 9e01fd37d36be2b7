"""Figures for chapter 4: word order, positional encodings, and images cut into patches.

Each function takes what the math computed (selfattn.positions, selfattn.explore.positions,
selfattn.patches) and returns a matplotlib Figure with labelled axes.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from .heatmap import add_colorbar, attention_heatmap, to_numpy
from .style import ACCENT, PALETTE, SCORES_CMAP

MARKERS = ("o", "s", "^", "D")
LABEL_BOX = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.9)   # text over ink


def encoding_figure(pe, *, title: str = "Sinusoidal positional encodings", waves: Sequence[int] = (0, 2, 4, 6)):
    """Left: the (n, d_model) encodings as an image (position × feature). Right: a few features
    plotted against position, showing waves that slow down from feature to feature."""
    m = to_numpy(pe).astype(float)
    n, d_model = m.shape
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.4), gridspec_kw={"width_ratios": [1.1, 1]})
    im = ax1.imshow(m, cmap=SCORES_CMAP, vmin=-1, vmax=1, aspect="auto")
    ax1.set_xlabel("feature (dimension of d_model)")
    ax1.set_ylabel("position")
    ax1.set_title(title, fontsize=10)
    add_colorbar(im, ax1, label="value")
    pos = np.arange(n)
    for idx, dim in enumerate(d for d in waves if d < d_model):
        kind = "sin" if dim % 2 == 0 else "cos"
        ax2.plot(pos, m[:, dim], marker=MARKERS[idx % len(MARKERS)], ms=3, lw=0.8, color=PALETTE[idx % len(PALETTE)],
                 label=f"feature {dim} ({kind}, pair {dim // 2})")
    ax2.set_xlabel("position")
    ax2.set_ylabel("encoding value")
    ax2.set_title("Each pair is a wave;\nlater pairs turn more slowly", fontsize=10)
    ax2.legend(fontsize=8, loc="lower left", framealpha=0.9)
    fig.tight_layout()
    return fig


def similarity_by_distance_figure(curves: Mapping[int, Sequence[float]]):
    """PE[a]·PE[a+Δ] against the distance Δ, one line per d_model, already divided by its value at Δ = 0
    (selfattn.explore.positions.similarity_by_distance(..., normalised=True))."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for idx, (d_model, curve) in enumerate(curves.items()):
        c = to_numpy(curve).astype(float)
        ax.plot(np.arange(len(c)), c, color=PALETTE[idx % len(PALETTE)], marker=MARKERS[idx % len(MARKERS)],
                ms=4, markevery=max(1, len(c) // 10), label=f"d_model = {d_model}")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_xlim(0, len(c) - 1)
    ax.set_xlabel("distance Δ between two positions")
    ax.set_ylabel("PE[a]·PE[a+Δ]  (1 at Δ = 0)")
    ax.set_title("How alike are the encodings of two positions Δ apart?")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def score_tables_figure(tables: Sequence, titles: Sequence[str]):
    """Side-by-side (n, n) tables of q·k scores, rows = query position i, columns = key position j."""
    count = len(tables)
    fig, axes = plt.subplots(1, count, figsize=(3.5 * count, 3.5), squeeze=False)
    for ax, t, title in zip(axes.flat, tables, titles):
        m = to_numpy(t).astype(float)
        labels = [str(i) for i in range(m.shape[0])]
        attention_heatmap(m, labels, labels, ax=ax, title=title, signed=True, annotate=False, colorbar=True,
                          xlabel="key position j", ylabel="query position i")
        ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def rotation_figure(points, step, pairs: Sequence[int] = (0, 1, 3), *, min_gap: float = 0.35):
    """How RoPE turns one (x, y) feature pair: the arrow for each position, for a few pairs.

    points: (n, d_k/2, 2) and step: (d_k/2,) from selfattn.explore.positions.rotation_arrows.
    Positions whose arrows lie closer than `min_gap` radians share one label ("2-7"), so labels
    never sit on top of each other.
    """
    pts = to_numpy(points).astype(float)
    omega = to_numpy(step).astype(float)
    n = pts.shape[0]
    pairs = [p for p in pairs if p < pts.shape[1]]
    fig, axes = plt.subplots(1, len(pairs), figsize=(2.4 * len(pairs), 2.9), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, p in zip(axes.flat, pairs):
        for pos in range(n):
            colour = cmap(pos / max(1, n - 1))
            ax.annotate("", xy=tuple(pts[pos, p]), xytext=(0, 0),
                        arrowprops=dict(arrowstyle="->", color=colour, lw=1.4))
        for first, last in _label_groups(np.unwrap(np.arctan2(pts[:, p, 1], pts[:, p, 0])), min_gap):
            mid = np.arctan2(pts[first:last + 1, p, 1].mean(), pts[first:last + 1, p, 0].mean())
            text = str(first) if first == last else f"{first}–{last}"
            ax.text(1.22 * np.cos(mid), 1.22 * np.sin(mid), text, fontsize=9, ha="center", va="center",
                    color=cmap(first / max(1, n - 1)) if first == last else "#333333")
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="#cccccc"))
        ax.set_xlim(-1.45, 1.45)
        ax.set_ylim(-1.45, 1.45)
        ax.set_aspect("equal")
        ax.set_xticks([-1, 0, 1])
        ax.set_yticks([-1, 0, 1])
        ax.set_xlabel(f"feature {2 * p}")
        ax.set_ylabel(f"feature {2 * p + 1}")
        ax.set_title(f"pair {p}: ω = {omega[p]:.3g} rad\nper position", fontsize=10)
    fig.suptitle(f"The vector (1, 0) rotated to positions 0..{n - 1}", fontsize=11)
    fig.tight_layout()
    return fig


def _label_groups(angles: np.ndarray, min_gap: float) -> list[tuple[int, int]]:
    """Runs of consecutive positions whose angles stay within min_gap of the run's first one."""
    groups, first = [], 0
    for pos in range(1, len(angles) + 1):
        if pos == len(angles) or abs(angles[pos] - angles[first]) >= min_gap:
            groups.append((first, pos - 1))
            first = pos
    return groups


def order_comparison_figure(cmp, *, title: str | None = None, width: float = 7.2):
    """Weights before and after reordering (top, one shared colour scale), and how much each token's
    output changed (bottom; 0 means it only moved).

    cmp: an OrderComparison from selfattn.explore.positions.compare_orders."""
    n = len(cmp.tokens)
    size = min((width - 1.0) / 2, max(2.6, 0.3 * n + 1.3))
    fig = plt.figure(figsize=(width, size + 0.25 * n + 1.9))
    gs = fig.add_gridspec(2, 3, height_ratios=[size, 0.25 * n + 0.9], width_ratios=[1, 1, 0.06])
    ax0, ax1, ax2 = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1]), fig.add_subplot(gs[1, :2])
    cax = fig.add_subplot(gs[0, 2])
    annotate = n <= 7
    attention_heatmap(cmp.weights, cmp.tokens, cmp.tokens, ax=ax0, colorbar=False, annotate=annotate,
                      title="original order", xlabel="key", ylabel="query")
    attention_heatmap(cmp.weights_shuffled, cmp.shuffled, cmp.shuffled, ax=ax1, colorbar=False,
                      annotate=annotate, title="new order", xlabel="key", ylabel="")
    add_colorbar(ax0.images[0], cax=cax, label="weight")
    change = to_numpy(cmp.change).astype(float)
    same = cmp.same_value
    y = np.arange(n)
    ax2.barh(y, np.where(same, 0.0, change), color=ACCENT)
    for i, s in enumerate(same):
        if s:
            ax2.text(0.01, i, "moved only" if cmp.moved[i] else "unchanged", va="center", fontsize=9,
                     color="#555555", transform=ax2.get_yaxis_transform())
    ax2.set_yticks(y, [f"{t} ({o}→{i})" for i, (t, o) in enumerate(zip(cmp.shuffled, cmp.order))])
    ax2.invert_yaxis()
    ax2.set_xlim(0, max(0.05, 1.1 * float(change.max())))            # a length: never below zero
    ax2.set_xlabel("|output change| (token's output, new order vs original)")
    ax2.set_title("did the output change value?", fontsize=10)
    fig.suptitle(title or f"positions: {cmp.kind}", fontsize=11)
    fig.tight_layout()
    return fig


def patches_figure(image, patch_size: int, *, patches=None, title: str | None = None):
    """The image with its patch grid drawn on top and each patch numbered in token order (numbers on
    white labels, readable over ink). With `patches` (the (n_patches, patch_dim) tokens from
    selfattn.patches.patchify), a second panel shows them as the rows of a token matrix."""
    img = to_numpy(image).astype(float)
    if img.ndim == 3:
        img = img.mean(axis=0)                                       # channels shown as one grey image
    h, w = img.shape
    tok = None if patches is None else to_numpy(patches).astype(float)
    if tok is None:
        fig, ax = plt.subplots(figsize=(3.9, 3.9))
    else:
        fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(7.0, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
    ax.imshow(img, cmap="Greys", vmin=0, vmax=1.6)                   # ink mid-grey, so labels stay readable
    for r in range(0, h + 1, patch_size):
        ax.axhline(r - 0.5, color=PALETTE[0], lw=1)
    for c in range(0, w + 1, patch_size):
        ax.axvline(c - 0.5, color=PALETTE[0], lw=1)
    cols = w // patch_size
    for idx in range((h // patch_size) * cols):
        r, c = divmod(idx, cols)
        ax.text(c * patch_size - 0.2, r * patch_size - 0.2, str(idx), fontsize=9, color="#000000", va="top",
                ha="left", fontweight="bold", bbox=LABEL_BOX)
    ax.set_xticks(range(0, w, patch_size))
    ax.set_yticks(range(0, h, patch_size))
    ax.set_xlabel("pixel column")
    ax.set_ylabel("pixel row")
    ax.set_title(title or f"The image cut into {patch_size}×{patch_size} patches", fontsize=10)
    if tok is not None:
        im = ax_t.imshow(tok, cmap="Greys", aspect="auto")
        ax_t.set_yticks(range(tok.shape[0]), [f"patch {i}" for i in range(tok.shape[0])])
        ax_t.set_xticks(range(tok.shape[1]))
        ax_t.set_xlabel("pixel inside the patch (row by row)")
        ax_t.set_title("the same pixels as n tokens", fontsize=10)
        add_colorbar(im, ax_t, label="pixel value")
    fig.tight_layout()
    return fig


def patch_attention_figure(image, grids: Mapping[int, Sequence], patch_size: int):
    """For each query patch, its row of attention weights laid back onto the image grid.

    grids: {query patch: (rows, cols) weights} from selfattn.patches.weights_on_grid. The weights
    are written on white labels so that they stay readable over the ink.
    """
    img = to_numpy(image).astype(float)
    if img.ndim == 3:
        img = img.mean(axis=0)
    h, wd = img.shape
    queries = list(grids)
    fig, axes = plt.subplots(1, len(queries), figsize=(min(7.2, 2.15 * len(queries) + 0.8), 2.9), squeeze=False)
    vmax = max(1e-9, max(float(to_numpy(g).max()) for g in grids.values()))
    for ax, q in zip(axes.flat, queries):
        grid = to_numpy(grids[q]).astype(float)
        rows, cols = grid.shape
        ax.imshow(img, cmap="Greys", vmin=0, vmax=1.6, extent=(-0.5, wd - 0.5, h - 0.5, -0.5))
        im = ax.imshow(grid, cmap="Reds", alpha=0.6, vmin=0, vmax=vmax, extent=(-0.5, wd - 0.5, h - 0.5, -0.5))
        for r in range(rows):
            for c in range(cols):
                ax.text(c * patch_size - 0.3, r * patch_size - 0.35, f"{grid[r, c]:.2f}", fontsize=8,
                        ha="left", va="top", bbox=LABEL_BOX)             # top-left corner: the shapes stay visible
        r, c = divmod(q, cols)
        ax.add_patch(Rectangle((c * patch_size - 0.5, r * patch_size - 0.5), patch_size, patch_size,
                               fill=False, edgecolor=PALETTE[0], lw=2.5))
        ax.set_title(f"query patch {q}\n(blue outline)", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout(rect=(0, 0, 1 - 0.95 / fig.get_figwidth(), 1))
    cax = fig.add_axes([1 - 0.85 / fig.get_figwidth(), 0.12, 0.12 / fig.get_figwidth(), 0.7])
    add_colorbar(axes.flat[0].images[1], cax=cax, label="weight")
    return fig
