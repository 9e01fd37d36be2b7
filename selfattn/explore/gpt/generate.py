"""Writing text one token at a time, with the key/value cache of chapter 8 and without it.

    with the cache:    run the prompt once (prefill), then feed only the newest token each step;
                       every block's KVCache keeps the keys and values of all earlier tokens.
    without the cache: rerun the whole model over everything so far at every step.

Both see the same numbers up to rounding, so with the same seed they write the same tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...errors import AttentionInputError, check_int
from ...limits import MAX_TOKENS
from ...masks import causal
from ..heads import HeadMaps
from .model import GPT
from .sampling import _draw, check_settings, distribution


@dataclass
class Prefill:
    """A prompt run through the model once: its ids, the logits for the next token, and the filled caches.

    `generate` and `next_token` continue from it; a widget keeps one per prompt, so that a new
    temperature or seed reruns only the generated tokens, never the prompt (`continue_from`
    first rolls the caches back to the prompt).
    """

    ids: torch.Tensor             # (n_prompt,)
    logits: torch.Tensor          # (vocab,) for the token after the prompt
    caches: list                  # one KVCache per block, holding the prompt's keys and values


@torch.inference_mode()
def prefill(model: GPT, prompt) -> Prefill:
    """Run prompt (n_prompt,) ids through the model once, filling one KVCache per block."""
    if not isinstance(model, GPT):
        raise AttentionInputError(f"model must be a GPT, got {type(model).__name__}")
    ids = model.check_ids(torch.as_tensor(prompt).reshape(1, -1))         # (1, n_prompt)
    was_training = model.training
    model.eval()
    caches = model.new_caches(1)
    logits = model._forward(ids, 0, caches)[0, -1]                        # (vocab,)
    model.train(was_training)
    return Prefill(ids[0], logits, caches)


@torch.inference_mode()
def continue_from(model: GPT, pre: Prefill, n_new: int, *, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, seed: int = 0) -> torch.Tensor:
    """(n_prompt + n_new,) ids: the prompt of `pre`, then n_new tokens drawn with the key/value cache."""
    n_new = check_int(n_new, "n_new", minimum=0)
    check_settings(temperature, top_k, top_p, vocab_size=model.cfg.vocab_size)
    n_prompt = pre.ids.shape[0]
    if n_prompt + n_new > model.cfg.context:
        raise AttentionInputError(f"prompt ({n_prompt} tokens) + n_new ({n_new}) passes the context window "
                                  f"of {model.cfg.context} tokens")
    for cache in pre.caches:
        cache.truncate(n_prompt)                                          # forget an earlier continuation
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    out = pre.ids.tolist()
    logits = pre.logits.double()                                          # (vocab,)
    for i in range(n_new):
        nxt = _draw(logits, gen, temperature, top_k, top_p)
        out.append(nxt)
        if i + 1 < n_new:                                                 # the last token needs no logits after it
            step = torch.tensor([[nxt]])                                  # (1, 1)
            logits = model._forward(step, n_prompt + i, pre.caches)[0, -1].double()   # (vocab,)
    model.train(was_training)
    return torch.tensor(out)                                              # (n_prompt + n_new,)


@torch.no_grad()
def generate(model: GPT, prompt, n_new: int, *, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, seed: int = 0, use_cache: bool = True) -> torch.Tensor:
    """prompt (n_prompt,) ids -> (n_prompt + n_new,) ids, sampled token by token (temperature 0: greedy)."""
    if not isinstance(model, GPT):
        raise AttentionInputError(f"model must be a GPT, got {type(model).__name__}")
    n_new = check_int(n_new, "n_new", minimum=0)
    ids = model.check_ids(torch.as_tensor(prompt).reshape(1, -1))         # (1, n_prompt)
    if ids.shape[1] + n_new > model.cfg.context:
        raise AttentionInputError(f"prompt ({ids.shape[1]} tokens) + n_new ({n_new}) passes the context window "
                                  f"of {model.cfg.context} tokens")
    settings = dict(temperature=temperature, top_k=top_k, top_p=top_p)
    if use_cache:
        return continue_from(model, prefill(model, ids[0]), n_new, seed=seed, **settings)
    check_settings(vocab_size=model.cfg.vocab_size, **settings)
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    out = ids[0].tolist()
    for _ in range(n_new):
        logits = model(torch.tensor([out]))[0, -1]                        # (vocab,) the whole context again
        out.append(_draw(logits.double(), gen, **settings))
    model.train(was_training)
    return torch.tensor(out)                                              # (n_prompt + n_new,)


@dataclass(frozen=True)
class NextToken:
    """What the model says after a prompt, under given sampling settings (the widget shows it).

    raw: (vocab,) softmax of the logits at temperature 1; probs: (vocab,) the distribution actually
    sampled from (after temperature, top-k, top-p); kept: (vocab,) bool; continuation: sampled text.
    """

    prompt: str
    raw: torch.Tensor
    probs: torch.Tensor
    kept: torch.Tensor
    continuation: str


def check_prompt(model: GPT, vocab, prompt: str, n_new: int = 0) -> torch.Tensor:
    """prompt -> (n,) ids, or an AttentionInputError saying what is wrong with it."""
    if not isinstance(prompt, str) or not prompt:
        raise AttentionInputError("type a prompt of at least one character")
    bad = vocab.unknown(prompt)
    if bad:
        raise AttentionInputError(f"the model knows only the {vocab.size} characters of its training text; "
                                  f"not {''.join(bad)!r}")
    room = model.cfg.context - n_new
    if len(prompt) > room:
        raise AttentionInputError(f"the prompt has {len(prompt)} characters; with {n_new} to write, at most "
                                  f"{room} fit in the context window of {model.cfg.context}")
    return vocab.encode(prompt)


@torch.no_grad()
def next_token(model: GPT, vocab, prompt: str, *, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int = 0, n_new: int = 40,
               prefilled: Prefill | None = None) -> tuple[NextToken, Prefill]:
    """The next-character distribution after `prompt` and a continuation sampled with the same settings.

    Returns (what to show, the prompt's Prefill). Pass that Prefill back as `prefilled` for the same
    prompt and only the continuation is recomputed (the prompt runs through the model once).
    """
    ids = check_prompt(model, vocab, prompt, n_new)                       # (n,)
    if prefilled is None or not torch.equal(prefilled.ids, ids):
        prefilled = prefill(model, ids)
    logits = prefilled.logits                                             # (vocab,)
    probs, kept = distribution(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    raw = torch.softmax(logits.double(), dim=0)                           # (vocab,)
    out = continue_from(model, prefilled, n_new, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
    return NextToken(prompt, raw, probs, kept, vocab.decode(out[len(ids):])), prefilled


@torch.no_grad()
def attention_maps(model: GPT, vocab, text: str) -> HeadMaps:
    """Every (layer, head) attention map of the model reading `text` (at most MAX_TOKENS characters)."""
    if len(text) > MAX_TOKENS:
        raise AttentionInputError(f"the head gallery shows at most {MAX_TOKENS} characters, got {len(text)}")
    ids = check_prompt(model, vocab, text)                                # (n,)
    model.eval()
    _, weights = model(ids[None], return_weights=True)                    # n_layers × (1, n_heads, n, n)
    stacked = torch.stack([w[0] for w in weights])                        # (n_layers, n_heads, n, n)
    return HeadMaps(tokens=tuple(vocab.label(i) for i in ids), weights=stacked,
                    mask=causal(len(text)), query=len(text) - 1)
