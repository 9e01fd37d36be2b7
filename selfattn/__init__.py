"""selfattn: the helper package of the selfattn textbook on self-attention.

The package mirrors the book: each chapter's topic has its computations in selfattn.explore,
its figures in selfattn.viz, its widgets in selfattn.widgets and its exercises in
selfattn.exercises. The math (the core modules here and selfattn.explore) never imports a
plotting or widget library. docs/CONTRIBUTING.md states the layers; tests/test_layers.py checks them.
"""
from . import masks
from .attention import AttentionResult, attention, softmax
from .errors import AttentionInputError
from .multihead import MultiHeadAttention

__all__ = ["attention", "AttentionResult", "softmax", "masks", "MultiHeadAttention", "AttentionInputError"]
__version__ = "0.1.0"
