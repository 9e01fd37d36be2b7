"""Multi-head attention as a torch module: split into heads, attend per head, concatenate, project.

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_O,  head_i = Attention(Q W_Q^i, K W_K^i, V W_V^i)

Short on purpose, with every shape written out, in the spirit of nanoGPT's model.py.
`n_kv_heads < n_heads` gives grouped-query attention (n_kv_heads = 1: multi-query attention),
where several query heads share one key/value head.
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import MASK_RULE, attention, check_mask, check_mask_fits
from .errors import AttentionInputError, as_tensor, check_finite, shape_str


class MultiHeadAttention(nn.Module):
    """Multi-head attention with d_model = n_heads · d_head.

    kdim, vdim: feature sizes of the key and value inputs when they differ from d_model
    (cross-attention to another sequence); default d_model.
    n_kv_heads: number of key/value heads (default n_heads); must divide n_heads.
    forward returns (output (batch, n_q, d_model), weights (batch, n_heads, n_q, n_k)).
    """

    def __init__(self, d_model: int, n_heads: int, *, kdim: int | None = None, vdim: int | None = None,
                 n_kv_heads: int | None = None, bias: bool = True):
        super().__init__()
        for name, val in (("d_model", d_model), ("n_heads", n_heads)):
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise AttentionInputError(f"{name} must be a positive integer, got {val!r}")
        if d_model % n_heads:
            raise AttentionInputError(
                f"d_model must be divisible by n_heads so every head gets d_head = d_model / n_heads features: "
                f"got d_model={d_model}, n_heads={n_heads} (d_model / n_heads = {d_model / n_heads:.3g})")
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if isinstance(n_kv_heads, bool) or not isinstance(n_kv_heads, int) or n_kv_heads < 1 or n_heads % n_kv_heads:
            raise AttentionInputError(
                f"n_kv_heads must be a positive integer that divides n_heads={n_heads}, got {n_kv_heads!r}")
        self.d_model, self.n_heads, self.n_kv_heads = d_model, n_heads, n_kv_heads
        self.d_head = d_model // n_heads
        self.kdim = d_model if kdim is None else kdim
        self.vdim = d_model if vdim is None else vdim
        self.w_q = nn.Linear(d_model, d_model, bias=bias)
        self.w_k = nn.Linear(self.kdim, n_kv_heads * self.d_head, bias=bias)
        self.w_v = nn.Linear(self.vdim, n_kv_heads * self.d_head, bias=bias)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)

    def _check_input(self, x, name: str, d: int) -> torch.Tensor:
        t = as_tensor(x, name)
        if t.dim() not in (2, 3) or t.shape[-1] != d or any(s == 0 for s in t.shape):
            raise AttentionInputError(
                f"{name} must have shape (batch, n, {d}) or (n, {d}), got shape {tuple(t.shape)}"
                + (f" = {shape_str(t.shape, ('batch', 'n', 'features'))}" if t.dim() in (2, 3) else "")
                + " (batch and n at least 1)")
        want = self.w_q.weight.dtype
        if t.dtype != want:
            raise AttentionInputError(
                f"{name} has dtype {t.dtype}, but the module's weights are {want}: convert the input "
                f"(e.g. {name}.to({want})) or the module (e.g. module.to({t.dtype}))")
        check_finite(t, name)
        return t if t.dim() == 3 else t.unsqueeze(0)

    def _check_mask(self, mask, batch: int, n_q: int, n_k: int) -> torch.Tensor:
        """The book's one mask rule, against the scores (batch, n_heads, n_q, n_k)."""
        m = check_mask(mask, n_q, n_k)
        if m.dim() == 3 and m.shape[0] > 1:
            raise AttentionInputError(
                f"a 3-D mask of shape {tuple(m.shape)} would be read as (n_heads, n_q, n_k) ({MASK_RULE}), "
                "which is easily mistaken for one mask per sequence; say which you mean: "
                "mask[:, None] for (batch, 1, n_q, n_k), one mask per sequence shared by the heads, "
                "or mask[None] for (1, n_heads, n_q, n_k), one mask per head")
        check_mask_fits(m, (batch, self.n_heads), "(batch, n_heads)")
        return m

    def split_heads(self, x: torch.Tensor, n_heads: int) -> torch.Tensor:
        """(batch, n, n_heads·d_head) -> (batch, n_heads, n, d_head)."""
        batch, n, _ = x.shape
        return x.view(batch, n, n_heads, self.d_head).transpose(1, 2)    # (batch, n_heads, n, d_head)

    def forward(self, x_q, x_k=None, x_v=None, *, mask=None, causal: bool = False):
        """Self-attention with forward(x); cross-attention with forward(x_q, x_k, x_v).

        mask: boolean, True where a query may attend. The mask rule is the one of
        `selfattn.attention`: the mask broadcasts against the scores (batch, n_heads, n_q, n_k)
        from the right (like torch's scaled_dot_product_attention) and may not enlarge them.
        (n_q, n_k) serves every sequence and head; one mask per sequence is (batch, 1, n_q, n_k)
        (a (batch, 1, n_k) padding mask from selfattn.masks.padding becomes padding(...)[:, None]);
        one per head is (n_heads, n_q, n_k) written as (1, n_heads, n_q, n_k). A 3-D mask with a
        leading dimension above 1 is refused as ambiguous, with a message that says which to write.
        """
        unbatched = as_tensor(x_q, "x_q").dim() == 2
        x_k = x_q if x_k is None else x_k
        x_v = x_k if x_v is None else x_v
        xq = self._check_input(x_q, "x_q", self.d_model)                  # (batch, n_q, d_model)
        xk = self._check_input(x_k, "x_k", self.kdim)                     # (batch, n_k, kdim)
        xv = self._check_input(x_v, "x_v", self.vdim)                     # (batch, n_k, vdim)
        if xk.shape[:2] != xv.shape[:2]:
            raise AttentionInputError(
                f"x_k and x_v must have the same (batch, n_k): got {tuple(xk.shape[:2])} and {tuple(xv.shape[:2])}")
        if xq.shape[0] != xk.shape[0]:
            raise AttentionInputError(
                f"x_q and x_k must have the same batch: got x_q {tuple(xq.shape)} and x_k {tuple(xk.shape)}")
        batch, n_q, _ = xq.shape
        n_k = xk.shape[1]
        if mask is not None:
            mask = self._check_mask(mask, batch, n_q, n_k)                 # broadcasts to (batch, n_heads, n_q, n_k)
        q = self.split_heads(self.w_q(xq), self.n_heads)                  # (batch, n_heads, n_q, d_head)
        k = self.split_heads(self.w_k(xk), self.n_kv_heads)               # (batch, n_kv_heads, n_k, d_head)
        v = self.split_heads(self.w_v(xv), self.n_kv_heads)               # (batch, n_kv_heads, n_k, d_head)
        group = self.n_heads // self.n_kv_heads
        if group > 1:
            # Grouped-query attention: fold each group's query heads into the query axis so one
            # key/value head serves them all without copying K and V.
            q = q.reshape(batch, self.n_kv_heads, group * n_q, self.d_head)  # (batch, n_kv_heads, group·n_q, d_head)
            mask = _fold_mask(mask, causal, batch, self.n_heads, self.n_kv_heads, n_q, n_k)
            causal = False
        res = attention(q, k, v, mask=mask, causal=causal)
        out = res.output.reshape(batch, self.n_heads, n_q, self.d_head)   # (batch, n_heads, n_q, d_head)
        weights = res.weights.reshape(batch, self.n_heads, n_q, n_k)      # (batch, n_heads, n_q, n_k)
        out = out.transpose(1, 2).reshape(batch, n_q, self.d_model)       # (batch, n_q, d_model)
        out = self.w_o(out)                                               # (batch, n_q, d_model)
        if unbatched:
            return out[0], weights[0]
        return out, weights

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a torch.nn.MultiheadAttention, so both compute the same function."""
        if not isinstance(m, nn.MultiheadAttention):
            raise AttentionInputError(f"from_torch needs a torch.nn.MultiheadAttention, got {type(m).__name__}")
        if m.bias_k is not None or m.add_zero_attn:
            raise AttentionInputError("from_torch does not support add_bias_kv or add_zero_attn")
        bias = m.in_proj_bias is not None
        mine = cls(m.embed_dim, m.num_heads, kdim=m.kdim, vdim=m.vdim, bias=bias)
        d = m.embed_dim
        with torch.no_grad():
            if m.in_proj_weight is not None:
                w_q, w_k, w_v = m.in_proj_weight.split(d)
            else:
                w_q, w_k, w_v = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
            mine.w_q.weight.copy_(w_q)
            mine.w_k.weight.copy_(w_k)
            mine.w_v.weight.copy_(w_v)
            mine.w_o.weight.copy_(m.out_proj.weight)
            if bias:
                b_q, b_k, b_v = m.in_proj_bias.split(d)
                mine.w_q.bias.copy_(b_q)
                mine.w_k.bias.copy_(b_k)
                mine.w_v.bias.copy_(b_v)
                mine.w_o.bias.copy_(m.out_proj.bias)
        return mine.to(m.out_proj.weight.dtype)

    def n_parameters(self) -> int:
        """Number of trainable parameters: 4·d_model² (+ 4·d_model biases) when kdim = vdim = d_model."""
        return sum(p.numel() for p in self.parameters())


def _fold_mask(mask, causal, batch, n_heads, n_kv_heads, n_q, n_k):
    """Rearrange a (batch?, n_heads?, n_q, n_k) mask to match queries folded as (n_kv_heads, group·n_q)."""
    from .masks import causal as causal_mask
    group = n_heads // n_kv_heads
    m = torch.ones(n_q, n_k, dtype=torch.bool) if mask is None else torch.as_tensor(mask)
    if causal:
        m = m & causal_mask(n_q, n_k)
    while m.dim() < 4:
        m = m.unsqueeze(0)                                                # (batch or 1, n_heads or 1, n_q, n_k)
    b = m.shape[0]
    m = m.expand(b, n_heads, n_q, n_k)                                    # (batch or 1, n_heads, n_q, n_k)
    return m.reshape(b, n_kv_heads, group * n_q, n_k)                     # (batch, n_kv_heads, group·n_q, n_k)
