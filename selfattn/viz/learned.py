"""Figures for chapter 7: what a trained tiny transformer's heads do.

Every function takes numbers computed by selfattn.explore.learned (a History, an Inspection,
tables of mean attention or accuracy) and draws them; nothing is computed here. Returns a Figure.
The gallery of every (layer, head) is the book's one `selfattn.viz.heads.head_grid`.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .heatmap import add_colorbar, annotate_cells, attention_heatmap, label_matrix_axes, to_numpy
from .style import ACCENT, MARKERS, PALETTE, WEIGHTS_CMAP

TASK_COLOURS = {"pronoun": PALETTE[0], "roles": PALETTE[1], "sense": PALETTE[2], "induction": PALETTE[3]}


def training_curves(history, *, smooth: int = 25):
    """Training loss in bits (left, a running mean over `smooth` steps) and test accuracy per task (right)."""
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(7.0, 3.2))
    loss = np.asarray(history.loss_bits(), dtype=float)
    k = max(1, min(smooth, len(loss)))
    running = np.convolve(loss, np.ones(k) / k, mode="valid")
    ax_l.plot(history.steps[k - 1:], running, color=PALETTE[0])
    ax_l.set_yscale("log")
    ax_l.set_xlabel("training step")
    ax_l.set_ylabel(f"loss, bits (mean of {k} steps)")
    ax_l.set_title("cross-entropy, training batches", fontsize=10)
    for i, (task, acc) in enumerate(history.accuracy.items()):
        ax_a.plot(history.eval_steps, acc, marker=MARKERS[i % len(MARKERS)], markersize=4, label=task,
                  color=TASK_COLOURS.get(task, PALETTE[4]))
    ax_a.set_ylim(0, 1.03)
    ax_a.set_xlabel("training step")
    ax_a.set_ylabel("accuracy, held-out sentences")
    ax_a.set_title("test accuracy per task", fontsize=10)
    ax_a.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def query_rows(rows: Sequence, tokens: Sequence[Sequence[str]], titles: Sequence[str], *, query_labels=None,
               ncols: int = 2):
    """One query's weights in several sentences, as bar charts (one head), at most `ncols` per row.

    titles must differ from one another (two panels never share a title); the tallest bar is red
    and labelled with its weight.
    """
    count = len(rows)
    if len(set(titles)) != len(titles):
        raise ValueError(f"every panel needs its own title, got {list(titles)}")
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
        ax.text(top, min(r[top] + 0.03, 1.0), f"{r[top]:.2f}", ha="center", va="bottom", fontsize=8)
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
    annotate_cells(ax, t, im, fontsize=8)
    add_colorbar(im, ax, label=value_label)
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
    styles = {"river": (PALETTE[0], "o"), "money": (PALETTE[1], "s")}
    fig, axes = plt.subplots(1, len(points), figsize=(2.3 * len(points) + 0.4, 2.8), squeeze=False)
    for ax, p, t in zip(axes[0], points, titles):
        p = to_numpy(p).astype(float)
        for sense, (colour, marker) in styles.items():
            sel = senses == sense
            ax.scatter(p[sel, 0], p[sel, 1], s=14, alpha=0.7, color=colour, marker=marker, label=f"bank ({sense})")
        ax.set_title(t, fontsize=10)
        ax.set_xlabel("direction 1")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].set_ylabel("direction 2")
    axes[0][-1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


__all__ = ["training_curves", "query_rows", "head_table", "cosine_heatmap", "sense_scatter",
           "TASK_COLOURS"]
