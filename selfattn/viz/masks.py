"""Figures for chapter 5: masks as pictures, masked attention side by side, padded batches.

* `mask_picture`: an (n_q, n_k) mask as a grid of open and blocked cells, optionally with any
  open cell above the diagonal (a future token leaking through) outlined;
* `mask_row`: several masks side by side (causal, padding, and the two combined);
* `masked_side_by_side`: attention weights under different masks, one panel each, with the
  blocked cells grey (drawn by selfattn.viz.heatmap);
* `padded_batch_picture`: a batch of token sequences padded to one length;
* `mask_editor_figure`: a static picture of what the mask editor widget shows: the weights
  with blocked cells grey, and each row's sum beside it.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch, Rectangle

from .heatmap import attention_heatmap, label_matrix_axes, to_numpy
from .style import ACCENT, MASK_BLOCKED

MASK_OPEN_COLOUR = "#9ecae1"   # a light blue: "may attend"


def _labels(labels, count: int) -> list[str]:
    return [str(s) for s in labels] if labels is not None else [str(i) for i in range(count)]


def _mask2d(mask, what: str = "mask") -> np.ndarray:
    m = to_numpy(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (n_q, n_k) mask, got shape {m.shape}; pick one sequence, e.g. mask[0]")
    return m


def mask_picture(mask, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None, *,
                 ax=None, title: str | None = None, highlight_future: bool = True, legend: bool = True,
                 xlabel: str = "key (attended to)", ylabel: str = "query (attending)"):
    """Draw an (n_q, n_k) boolean mask: open cells (True, may attend) blue, blocked cells grey.

    highlight_future outlines, in red, every open cell above the diagonal: a query that can see
    a later token. Returns the Figure.
    """
    m = _mask2d(mask)
    n_q, n_k = m.shape
    rows, cols = _labels(row_labels, n_q), _labels(col_labels, n_k)
    if ax is None:
        size = max(2.6, min(6.0, 0.42 * max(n_q, n_k) + 1.6))
        fig, ax = plt.subplots(figsize=(size + (1.2 if legend else 0), size))
    fig = ax.figure
    ax.imshow(m.astype(float), cmap=ListedColormap([MASK_BLOCKED, MASK_OPEN_COLOUR]), vmin=0, vmax=1)
    ax.set_xticks(np.arange(-0.5, n_k, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_q, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="both", length=0)
    label_matrix_axes(ax, rows, cols, xlabel=xlabel, ylabel=ylabel)
    leaks = 0
    if highlight_future:
        for i in range(n_q):
            for j in range(i + 1, n_k):
                if m[i, j]:
                    leaks += 1
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=ACCENT, linewidth=2, zorder=5))
    if legend:
        handles = [Patch(facecolor=MASK_OPEN_COLOUR, label="open (may attend)"),
                   Patch(facecolor=MASK_BLOCKED, label="blocked")]
        if leaks:
            handles.append(Patch(facecolor="none", edgecolor=ACCENT, linewidth=2, label="sees a later token"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def mask_row(mask_list: Sequence, titles: Sequence[str], row_labels=None, col_labels=None, *,
             suptitle: str | None = None, highlight_future: bool = False):
    """Several (n_q, n_k) masks side by side, with a shared legend under the last panel."""
    count = len(mask_list)
    if count == 0 or len(titles) != count:
        raise ValueError(f"mask_row needs one title per mask, got {count} masks and {len(titles)} titles")
    n = max(_mask2d(mask_list[0]).shape)
    cell = max(2.3, min(3.6, 0.3 * n + 1.3))
    fig, axes = plt.subplots(1, count, figsize=(cell * count + 1.4, cell + 0.4), squeeze=False)
    for idx, ax in enumerate(axes.flat):
        mask_picture(mask_list[idx], row_labels, col_labels, ax=ax, title=titles[idx],
                     highlight_future=highlight_future, legend=idx == count - 1,
                     xlabel="key", ylabel="query" if idx == 0 else "")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def masked_side_by_side(weights_list: Sequence, titles: Sequence[str], labels: Sequence[str], *,
                        masks: Sequence | None = None, suptitle: str | None = None):
    """Attention weights under different masks, one panel each, blocked cells grey.

    Each panel is drawn by selfattn.viz.heatmap.attention_heatmap on one shared colour scale
    (0 to 1), so the same shade means the same weight in every panel.
    """
    count = len(weights_list)
    if count == 0 or len(titles) != count:
        raise ValueError(f"one title per matrix: got {count} matrices and {len(titles)} titles")
    if masks is not None and len(masks) != count:
        raise ValueError(f"one mask per matrix (or masks=None): got {count} matrices and {len(masks)} masks")
    n = max(to_numpy(weights_list[0]).shape)
    cell = max(2.8, min(4.6, 0.42 * n + 1.4))
    fig, axes = plt.subplots(1, count, figsize=(cell * count + 1.0, cell + 0.5), squeeze=False)
    for idx, ax in enumerate(axes.flat):
        attention_heatmap(weights_list[idx], labels, labels, ax=ax, title=titles[idx],
                          mask=None if masks is None else masks[idx], colorbar=False, annotate=n <= 10,
                          xlabel="key (attended to)", ylabel="query (attending)" if idx == 0 else "")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.915, 0.22, 0.018, 0.62))
    fig.colorbar(axes.flat[0].images[0], cax=cax, label="weight")
    return fig


def padded_batch_picture(sequences: Sequence[Sequence[str]], n: int | None = None, *, pad: str = "<pad>",
                         title: str | None = None):
    """A batch of token sequences padded on the right to one length n: real tokens blue, padding grey."""
    if not sequences:
        raise ValueError("padded_batch_picture needs at least one sequence")
    batch = len(sequences)
    n = n or max(len(s) for s in sequences)
    if any(len(s) > n for s in sequences):
        raise ValueError(f"every sequence must fit in n={n} positions")
    real = np.array([[j < len(s) for j in range(n)] for s in sequences], dtype=float)   # (batch, n)
    fig, ax = plt.subplots(figsize=(max(3.5, 0.85 * n + 1.5), 0.55 * batch + 1.2))
    ax.imshow(real, cmap=ListedColormap([MASK_BLOCKED, MASK_OPEN_COLOUR]), vmin=0, vmax=1, aspect="auto")
    for b, seq in enumerate(sequences):
        for j in range(n):
            word = seq[j] if j < len(seq) else pad
            ax.text(j, b, word, ha="center", va="center", fontsize=9, color="black" if j < len(seq) else "#636363")
    ax.set_xticks(range(n), [str(j) for j in range(n)])
    ax.set_yticks(range(batch), [f"sequence {b} (length {len(s)})" for b, s in enumerate(sequences)])
    ax.set_xticks(np.arange(-0.5, n, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, batch, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="both", length=0)
    ax.set_xlabel("position in the padded batch")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def mask_editor_figure(weights, mask, labels: Sequence[str], *, title: str | None = None,
                       clicked: Sequence[tuple[int, int]] = ()):
    """What the mask editor shows: weights with blocked cells grey, and each row's sum beside them.

    clicked: cells the reader has toggled, outlined in the accent colour. A row with no open key
    has weights 0 and a row sum of 0.
    """
    w = to_numpy(weights).astype(float)
    m = _mask2d(mask)
    n = w.shape[0]
    size = max(3.0, min(7.0, 0.45 * n + 1.8))
    fig, (ax, ax_sum) = plt.subplots(1, 2, figsize=(size + 0.9, size),
                                     gridspec_kw={"width_ratios": [n, 1.3]})
    attention_heatmap(w, labels, labels, ax=ax, mask=m, colorbar=False, annotate=n <= 12, title=title)
    for (i, j) in clicked:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=ACCENT, linewidth=2, zorder=5))
    sums = w.sum(axis=1, keepdims=True)                                # (n, 1)
    attention_heatmap(sums, labels, ["row sum"], ax=ax_sum, colorbar=False, annotate=True, xlabel="", ylabel="")
    ax_sum.set_yticks(range(n), [""] * n)
    fig.tight_layout()
    return fig
