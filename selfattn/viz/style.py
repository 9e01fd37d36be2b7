"""One look for every figure and live view in the book: sizes, fonts, colours, and their contrast.

This module is the one source of the book's colours. Static figures read the constants here;
the live heatmap (selfattn.widgets.heatmap) sends `widget_palette()` to its ES module as a synced
trait, so no colour is copied by hand into JavaScript.

Contrast follows WCAG 2.x: `relative_luminance` of an sRGB colour, `contrast_ratio` of two
colours ((L1 + 0.05) / (L2 + 0.05)), and `text_colour_on(colour)` picks black or white text,
whichever contrasts more. Since black and white contrast 21:1, one of them is always at least
sqrt(21) ≈ 4.58:1 against any colour: text chosen this way always meets the 4.5:1 of WCAG AA.
"""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb

WEIGHTS_CMAP = "Blues"       # attention weights in [0, 1]
SCORES_CMAP = "RdBu_r"       # signed scores, centred on 0
MASK_BLOCKED = "#e8e8e8"     # a blocked (masked) cell: light grey under a dark hatch ...
BLOCKED_HATCH = "///"        # ... so blocked differs from open by a pattern, not only by a shade
HATCH_COLOUR = "#595959"     # the hatch lines (7:1 against MASK_BLOCKED)
MASK_OPEN = "#4a98c9"        # an open cell of a mask picture (may attend)
TEXT_DARK = "#000000"
TEXT_LIGHT = "#ffffff"
ACCENT = "#d62728"           # the one thing a figure wants you to look at
FOCUS = "#ff7f0e"            # the cell under the pointer or the keyboard focus in a live view
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]   # one per PALETTE entry: lines differ by more than hue
MIN_CONTRAST = 4.5           # WCAG AA for normal text


def relative_luminance(colour) -> float:
    """WCAG 2.x relative luminance of any matplotlib colour (name, hex, RGB tuple in 0..1)."""
    rgb = np.asarray(to_rgb(colour), dtype=float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def text_colour_on(colour) -> str:
    """TEXT_DARK or TEXT_LIGHT, whichever contrasts more with `colour` (always >= 4.5:1)."""
    return TEXT_DARK if contrast_ratio(colour, TEXT_DARK) >= contrast_ratio(colour, TEXT_LIGHT) else TEXT_LIGHT


def colour_stops(cmap_name: str, count: int = 17) -> list[list[int]]:
    """`count` evenly spaced colours of a matplotlib colour map as [r, g, b] in 0..255 (for the ES module)."""
    cmap = matplotlib.colormaps[cmap_name]
    return [[int(round(255 * c)) for c in cmap(t)[:3]] for t in np.linspace(0.0, 1.0, count)]


def widget_palette() -> dict:
    """Every colour the live heatmap uses, as one JSON-able dict (synced to heatmap.js)."""
    return {
        "weights": colour_stops(WEIGHTS_CMAP),
        "scores": colour_stops(SCORES_CMAP),
        "blocked": MASK_BLOCKED,
        "hatch": HATCH_COLOUR,
        "text_dark": TEXT_DARK,
        "text_light": TEXT_LIGHT,
        "selected": ACCENT,
        "focus": FOCUS,
    }


def set_alt(fig, text: str):
    """Give a figure its own alt text (what it shows, in a sentence or two); returns the figure."""
    fig._selfattn_alt = " ".join(str(text).split())
    return fig


def figure_alt(fig, limit: int = 600) -> str:
    """Alt text for a figure: its own (`set_alt`), else built from what it says about itself.

    The suptitle, then each panel's title, axis labels, legend entries and colour-scale label:
    "Figure: <suptitle>. Panel 1: <title> (x: <xlabel>; y: <ylabel>; lines: a, b). ..."
    """
    own = getattr(fig, "_selfattn_alt", None)
    if own:
        return own[:limit]
    parts = []
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text().strip():
        parts.append(sup.get_text().strip())
    colourbars = {id(ax) for ax in fig.axes if ax.get_label() == "<colorbar>"}
    panels = [ax for ax in fig.axes if ax.get_visible() and id(ax) not in colourbars]
    for k, ax in enumerate(panels):
        title = " ".join(t.get_text().strip() for t in (ax.title, ax._left_title, ax._right_title) if t.get_text().strip())
        bits = []
        if ax.get_xlabel().strip():
            bits.append(f"x: {ax.get_xlabel().strip()}")
        if ax.get_ylabel().strip():
            bits.append(f"y: {ax.get_ylabel().strip()}")
        legend = ax.get_legend()
        if legend is not None:
            names = [t.get_text() for t in legend.get_texts() if t.get_text().strip()]
            if names:
                bits.append("legend: " + ", ".join(names[:8]))
        if ax.images:
            bits.append("image/heatmap")
        inside = f"{'; '.join(bits)}" if bits else ""
        if len(panels) == 1:
            parts.append(f"{title} ({inside})" if title and inside else (title or inside))
        else:
            parts.append(f"panel {k + 1}: {title or 'untitled'}" + (f" ({inside})" if inside else ""))
    for ax in fig.axes:
        if id(ax) in colourbars:
            label = (ax.get_ylabel() or ax.get_xlabel()).strip()
            if label:
                parts.append(f"colour scale: {label}")
    text = "Figure: " + ". ".join(p.rstrip(".") for p in parts) + "." if parts else "Figure."
    return " ".join(text.split())[:limit]


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
        "hatch.color": HATCH_COLOUR,
        "hatch.linewidth": 1.0,
        "svg.hashsalt": "selfattn",
    })
