"""Attention matrices as labelled heatmaps: rows are queries, columns are keys."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from .style import MASK_BLOCKED, SCORES_CMAP, WEIGHTS_CMAP


def to_numpy(x) -> np.ndarray:
    """A numpy copy of an array or (possibly grad-tracking) tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def label_matrix_axes(ax, row_labels, col_labels, *, xlabel: str, ylabel: str, rotation: float | None = None) -> None:
    """Token labels on both axes of a matrix picture, no tick marks, no frame (every matrix figure looks alike).

    Column labels longer than 3 characters are slanted 45° unless `rotation` says otherwise.
    """
    col_labels, row_labels = list(col_labels), list(row_labels)
    if rotation is None:
        rotation = 45 if max(map(len, map(str, col_labels)), default=0) > 3 else 0
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=rotation, ha="right" if rotation else "center")
    ax.set_yticks(range(len(row_labels)), row_labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)


def attention_heatmap(weights, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                      *, ax=None, title: str | None = None, mask=None, annotate: bool | None = None,
                      signed: bool = False, vmax: float | None = None, colorbar: bool = True,
                      xlabel: str = "key (attended to)", ylabel: str = "query (attending)"):
    """Draw an (n_q, n_k) matrix with token labels; blocked cells (mask False) are grey.

    annotate writes each value in its cell (default: when the matrix is at most 12×12).
    signed=True uses a diverging colour map centred on 0 (for raw scores). Returns the Figure.
    """
    w = to_numpy(weights).astype(float)
    if w.ndim != 2:
        raise ValueError(f"attention_heatmap needs a 2-D (n_q, n_k) matrix, got shape {w.shape}")
    n_q, n_k = w.shape
    row_labels = list(row_labels) if row_labels is not None else [str(i) for i in range(n_q)]
    col_labels = list(col_labels) if col_labels is not None else [str(j) for j in range(n_k)]
    if ax is None:
        size = max(2.6, min(7.0, 0.45 * max(n_q, n_k) + 1.6))
        fig, ax = plt.subplots(figsize=(size + (0.9 if colorbar else 0), size))
    fig = ax.figure
    blocked = None if mask is None else ~to_numpy(mask).astype(bool)
    shown = np.where(np.isfinite(w), w, np.nan)
    if blocked is not None:
        shown = np.where(np.broadcast_to(blocked, w.shape), np.nan, shown)
    if signed:
        lim = vmax if vmax is not None else max(1e-9, np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1)
        im = ax.imshow(shown, cmap=SCORES_CMAP, vmin=-lim, vmax=lim)
    else:
        im = ax.imshow(shown, cmap=WEIGHTS_CMAP, vmin=0, vmax=1 if vmax is None else vmax)
    if blocked is not None:
        grey = np.where(np.broadcast_to(blocked, w.shape), 1.0, np.nan)
        ax.imshow(grey, cmap=ListedColormap([MASK_BLOCKED]), vmin=0, vmax=1)
    label_matrix_axes(ax, row_labels, col_labels, xlabel=xlabel, ylabel=ylabel)
    if annotate is None:
        annotate = max(n_q, n_k) <= 12
    if annotate:
        top = np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1.0
        for i in range(n_q):
            for j in range(n_k):
                if np.isnan(shown[i, j]):
                    continue
                val = shown[i, j]
                dark = abs(val) > 0.6 * (top if signed else (vmax or 1))
                ax.text(j, i, f"{val:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    if colorbar:
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="score" if signed else "weight")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def heatmap_grid(matrices: Sequence, titles: Sequence[str], row_labels=None, col_labels=None, *, masks=None,
                 ncols: int | None = None, signed: bool = False, suptitle: str | None = None):
    """Several attention matrices side by side with shared labels (heads, layers, mask kinds)."""
    count = len(matrices)
    ncols = ncols or min(count, 4)
    nrows = -(-count // ncols)
    n = max(to_numpy(matrices[0]).shape)
    cell = max(2.4, min(4.2, 0.32 * n + 1.3))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows), squeeze=False)
    for idx, ax in enumerate(axes.flat):
        if idx >= count:
            ax.set_visible(False)
            continue
        attention_heatmap(matrices[idx], row_labels, col_labels, ax=ax, title=titles[idx], signed=signed,
                          mask=None if masks is None else masks[idx], colorbar=False,
                          annotate=n <= 7, xlabel="key", ylabel="query" if idx % ncols == 0 else "")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
