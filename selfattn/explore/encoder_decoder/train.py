"""Training chapter 11's encoder-decoder (teacher forcing), decoding it greedily, and its shipped weights."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ...errors import check_int, check_positive
from ...threads import torch_threads
from . import task
from .model import EncoderDecoder, EncoderDecoderConfig

WEIGHTS = Path(__file__).resolve().parents[2] / "data" / "encoder_decoder_dates.safetensors"


@dataclass(frozen=True)
class TrainSettings:
    """How the weights are found: AdamW on random batches of training dates, linear warm-up then cosine decay."""

    n_train: int = 20000
    n_test: int = 1000
    steps: int = 300
    batch: int = 128
    lr: float = 3e-3
    warmup: int = 50
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 2

    def __post_init__(self):
        for name in ("n_train", "n_test", "steps", "batch", "threads"):
            check_int(getattr(self, name), name, minimum=1)
        check_int(self.warmup, "warmup", minimum=0)
        check_positive(self.lr, "lr")


def loss_on(model: EncoderDecoder, dates: list[task.Date]) -> torch.Tensor:
    """Mean cross-entropy (nats) of the next target character, under teacher forcing."""
    src, src_mask = task.encode_sources(dates)
    tgt_in, tgt_out = task.encode_targets(dates)
    logits = model(src, src_mask, tgt_in).logits                               # (batch, n_tgt, vocab)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))


def train(cfg: EncoderDecoderConfig = EncoderDecoderConfig(), settings: TrainSettings = TrainSettings(), *,
          log_every: int = 100, on_log=None) -> tuple[EncoderDecoder, list[dict]]:
    """Train from seeded weights on seeded batches; returns the model (in eval mode) and the log.

    on_log(entry) is called at every log point (a progress bar or a live curve can listen).
    """
    train_dates, test_dates = task.split_dates(settings.n_train, settings.n_test, seed=settings.seed)
    model = EncoderDecoder(cfg, seed=settings.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    g = torch.Generator().manual_seed(settings.seed)
    log, t0 = [], time.perf_counter()
    with torch_threads(settings.threads):
        for step in range(1, settings.steps + 1):
            lr = settings.lr * min(1.0, step / max(settings.warmup, 1)) * 0.5 * (1 + math.cos(math.pi * step / settings.steps))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = torch.randint(len(train_dates), (settings.batch,), generator=g).tolist()
            model.train()
            loss = loss_on(model, [train_dates[i] for i in idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step % log_every == 0 or step == settings.steps:
                entry = {"step": step, "train_loss": loss.item(), "seconds": time.perf_counter() - t0}
                log.append(entry)
                if on_log is not None:
                    on_log(entry)
    return model.eval(), log


@torch.no_grad()
def greedy_decode(model: EncoderDecoder, dates_or_src, src_mask=None, *, use_cache: bool = True,
                  cross: str = "on") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Generate every target character greedily, one at a time.

    With use_cache the encoder runs once, each decoder layer's cross-attention keys and values are
    projected once from its output, and only the decoder's self-attention cache grows; without it
    every step reruns the decoder over the whole prefix. Returns the ids (batch, TARGET_LEN + 1)
    (ending with <eos>) and, per decoder layer, the cross-attention maps (batch, n_heads, TARGET_LEN + 1, n_src).
    """
    if src_mask is None:
        src, src_mask = task.encode_sources(dates_or_src)
    else:
        src = dates_or_src
    memory, _ = model.encode(src, src_mask)                                    # (batch, n_src, d_model)
    batch, steps = src.shape[0], task.TARGET_LEN + 1
    ids = torch.full((batch, 1), task.TARGET_ID[task.BOS], dtype=torch.long)   # (batch, 1)
    caches = model.new_caches(memory) if use_cache else (None, None)
    cross_rows = [[] for _ in model.decoder]
    for t in range(steps):
        if use_cache:
            out = model.decode(ids[:, -1:], memory, src_mask, start=t, self_caches=caches[0],
                               memory_caches=caches[1], cross=cross)
        else:
            out = model.decode(ids, memory, src_mask, cross=cross)
        next_id = out.logits[:, -1].argmax(-1, keepdim=True)                   # (batch, 1)
        ids = torch.cat([ids, next_id], 1)                                     # (batch, t + 2)
        for layer, w in enumerate(out.cross_weights):
            cross_rows[layer].append(w[:, :, -1:])                             # (batch, n_heads, 1, n_src)
    maps = [torch.cat(rows, 2) for rows in cross_rows]                         # per layer (batch, n_heads, steps, n_src)
    return ids[:, 1:], maps


def exact_match(model: EncoderDecoder, dates: list[task.Date], *, cross: str = "on", src=None, src_mask=None) -> float:
    """Fraction of dates whose whole output (all ten characters) is right."""
    if src is None:
        src, src_mask = task.encode_sources(dates)
    ids, _ = greedy_decode(model, src, src_mask, cross=cross)
    got = [task.decode_target(row) for row in ids]
    want = ["".join(d.target_tokens()) for d in dates]
    return sum(g == w for g, w in zip(got, want)) / len(dates)


def save(model: EncoderDecoder, settings: TrainSettings, path: Path = WEIGHTS, **facts) -> None:
    """The weights as safetensors, with the model's shape and the training recipe in its metadata."""
    from safetensors.torch import save_file
    meta = {"config": json.dumps(model.cfg.to_dict()), "settings": json.dumps(asdict(settings)),
            "facts": json.dumps(facts)}
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata=meta)


def load(path: Path = WEIGHTS) -> tuple[EncoderDecoder, TrainSettings, dict]:
    """The shipped model (eval mode), its training recipe, and the facts recorded when it was trained."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    model = EncoderDecoder(EncoderDecoderConfig(**json.loads(meta["config"])))
    model.load_state_dict(load_file(str(path)))
    return model.eval(), TrainSettings(**json.loads(meta["settings"])), json.loads(meta["facts"])


def main() -> None:
    """Retrain the shipped weights: python -m selfattn.explore.encoder_decoder.train"""
    settings = TrainSettings()
    model, log = train(settings=settings, on_log=lambda e: print(f"step {e['step']:5d}  loss {e['train_loss']:.4f}"
                                                               f"  {e['seconds']:6.1f} s", flush=True))
    _, test_dates = task.split_dates(settings.n_train, settings.n_test, seed=settings.seed)
    acc = exact_match(model, test_dates)
    print(f"held-out exact match: {acc:.3f} after {log[-1]['seconds']:.1f} s of training")
    save(model, settings, heldout_exact_match=acc, train_seconds=round(log[-1]["seconds"], 1))
    print(f"wrote {WEIGHTS}")


if __name__ == "__main__":
    main()
