"""How strongly does the output at the last position depend on each earlier input?

Measured with autograd: the norm of d(output at position n-1) / d(input at position i), for a
randomly initialised tanh RNN and for one self-attention layer. Long gradient paths through a
recurrence shrink (or blow up) geometrically; one attention step does not care about distance.
"""
from __future__ import annotations

import torch

from ..attention import attention
from ..errors import check_int


def _inputs(n: int, d: int, seed: int) -> torch.Tensor:
    n = check_int(n, "n", minimum=2, maximum=256, meaning="number of tokens")
    d = check_int(d, "d", minimum=1, maximum=256, meaning="width of a token vector")
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64)          # (n, d)


def rnn_sensitivity(n: int = 32, d: int = 16, *, gain: float = 0.9, seed: int = 0) -> torch.Tensor:
    """(n,) norms ‖∂h_{n-1}/∂x_i‖ for h_t = tanh(W_h h_{t-1} + W_x x_t), W_h scaled to spectral radius `gain`."""
    g = torch.Generator().manual_seed(seed + 1)
    w_h = torch.randn(d, d, generator=g, dtype=torch.float64)
    w_h = gain * w_h / torch.linalg.eigvals(w_h).abs().max()            # (d, d), spectral radius = gain
    w_x = torch.randn(d, d, generator=g, dtype=torch.float64) / d ** 0.5  # (d, d)
    x = _inputs(n, d, seed).requires_grad_()
    h = torch.zeros(d, dtype=torch.float64)
    for t in range(n):
        h = torch.tanh(w_h @ h + w_x @ x[t])                              # (d,)
    return _row_norms(h, x)


def attention_sensitivity(n: int = 32, d: int = 16, *, seed: int = 0) -> torch.Tensor:
    """(n,) norms ‖∂y_{n-1}/∂x_i‖ for one self-attention layer with random projections (no positions)."""
    g = torch.Generator().manual_seed(seed + 2)
    w_q, w_k, w_v = (torch.randn(d, d, generator=g, dtype=torch.float64) / d ** 0.5 for _ in range(3))
    x = _inputs(n, d, seed).requires_grad_()
    y = attention(x @ w_q, x @ w_k, x @ w_v).output                      # (n, d)
    return _row_norms(y[-1], x)


def _row_norms(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of the Jacobian d(out)/d(x[i]) for every i."""
    jac = torch.stack([torch.autograd.grad(out[c], x, retain_graph=True)[0] for c in range(out.shape[0])])  # (d, n, d)
    return jac.pow(2).sum(dim=(0, 2)).sqrt().detach()                    # (n,)
