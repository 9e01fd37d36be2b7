"""Notebook set-up shared by every chapter: seeds, print precision and figure style.

Every chapter's first code cell calls `setup()`, so stored outputs are the same on any machine.
"""
from __future__ import annotations

import random

import numpy as np
import torch


def setup(seed: int = 0) -> None:
    """Seed every generator and fix print precision so outputs are reproducible for nbval."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # the book's tensors are tiny: one thread is fastest and bit-reproducible
    np.set_printoptions(precision=3, suppress=True, linewidth=100)
    torch.set_printoptions(precision=3, sci_mode=False, linewidth=100)
    try:  # figures are optional for the math; set the book's style only where matplotlib is used
        from .viz.style import apply_style
        apply_style()
    except ImportError:
        pass


def fmt(x, decimals: int = 3) -> str:
    """Format a number, array or tensor with fixed decimals (for printed, nbval-checked values)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return np.array2string(np.round(x, decimals) + 0.0, precision=decimals, floatmode="fixed", suppress_small=True)
    return f"{x:.{decimals}f}"
