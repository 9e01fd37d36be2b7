"""Chapter 1's figures: how a signal travels from one token to another in each architecture."""
from __future__ import annotations

import matplotlib.pyplot as plt

from ..explore import paths
from .style import ACCENT, PALETTE

TITLES = {"rnn": "RNN (recurrence)", "cnn": "CNN (kernel {k})", "dilated_cnn": "dilated CNN (kernel {k})",
          "attention": "self-attention"}


def draw_path(ax, arch: str, n: int, i: int, j: int, kernel: int = 3) -> None:
    """One panel: nodes by (layer, position), faint edges, the shortest path in red."""
    lay = paths.layout(arch, n, i, j, kernel)
    for (l0, p0), (l1, p1) in lay["edges"]:
        ax.plot([p0, p1], [l0, l1], color="#cccccc", lw=0.6, zorder=1)
    path = lay["path"]
    for (l0, p0), (l1, p1) in zip(path, path[1:]):
        ax.plot([p0, p1], [l0, l1], color=ACCENT, lw=2.2, zorder=3)
    xs = [p for _, p in lay["nodes"]]
    ys = [layer for layer, _ in lay["nodes"]]
    ax.scatter(xs, ys, s=22, color=PALETTE[0], zorder=2)
    ax.scatter([i], [0], s=70, color=ACCENT, zorder=4, label=f"token {i}")
    if path:
        ax.scatter([j], [path[-1][0]], s=70, color=ACCENT, marker="s", zorder=4, label=f"position {j}")
    length = "no path (information flows forward only)" if lay["length"] is None else f"path length {lay['length']}"
    ax.set_title(f"{TITLES[arch].format(k=kernel)}\n{length}")
    ax.set_xlabel("position")
    ax.set_ylabel("layer" if arch != "rnn" else "0 = input, 1 = hidden state")
    ax.set_xticks(range(n))
    ax.set_yticks(range(lay["layers"] + 1))


def path_comparison(n: int, i: int, j: int, kernel: int = 3, archs=("rnn", "cnn", "attention")):
    """Side-by-side panels of the shortest path from token i to position j in each architecture."""
    fig, axes = plt.subplots(1, len(archs), figsize=(4.2 * len(archs), 3.6))
    for ax, arch in zip(axes, archs):
        draw_path(ax, arch, n, i, j, kernel)
    fig.tight_layout()
    return fig


def path_growth(ns, kernel: int = 3):
    """Maximum path length against n for each architecture, measured on the graphs (log-log axes)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for colour, arch in zip(PALETTE, paths.ARCHITECTURES):
        ax.plot(ns, paths.growth(arch, ns, kernel), marker="o", color=colour, label=TITLES[arch].format(k=kernel))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("maximum path length (edges)")
    ax.set_title("How far apart can two tokens be?")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sensitivity_plot(rnn, attn):
    """Gradient norm of the last output with respect to each input position, RNN against attention."""
    n = len(rnn)
    distance = list(range(n - 1, -1, -1))      # position i is n-1-i tokens before the last one
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    ax.semilogy(distance, rnn.numpy(), marker="o", ms=3, color=PALETTE[1], label="tanh RNN")
    ax.semilogy(distance, attn.numpy(), marker="s", ms=3, color=PALETTE[0], label="one self-attention layer")
    ax.set_xlabel("distance from the last position (tokens)")
    ax.set_ylabel("‖∂ output / ∂ input‖ (log scale)")
    ax.set_title("How much the last output depends on each earlier token")
    ax.legend()
    fig.tight_layout()
    return fig
