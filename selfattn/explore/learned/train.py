"""Training the tiny transformer, deterministically (chapter 7).

Same TinyConfig and TrainSettings, same weights, run after run: the weights and the order of
the batches come from seeded generators, torch runs its deterministic algorithms in float64, on
one thread (the matrices are far too small to be worth splitting, and one thread fixes the order
of every sum). Another processor or torch version may round the last bits of a sum differently.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from typing import Sequence

import torch
from torch.nn import functional as F

from ...errors import check_choice, check_int
from ...threads import torch_threads
from .batch import Batch, encode_batch
from .config import TinyConfig, TrainSettings
from .model import TinyTransformer
from .tasks import TASKS, Example, make_test_sets, make_train_set
from .vocab import IGNORE, VOCAB, Vocab


@contextmanager
def _deterministic_block():
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch_threads(1):
            yield
    finally:
        torch.use_deterministic_algorithms(was)


def deterministic(fn):
    """Decorator: run fn with torch's deterministic algorithms on one thread (see the module note)."""
    @wraps(fn)
    def wrapped(*args, **kwargs):
        with _deterministic_block():
            return fn(*args, **kwargs)
    return wrapped


@deterministic
def accuracy(model: TinyTransformer, examples, vocab: Vocab = VOCAB) -> float:
    """Fraction of target positions where the model's top word is the right one.

    examples: a list of Examples, or a Batch already made from them with encode_batch.
    """
    batch = examples if isinstance(examples, Batch) else encode_batch(examples, vocab)
    with torch.no_grad():
        logits = model(batch.ids, batch.mask).logits                       # (batch, n, vocab_size)
    keep = batch.targets != IGNORE                                         # (batch, n)
    right = (logits.argmax(-1) == batch.targets) & keep                    # (batch, n)
    return float(right.sum()) / float(keep.sum())


@dataclass
class History:
    """What `train` recorded: the loss every step, test accuracy per task every `eval_every` steps.

    loss is the cross-entropy in nats, as torch computes it (`loss_bits` converts).
    """

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    accuracy: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def final_accuracy(self) -> dict[str, float]:
        return {task: acc[-1] for task, acc in self.accuracy.items()}

    def loss_bits(self) -> list[float]:
        """The loss in bits (log base 2): nats divided by ln 2."""
        return [v / 0.6931471805599453 for v in self.loss]


def train(cfg: TinyConfig = TinyConfig(), settings: TrainSettings = TrainSettings(), *,
          tasks: Sequence[str] = TASKS, eval_every: int = 50,
          test_sets: dict[str, list[Example]] | None = None) -> tuple[TinyTransformer, History]:
    """Train a fresh TinyTransformer on a mixture of `tasks`; same arguments, same weights, every time.

    AdamW (plain Adam when weight_decay = 0) with a learning rate that falls linearly from lr to
    lr / 10; batches of settings.batch examples are drawn at random from a fixed pool of
    settings.count_per_task examples per task (test sentences left out).
    """
    for t in tasks:
        check_choice(t, "tasks", TASKS)
    eval_every = check_int(eval_every, "eval_every", minimum=1)
    test_sets = make_test_sets() if test_sets is None else test_sets
    test_sets = {t: test_sets[t] for t in tasks}
    s = settings
    with _deterministic_block():
        pool = make_train_set(s.count_per_task, s.seed, test_sets, tasks)
        data = encode_batch(pool)
        test_batches = {t: encode_batch(test_sets[t]) for t in tasks}
        model = TinyTransformer(cfg, seed=s.seed)
        opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        g = torch.Generator().manual_seed(s.seed)
        hist = History(accuracy={t: [] for t in tasks})
        start = time.perf_counter()
        for step in range(1, s.steps + 1):
            for group in opt.param_groups:       # linear decay to a tenth: calm, reproducible ends
                group["lr"] = s.lr * (1.0 - 0.9 * (step - 1) / max(1, s.steps - 1))
            idx = torch.randint(len(pool), (s.batch,), generator=g)           # (batch,)
            out = model(data.ids[idx], data.mask[idx])
            loss = F.cross_entropy(out.logits.reshape(-1, cfg.vocab_size),   # (batch·n, vocab_size)
                                   data.targets[idx].reshape(-1), ignore_index=IGNORE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            hist.steps.append(step)
            hist.loss.append(float(loss.detach()))
            if step % eval_every == 0 or step == s.steps:
                model.eval()
                hist.eval_steps.append(step)
                for t in tasks:
                    hist.accuracy[t].append(accuracy(model, test_batches[t]))
                model.train()
        hist.seconds = time.perf_counter() - start
    model.eval()
    return model, hist


@lru_cache(maxsize=4)
def trained_model(cfg: TinyConfig = TinyConfig(), settings: TrainSettings = TrainSettings()) -> TinyTransformer:
    """The model chapter 7 trains, trained once per Python process and then reused (widget demos)."""
    model, _ = train(cfg, settings)
    return model
