"""Checking what chapter 11's cross-attention learned: how much of it falls where it should.

For each target character the task says which source tokens hold its answer (task.alignment).
`aligned_share` measures, per decoder layer and head, the cross-attention weight that lands on
those tokens, averaged over the target characters that have an answer in the source (the two
dashes do not); `chance_share` is what spreading the weight evenly over the source would give.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import task


def _aligned_mask(dates: list[task.Date]) -> torch.Tensor:
    """(batch, TARGET_LEN, MAX_SOURCE_LEN) booleans: True where target i should read source j."""
    out = torch.zeros(len(dates), task.TARGET_LEN, task.MAX_SOURCE_LEN, dtype=torch.bool)
    for b, d in enumerate(dates):
        m = task.alignment_matrix(d)                                           # (TARGET_LEN, n_src)
        out[b, :, :m.shape[1]] = m
    return out


def aligned_share(cross_maps: list[torch.Tensor], dates: list[task.Date]) -> torch.Tensor:
    """Mean weight on the aligned source tokens, shape (n_layers, n_heads).

    cross_maps: per decoder layer (batch, n_heads, steps, n_src) from `train.greedy_decode`; step t
    is the query that writes target character t, so steps 0..TARGET_LEN-1 are compared.
    """
    aligned = _aligned_mask(dates)                                             # (batch, T, n_src)
    has_answer = aligned.any(-1)                                               # (batch, T)
    rows = []
    for w in cross_maps:
        w = w[:, :, :task.TARGET_LEN, :aligned.shape[-1]]                      # (batch, n_heads, T, n_src)
        on_target = (w * aligned[:, None]).sum(-1)                             # (batch, n_heads, T)
        per_head = (on_target * has_answer[:, None]).sum((0, 2)) / has_answer.sum()  # (n_heads,)
        rows.append(per_head)
    return torch.stack(rows)                                                   # (n_layers, n_heads)


def chance_share(dates: list[task.Date]) -> float:
    """The same share for weights spread evenly over each source's real tokens."""
    aligned = _aligned_mask(dates)                                             # (batch, T, n_src)
    n_src = torch.tensor([len(d.source_tokens()) for d in dates], dtype=torch.float64)  # (batch,)
    share = aligned.sum(-1) / n_src[:, None]                                   # (batch, T)
    has_answer = aligned.any(-1)
    return float((share * has_answer).sum() / has_answer.sum())


def shuffled_sources(dates: list[task.Date], *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The sources with each row's real tokens in a random order (the same tokens, scrambled positions)."""
    src, mask = task.encode_sources(dates)                                     # (batch, n_src) each
    g = torch.Generator().manual_seed(seed)
    for b, d in enumerate(dates):
        n = len(d.source_tokens())
        src[b, :n] = src[b, torch.randperm(n, generator=g)]
    return src, mask


@dataclass
class Ablation:
    """Held-out exact match of the trained model as it is, with cross-attention off, and on scrambled sources."""

    intact: float
    cross_off: float
    shuffled: float


def ablation(model, dates: list[task.Date], *, seed: int = 0) -> Ablation:
    """Exact match with everything on, with cross-attention switched off, and with the source scrambled."""
    from .train import exact_match
    src, mask = shuffled_sources(dates, seed=seed)
    return Ablation(intact=exact_match(model, dates), cross_off=exact_match(model, dates, cross="off"),
                    shuffled=exact_match(model, dates, src=src, src_mask=mask))
