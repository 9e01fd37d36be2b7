"""selfattn: the helper package of the selfattn textbook on self-attention.

The math (attention, masks, multihead, positions, efficient) never imports a plotting or
widget library; figures live in selfattn.viz and live widgets in selfattn.widgets.
"""
from . import masks
from .attention import AttentionResult, attention, softmax
from .errors import AttentionInputError
from .multihead import MultiHeadAttention

__all__ = ["attention", "AttentionResult", "softmax", "masks", "MultiHeadAttention", "AttentionInputError"]
__version__ = "0.1.0"
