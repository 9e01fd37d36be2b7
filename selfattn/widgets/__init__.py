"""Live widgets for the book: thin views that hold state and call the math and the figures.

Every widget has a plain function behind it (in the math modules or selfattn.explore) with unit
tests, and every chapter shows a static figure of the same thing for readers without a kernel.
"""
from .heatmap import Heatmap, matrix_to_lists

__all__ = ["Heatmap", "matrix_to_lists"]
