"""Figures for chapter 5: masks as pictures, masked attention side by side, padded batches.

Every function draws what it is given: the masks, the future cells a mask lets through and the
real positions of a padded batch are computed by selfattn.masks and selfattn.explore.masks and
passed in.

* `mask_picture`: an (n_q, n_k) mask as a grid of open and blocked (grey, hatched) cells, with the
  given open cells above the diagonal (a future token leaking through) outlined;
* `mask_row`: several masks side by side, at most `ncols` to a row;
* `masked_side_by_side`: attention weights under different masks, one panel each, blocked cells
  grey and hatched, one colour scale;
* `padded_batch_picture`: a batch of token sequences padded to one length;
* `mask_editor_figure`: a static picture of what the mask editor widget shows: the weights with
  blocked cells grey and hatched, and each row's sum beside them.

Blocked cells carry a hatch pattern as well as a grey shade, so they read without colour (the
shared helpers of selfattn.viz.heatmap: `draw_mask`, `hatch_blocked`, `blocked_patch`).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch, Rectangle

from .heatmap import (add_colorbar, attention_heatmap, blocked_patch, draw_mask, hatch_blocked, label_matrix_axes,
                      open_patch, to_numpy)
from .style import ACCENT, MASK_BLOCKED, MASK_OPEN, text_colour_on

WIDTH = 7.0                    # inches: the widest figure, so text stays >= 9 px at a 1024 px notebook


def _labels(labels, count: int) -> list[str]:
    return [str(s) for s in labels] if labels is not None else [str(i) for i in range(count)]


def _mask2d(mask, what: str = "mask") -> np.ndarray:
    m = to_numpy(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (n_q, n_k) mask, got shape {m.shape}; pick one sequence, e.g. mask[0]")
    return m


def _outline(ax, cells, colour: str = ACCENT) -> int:
    count = 0
    for i, j in cells:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=colour, linewidth=2, zorder=5))
        count += 1
    return count


def mask_picture(mask, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None, *,
                 ax=None, title: str | None = None, leaks: Sequence[tuple[int, int]] = (), legend: bool = True,
                 xlabel: str = "key (attended to)", ylabel: str = "query (attending)",
                 rotation: float | None = None):
    """Draw an (n_q, n_k) boolean mask: open cells (True, may attend) blue, blocked cells grey and hatched.

    leaks: (query, key) cells to outline in red, the open cells that let a query see a later
    token (selfattn.explore.masks.future_cells computes them). rotation: of the key labels
    (default: label_matrix_axes decides). Returns the Figure.
    """
    m = _mask2d(mask)
    n_q, n_k = m.shape
    rows, cols = _labels(row_labels, n_q), _labels(col_labels, n_k)
    if ax is None:
        size = max(2.6, min(5.5, 0.42 * max(n_q, n_k) + 1.6))
        fig, ax = plt.subplots(figsize=(size + (1.6 if legend else 0), size))
    fig = ax.figure
    draw_mask(ax, m)
    label_matrix_axes(ax, rows, cols, xlabel=xlabel, ylabel=ylabel, rotation=rotation)
    outlined = _outline(ax, leaks)
    if legend:
        handles = [open_patch(), blocked_patch()]
        if outlined:
            handles.append(Patch(facecolor="none", edgecolor=ACCENT, linewidth=2, label="sees a later token"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def mask_row(mask_list: Sequence, titles: Sequence[str], row_labels=None, col_labels=None, *,
             leaks: Sequence[Sequence[tuple[int, int]]] | None = None, ncols: int = 3,
             suptitle: str | None = None):
    """Several (n_q, n_k) masks side by side, at most `ncols` per row, with one legend below.

    leaks: for each mask, the cells to outline (or None for none).
    """
    count = len(mask_list)
    if count == 0 or len(titles) != count:
        raise ValueError(f"mask_row needs one title per mask, got {count} masks and {len(titles)} titles")
    if leaks is not None and len(leaks) != count:
        raise ValueError(f"one list of leaking cells per mask (or leaks=None): got {len(leaks)} for {count} masks")
    ncols = max(1, min(ncols, count))
    nrows = -(-count // ncols)
    cell = min(WIDTH / ncols, 2.5)
    n_k = max(_mask2d(m).shape[1] for m in mask_list)
    rotation = 45 if cell / n_k < 0.45 else None     # narrow columns: slant the key labels so neighbours do not touch
    row_height = cell + (0.3 if rotation else 0)     # slanted labels need room above the next row's titles
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, row_height * nrows + 0.55), squeeze=False)
    for idx, ax in enumerate(axes.flat):
        if idx >= count:
            ax.set_visible(False)
            continue
        mask_picture(mask_list[idx], row_labels, col_labels, ax=ax, title=titles[idx],
                     leaks=() if leaks is None else leaks[idx], legend=False,
                     xlabel="key" if idx // ncols == nrows - 1 else "", ylabel="query" if idx % ncols == 0 else "",
                     rotation=rotation)
    handles = [open_patch(), blocked_patch()]
    if leaks is not None and any(len(x) for x in leaks):
        handles.append(Patch(facecolor="none", edgecolor=ACCENT, linewidth=2, label="sees a later token"))
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0.55 / (row_height * nrows + 0.55), 1, 1))
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), frameon=False, fontsize=9)
    return fig


def masked_side_by_side(weights_list: Sequence, titles: Sequence[str], labels: Sequence[str], *,
                        masks: Sequence | None = None, suptitle: str | None = None):
    """Attention weights under different masks, one panel each, blocked cells grey and hatched.

    Each panel is drawn by selfattn.viz.heatmap.attention_heatmap on one shared colour scale
    (0 to 1), so the same shade means the same weight in every panel.
    """
    count = len(weights_list)
    if count == 0 or len(titles) != count:
        raise ValueError(f"one title per matrix: got {count} matrices and {len(titles)} titles")
    if masks is not None and len(masks) != count:
        raise ValueError(f"one mask per matrix (or masks=None): got {count} matrices and {len(masks)} masks")
    n = max(to_numpy(weights_list[0]).shape)
    cell = min((WIDTH - 0.8) / count, 0.42 * n + 1.4)
    fig, axes = plt.subplots(1, count, figsize=(cell * count + 0.8, cell + 0.5), squeeze=False)
    for idx, ax in enumerate(axes.flat):
        mask = None if masks is None else masks[idx]
        attention_heatmap(weights_list[idx], labels, labels, ax=ax, title=titles[idx], mask=mask, colorbar=False,
                          annotate=n <= 8, xlabel="key (attended to)", ylabel="query (attending)" if idx == 0 else "")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    cax = fig.add_axes((0.9, 0.22, 0.022, 0.62))
    add_colorbar(axes.flat[0].images[0], cax=cax, label="weight")
    return fig


def padded_batch_picture(sequences: Sequence[Sequence[str]], real, *, pad: str = "<pad>", title: str | None = None):
    """A batch of token sequences padded on the right: real tokens blue, padding grey and hatched.

    real: (batch, n) bool, True at a real token (selfattn.explore.masks.real_positions).
    """
    r = to_numpy(real).astype(bool)
    if r.ndim != 2 or r.shape[0] != len(sequences):
        raise ValueError(f"real must be (batch={len(sequences)}, n), got shape {r.shape}")
    batch, n = r.shape
    fig, ax = plt.subplots(figsize=(min(WIDTH, max(3.5, 0.85 * n + 2.4)), 0.55 * batch + 1.2))
    ax.imshow(np.where(r, 1.0, np.nan), cmap=ListedColormap([MASK_OPEN]), vmin=0, vmax=1, aspect="auto")
    hatch_blocked(ax, ~r)
    for b, seq in enumerate(sequences):
        for j in range(n):
            word = seq[j] if j < len(seq) and r[b, j] else pad
            ax.text(j, b, word, ha="center", va="center", fontsize=9, zorder=6,
                    color=text_colour_on(MASK_OPEN) if r[b, j] else "black",
                    bbox=None if r[b, j] else dict(facecolor=MASK_BLOCKED, edgecolor="none", pad=1))
    ax.set_xticks(range(n), [str(j) for j in range(n)])
    ax.set_yticks(range(batch), [f"sequence {b} (length {int(r[b].sum())})" for b in range(batch)])
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


def mask_editor_figure(weights, mask, labels: Sequence[str], row_sums, *, title: str | None = None,
                       clicked: Sequence[tuple[int, int]] = ()):
    """What the mask editor shows: weights with blocked cells grey and hatched, each row's sum beside them.

    row_sums: (n,) the sums the math computed (selfattn.explore.masks.MaskView.row_sums); a row
    with no open key has weights 0 and a row sum of 0. clicked: cells the reader has toggled,
    outlined in the accent colour.
    """
    w = to_numpy(weights).astype(float)
    m = _mask2d(mask)
    sums = to_numpy(row_sums).astype(float).reshape(-1, 1)             # (n, 1)
    n = w.shape[0]
    size = max(3.0, min(6.0, 0.45 * n + 1.8))
    fig, (ax, ax_sum) = plt.subplots(1, 2, figsize=(size + 1.6, size),
                                     gridspec_kw={"width_ratios": [n, 1.3]})
    attention_heatmap(w, labels, labels, ax=ax, mask=m, colorbar=False, annotate=n <= 12, title=title)
    _outline(ax, clicked)
    attention_heatmap(sums, labels, ["row sum"], ax=ax_sum, colorbar=False, annotate=True, xlabel="", ylabel="")
    ax_sum.set_yticks(range(n), [""] * n)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    cax = fig.add_axes((0.88, 0.25, 0.025, 0.55))
    add_colorbar(ax.images[0], cax=cax, label="weight")
    return fig
