"""One look for every figure in the book: sizes, fonts and the colour maps for weights and masks."""
import matplotlib.pyplot as plt

WEIGHTS_CMAP = "Blues"       # attention weights in [0, 1]
SCORES_CMAP = "RdBu_r"       # signed scores, centred on 0
MASK_BLOCKED = "#d9d9d9"     # a blocked (masked) cell
MASK_OPEN = "#ffffff"
ACCENT = "#d62728"           # the one thing a figure wants you to look at
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]


def apply_style() -> None:
    """Set matplotlib defaults for the book (small, readable PNGs that keep notebooks light)."""
    plt.rcParams.update({
        "figure.dpi": 90,
        "savefig.dpi": 90,
        "figure.figsize": (6.0, 4.0),
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "image.cmap": WEIGHTS_CMAP,
        "svg.hashsalt": "selfattn",
    })
