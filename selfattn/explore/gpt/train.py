"""Training chapter 10's GPT on the shipped text, and the shipped weights.

    train(model_cfg, train_cfg, data, callback)   AdamW, warm-up then cosine decay, seeded batches
    evaluate_bits(model, ids)                      cross-entropy in bits per character on a whole text
    save_weights / load_weights                    safetensors, with both configs and the losses as metadata

`python -m selfattn.explore.gpt.train --write` (or `make gpt-weights`) retrains with the
chapter's settings and rewrites selfattn/data/gpt_kjv.safetensors.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ...threads import torch_threads
from .config import GPTConfig, TrainConfig
from .data import DATA, Corpus, batch, corpus, windows
from .model import GPT

WEIGHTS = DATA / "gpt_kjv.safetensors"
LN2 = math.log(2.0)

#: the chapter's model and recipe (the shipped weights were trained with these)
CHAPTER_MODEL = dict(context=128, d_model=96, n_heads=4, n_layers=3, dropout=0.1, positions="learned", tied=True)
CHAPTER_TRAINING = TrainConfig(steps=800, batch=16, lr=6e-3, min_lr=3e-4, warmup=30, eval_every=50, eval_batches=4,
                               threads=2)


@dataclass
class History:
    """What training measured: losses in bits per character, time and tokens per second."""

    steps: list[int] = field(default_factory=list)
    train_bits: list[float] = field(default_factory=list)
    val_bits: list[float] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {"steps": self.steps, "train_bits": self.train_bits, "val_bits": self.val_bits,
                "seconds": self.seconds, "tokens": self.tokens}


def loss_bits(model: GPT, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the next-token predictions, in bits (torch's nats / ln 2)."""
    logits = model(x)                                                     # (batch, n, vocab_size)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)) / LN2


@torch.no_grad()
def estimate_bits(model: GPT, ids: torch.Tensor, n_batches: int, batch_size: int, seed: int) -> float:
    """Loss on a few seeded random windows (for the curve during training)."""
    was = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    total = sum(float(loss_bits(model, *batch(ids, batch_size, model.cfg.context, gen))) for _ in range(n_batches))
    model.train(was)
    return total / n_batches


@torch.no_grad()
def evaluate_bits(model: GPT, ids: torch.Tensor, *, windows_per_batch: int = 64) -> float:
    """Bits per character over the whole of `ids` (every character after the first, once),
    in consecutive windows of the context length (a batch of windows at a time), dropout off."""
    was = model.training
    model.eval()
    n = model.cfg.context
    pieces = list(windows(ids, n))
    total, count = 0.0, 0
    full = [p for p in pieces if p[0].shape[1] == n]
    rest = [p for p in pieces if p[0].shape[1] != n]
    for i in range(0, len(full), windows_per_batch):
        x = torch.cat([p[0] for p in full[i:i + windows_per_batch]])        # (windows, n)
        y = torch.cat([p[1] for p in full[i:i + windows_per_batch]])        # (windows, n)
        logits = model(x)                                                 # (windows, n, vocab_size)
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
        count += y.numel()
    for x, y in rest:
        logits = model(x)                                                 # (1, m, vocab_size)
        total += float(F.cross_entropy(logits[0], y[0], reduction="sum"))
        count += y.shape[1]
    model.train(was)
    return total / count / LN2


def xavier_init(model: GPT, seed: int = 0) -> GPT:
    """Re-initialise every weight matrix inside the blocks with Xavier-uniform (the initialisation of
    torch's nn.Transformer, in the spirit of the 2017 paper), biases and norms left as they are."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for block in model.blocks:
            for p in block.parameters():
                if p.dim() == 2:
                    torch.nn.init.xavier_uniform_(p)
    return model


def block_gradient_norms(model: GPT, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """For one batch's loss, the gradient norm of each block's MLP output matrix (W_2 of the MLP,
    the weights Xiong et al. 2020 follow), from block 0 (next to the input) to the last.

    Computed once, without an optimiser step: at initialisation it shows how hard the first update
    pushes each depth.
    """
    model.zero_grad(set_to_none=True)
    loss_bits(model, x, y).backward()
    norms = [float(b.mlp.sublayer.down.weight.grad.norm()) for b in model.blocks]
    model.zero_grad(set_to_none=True)
    return norms


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up over cfg.warmup steps, then a cosine from lr down to min_lr at the last step."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - 1 - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))


def train(model_cfg: GPTConfig, cfg: TrainConfig, data: Corpus, callback=None, *, model: GPT | None = None):
    """Train a GPT (seeded by cfg.seed) and return (model, History).

    callback(step, history) is called after every evaluation (for a progress bar and a live curve).
    Tokens per second counts the training tokens only (the evaluations are timed separately out).
    """
    model = GPT(model_cfg, seed=cfg.seed) if model is None else model
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith("pos.")]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2 or n.startswith("pos.")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(cfg.seed)
    history = History()
    model.train()
    with torch_threads(cfg.threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)                                       # dropout masks
        for step in range(cfg.steps):
            t0 = time.perf_counter()
            for group in opt.param_groups:
                group["lr"] = learning_rate(step, cfg)
            x, y = batch(data.train, cfg.batch, model_cfg.context, gen)    # (batch, n), (batch, n)
            loss = loss_bits(model, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            history.seconds += time.perf_counter() - t0
            history.tokens += x.numel()
            if (step + 1) % cfg.eval_every == 0 or step == cfg.steps - 1:
                history.steps.append(step + 1)
                history.train_bits.append(estimate_bits(model, data.train, cfg.eval_batches, cfg.batch, seed=1))
                history.val_bits.append(estimate_bits(model, data.val, cfg.eval_batches, cfg.batch, seed=2))
                if callback is not None:
                    callback(step + 1, history)
    model.eval()
    return model, history


def chapter_config(vocab_size: int) -> GPTConfig:
    return GPTConfig(vocab_size=vocab_size, **CHAPTER_MODEL)


def save_weights(model: GPT, path: Path, *, train_cfg: TrainConfig, metadata: dict) -> None:
    from safetensors.torch import save_file
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != "head.weight" or not model.cfg.tied}
    meta = {"gpt_config": json.dumps(model.cfg.to_dict()), "train_config": json.dumps(train_cfg.to_dict()),
            "measured": json.dumps(metadata)}
    save_file(tensors, str(path), metadata=meta)


def load_weights(path: Path = WEIGHTS) -> tuple[GPT, dict]:
    """(model in eval mode, metadata dict with 'gpt_config', 'train_config', 'measured')."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(str(path), framework="pt") as f:
        meta = {k: json.loads(v) for k, v in f.metadata().items()}
    model = GPT(GPTConfig(**meta["gpt_config"]))
    state = load_file(str(path))
    if model.cfg.tied:
        state["head.weight"] = state["tok.weight"]
    model.load_state_dict(state)
    return model.eval(), meta


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train chapter 10's GPT on the shipped text.")
    parser.add_argument("--write", action="store_true", help=f"rewrite {WEIGHTS.name}")
    parser.add_argument("--steps", type=int, default=CHAPTER_TRAINING.steps)
    args = parser.parse_args(argv)
    data = corpus()
    cfg = TrainConfig(**{**CHAPTER_TRAINING.to_dict(), "steps": args.steps})

    def report(step, h):
        print(f"step {step:>5}  train {h.train_bits[-1]:.3f}  val {h.val_bits[-1]:.3f} bits/char  "
              f"{h.tokens_per_second:,.0f} tokens/s", flush=True)

    model, history = train(chapter_config(data.vocab.size), cfg, data, report)
    with torch_threads(cfg.threads):
        val = evaluate_bits(model, data.val)
    print(f"validation (whole text): {val:.3f} bits per character; {history.seconds:.1f} s training, "
          f"{history.tokens_per_second:,.0f} tokens/s on {cfg.threads} threads")
    if args.write:
        save_weights(model, WEIGHTS, train_cfg=cfg, metadata={"val_bits": round(val, 4), "history": history.to_dict(),
                                                             "tokens_per_second": round(history.tokens_per_second)})
        print(f"wrote {WEIGHTS} ({WEIGHTS.stat().st_size / 2**20:.2f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
