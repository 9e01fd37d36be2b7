"""Figures for the book. Each function draws with matplotlib and returns the Figure.

Figures call the math in selfattn; nothing in the math imports this package.
Submodules by topic; the most used functions are re-exported here.
"""
from .heatmap import attention_heatmap, heatmap_grid, to_numpy
from .style import apply_style

__all__ = ["attention_heatmap", "heatmap_grid", "to_numpy", "apply_style"]
