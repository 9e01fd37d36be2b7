"""Chapter 10's GPT: training tokens per second, and generation with and without the key/value cache.

1. Training: optimiser steps of the chapter's model and batch (selfattn.explore.gpt.train) on
   1 and 2 torch threads, interleaved; tokens per second = batch · context / median step time.
2. Generation: the time to produce one more token when `context` tokens are already there,
   (a) with every block's KVCache holding them (one cached step), (b) rerunning the model over all
   context + 1 tokens. Same layer shapes as the chapter's model, with a 1024-position table so
   longer contexts can be timed (timing does not depend on the weights' values). One thread, as
   in the notebooks.

    python benchmarks/gpt_bench.py [--repeats 15] [--json benchmarks/results/gpt_bench.json]

Prints a table, writes JSON (read by chapter 10) and a Markdown table beside it. The machine is
shared: medians, warm-up, interleaved A/B (and rounds over all contexts), and the load average
recorded with every row.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from selfattn.explore.gpt import GPT, GPTConfig  # noqa: E402
from selfattn.explore.gpt.data import batch, corpus  # noqa: E402
from selfattn.explore.gpt.train import CHAPTER_MODEL, CHAPTER_TRAINING, loss_bits  # noqa: E402
from selfattn.threads import torch_threads  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def training_rates(repeats: int) -> list[dict]:
    data = corpus()
    cfg = GPTConfig(vocab_size=data.vocab.size, **CHAPTER_MODEL)
    model = GPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    times = {1: [], 2: []}
    for i in range(repeats + 2):
        for threads in (1, 2):
            with torch_threads(threads):
                t0 = time.perf_counter()
                x, y = batch(data.train, CHAPTER_TRAINING.batch, cfg.context, gen)
                loss = loss_bits(model, x, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if i >= 2:                                                 # two warm-up rounds
                    times[threads].append(time.perf_counter() - t0)
    tokens = CHAPTER_TRAINING.batch * cfg.context
    return [{"threads": t, "step_ms": 1000 * statistics.median(v), "tokens_per_second": tokens / statistics.median(v),
             "tokens_per_step": tokens, "load_average": machine.load_average()} for t, v in times.items()]


@torch.no_grad()
def generation_times(contexts, repeats: int) -> list[dict]:
    cfg = GPTConfig(vocab_size=62, **{**CHAPTER_MODEL, "context": max(contexts) + 1, "dropout": 0.0})
    model = GPT(cfg).eval()
    rows = []
    with torch_threads(1):
        for _ in range(3):                                                # warm up every shape once, first
            for n in contexts:
                model(torch.zeros(1, n + 1, dtype=torch.long))
        setups = {}
        for n in contexts:
            ids = torch.randint(0, 62, (1, n + 1), generator=torch.Generator().manual_seed(n))   # (1, n + 1)
            caches = model.new_caches(1)
            model(ids[:, :n], caches=caches)                              # prefill: n tokens cached
            setups[n] = (ids, caches)
        cached = {n: [] for n in contexts}
        full = {n: [] for n in contexts}
        for i in range(repeats + 2):                                      # rounds over every context, so a
            for n in contexts:                                            # burst of load hits all of them alike
                ids, caches = setups[n]
                model(ids[:, n:], caches=caches)                          # untimed: settle after the last shape
                for c in caches:
                    c.truncate(n)
                t0 = time.perf_counter()
                a = model(ids[:, n:], caches=caches)[0, -1]               # one cached step
                t1 = time.perf_counter()
                b = model(ids)[0, -1]                                     # rerun all n + 1 tokens
                t2 = time.perf_counter()
                for c in caches:
                    c.truncate(n)                                         # forget the step, to repeat it
                if i >= 2:
                    cached[n].append(t1 - t0)
                    full[n].append(t2 - t1)
                assert torch.allclose(a, b, atol=1e-4), "cached and recomputed logits disagree"
        for n in contexts:
            rows.append({"context": n, "cached_ms": 1000 * statistics.median(cached[n]),
                         "recompute_ms": 1000 * statistics.median(full[n]),
                         "speedup": statistics.median(full[n]) / statistics.median(cached[n]),
                         "load_average": machine.load_average()})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--contexts", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512, 1024])
    parser.add_argument("--json", type=Path, default=RESULTS / "gpt_bench.json")
    args = parser.parse_args(argv)
    train_rows = training_rates(args.repeats)
    gen_rows = generation_times(args.contexts, args.repeats)
    print(f"{'threads':>7} {'ms/step':>9} {'tokens/s':>10}")
    for r in train_rows:
        print(f"{r['threads']:>7} {r['step_ms']:>9.1f} {r['tokens_per_second']:>10,.0f}")
    print(f"\n{'context':>7} {'cached ms':>10} {'recompute ms':>13} {'speed-up':>9}")
    for r in gen_rows:
        print(f"{r['context']:>7} {r['cached_ms']:>10.2f} {r['recompute_ms']:>13.2f} {r['speedup']:>8.1f}×")
    result = {"machine": machine.describe(threads="1 and 2 (training), 1 (generation)"),
              "model": CHAPTER_MODEL, "batch": CHAPTER_TRAINING.batch, "training": train_rows, "generation": gen_rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    md = ["# Chapter 10 GPT benchmark", "", f"Machine: {result['machine']}", "",
          "| threads | ms per training step | tokens/s |", "|---|---|---|"]
    md += [f"| {r['threads']} | {r['step_ms']:.1f} | {r['tokens_per_second']:,.0f} |" for r in train_rows]
    md += ["", "| context | cached ms/token | recompute ms/token | speed-up |", "|---|---|---|---|"]
    md += [f"| {r['context']} | {r['cached_ms']:.2f} | {r['recompute_ms']:.2f} | {r['speedup']:.1f}× |" for r in gen_rows]
    args.json.with_suffix(".md").write_text("\n".join(md) + "\n")
    print(f"\nwrote {args.json} and {args.json.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
