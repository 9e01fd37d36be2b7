"""Contextual vectors: cosine similarity, the vector of a word in a sentence, a 2-D projection (chapter 7)."""
from __future__ import annotations

from typing import Sequence

import torch

from ...errors import AttentionInputError, check_int
from .model import TinyTransformer
from .probes import inspect


def cosine(u, v) -> float:
    """cos(u, v) = u·v / (|u| |v|): 1 for the same direction, 0 for perpendicular, -1 for opposite."""
    u, v = torch.as_tensor(u).double().reshape(-1), torch.as_tensor(v).double().reshape(-1)
    if u.shape != v.shape or u.numel() == 0:
        raise AttentionInputError(f"u and v must be non-empty vectors of the same length (d_model), "
                                  f"got {tuple(u.shape)} and {tuple(v.shape)}")
    nu, nv = u.norm(), v.norm()
    if nu == 0 or nv == 0:
        raise AttentionInputError("cosine similarity is undefined for a zero vector")
    return float(u @ v / (nu * nv))


def cosine_matrix(x) -> torch.Tensor:
    """(count, count) cosine similarity of every pair of rows of x (count, d_model)."""
    x = torch.as_tensor(x).double()
    if x.dim() != 2 or x.shape[0] == 0:
        raise AttentionInputError(f"x must have shape (count, d_model), got {tuple(x.shape)}")
    unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)               # (count, d_model)
    return unit @ unit.T                                                   # (count, count)


def word_vectors(model: TinyTransformer, sentences: Sequence, word: str, layer: int) -> torch.Tensor:
    """(count, d_model): the vector of `word` in each sentence, before layer 0 (layer=0) or after
    layer layer-1 (layer=1..n_layers). Each sentence must contain the word."""
    layer = check_int(layer, "layer", minimum=0, maximum=model.cfg.n_layers,
                      meaning="0 = the input vectors, l = after layer l - 1")
    rows = []
    for s in sentences:
        ins = inspect(model, s)
        if word not in ins.tokens:
            raise AttentionInputError(f"the sentence {' '.join(ins.tokens)!r} does not contain {word!r}")
        rows.append(ins.hidden[layer, ins.tokens.index(word)])             # (d_model,)
    return torch.stack(rows)                                               # (count, d_model)


def pca_2d(x) -> torch.Tensor:
    """(count, 2): the rows of x projected on their two main directions (signs fixed for reproducibility)."""
    x = torch.as_tensor(x).double()
    centred = x - x.mean(0, keepdim=True)                                  # (count, d_model)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)              # vh: (min(count, d_model), d_model)
    axes = vh[:2]                                                          # (2, d_model)
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))  # (2, 1)
    return centred @ (axes * signs).T                                      # (count, 2)
