"""Notebook set-up shared by every chapter: seeds, print precision, figure style, error display.

Every chapter's first code cell calls `setup()`, so stored outputs are the same on any machine.
In IPython, `setup()` gives every figure output an alt text (`describe_figures`), and makes the book's own errors
(`selfattn.AttentionInputError`) read as the message and the reader's own line, not thirty lines
of the package's stack; `full_traceback()` (or IPython's `%tb`) prints the whole stack.
Outside IPython nothing about errors changes.
"""
from __future__ import annotations

import linecache
import os
import random
import sys

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
    show_book_errors_briefly()
    describe_figures()


# --- the book's errors in a notebook ---------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_LAST_ERROR: list = []          # (etype, value, tb) of the last book error shown briefly


def _book_errors() -> tuple[type, ...]:
    from .errors import AttentionInputError
    return (AttentionInputError,)


def _is_readers(filename: str) -> bool:
    """True for code the reader wrote (a notebook cell or their own file), not the package or a library."""
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_PACKAGE_DIR + os.sep):
        return False
    if "site-packages" in path or "dist-packages" in path or path.startswith(sys.base_prefix + os.sep):
        return False
    return True


def brief_error(etype, value, tb, cell_numbers: dict | None = None) -> list[str]:
    """The lines shown for a book error: the message, then the reader's own line that led to it."""
    lines = [f"{etype.__name__}: {value}"]
    where = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if _is_readers(code.co_filename):
            where = (code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    if where is not None:
        filename, lineno, func = where
        text = linecache.getline(filename, lineno).strip()
        cell = (cell_numbers or {}).get(filename)
        place = f"cell [{cell}], line {lineno}" if cell is not None else f"line {lineno}"
        if func not in ("<module>",):
            place += f", in {func}()"
        lines.append(f"  raised by your code at {place}:")
        lines.append(f"    {text}")
    lines.append("  (the full traceback, through selfattn: run selfattn.book.full_traceback(), or %tb)")
    return lines


def _handler(shell, etype, value, tb, tb_offset=None):
    _LAST_ERROR[:] = [etype, value, tb]
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb   # so %tb shows this error
    sys.last_exc = value
    numbers = getattr(getattr(shell, "compile", None), "_filename_map", None)
    stb = brief_error(etype, value, tb, numbers if isinstance(numbers, dict) else None)
    shell._showtraceback(etype, value, stb)      # a notebook gets an ordinary error output
    return stb


def _shell():
    """The running IPython shell, or None (plain Python, or IPython not installed)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def show_book_errors_briefly() -> bool:
    """In IPython, show the book's errors as message + the reader's line (returns False elsewhere)."""
    shell = _shell()
    if shell is None:
        return False
    shell.set_custom_exc(_book_errors(), _handler)
    return True


def describe_figures() -> bool:
    """In IPython, give every matplotlib figure output an alt text (output metadata "alt").

    The text comes from `selfattn.viz.style.figure_alt`: the figure's own (set with `set_alt`),
    or its suptitle, panel titles, axis labels and legend. The static book and nbconvert put it
    in the page's <img alt>; JupyterLab 4 does not read it yet (jupyter/enhancement-proposals#120).
    """
    shell = _shell()
    if shell is None:
        return False
    try:
        import matplotlib
        from matplotlib.figure import Figure

        from .viz.style import figure_alt
    except ImportError:
        return False
    backend = matplotlib.get_backend(auto_select=False) if matplotlib.__version_info__ >= (3, 10) else \
        matplotlib.rcParams._get("backend")
    if backend in ("inline", "module://matplotlib_inline.backend_inline"):
        # pyplot picks its backend lazily, and the inline backend registers its PNG formatter when
        # first imported: import it now, so that registration comes before ours, not after
        import matplotlib_inline.backend_inline  # noqa: F401
    png = shell.display_formatter.formatters["image/png"]
    try:
        draw = png.lookup_by_type(Figure)
    except KeyError:
        return False
    if getattr(draw, "_selfattn_alt", False):
        return True

    def with_alt(fig):
        data = draw(fig)
        return (data, {"alt": figure_alt(fig)}) if data is not None else None

    with_alt._selfattn_alt = True
    png.for_type(Figure, with_alt)
    return True


def full_traceback() -> None:
    """Print the whole traceback of the last book error that was shown briefly."""
    if not _LAST_ERROR:
        print("No book error has been shown since setup().")
        return
    shell = _shell()
    if shell is None:
        import traceback
        traceback.print_exception(*_LAST_ERROR)
        return
    shell.showtraceback(tuple(_LAST_ERROR))


def fmt(x, decimals: int = 3) -> str:
    """Format a number, array or tensor with fixed decimals (for printed, nbval-checked values)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return np.array2string(np.round(x, decimals) + 0.0, precision=decimals, floatmode="fixed", suppress_small=True)
    return f"{x:.{decimals}f}"
