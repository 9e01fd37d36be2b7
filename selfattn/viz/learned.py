"""Figures for chapter 7: what a trained tiny transformer's heads do.

Every function takes numbers computed by selfattn.tiny (a History, an Inspection, tables of
mean attention or accuracy) and returns a matplotlib Figure.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .heatmap import attention_heatmap, label_matrix_axes, to_numpy
from .style import ACCENT, PALETTE, WEIGHTS_CMAP

TASK_COLOURS = {"pronoun": PALETTE[0], "roles": PALETTE[1], "sense": PALETTE[2], "induction": PALETTE[3]}


def training_curves(history, *, smooth: int = 25):
    """Training loss (left, a running mean over `smooth` steps) and test accuracy per task (right)."""
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(9.0, 3.3))
    loss = np.asarray(history.loss, dtype=float)
    k = max(1, min(smooth, len(loss)))
    running = np.convolve(loss, np.ones(k) / k, mode="valid")
    ax_l.plot(history.steps[k - 1:], running, color=PALETTE[0])
    ax_l.set_yscale("log")
    ax_l.set_xlabel("training step")
    ax_l.set_ylabel(f"loss (mean of {k} steps)")
    ax_l.set_title("cross-entropy on the training batches")
    for task, acc in history.accuracy.items():
        ax_a.plot(history.eval_steps, acc, marker="o", markersize=3, label=task,
                  color=TASK_COLOURS.get(task, PALETTE[4]))
    ax_a.set_ylim(-0.03, 1.03)
    ax_a.set_xlabel("training step")
    ax_a.set_ylabel("accuracy on held-out sentences")
    ax_a.set_title("test accuracy per task")
    ax_a.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def head_grid(inspection, *, query: int | None = None, title: str | None = None):
    """Every layer's every head for one sentence: rows are queries, columns are keys.

    query: outline one row (the position where the task asks its question). Cells a causal mask
    hides are grey.
    """
    w = to_numpy(inspection.weights)                                   # (n_layers, n_heads, n, n)
    n_layers, n_heads, n, _ = w.shape
    tokens = list(inspection.tokens)
    mask = np.tril(np.ones((n, n), dtype=bool)) if inspection.causal else None
    cell = max(2.6, min(3.8, 0.26 * n + 1.2))
    fig, axes = plt.subplots(n_layers, n_heads, figsize=(cell * n_heads + 0.6, cell * n_layers), squeeze=False)
    for layer in range(n_layers):
        for head in range(n_heads):
            ax = axes[layer, head]
            attention_heatmap(w[layer, head], tokens, tokens, ax=ax, mask=mask, colorbar=False,
                              annotate=False, title=f"layer {layer} · head {head}",
                              xlabel="key" if layer == n_layers - 1 else "",
                              ylabel="query" if head == 0 else "")
            if query is not None:
                ax.add_patch(plt.Rectangle((-0.5, query - 0.5), n, 1, fill=False, edgecolor=ACCENT, linewidth=1.6))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def query_rows(rows: Sequence, tokens: Sequence[Sequence[str]], titles: Sequence[str], *, query_labels=None,
               ncols: int = 2):
    """One query's weights in several sentences, as bar charts (one head), at most `ncols` per row."""
    count = len(rows)
    ncols = max(1, min(ncols, count))
    nrows = -(-count // ncols)
    width = max(3.0, 0.36 * max(len(t) for t in tokens) + 1.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 2.6 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= count:
            ax.set_visible(False)
            continue
        r = to_numpy(rows[i]).astype(float)
        top = int(np.argmax(r))
        colours = [ACCENT if j == top else PALETTE[0] for j in range(len(r))]
        ax.bar(range(len(r)), r, color=colours)
        ax.set_xticks(range(len(r)), tokens[i], rotation=45, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(titles[i], fontsize=10)
        ax.set_ylabel("attention weight" if i % ncols == 0 else "")
        if query_labels is not None:
            ax.set_xlabel(f"keys seen by the query {query_labels[i]!r}")
    fig.tight_layout()
    return fig


def head_table(table, row_labels: Sequence[str], col_labels: Sequence[str], *, title: str | None = None,
               value_label: str = "mean weight", cmap: str = WEIGHTS_CMAP, vmin: float = 0.0, vmax: float = 1.0,
               xlabel: str = "head", ylabel: str = ""):
    """A small labelled table of numbers drawn as a heatmap (mean attention per head, accuracy after ablation)."""
    t = to_numpy(table).astype(float)
    n_r, n_c = t.shape
    longest = max((len(str(r)) for r in row_labels), default=0)
    fig, ax = plt.subplots(figsize=(1.0 * n_c + 0.075 * longest + 2.2, 0.5 * n_r + 1.5))
    im = ax.imshow(t, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    label_matrix_axes(ax, row_labels, col_labels, xlabel=xlabel, ylabel=ylabel, rotation=20)
    for i in range(n_r):
        for j in range(n_c):
            v = t[i, j]
            dark = (v - vmin) > 0.6 * (vmax - vmin)
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=value_label)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def cosine_heatmap(sim, labels: Sequence[str], *, title: str | None = None):
    """(count, count) cosine similarities with a diverging colour map from -1 to 1."""
    s = to_numpy(sim).astype(float)
    fig = attention_heatmap(s, labels, labels, signed=True, vmax=1.0, annotate=True, title=title,
                            xlabel="", ylabel="")
    fig.axes[-1].set_ylabel("cosine similarity")
    return fig


def sense_scatter(points: Sequence, senses: Sequence[str], titles: Sequence[str]):
    """2-D projections of the vectors of "bank", one panel per layer, coloured by sense."""
    senses = np.asarray(senses)
    colours = {"river": PALETTE[0], "money": PALETTE[1]}
    fig, axes = plt.subplots(1, len(points), figsize=(3.1 * len(points), 3.0), squeeze=False)
    for ax, p, t in zip(axes[0], points, titles):
        p = to_numpy(p).astype(float)
        for sense, colour in colours.items():
            sel = senses == sense
            ax.scatter(p[sel, 0], p[sel, 1], s=12, alpha=0.7, color=colour, label=f"bank ({sense})")
        ax.set_title(t, fontsize=10)
        ax.set_xlabel("direction 1")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].set_ylabel("direction 2")
    axes[0][-1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def patches_figure(image, patches, patch: int):
    """An image with its patch grid drawn on it, and the patches as the rows of a token matrix."""
    img = to_numpy(image).astype(float)
    tok = to_numpy(patches).astype(float)
    fig, (ax_i, ax_t) = plt.subplots(1, 2, figsize=(7.0, 3.0), gridspec_kw={"width_ratios": [1, 1.4]})
    ax_i.imshow(img, cmap="gray_r")
    for k in range(0, img.shape[0] + 1, patch):
        ax_i.axhline(k - 0.5, color=ACCENT, linewidth=1)
    for k in range(0, img.shape[1] + 1, patch):
        ax_i.axvline(k - 0.5, color=ACCENT, linewidth=1)
    grid_w = img.shape[1] // patch
    for idx in range(tok.shape[0]):
        r, c = divmod(idx, grid_w)
        ax_i.text(c * patch + (patch - 1) / 2, r * patch + (patch - 1) / 2, str(idx), color=ACCENT,
                  ha="center", va="center", fontsize=11, fontweight="bold")
    ax_i.set_title(f"image, cut into {patch}×{patch} patches")
    ax_i.set_xticks([])
    ax_i.set_yticks([])
    ax_t.imshow(tok, cmap="gray_r", aspect="auto")
    ax_t.set_yticks(range(tok.shape[0]), [f"patch {i}" for i in range(tok.shape[0])])
    ax_t.set_xticks(range(tok.shape[1]))
    ax_t.set_xlabel("pixel inside the patch (row by row)")
    ax_t.set_title("the same pixels as n tokens")
    fig.tight_layout()
    return fig


__all__ = ["training_curves", "head_grid", "query_rows", "head_table", "cosine_heatmap", "sense_scatter",
           "patches_figure", "TASK_COLOURS"]
