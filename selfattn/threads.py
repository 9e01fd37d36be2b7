"""Run a piece of torch code on a chosen number of threads, and put the old number back after.

The book's live tensors are tiny (n ≤ 16): handing them to a pool of threads costs more than the
arithmetic (on a busy 2-core machine two threads made a widget update 20-60 times slower), while
benchmarks and training want every core. One context manager serves both.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import wraps

import torch


@contextmanager
def torch_threads(n: int):
    """Inside the block torch uses ``n`` intra-op threads; afterwards the previous number again."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def on_one_thread(fn):
    """Decorator: run ``fn`` inside ``torch_threads(1)`` (for widget updates on tiny tensors)."""
    @wraps(fn)
    def wrapped(*args, **kwargs):
        with torch_threads(1):
            return fn(*args, **kwargs)
    return wrapped
