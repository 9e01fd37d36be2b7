"""Figures for chapter 6: how d_model is split into heads, what each head attends to, and what it costs.

`head_grid` is the book's one gallery of attention heads: chapter 6 draws one layer's hand-built
heads with it, chapter 7 every (layer, head) of a trained model, chapter 10 those of a small GPT.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from .heatmap import add_colorbar, attention_heatmap, to_numpy
from .masks import WIDTH
from .style import ACCENT, PALETTE


def head_grid(weights, tokens: Sequence[str] | None = None, names: Sequence[str] | None = None, *, mask=None,
              query: int | None = None, ncols: int | None = None, title: str | None = None,
              suptitle: str | None = None):
    """A gallery of attention maps, one per (layer, head), with token labels and one colour scale.

    weights: (n_heads, n, n) for one layer, or (n_layers, n_heads, n, n), or a HeadMaps
    (selfattn.explore.heads) whose tokens, names, mask and query are used unless given here.
    names: one label per head. mask: (n, n) bool, True where a query may attend (computed by the
    math, e.g. selfattn.masks.causal(n)); blocked cells are grey and hatched. query: outline that
    row in every panel. ncols: panels per row (default 2; 3 for n <= 6 when that fills every
    row), so the figure stays
    about 7 in wide and its smallest text at least 9 px at a 1024 px notebook. title and
    suptitle are the same thing (the figure's title). Returns the Figure.
    """
    if hasattr(weights, "weights") and hasattr(weights, "tokens"):
        maps = weights
        weights, tokens = maps.weights, tokens if tokens is not None else maps.tokens
        names = names if names is not None else getattr(maps, "names", None)
        mask = mask if mask is not None else getattr(maps, "mask", None)
        if query is None and getattr(maps, "query", -1) >= 0:
            query = maps.query
    w = to_numpy(weights).astype(float)
    if w.ndim == 3:
        w = w[None]                                                      # (1, n_heads, n, n)
    if w.ndim != 4 or w.shape[-1] != w.shape[-2]:
        raise ValueError(f"head_grid needs weights of shape (n_heads, n, n) or (n_layers, n_heads, n, n), got {w.shape}")
    n_layers, n_heads, n, _ = w.shape
    tokens = [str(t) for t in tokens] if tokens is not None else [str(i) for i in range(n)]
    names = [str(x) for x in names] if names is not None else [""] * n_heads
    if len(tokens) != n or len(names) != n_heads:
        raise ValueError(f"need {n} tokens and {n_heads} head names, got {len(tokens)} and {len(names)}")
    m = None if mask is None else to_numpy(mask).astype(bool)
    count = n_layers * n_heads
    if ncols is None:                                                # 3 across only when it fills the rows
        ncols = 3 if n <= 6 and count % 3 == 0 else 2
    ncols = max(1, min(count, ncols))
    nrows = -(-count // ncols)
    bar = 0.9                                                        # inches kept for the colour scale
    cell = min((WIDTH - bar) / ncols, 0.3 * n + 1.6)
    width = cell * ncols + bar
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, cell * nrows + 0.4), squeeze=False)
    for idx, ax in enumerate(axes.flat):
        if idx >= count:
            ax.set_visible(False)
            continue
        layer, head = divmod(idx, n_heads)
        label = f"head {head}" if n_layers == 1 else f"layer {layer} · head {head}"
        attention_heatmap(w[layer, head], tokens, tokens, ax=ax, mask=m, colorbar=False, annotate=n <= 6,
                          title=label + (f": {names[head]}" if names[head] else ""),
                          xlabel="key" if idx // ncols == nrows - 1 else "",
                          ylabel="query" if idx % ncols == 0 else "")
        ax.title.set_fontsize(10)
        if query is not None:
            ax.add_patch(plt.Rectangle((-0.5, query - 0.5), n, 1, fill=False, edgecolor=ACCENT, linewidth=1.6,
                                       zorder=6))
    heading = title or suptitle
    if heading:
        fig.suptitle(heading)
    fig.tight_layout(rect=(0, 0, (width - bar) / width, 1))
    cax = fig.add_axes((1 - 0.75 / width, 0.25, 0.15 / width, 0.5))
    add_colorbar(axes.flat[0].images[0], cax=cax, label="weight")
    return fig


def neighbour_task_figure(results, *, smooth: int = 10):
    """Training loss (bits) of the previous-and-next-token task, one line per run, labelled by n_heads.

    results: NeighbourResult objects from selfattn.explore.heads.train_neighbour_task.
    """
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    markers = ("o", "s", "^", "D")
    for idx, r in enumerate(results):
        steps, running = r.running_loss_bits(smooth)     # the math's running mean, drawn as given
        heads = f"{r.n_heads} head" + ("s" if r.n_heads > 1 else "")
        ax.plot(steps, running, color=PALETTE[idx % len(PALETTE)], marker=markers[r.n_heads % len(markers)],
                markevery=(5 * idx, 40), markersize=5, linewidth=1.4,
                label=f"{heads} of width {r.d_head}, seed {r.seed}")
    ax.set_ylim(0, None)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"loss, bits per answer\n(running mean over {smooth} steps)")
    ax.set_title("previous and next token at once")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def split_heads_figure(n: int, d_model: int, n_heads: int):
    """Where each head's features come from: the columns of an (n, d_model) projection, coloured
    by head, become n_heads separate (n, d_head) matrices."""
    d_head = d_model // n_heads
    cmap = ListedColormap([PALETTE[h % len(PALETTE)] for h in range(n_heads)])
    cols = np.repeat(np.arange(n_heads), d_head)                         # (d_model,)
    full = np.tile(cols, (n, 1))                                         # (n, d_model)
    fig = plt.figure(figsize=(8.0, 2.4))
    grid = fig.add_gridspec(1, 2 + n_heads, width_ratios=[d_model, 0.35 * d_model] + [d_head] * n_heads)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(full, cmap=cmap, vmin=-0.5, vmax=n_heads - 0.5, aspect="auto")
    ax.set_xticks(np.arange(-0.5, d_model, d_head), [str(int(x + 0.5)) for x in np.arange(-0.5, d_model, d_head)],
                  fontsize=8)
    ax.set_yticks(range(n), [str(i) for i in range(n)], fontsize=8)
    ax.set_xlabel("feature (0..d_model-1)")
    ax.set_ylabel("token")
    ax.set_title(f"Q = X·W_Q: (n={n}, d_model={d_model})", fontsize=9)
    arrow = fig.add_subplot(grid[0, 1])
    arrow.axis("off")
    arrow.annotate("", xy=(0.95, 0.5), xytext=(0.05, 0.5), arrowprops=dict(arrowstyle="-|>", lw=2))
    arrow.text(0.5, 0.62, "view +\ntranspose", ha="center", va="bottom", fontsize=8)
    for h in range(n_heads):
        axh = fig.add_subplot(grid[0, 2 + h])
        axh.imshow(np.full((n, d_head), h), cmap=cmap, vmin=-0.5, vmax=n_heads - 0.5, aspect="auto")
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
