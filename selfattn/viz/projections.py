"""Figures for chapter 2: token vectors, Q/K/V as views of them, and dot products as similarity."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .heatmap import label_matrix_axes, to_numpy
from .style import ACCENT, PALETTE, SCORES_CMAP

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def labelled_matrix(m, row_labels: Sequence[str], col_labels: Sequence[str], *, ax=None, title: str | None = None,
                    xlabel: str = "", ylabel: str = "", cbar_label: str | None = "value", annotate: bool | None = None,
                    vmax: float | None = None, cmap: str = SCORES_CMAP):
    """Any (rows, cols) matrix with labelled rows and columns, on a diverging colour map centred on 0.

    Used for embedding tables X (tokens × features), Q, K, V and outputs. Returns the Figure.
    """
    a = to_numpy(m).astype(float)
    if a.ndim != 2:
        raise ValueError(f"labelled_matrix needs a 2-D matrix, got shape {a.shape}")
    rows, cols = a.shape
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(2.6, 0.5 * cols + 1.8), max(2.0, 0.36 * rows + 1.2)))
    fig = ax.figure
    lim = vmax if vmax is not None else max(1e-9, float(np.nanmax(np.abs(a))) if np.isfinite(a).any() else 1.0)
    im = ax.imshow(np.where(np.isfinite(a), a, np.nan), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
    label_matrix_axes(ax, row_labels, col_labels, xlabel=xlabel, ylabel=ylabel)
    if annotate is None:
        annotate = rows * cols <= 120
    if annotate:
        for i in range(rows):
            for j in range(cols):
                if np.isfinite(a[i, j]):
                    ax.text(j, i, f"{a[i, j]:.1f}" if abs(a[i, j]) >= 10 else f"{a[i, j]:.2f}", ha="center",
                            va="center", fontsize=8, color="white" if abs(a[i, j]) > 0.6 * lim else "black")
    if cbar_label:
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=cbar_label)
    if title:
        ax.set_title(title)
    return fig


def qkv_views(x, q, k, v, tokens: Sequence[str], features: Sequence[str], qk_features: Sequence[str],
              value_features: Sequence[str] | None = None):
    """X and its three views, one row per token, in a 2 × 2 grid that stays 7 in wide: X and V (the
    model's features) on the left, Q and K (the query/key space) on the right; one colour scale."""
    value_features = list(features) if value_features is None else list(value_features)
    wide = max(len(features), len(value_features))
    fig = plt.figure(figsize=(7.0, 2 * max(2.3, 0.3 * len(tokens) + 1.7)))
    gs = fig.add_gridspec(2, 3, width_ratios=[wide, len(qk_features), 0.3], wspace=0.35, hspace=0.75)
    panels = [(gs[0, 0], x, features, "X: the token vectors", "feature"),
              (gs[0, 1], q, qk_features, "Q = X W_Q: looks for", "query dimension"),
              (gs[1, 0], v, value_features, "V = X W_V: contributes", "value dimension"),
              (gs[1, 1], k, qk_features, "K = X W_K: offers", "key dimension")]
    lim = max(float(np.nanmax(np.abs(to_numpy(m).astype(float)))) for _, m, *_ in panels)
    for idx, (spec, m, cols, title, xl) in enumerate(panels):
        ax = fig.add_subplot(spec)
        labelled_matrix(m, tokens, cols, ax=ax, title=title, xlabel=xl, ylabel="token" if idx % 2 == 0 else "",
                        cbar_label=None, annotate=len(tokens) * len(cols) <= 80, vmax=lim)
        ax.title.set_fontsize(10)
    cax = fig.add_subplot(gs[:, 2])
    fig.colorbar(plt.cm.ScalarMappable(norm=plt.Normalize(-lim, lim), cmap=SCORES_CMAP), cax=cax, label="value")
    fig.subplots_adjust(left=0.13, right=0.93, top=0.95, bottom=0.16)
    return fig


def vectors_2d(q, keys, geometries, key_labels: Sequence[str], *, query_label: str = "q", ax=None,
               title: str | None = None, axis_labels: tuple[str, str] = ("dimension 1", "dimension 2")):
    """A 2-D query and several 2-D keys as arrows from the origin. Each arrow carries only its name;
    the numbers (q·k, |k|, θ from explore.projections.key_geometries) sit in a table beside the plot,
    so no two labels can overlap."""
    qv = to_numpy(q).astype(float).reshape(-1)
    ks = to_numpy(keys).astype(float)
    if qv.shape != (2,) or ks.ndim != 2 or ks.shape[1] != 2 or len(geometries) != len(ks):
        raise ValueError(f"vectors_2d draws 2-D vectors: q must have 2 entries, keys shape (n_k, 2) and one geometry "
                         f"per key, got {qv.shape}, {ks.shape}, {len(geometries)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 4.2))
        fig.subplots_adjust(left=0.1, right=0.56, bottom=0.13, top=0.9)
    fig = ax.figure
    lim = 1.2 * max(np.abs(ks).max(), np.abs(qv).max(), 1e-9)
    ax.axhline(0, color="#bbbbbb", lw=0.8)
    ax.axvline(0, color="#bbbbbb", lw=0.8)
    rows = [f"{'':4} {'q·k':>6} {'|k|':>5} {'θ':>5}"]
    for j, (kv, lab, g) in enumerate(zip(ks, key_labels, geometries)):
        colour = PALETTE[j % len(PALETTE)]
        ax.annotate("", xy=kv, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.6))
        tip = kv / max(np.linalg.norm(kv), 1e-9)
        ax.text(kv[0] + 0.08 * lim * tip[0], kv[1] + 0.08 * lim * tip[1], lab, color=colour, fontsize=10,
                ha="center", va="center", fontweight="bold")
        rows.append(f"{lab:4} {g.dot:+6.2f} {g.norm_k:5.2f} {g.angle_deg:4.0f}°")
    ax.annotate("", xy=qv, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=ACCENT, lw=2.4))
    tip = qv / max(np.linalg.norm(qv), 1e-9)
    ax.text(qv[0] + 0.1 * lim * tip[1], qv[1] - 0.1 * lim * tip[0], query_label, color=ACCENT, fontsize=11,
            fontweight="bold", ha="center", va="center")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    if title:
        ax.set_title(title)
    nq = float(np.linalg.norm(qv))
    fig.text(0.6, 0.5, f"{query_label}: |q| = {nq:.2f}\n\n" + "\n".join(rows), family="monospace", fontsize=10,
             va="center", ha="left")
    return fig


def score_bars(scores, key_labels: Sequence[str], *, query_label: str = "query", ax=None, title: str | None = None,
               highlight: int | None = None, ylabel: str = "score q·k"):
    """One query's score with every key, as bars; the query's own key drawn in the accent colour."""
    s = to_numpy(scores).astype(float).reshape(-1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(3.6, 0.45 * len(s) + 1.6), 2.8))
    fig = ax.figure
    colours = [ACCENT if j == highlight else PALETTE[0] for j in range(len(s))]
    ax.bar(range(len(s)), s, color=colours)
    ax.axhline(0, color="#888888", lw=0.8)
    ax.set_xticks(range(len(s)), list(key_labels), rotation=45 if len(s) > 8 else 0)
    ax.set_xlabel("key")
    ax.set_ylabel(ylabel)
    for j, val in enumerate(s):
        ax.text(j, val, f"{val:.2f}", ha="center", va="bottom" if val >= 0 else "top", fontsize=9)
    ax.set_title(title or f'query "{query_label}" against every key')
    fig.tight_layout()
    return fig


def scores_vs_angle(angles_deg, scores, key_labels: Sequence[str], *, query_label: str = "query",
                    edited: str = "W_Q", plane_label: str = "", ax=None):
    """Each key's score with one query while a projection is rotated: the static twin of the widget."""
    a = to_numpy(angles_deg).astype(float).reshape(-1)
    s = to_numpy(scores).astype(float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
    fig = ax.figure
    seen: dict[str, int] = {}
    for j, lab in enumerate(key_labels):
        if lab in seen and np.allclose(s[:, j], s[:, seen[lab]]):
            continue                                                   # a repeated word draws the same line
        seen[lab] = j
        ax.plot(a, s[:, j], color=PALETTE[len(seen) % len(PALETTE) - 1], lw=1.8, label=lab,
                marker=MARKERS[(len(seen) - 1) % len(MARKERS)], markevery=max(1, len(a) // 12), ms=5)
    ax.axhline(0, color="#888888", lw=0.8)
    ax.axvline(0, color="#bbbbbb", lw=0.8, ls="--")
    ax.set_xlabel(f"rotation of {edited}" + (f" in the {plane_label} plane" if plane_label else "") + " (degrees)")
    ax.set_ylabel("score q·k")
    ax.set_title(f'query "{query_label}": every key\'s score as {edited} turns')
    ax.legend(fontsize=9, ncol=2, frameon=False, title="key")
    fig.tight_layout()
    return fig
