"""Turning the model's logits for the next token into a choice: greedy, temperature, top-k, top-p.

    temperature T:  p = softmax(logits / T). T < 1 sharpens, T > 1 flattens; T = 0 means greedy
                    (all probability on the largest logit). A decoding choice, made after training.
    top-k:          keep the k most probable tokens, renormalise.
    top-p (nucleus, Holtzman et al. 2019): keep the smallest set of most probable tokens whose
                    probability adds up to at least p, renormalise.

`distribution` applies them in that order (temperature, then top-k, then top-p) and returns the
probabilities and which tokens were kept; `sample` draws from it with a seeded torch.Generator.
Ties are broken towards the lower token id (a stable sort), so every function is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...errors import AttentionInputError, as_tensor, check_finite, check_int, check_number


@dataclass(frozen=True)
class Sampler:
    """Decoding settings: temperature (0 = greedy), top_k (None = all), top_p (None or 1.0 = all)."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self):
        check_settings(self.temperature, self.top_k, self.top_p)


def check_settings(temperature, top_k, top_p, vocab_size: int | None = None) -> None:
    check_number(temperature, "temperature", minimum=0.0, meaning="0 means greedy")
    if top_k is not None:
        check_int(top_k, "top_k", minimum=1, maximum=vocab_size, meaning="how many tokens to keep")
    if top_p is not None:
        check_number(top_p, "top_p", above=0.0, maximum=1.0, meaning="probability mass to keep")


def _logits(logits) -> torch.Tensor:
    t = as_tensor(logits, "logits")
    if t.dim() != 1 or t.shape[0] == 0:
        raise AttentionInputError(f"logits must have shape (vocab_size,), got {tuple(t.shape)}")
    check_finite(t, "logits")
    return t.double()                                                     # (vocab,)


def _order(probs: torch.Tensor) -> torch.Tensor:
    """Token ids from most to least probable; ties keep the lower id first."""
    return torch.sort(-probs, stable=True).indices                        # (vocab,)


def with_temperature(logits, temperature: float) -> torch.Tensor:
    """(vocab,) softmax(logits / T); T = 0 gives all probability to the first largest logit."""
    z = _logits(logits)                                                   # (vocab,)
    temperature = check_number(temperature, "temperature", minimum=0.0, meaning="0 means greedy")
    if temperature == 0:
        return torch.nn.functional.one_hot(z.argmax(), z.shape[0]).double()   # (vocab,)
    return torch.softmax(z / temperature, dim=0)                          # (vocab,)


def top_k_mask(probs: torch.Tensor, k: int) -> torch.Tensor:
    """(vocab,) bool: the k most probable tokens (exactly k, ties broken towards lower ids)."""
    k = check_int(k, "top_k", minimum=1, maximum=probs.shape[0], meaning="how many tokens to keep")
    keep = torch.zeros(probs.shape[0], dtype=torch.bool)                  # (vocab,)
    keep[_order(probs)[:k]] = True
    return keep


def top_p_mask(probs: torch.Tensor, p: float) -> torch.Tensor:
    """(vocab,) bool: the smallest set of most probable tokens whose probabilities sum to >= p.

    Walk down the tokens sorted by probability and keep each one while the mass *before* it is
    still below p; the token that carries the running sum to p or past it is the last one kept.
    """
    p = check_number(p, "top_p", above=0.0, maximum=1.0, meaning="probability mass to keep")
    order = _order(probs)                                                 # (vocab,)
    sorted_p = probs[order]                                               # (vocab,)
    before = torch.cumsum(sorted_p, dim=0) - sorted_p                     # (vocab,) mass of the tokens ahead
    keep_sorted = before < p - 1e-12                                      # (vocab,) tolerance for rounding
    keep_sorted[0] = True
    keep = torch.zeros_like(keep_sorted)
    keep[order] = keep_sorted
    return keep


def distribution(logits, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None):
    """(probs (vocab,), kept (vocab,) bool): the distribution a sampler draws from, renormalised."""
    z = _logits(logits)
    check_settings(temperature, top_k, top_p, vocab_size=z.shape[0])
    return _distribution(z, temperature, top_k, top_p)


def _distribution(z: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None):
    """`distribution` for logits and settings already checked (generation checks them once, not per token)."""
    probs = with_temperature(z, temperature)                              # (vocab,)
    kept = torch.ones(z.shape[0], dtype=torch.bool)                       # (vocab,)
    if temperature == 0:
        kept = probs > 0
    if top_k is not None:
        kept &= top_k_mask(probs, top_k)
    if top_p is not None and top_p < 1.0:
        kept &= top_p_mask(torch.where(kept, probs, 0.0) / probs[kept].sum(), top_p)
    probs = torch.where(kept, probs, 0.0)                                 # (vocab,)
    return probs / probs.sum(), kept


def sample(logits, generator: torch.Generator | None = None, *, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None) -> int:
    """Draw one token id. Greedy (temperature 0) needs no generator and ignores it."""
    z = _logits(logits)
    check_settings(temperature, top_k, top_p, vocab_size=z.shape[0])
    return _draw(z, generator, temperature, top_k, top_p)


def _draw(z: torch.Tensor, generator, temperature: float, top_k: int | None, top_p: float | None) -> int:
    """`sample` for float64 logits (vocab,) and settings already checked."""
    if temperature == 0:
        return int(z.argmax())                                            # the first largest logit, as with_temperature
    probs, _ = _distribution(z, temperature, top_k, top_p)
    return int(torch.multinomial(probs, 1, generator=generator))


def greedy(logits) -> int:
    """The most probable token (the first one, if several tie)."""
    return int(_logits(logits).argmax())
