"""Chapter 1's figures: how a signal travels from one token to another in each architecture.

Every function draws what it is given: the graph layouts, the growth table and the measured
gradient norms all come from selfattn.explore.paths.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .heatmap import to_numpy
from .style import ACCENT, PALETTE

TITLES = {"rnn": "RNN (recurrence)", "cnn": "CNN (kernel {k})", "dilated_cnn": "dilated CNN (kernel {k})",
          "restricted_attention": "restricted attention (r = {k})", "attention": "self-attention"}
MARKERS = {"rnn": "o", "cnn": "s", "dilated_cnn": "^", "restricted_attention": "D", "attention": "v"}


def title(arch: str, kernel: int) -> str:
    """The panel title of one architecture ("CNN (kernel 3)")."""
    return TITLES[arch].format(k=kernel)


def draw_path(ax, lay: dict) -> None:
    """One panel from a paths.layout(...) dict: nodes by (layer, position), faint edges, the path in red."""
    arch, n, i, j, kernel = lay["arch"], lay["n"], lay["i"], lay["j"], lay["kernel"]
    for (l0, p0), (l1, p1) in lay["edges"]:
        ax.plot([p0, p1], [l0, l1], color="#c8c8c8", lw=0.6, zorder=1)
    path = lay["path"]
    for (l0, p0), (l1, p1) in zip(path, path[1:]):
        ax.plot([p0, p1], [l0, l1], color=ACCENT, lw=2.2, zorder=3)
    ax.scatter([p for _, p in lay["nodes"]], [layer for layer, _ in lay["nodes"]], s=18, color=PALETTE[0], zorder=2)
    ax.scatter([i], [0], s=60, color=ACCENT, zorder=4)
    if path:
        ax.scatter([j], [path[-1][0]], s=60, color=ACCENT, marker="s", zorder=4)
    length = "no path (forward only)" if lay["length"] is None else f"path length {lay['length']}"
    ax.set_title(f"{title(arch, kernel)}: {length}", fontsize=10)
    ax.set_xlabel("position" if arch != "rnn" else "position (h_p reads token p)", fontsize=9)
    ax.set_ylabel("layer" if arch != "rnn" else "", fontsize=9)
    ax.set_xticks(range(n))
    ax.set_yticks(range(lay["layers"] + 1) if arch != "rnn" else [0], [str(v) for v in range(lay["layers"] + 1)]
                  if arch != "rnn" else ["h"])
    ax.tick_params(labelsize=9)
    ax.set_ylim(-0.5, lay["layers"] + 0.5)


def path_comparison(layouts, ncols: int = 2):  # noqa: D401
    """Panels of the shortest path from token i to position j, one per layout (two per row)."""
    count = len(layouts)
    nrows = -(-count // ncols)
    heights = [max(1.0, max(lay["layers"] for lay in layouts[r * ncols:(r + 1) * ncols]) + 1.0) for r in range(nrows)]
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.0, 0.45 * sum(heights) + 1.1 * nrows), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, lay in zip(axes.flat, layouts):
        draw_path(ax, lay)
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def path_growth(ns, table: dict, kernel: int = 3, window: int | None = None):
    """Maximum path length against n for each architecture (table from paths.growth_table), log-log;
    each line carries a marker and a label at its right end."""
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    for colour, (arch, values) in zip(PALETTE, table.items()):
        k = window if arch == "restricted_attention" and window is not None else kernel
        ax.plot(ns, values, marker=MARKERS.get(arch, "o"), color=colour, label=title(arch, k))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("maximum path length (edges)")
    ax.set_title("How far apart can two tokens be?")
    ax.legend(fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def sensitivity_plot(sens):
    """Gradient norm of the last output with respect to each input, by distance (paths.Sensitivity):
    the geometric mean over seeds as a line with markers, the range over seeds as a band."""
    distance = to_numpy(sens.distance)
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for name, per_seed, geo, colour, marker in (("tanh RNN", sens.rnn, sens.geo_rnn, PALETTE[1], "o"),
                                                ("one self-attention layer", sens.attention, sens.geo_attention,
                                                 PALETTE[0], "s")):
        s = to_numpy(per_seed)
        ax.fill_between(distance, s.min(axis=0), s.max(axis=0), color=colour, alpha=0.18, lw=0)
        ax.semilogy(distance, to_numpy(geo), marker=marker, ms=4, color=colour,
                    label=f"{name}: geometric mean, band = range over {s.shape[0]} seeds")
    ax.set_xlabel("distance from the last position (tokens)")
    ax.set_ylabel("‖∂ output / ∂ input‖ (log scale)")
    ax.set_title("How much the last output depends on each earlier token")
    ax.set_xlim(0, float(np.max(distance)))
    ax.legend(fontsize=9, frameon=False, loc="lower left")
    fig.tight_layout()
    return fig
