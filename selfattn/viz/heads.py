"""Figures for chapter 6: how d_model is split into heads, what each head attends to, and what it costs."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from .heatmap import heatmap_grid, to_numpy
from .style import PALETTE


def head_grid(weights, tokens: Sequence[str], names: Sequence[str] | None = None, *, ncols: int | None = None,
              suptitle: str | None = None):
    """All heads of one layer side by side: weights (n_heads, n, n), one heatmap per head."""
    w = to_numpy(weights)
    if w.ndim != 3:
        raise ValueError(f"head_grid needs weights of shape (n_heads, n, n), got {w.shape}")
    n_heads = w.shape[0]
    names = list(names) if names is not None else [""] * n_heads
    titles = [f"head {h}" + (f": {nm}" if nm else "") for h, nm in enumerate(names)]
    return heatmap_grid(list(w), titles, tokens, tokens, ncols=ncols or min(n_heads, 4), suptitle=suptitle)


def split_heads_figure(n: int, d_model: int, n_heads: int):
    """Where each head's features come from: the columns of an (n, d_model) projection, coloured
    by head, become n_heads separate (n, d_head) matrices."""
    d_head = d_model // n_heads
    cmap = ListedColormap([PALETTE[h % len(PALETTE)] for h in range(n_heads)])
    cols = np.repeat(np.arange(n_heads), d_head)                         # (d_model,)
    full = np.tile(cols, (n, 1))                                         # (n, d_model)
    fig = plt.figure(figsize=(9.0, 2.3))
    grid = fig.add_gridspec(1, 2 + n_heads, width_ratios=[d_model, 0.35 * d_model] + [d_head] * n_heads)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(full, cmap=cmap, vmin=-0.5, vmax=n_heads - 0.5, aspect="equal")
    ax.set_xticks(np.arange(-0.5, d_model, d_head), [str(int(x + 0.5)) for x in np.arange(-0.5, d_model, d_head)],
                  fontsize=7)
    ax.set_yticks(range(n), [str(i) for i in range(n)], fontsize=7)
    ax.set_xlabel("feature (0..d_model-1)")
    ax.set_ylabel("token")
    ax.set_title(f"Q = X·W_Q: (n={n}, d_model={d_model})", fontsize=9)
    arrow = fig.add_subplot(grid[0, 1])
    arrow.axis("off")
    arrow.annotate("", xy=(0.95, 0.5), xytext=(0.05, 0.5), arrowprops=dict(arrowstyle="-|>", lw=2))
    arrow.text(0.5, 0.62, "view +\ntranspose", ha="center", va="bottom", fontsize=8)
    for h in range(n_heads):
        axh = fig.add_subplot(grid[0, 2 + h])
        axh.imshow(np.full((n, d_head), h), cmap=cmap, vmin=-0.5, vmax=n_heads - 0.5, aspect="equal")
        axh.set_xticks([])
        axh.set_yticks([])
        axh.set_title(f"head {h}", fontsize=9, color=PALETTE[h % len(PALETTE)])
        axh.set_xlabel(f"d_head={d_head}", fontsize=8)
    fig.suptitle(f"split_heads: (batch, n, d_model) -> (batch, n_heads={n_heads}, n, d_head={d_head})", fontsize=10)
    fig.tight_layout()
    return fig


def parameter_count_figure(d_model: int, counts: dict[int, dict[str, int]]):
    """Stacked bars of parameters per projection for several n_heads at one d_model.

    counts: {n_heads: {"W_Q": ..., "W_K": ..., "W_V": ..., "W_O": ...}} (weights and biases)."""
    heads = list(counts)
    parts = list(next(iter(counts.values())))
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    x = np.arange(len(heads))
    bottom = np.zeros(len(heads))
    for idx, part in enumerate(parts):
        vals = np.array([counts[h][part] for h in heads], dtype=float)
        ax.bar(x, vals, bottom=bottom, color=PALETTE[idx % len(PALETTE)], label=part, width=0.6)
        bottom += vals
    for xi, total in zip(x, bottom):
        ax.text(xi, total, f"{int(total):,}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [str(h) for h in heads])
    ax.set_xlabel("n_heads")
    ax.set_ylabel("parameters")
    ax.set_ylim(0, bottom.max() * 1.35)
    ax.set_title(f"Parameters of one multi-head attention layer, d_model = {d_model}")
    ax.legend(fontsize=8, ncols=len(parts), loc="upper center")
    fig.tight_layout()
    return fig
