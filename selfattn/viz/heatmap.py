"""Attention matrices as labelled heatmaps (rows are queries, columns are keys), and the helpers
every figure of the book uses to stay readable:

* `add_colorbar(im, ax, label)`: the colour scale, on every picture where colour carries a value;
* `annotate_cells(ax, values, im)`: a number in each cell, in black or white text chosen per cell
  so that it contrasts at least 4.5:1 with the cell's colour (`style.text_colour_on`);
* `hatch_blocked(ax, blocked)`: blocked cells drawn light grey under a dark hatch, so blocked and
  open differ by a pattern and not only by a shade; `blocked_patch()` is its legend entry;
* `draw_mask(ax, mask)`: a boolean mask as open (blue) and blocked (hatched) cells;
* `attention_heatmap` and `heatmap_grid`, built on these.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import ListedColormap
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch, Rectangle

from .style import (BLOCKED_HATCH, HATCH_COLOUR, MASK_BLOCKED, MASK_OPEN, SCORES_CMAP, WEIGHTS_CMAP,
                    text_colour_on)


def to_numpy(x) -> np.ndarray:
    """A numpy copy of an array or (possibly grad-tracking) tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def add_colorbar(im, ax=None, *, label: str, cax=None, **kwargs):
    """The colour scale of `im` (an imshow/pcolormesh result) beside `ax` (an Axes or a list of them,
    which then share it) or in `cax`, labelled.

    Use it on every picture where colour carries a value. Returns the Colorbar.
    """
    fig = im.axes.figure
    if cax is not None:
        return fig.colorbar(im, cax=cax, label=label, **kwargs)
    kwargs.setdefault("fraction", 0.046)
    kwargs.setdefault("pad", 0.04)
    return fig.colorbar(im, ax=ax, label=label, **kwargs)


def annotate_cells(ax, values, im, *, fmt: str = "{:.2f}", fontsize: float = 8, skip=None) -> int:
    """Write each finite value of the (n_q, n_k) `values` in its cell of `im`.

    The text is black or white per cell, whichever contrasts more with that cell's colour
    (always at least 4.5:1). Cells where `skip` is True (e.g. blocked ones) or the value is not
    finite stay empty. Returns the number of cells written.
    """
    v = to_numpy(values).astype(float)
    skip = np.zeros(v.shape, bool) if skip is None else np.broadcast_to(to_numpy(skip).astype(bool), v.shape)
    written = 0
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            if skip[i, j] or not np.isfinite(v[i, j]):
                continue
            colour = im.cmap(im.norm(v[i, j]))
            ax.text(j, i, fmt.format(v[i, j]), ha="center", va="center", fontsize=fontsize,
                    color=text_colour_on(colour))
            written += 1
    return written


def hatch_blocked(ax, blocked, *, zorder: float = 2):
    """Cover every blocked cell (True in the (n_q, n_k) `blocked`) with a light grey, hatched patch.

    Cells are in imshow coordinates (cell (i, j) centred at x=j, y=i). Runs of blocked cells in a
    row become one patch. Returns the PatchCollection (None when nothing is blocked).
    """
    b = to_numpy(blocked).astype(bool)
    rects = []
    for i in range(b.shape[0]):
        j = 0
        while j < b.shape[1]:
            if b[i, j]:
                start = j
                while j < b.shape[1] and b[i, j]:
                    j += 1
                rects.append(Rectangle((start - 0.5, i - 0.5), j - start, 1))
            else:
                j += 1
    if not rects:
        return None
    pc = PatchCollection(rects, facecolor=MASK_BLOCKED, edgecolor=HATCH_COLOUR, hatch=BLOCKED_HATCH,
                         linewidth=0, zorder=zorder)
    ax.add_collection(pc)
    return pc


def blocked_patch(label: str = "blocked") -> Patch:
    """The legend entry for cells drawn by `hatch_blocked`."""
    return Patch(facecolor=MASK_BLOCKED, edgecolor=HATCH_COLOUR, hatch=BLOCKED_HATCH, label=label)


def open_patch(label: str = "open (may attend)", colour: str = MASK_OPEN) -> Patch:
    """The legend entry for the open cells drawn by `draw_mask`."""
    return Patch(facecolor=colour, label=label)


def draw_mask(ax, mask, *, open_colour: str = MASK_OPEN, grid: bool = True):
    """Draw an (n_q, n_k) boolean mask (True = may attend): open cells blue, blocked cells hatched.

    Returns the image of the open cells; add `blocked_patch()` and `open_patch()` to a legend.
    """
    m = to_numpy(mask).astype(bool)
    n_q, n_k = m.shape
    shown = np.where(m, 1.0, np.nan)
    im = ax.imshow(shown, cmap=ListedColormap([open_colour]), vmin=0, vmax=1, interpolation="nearest")
    ax.set_xlim(-0.5, n_k - 0.5)
    ax.set_ylim(n_q - 0.5, -0.5)
    hatch_blocked(ax, ~m)
    if grid:
        ax.set_xticks(np.arange(-0.5, n_k, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, n_q, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="both", length=0)
    return im


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
    """Draw an (n_q, n_k) matrix with token labels, its colour scale, and blocked cells hatched.

    Blocked cells are those where `mask` is False, or the value is -inf/NaN. annotate writes each
    value in its cell in high-contrast text (default: when the matrix is at most 12×12).
    signed=True uses a diverging colour map centred on 0 (for raw scores). colorbar=False is for
    panels of a grid that shares one colour scale (heatmap_grid draws it). Returns the Figure.
    """
    w = to_numpy(weights).astype(float)
    if w.ndim != 2:
        raise ValueError(f"attention_heatmap needs a 2-D (n_q, n_k) matrix, got shape {w.shape}")
    n_q, n_k = w.shape
    row_labels = list(row_labels) if row_labels is not None else [str(i) for i in range(n_q)]
    col_labels = list(col_labels) if col_labels is not None else [str(j) for j in range(n_k)]
    if ax is None:
        size = max(2.6, min(6.0, 0.45 * max(n_q, n_k) + 1.6))   # at most 6.9 in wide with its colour scale
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
    label_matrix_axes(ax, row_labels, col_labels, xlabel=xlabel, ylabel=ylabel)
    gone = np.isnan(shown)          # blocked by the mask, or -inf/NaN in the input
    if gone.any():
        hatch_blocked(ax, gone)
    if annotate is None:
        annotate = max(n_q, n_k) <= 12
    if annotate:
        annotate_cells(ax, shown, im, fontsize=8)
    if colorbar:
        add_colorbar(im, ax, label="score" if signed else "weight")
    if title:
        ax.set_title(title)
    if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        fig.tight_layout()
    return fig


def heatmap_grid(matrices: Sequence, titles: Sequence[str], row_labels=None, col_labels=None, *, masks=None,
                 ncols: int | None = None, signed: bool = False, suptitle: str | None = None,
                 width: float = 7.0, colorbar: bool = True, annotate: bool | None = None):
    """Several attention matrices side by side with shared labels (heads, layers, mask kinds).

    The figure is at most `width` inches wide (7 in at 90 dpi fits a 1024 px notebook with text of
    at least 9 px): more panels wrap onto more rows. All panels share one colour scale, drawn once
    at the right (signed grids share one symmetric limit). Numbers are written in the cells when
    they fit (annotate=None), in text that contrasts at least 4.5:1 with each cell.
    """
    count = len(matrices)
    mats = [to_numpy(m).astype(float) for m in matrices]
    n = max(mats[0].shape)
    if ncols is None:
        most = 3 if n <= 6 else 2
        ncols = -(-count // -(-count // most))      # as even as the rows can be: 4 panels -> 2 × 2
    nrows = -(-count // ncols)
    cell = min(max(2.4, 0.32 * n + 1.3), (width - (0.8 if colorbar else 0.0)) / ncols)
    if annotate is None:
        annotate = cell / n >= 0.36          # room for "0.00" at 8 pt
    vmax = None
    if signed:
        finite = [np.abs(m[np.isfinite(m)]) for m in mats]
        vmax = max([float(f.max()) for f in finite if f.size] + [1e-9])
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols + (0.8 if colorbar else 0.0), cell * nrows + 0.4),
                             squeeze=False, layout="constrained")
    for idx, ax in enumerate(axes.flat):
        if idx >= count:
            ax.set_visible(False)
            continue
        attention_heatmap(mats[idx], row_labels, col_labels, ax=ax, title=titles[idx], signed=signed, vmax=vmax,
                          mask=None if masks is None else masks[idx], colorbar=False,
                          annotate=annotate, xlabel="key", ylabel="query" if idx % ncols == 0 else "")
    if suptitle:
        fig.suptitle(suptitle)
    if colorbar:
        shown = [ax for ax in axes.flat if ax.get_visible()]
        add_colorbar(shown[0].images[0], shown, label="score" if signed else "weight", fraction=0.04, shrink=0.8)
    return fig
