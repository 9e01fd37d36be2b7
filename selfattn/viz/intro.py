"""Chapter 0's figure: where attention sits in a Transformer, drawn from explore.intro.TRANSFORMER_BLOCK."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from .style import ACCENT, PALETTE


def transformer_map(stages, *, n_label: str = "N"):
    """A top-to-bottom flow chart of the stages (name, what it does, chapter, inside_block).

    The stages inside each block are framed and marked "× N"; residual additions get a skip
    arrow from the input of their sub-layer; attention is drawn in the accent colour.
    """
    stages = list(stages)
    rows = len(stages) + 1                              # + the input tokens at the top
    fig, ax = plt.subplots(figsize=(7.0, 0.5 * rows + 0.9))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.7, rows - 0.3)
    ax.axis("off")
    y_of = {k: rows - 2 - k for k in range(len(stages))}
    box_w, box_h, x0 = 2.9, 0.62, 1.0

    def box(y, text, colour, weight="normal"):
        ax.add_patch(FancyBboxPatch((x0, y - box_h / 2), box_w, box_h, boxstyle="round,pad=0.03",
                                    fc=colour, ec="#444444", lw=1.0, zorder=2))
        ax.text(x0 + box_w / 2, y, text, ha="center", va="center", fontsize=10, fontweight=weight, zorder=3)

    top = rows - 1
    ax.text(x0 + box_w / 2, top, "tokens (ids)", ha="center", va="center", fontsize=10)
    ax.annotate("", xy=(x0 + box_w / 2, y_of[0] + box_h / 2), xytext=(x0 + box_w / 2, top - 0.25),
                arrowprops=dict(arrowstyle="-|>", color="#444444"))
    for k, (name, what, chapter, _inside) in enumerate(stages):
        y = y_of[k]
        is_attention = "attention" in name
        box(y, name, "#fde0dd" if is_attention else "#f2f2f2", "bold" if is_attention else "normal")
        ax.text(x0 + box_w + 0.5, y, f"{what}  ({chapter})", ha="left", va="center", fontsize=9,
                color=ACCENT if is_attention else "#222222")
        if k + 1 < len(stages):
            ax.annotate("", xy=(x0 + box_w / 2, y_of[k + 1] + box_h / 2), xytext=(x0 + box_w / 2, y - box_h / 2),
                        arrowprops=dict(arrowstyle="-|>", color="#444444"))
    # residual skips: from the input of each sub-layer (above its norm) to its "+ residual"
    for k, (name, *_rest) in enumerate(stages):
        if name.startswith("+ residual"):
            start = k - 2                               # the norm that begins this sub-layer
            y_start, y_end = y_of[start] + box_h / 2 + 0.12, y_of[k]
            xs = x0 - 0.25
            ax.plot([x0 + 0.3, xs, xs], [y_start, y_start, y_end], color=PALETTE[0], lw=1.4)
            ax.annotate("", xy=(x0, y_end), xytext=(xs, y_end), arrowprops=dict(arrowstyle="-|>", color=PALETTE[0]))
    inside = [y_of[k] for k, st in enumerate(stages) if st[3]]
    if inside:
        lo, hi = min(inside) - 0.45, max(inside) + 0.45
        ax.add_patch(FancyBboxPatch((x0 - 0.45, lo), box_w + 0.75, hi - lo, boxstyle="round,pad=0.02",
                                    fc="none", ec=PALETTE[0], lw=1.4, ls="--", zorder=1))
        ax.text(x0 - 0.6, (lo + hi) / 2, f"one Transformer block, repeated × {n_label}", ha="right", va="center",
                rotation=90, fontsize=9, color=PALETTE[0])
    ax.set_title("Where attention sits in a (decoder-only) Transformer", fontsize=11)
    fig.tight_layout()
    return fig
