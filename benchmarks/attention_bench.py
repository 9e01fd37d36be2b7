"""The attention benchmark: time, peak memory, FLOP rate and error of every method against n.

    python benchmarks/attention_bench.py            # the full run: n = 1024 .. 16384, then --short (minutes)
    python benchmarks/attention_bench.py --long     # only n = 1024 .. 16384, into results/
    python benchmarks/attention_bench.py --short    # only short sequences, n = 128 .. 1024, into results/small_n/
    python benchmarks/attention_bench.py --quick    # small n, few repeats, one process: the code path works
    python benchmarks/attention_bench.py --ns 2048 4096 --merge   # measure some n again, keep the rest

For each method and each n, one fresh Python process (so no method inherits another's memory or
warm caches) builds seeded inputs q, k, v of shape (1, 1, n, 64) in float32, runs the method
once while watching the process's peak resident memory, then times it (median of several
calls), and finally compares its output with a float64 computation of the definition it
implements. Everything runs on two threads. Torch's own fused `scaled_dot_product_attention`
(SDPA) runs in the same session, so every ratio compares numbers measured under the same
conditions.

With --interleave (meant for small n on a shared machine), all methods at one n run in one
process, in turns: round after round, each method is called once, so a burst of other work
slows every method alike and the ratios stay meaningful; peak memory is not measured then.
--short is the configuration for short sequences: SHORT_NS, interleaved (30 rounds), one thread
(at n <= 1024 a second thread mostly adds waiting at OpenMP barriers when the machine is busy).

Results: a table on stdout, `attention_bench.json` (every number) and `attention_bench.md`
(tables and the machine) in benchmarks/results/ (or --out). Hand-written notes between the
NOTES markers of an existing .md file are kept when it is rewritten. With --merge, rows of an
earlier run at other n are kept, each row saying which run measured it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import machine  # noqa: E402

from selfattn import efficient as eff  # noqa: E402
from selfattn.threads import torch_threads  # noqa: E402

D_HEAD = 64
THREADS = 2               # torch threads per worker (--threads changes it for one run)
FULL_NS = (1024, 2048, 4096, 8192, 16384)
SHORT_NS = (128, 256, 512, 1024)      # --short: where the fused kernel's constant factor still decides
QUICK_NS = (200,)
WINDOW = 256              # sliding-window width (keys per query)
SPARSE_BLOCK = 64         # block size of the block-sparse layouts
TILE_KEYS = 512           # tiled attention: keys per block
CHUNK = 64                # chunked linear attention: tokens per chunk
N_FEATURES = 256          # Performer: random features F
ERROR_ROWS = 2048         # beyond this many queries, the error is checked on an evenly spread sample of rows
DISTURBED = 0.15          # a configuration during which other processes kept this much of the CPUs busy is rerun
RESULTS = HERE / "results"
# Idle OpenMP threads spin only briefly (about as long as Python takes between two torch
# operations) before they sleep. libgomp's default spins far longer: on a machine shared with
# other jobs, a spinning thread that loses its core stalls every parallel region, and methods made
# of many small torch operations suffer far more from that than one fused kernel. Sleeping at once
# (OMP_WAIT_POLICY=PASSIVE) costs those methods about 30% on an idle machine instead. On an idle
# machine this setting times the same as the default. Set GOMP_SPINCOUNT yourself to override.
GOMP_SPINCOUNT = "10000"
NOTES_BEGIN = "<!-- NOTES: hand-written; kept when this file is regenerated -->"
NOTES_END = "<!-- END NOTES -->"


# --------------------------------------------------------------------------- the methods
def _strided(n: int) -> eff.BlockLayout:
    n_blocks = math.ceil(n / SPARSE_BLOCK)
    return eff.strided_layout(n, SPARSE_BLOCK, max(1, round(math.sqrt(n_blocks))))   # stride ≈ √n, as in the paper


def _bigbird(n: int) -> eff.BlockLayout:
    return eff.bigbird_layout(n, SPARSE_BLOCK, window=3, n_global=2, n_random=3, seed=0)


def visible_pairs(layout: eff.BlockLayout) -> float:
    """(query, key) pairs a block layout lets through, counted block by block (no n×n mask)."""
    bs, n = layout.block_size, layout.n
    sizes = [min(bs, n - c * bs) for c in range(layout.n_blocks)]
    total = 0.0
    for c, c2 in layout.blocks.nonzero().tolist():
        if layout.causal and c == c2:
            total += sizes[c] * (sizes[c] + 1) / 2
        elif not layout.causal or c2 < c:
            total += sizes[c] * sizes[c2]
    return total


def _softmax_flops(pairs: float) -> float:
    return 4.0 * D_HEAD * pairs                    # 2·d for the score, 2·d for the weighted value, per pair


def _naive(causal: bool):
    def make(n: int):
        scale = 1.0 / math.sqrt(D_HEAD)

        def naive(q, k, v):
            scores = (q @ k.transpose(-2, -1)).mul_(scale)                       # (1, 1, n, n)
            if causal:
                scores.masked_fill_(torch.ones(n, n, dtype=torch.bool).triu_(1), float("-inf"))
            return torch.softmax(scores, dim=-1) @ v                             # (1, 1, n, d_head)
        return naive
    return make


@dataclass(frozen=True)
class Method:
    """One benchmarked method: how to build it for n, what it computes and what it is compared with.

    make(n) returns the function of (q, k, v) to time, with anything that is not part of the
    computation (a layout) prepared. flops(n) counts the useful operations (one multiply-add =
    2 flops). pattern(n), if given, is the (n, n) bool mask of keys each query may see, for the
    float64 reference; definition "kernel" means linear attention's own definition (elu + 1
    features), "softmax" exact softmax attention.
    """

    name: str
    what: str
    make: Callable[[int], Callable]
    flops: Callable[[int], float]
    causal: bool
    baseline: str | None = None                    # the SDPA configuration it is compared with
    pattern: Callable[[int], torch.Tensor] | None = None
    definition: str = "softmax"


def _linear(form: str) -> Method:
    return Method(f"linear_{form}", f"linear_attention, causal, {form}" + (f" ({CHUNK})" if form == "chunked" else ""),
                  lambda n: lambda q, k, v: eff.linear_attention(q, k, v, form=form, chunk_size=CHUNK),
                  lambda n: 4.0 * n * D_HEAD * D_HEAD, True, "sdpa_causal", definition="kernel")


METHODS: tuple[Method, ...] = (
    Method("sdpa_full", "torch SDPA, no mask (fused kernel)",
           lambda n: lambda q, k, v: F.scaled_dot_product_attention(q, k, v), lambda n: _softmax_flops(n * n), False),
    Method("sdpa_causal", "torch SDPA, is_causal=True (fused kernel)",
           lambda n: lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
           lambda n: _softmax_flops(n * (n + 1) / 2), True),
    Method("naive_full", "softmax(QKᵀ/√d_k)V, n×n matrix in memory", _naive(False),
           lambda n: _softmax_flops(n * n), False, "sdpa_full"),
    Method("naive_causal", "the same with a causal mask", _naive(True),
           lambda n: _softmax_flops(n * (n + 1) / 2), True, "sdpa_causal"),
    Method("tiled_full", f"tiled_attention, online softmax, {TILE_KEYS}-key blocks",
           lambda n: lambda q, k, v: eff.tiled_attention(q, k, v, block_size=TILE_KEYS),
           lambda n: _softmax_flops(n * n), False, "sdpa_full"),
    Method("tiled_causal", "tiled_attention, causal, future blocks skipped",
           lambda n: lambda q, k, v: eff.tiled_attention(q, k, v, block_size=TILE_KEYS, causal=True),
           lambda n: _softmax_flops(n * (n + 1) / 2), True, "sdpa_causal"),
    Method("sliding_window", f"sliding_window_attention, window {WINDOW}, causal",
           lambda n: lambda q, k, v: eff.sliding_window_attention(q, k, v, WINDOW),
           lambda n: _softmax_flops(sum(min(i + 1, WINDOW) for i in range(n))), True, "sdpa_causal",
           pattern=lambda n: eff.sliding_window_mask(n, WINDOW)),
    Method("strided_sparse", f"block_sparse_attention, strided layout, block {SPARSE_BLOCK}",
           lambda n: (lambda layout: lambda q, k, v: eff.block_sparse_attention(q, k, v, layout))(_strided(n)),
           lambda n: _softmax_flops(visible_pairs(_strided(n))), True, "sdpa_causal",
           pattern=lambda n: eff.layout_mask(_strided(n))),
    Method("bigbird_sparse", f"block_sparse_attention, BigBird layout, block {SPARSE_BLOCK}",
           lambda n: (lambda layout: lambda q, k, v: eff.block_sparse_attention(q, k, v, layout))(_bigbird(n)),
           lambda n: _softmax_flops(visible_pairs(_bigbird(n))), False, "sdpa_full",
           pattern=lambda n: eff.layout_mask(_bigbird(n))),
    _linear("chunked"), _linear("parallel"), _linear("recurrent"),
    Method("performer", f"performer_attention, {N_FEATURES} orthogonal features",
           lambda n: lambda q, k, v: eff.performer_attention(q, k, v, N_FEATURES, seed=0),
           lambda n: 8.0 * n * N_FEATURES * D_HEAD, False, "sdpa_full"),   # features of q and k, then the state
)
BY_NAME = {m.name: m for m in METHODS}


def select(names=None) -> tuple[Method, ...]:
    """The methods to run: `names` plus the SDPA baselines (and the naive version of a tiled one)."""
    if not names:
        return METHODS
    keep = {"sdpa_full", "sdpa_causal"} | set(names)
    keep |= {"naive_" + m.split("_")[1] for m in names if m.startswith("tiled_")}
    return tuple(m for m in METHODS if m.name in keep)


# --------------------------------------------------------------------------- the reference
def error_rows(n: int) -> torch.Tensor:
    """Query rows compared with the float64 reference: all up to ERROR_ROWS, else ERROR_ROWS rows
    spread evenly from the first to the last (the unit tests compare every row at small n)."""
    if n <= ERROR_ROWS:
        return torch.arange(n)
    return torch.linspace(0, n - 1, ERROR_ROWS).round().long().unique()


def exact_reference(method: Method, q, k, v, rows, *, definition: str | None = None) -> torch.Tensor:
    """float64 output (rows, d_v), for the given query rows, of the definition the method implements
    (or of `definition`, to compare linear attention with softmax attention too)."""
    definition = definition or method.definition
    q, k, v = (t[0, 0].double() for t in (q, k, v))                 # (n, d_head)
    n = q.shape[0]
    pattern = method.pattern(n) if method.pattern else None          # (n, n) or None
    phi = eff.FEATURE_MAPS["elu"]
    out = torch.empty(len(rows), v.shape[-1], dtype=torch.float64)   # (rows, d_head)
    for r0 in range(0, len(rows), 512):
        idx = rows[r0:r0 + 512]                                      # (chunk,) query positions
        visible = torch.ones(len(idx), n, dtype=torch.bool) if pattern is None else pattern[idx]   # (chunk, n)
        if method.causal:
            visible = visible & (torch.arange(n) <= idx.unsqueeze(1))
        if definition == "kernel":
            kernel = (phi(q[idx]) @ phi(k).T) * visible              # (chunk, n)
            out[r0:r0 + len(idx)] = (kernel @ v) / (kernel.sum(-1, keepdim=True) + 1e-6)
        else:
            scores = (q[idx] @ k.T / math.sqrt(q.shape[-1])).masked_fill(~visible, float("-inf"))   # (chunk, n)
            out[r0:r0 + len(idx)] = torch.softmax(scores, dim=-1) @ v
    return out


# --------------------------------------------------------------------------- measuring, in a worker process
def matmul_peak(repeats: int = 10, size: int = 2048) -> float:
    """GFLOP/s of a size×size float32 matrix product (the machine's practical peak right now)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * size ** 3 / statistics.median(times) / 1e9


def measure(method: Method, n: int, repeats: int) -> dict:
    """Time, peak memory and error of one method at one n, in this process."""
    g = torch.Generator().manual_seed(n)
    q, k, v = (torch.randn(1, 1, n, D_HEAD, generator=g) for _ in range(3))   # (batch, n_heads, n, d_head)
    fn = method.make(n)
    matmul_now = matmul_peak(5, 1024)                                # how fast this machine multiplies right now
    method.make(128)(*(t[..., :128, :].contiguous() for t in (q, k, v)))   # first-call costs (thread pools) out of the way

    machine.release_free_memory()
    baseline_kib = machine.status_kib("VmRSS")
    exact_peak = machine.reset_peak_rss()
    t0 = time.perf_counter()
    out = fn(q, k, v)                                                # (1, 1, n, d_head)
    first_s = time.perf_counter() - t0
    peak_kib = machine.status_kib("VmHWM")
    peak_mib = (peak_kib - baseline_kib) / 1024 if peak_kib >= 0 and baseline_kib >= 0 else float("nan")

    reps = repeats if first_s < 1.0 else max(2, min(repeats, 3))
    fn(q, k, v)                                                      # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(q, k, v)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    rows = error_rows(n)
    got = out[0, 0, rows].double()                                   # (rows, d_head)
    result = {
        "method": method.name, "n": n, "d_head": D_HEAD, "threads": torch.get_num_threads(),
        "median_s": median, "min_s": min(times), "times_s": times, "first_call_s": first_s,
        "peak_mib": peak_mib, "peak_exact": exact_peak, "gflops": method.flops(n) / median / 1e9,
        "matmul_gflops_before": matmul_now, "load_avg": machine.load_average(),
        "max_err": float((got - exact_reference(method, q, k, v, rows)).abs().max()),
        "reference": method.definition, "error_rows": len(rows),
    }
    if method.definition == "kernel":
        result["max_err_vs_softmax"] = float((got - exact_reference(method, q, k, v, rows, definition="softmax")).abs().max())
    return result


def measure_interleaved(methods: list[Method], n: int, rounds: int) -> list[dict]:
    """Time every method at one n in turns (one call each per round, the order rotating), in this process."""
    g = torch.Generator().manual_seed(n)
    q, k, v = (torch.randn(1, 1, n, D_HEAD, generator=g) for _ in range(3))   # (batch, n_heads, n, d_head)
    fns = [m.make(n) for m in methods]
    matmul_now = matmul_peak(5, 1024)
    outs = [fn(q, k, v) for fn in fns]                               # first calls and warm-up
    for fn in fns:
        fn(q, k, v)
    times: list[list[float]] = [[] for _ in methods]
    for r in range(rounds):
        for i in [(r + j) % len(fns) for j in range(len(fns))]:
            t0 = time.perf_counter()
            fns[i](q, k, v)
            times[i].append(time.perf_counter() - t0)
    rows = []
    idx = error_rows(n)
    for method, out, ts in zip(methods, outs, times):
        got = out[0, 0, idx].double()                                # (rows, d_head)
        median = statistics.median(ts)
        row = {"method": method.name, "n": n, "d_head": D_HEAD, "threads": torch.get_num_threads(),
               "median_s": median, "min_s": min(ts), "times_s": ts, "interleaved": True, "peak_mib": None,
               "gflops": method.flops(n) / median / 1e9, "matmul_gflops_before": matmul_now,
               "load_avg": machine.load_average(), "reference": method.definition, "error_rows": len(idx),
               "max_err": float((got - exact_reference(method, q, k, v, idx)).abs().max())}
        if method.definition == "kernel":
            row["max_err_vs_softmax"] = float((got - exact_reference(method, q, k, v, idx, definition="softmax")).abs().max())
        rows.append(row)
    return rows


def worker(configs: list, threads: int = THREADS) -> None:
    """Measure each [name, n, repeats], ["interleaved", names, n, rounds] or ["matmul_peak", repeats, size];
    JSON lines on stdout."""
    with torch_threads(threads):
        for item in configs:
            if item[0] == "matmul_peak":
                print(json.dumps({"matmul_peak_gflops": matmul_peak(item[1], item[2])}), flush=True)
            elif item[0] == "interleaved":
                for row in measure_interleaved([BY_NAME[m] for m in item[1]], int(item[2]), int(item[3])):
                    print(json.dumps(row), flush=True)
            else:
                name, n, repeats = item
                print(json.dumps(measure(BY_NAME[name], int(n), int(repeats))), flush=True)


def spawn(configs: list, threads: int = THREADS) -> list[dict]:
    """Run `worker(configs, threads)` in a fresh Python process with the benchmark's thread settings."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(configs),
                           "--threads", str(threads)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {configs}:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


# --------------------------------------------------------------------------- running
def _fmt(x, spec=".2f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return format(x, spec)


def run(methods, ns, repeats: int, *, quick: bool, max_wait_s: float = 0.0, retries: int = 2,
        interleave_rounds: int = 0, threads: int = THREADS, progress=print) -> dict:
    """Measure every method at every n. Returns {"run": what describes the run, "results": rows}."""
    names = [m.name for m in methods]
    start = time.perf_counter()
    info = machine.describe(threads_used=threads, gomp_spincount=os.environ.get("GOMP_SPINCOUNT", GOMP_SPINCOUNT),
                            quick=quick, interleaved=bool(interleave_rounds))
    results: list[dict] = []
    if quick:                      # one process for everything: checks the code path, measures nothing
        rows = spawn([["matmul_peak", 3, 512]] + [[m, n, repeats] for n in ns for m in names], threads)
        peak, results = rows[0]["matmul_peak_gflops"], rows[1:]
    elif interleave_rounds:        # one process per n, methods in turns
        peak = spawn([["matmul_peak", 10, 2048]], threads)[0]["matmul_peak_gflops"]
        for n in ns:
            busy = machine.wait_for_quiet(max_wait_s) if max_wait_s > 0 else machine.cpu_busy(0.2)
            before = machine.cpu_snapshot()
            rows = spawn([["interleaved", names, n, interleave_rounds]], threads)
            others = machine.others_busy(before)
            for row in rows:
                row.update(cpu_busy_before=busy, others_busy_during=others, attempt=1)
                progress(f"  n={n:>6} {row['method']:<17} {row['median_s'] * 1e3:10.3f} ms (interleaved; other work: "
                         f"{_fmt(busy)} before, {_fmt(others)} during)")
            results += rows
    else:
        peak = spawn([["matmul_peak", 10, 2048]], threads)[0]["matmul_peak_gflops"]
        progress(f"matmul peak: {peak:.1f} GFLOP/s on {threads} threads")
        todo = [(m, n) for n in ns for m in names]
        for attempt in range(1 + retries):
            disturbed = []
            for m, n in todo:
                t0 = time.perf_counter()
                busy = machine.wait_for_quiet(max_wait_s) if max_wait_s > 0 else machine.cpu_busy(0.2)
                before = machine.cpu_snapshot()
                row = spawn([[m, n, repeats]], threads)[0]
                others = machine.others_busy(before)
                row.update(cpu_busy_before=busy, others_busy_during=others, attempt=attempt + 1)
                old = next((r for r in results if r["method"] == m and r["n"] == n), None)
                if old is None or (others or 0) < (old["others_busy_during"] or 0):
                    if old is not None:
                        results.remove(old)
                    results.append(row)
                if others is not None and others > DISTURBED:
                    disturbed.append((m, n))
                progress(f"  n={n:>6} {m:<17} {row['median_s'] * 1e3:10.2f} ms  {row['peak_mib']:9.1f} MiB"
                         f"  (other work: {_fmt(busy)} before, {_fmt(others)} during; {time.perf_counter() - t0:.1f} s)")
            todo = disturbed
            if not todo:
                break
            if attempt < retries:
                progress(f"again, {len(todo)} configuration(s) that ran while other work was busy:")
    # The peak is the best matrix-product rate seen in the run (at the start, and in every worker
    # just before its method), so a burst of other work on the machine cannot lower it.
    peak = max([peak] + [r.get("matmul_gflops_before", 0.0) for r in results])
    info.update(matmul_peak_gflops=peak, matmul_size=512 if quick else 2048, wall_s=time.perf_counter() - start,
                load_average_1min_end=machine.load_average(),
                settings={"window": WINDOW, "sparse_block": SPARSE_BLOCK, "tile_keys": TILE_KEYS, "chunk": CHUNK,
                          "n_features": N_FEATURES, "d_head": D_HEAD, "repeats": repeats})
    for row in results:
        row["pct_of_matmul_peak"] = 100 * row["gflops"] / peak
    return {"run": info, "results": results}


def combine(new: dict, old: dict | None) -> dict:
    """The results file: the new run's rows, plus (if `old` is given) the old rows at other n.
    Every row names its run (an index into "runs"); ratios are only taken within one run."""
    runs, rows = [], []
    if old is not None:
        ns_new = {r["n"] for r in new["results"]}
        kept = [r for r in old["results"] if r["n"] not in ns_new]
        old_runs = old.get("runs") or [{**old.get("machine", {}), "matmul_peak_gflops": old.get("matmul_peak_gflops"),
                                        "settings": old.get("settings"), "wall_s": old.get("wall_s")}]
        used = sorted({r.get("run", 0) for r in kept})
        runs = [old_runs[i] for i in used]
        rows = [{**r, "run": used.index(r.get("run", 0))} for r in kept]
    runs.append(new["run"])
    rows += [{**r, "run": len(runs) - 1} for r in new["results"]]
    for row in rows:
        row.setdefault("peak_mib", row.pop("peak_mb", None))
        base = BY_NAME[row["method"]].baseline if row["method"] in BY_NAME else None
        ref = next((r for r in rows if r["method"] == base and r["n"] == row["n"] and r["run"] == row["run"]), None)
        if ref is not None:
            row["baseline"] = base
            row["time_ratio"] = row["median_s"] / ref["median_s"]
            row["memory_ratio"] = (row["peak_mib"] / ref["peak_mib"]
                                   if row["peak_mib"] is not None and ref["peak_mib"] and ref["peak_mib"] > 0 else None)
    order = [m.name for m in METHODS]
    rows.sort(key=lambda r: (r["n"], order.index(r["method"]) if r["method"] in order else len(order)))
    return {"quick": bool(new["run"]["quick"]), "runs": runs, "results": rows}


# --------------------------------------------------------------------------- the report
def _get(data: dict, method: str, n: int) -> dict | None:
    return next((r for r in data["results"] if r["method"] == method and r["n"] == n), None)


def _grid(data: dict, cell: Callable[[dict], str], *, with_baseline: bool = False) -> list[str]:
    ns = sorted({r["n"] for r in data["results"]})
    head = "| method | " + ("baseline | " if with_baseline else "") + " | ".join(f"n={n}" for n in ns) + " |"
    lines = [head, "|---|" + ("---|" if with_baseline else "") + "---:|" * len(ns)]
    for m in METHODS:
        found = [_get(data, m.name, n) for n in ns]
        if not any(found) or (with_baseline and not m.baseline):
            continue
        cells = [cell(r) if r else "–" for r in found]
        lines.append(f"| {m.name} | " + (f"{m.baseline} | " if with_baseline else "") + " | ".join(cells) + " |")
    return lines


def _run_lines(i: int, run: dict, rows: list[dict]) -> list[str]:
    shares = sorted(r["others_busy_during"] for r in rows if r.get("others_busy_during") is not None)
    busy = (f"other processes' share of the CPUs while the kept measurements ran: median {statistics.median(shares):.0%}, "
            f"largest {shares[-1]:.0%}" if shares else "other processes' share of the CPUs: not recorded")
    cpu = run.get("cpu", "?")
    return [f"- run {i} ({run.get('date', '?')}), n = {', '.join(str(n) for n in sorted({r['n'] for r in rows}))}: "
            f"{cpu}, {run.get('cores', run.get('logical_cores'))} logical cores, "
            f"{run.get('memory_gib', run.get('memory_gb'))} GiB memory, {run.get('threads_used')} thread(s); torch {run.get('torch')}, "
            f"Python {run.get('python')}; GOMP_SPINCOUNT={run.get('gomp_spincount')}",
            f"  - load average (1 min) at start / end: {_fmt(run.get('load_average_1min', run.get('load_avg_start')))} / "
            f"{_fmt(run.get('load_average_1min_end', run.get('load_avg_end')))}; {busy}; wall time "
            f"{_fmt((run.get('wall_s') or 0) / 60, '.1f')} min"
            + ("; methods timed in turns in one process (--interleave), no memory figure" if run.get("interleaved") else ""),
            f"  - matmul peak (float32, best rate of {run.get('matmul_size', 2048)}² products at the start and 1024² "
            f"products before each configuration): {_fmt(run.get('matmul_peak_gflops'), '.1f')} GFLOP/s"]


def table_at(data: dict, n: int) -> list[str]:
    """Every method at one n, as a markdown table."""
    lines = ["| method | what | median ms | time ÷ SDPA | peak MiB | memory ÷ SDPA | GFLOP/s | % matmul peak | max error | error against |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m in METHODS:
        r = _get(data, m.name, n)
        if r is None:
            continue
        err = _fmt(r.get("max_err"), ".1e")
        if r.get("reference") == "kernel":
            err += f" (vs softmax {_fmt(r.get('max_err_vs_softmax'), '.2f')})"
        against = "linear-attention definition" if r.get("reference") == "kernel" else "exact softmax attention"
        lines.append(f"| {m.name} | {m.what} | {_fmt(r['median_s'] * 1e3)} | {_fmt(r.get('time_ratio'), '.3f')} | "
                     f"{_fmt(r['peak_mib'], '.1f')} | {_fmt(r.get('memory_ratio'), '.2f')} | {_fmt(r['gflops'], '.1f')} | "
                     f"{_fmt(r.get('pct_of_matmul_peak'), '.0f')} | {err} | {against} |")
    return lines


def markdown(data: dict, notes: str) -> str:
    n_max = max(r["n"] for r in data["results"])
    lines = ["# Attention benchmark", "",
             "Written by `python benchmarks/attention_bench.py"
             + (" --short" if data["runs"] and all(r.get("interleaved") for r in data["runs"]) else "") + "` (`make bench`)."
             + (" **Quick mode: tiny n, one process; not a measurement.**" if data["quick"] else ""), "",
             "## Machine and load", "",
             "The machine is shared with other jobs, so absolute times are noisy; every ratio below is taken "
             "between two configurations of the same run.", ""]
    for i, run in enumerate(data["runs"]):
        lines += _run_lines(i, run, [r for r in data["results"] if r.get("run", 0) == i])
    lines += [
        "",
        "Setup: q, k, v of shape (1, 1, n, 64) (batch, n_heads, n, d_head), float32, seeded. Each (method, n) runs in a "
        "fresh process: one call while the peak resident memory (VmHWM, reset just before) is watched, one warm-up, then "
        "the median of 5 timed calls (3 for calls over a second). Peak memory is the rise above the resident memory "
        "just before the call (after freed memory was handed back to the system with malloc_trim), the output included. "
        f"A configuration during which other processes kept more than {DISTURBED:.0%} of the CPUs busy is run again "
        "(up to twice) and the least disturbed attempt is kept. GFLOP/s counts useful operations only (one multiply-add = "
        "2 flops): 4·d per visible (query, key) pair for softmax attention, 4·d² per token for linear attention, 8·F·d "
        "per token for the Performer with F random features. Errors are the largest absolute difference from a float64 "
        f"computation of the same definition (every query row up to n = {ERROR_ROWS}, beyond that {ERROR_ROWS} rows "
        "spread evenly over the sequence).",
        "", f"## All methods at n = {n_max}", ""] + table_at(data, n_max)
    lines += ["", "## Median time (ms) against n", ""] + _grid(data, lambda r: _fmt(r["median_s"] * 1e3))
    lines += ["", "## Peak memory (MiB above the inputs) against n", ""] + _grid(data, lambda r: _fmt(r["peak_mib"], ".1f"))
    lines += ["", "## Time ÷ SDPA against n (below 1: faster than torch's fused kernel)", ""]
    lines += _grid(data, lambda r: _fmt(r.get("time_ratio"), ".3f"), with_baseline=True)
    lines += ["", "## Notes", "", NOTES_BEGIN, notes.strip("\n"), NOTES_END, ""]
    return "\n".join(lines)


def old_notes(path: Path) -> str:
    """The hand-written notes of an existing report (kept when it is rewritten)."""
    if path.exists():
        text = path.read_text()
        if NOTES_BEGIN in text and NOTES_END in text:
            return text.split(NOTES_BEGIN, 1)[1].split(NOTES_END, 1)[0]
    return "(none yet)"


def write_report(data: dict, out: Path) -> tuple[Path, Path]:
    """Write attention_bench.json (every number) and attention_bench.md (tables, machine, notes)."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "attention_bench.json", out / "attention_bench.md"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    md_path.write_text(markdown(data, old_notes(md_path)))
    return json_path, md_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/attention_bench.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small n, few repeats, one process (checks the code path)")
    parser.add_argument("--ns", type=int, nargs="+", help="sequence lengths (default 1024..16384; quick: 200)")
    parser.add_argument("--short", action="store_true",
                        help="only short sequences: n = 128..1024, interleaved, one thread, into results/small_n/")
    parser.add_argument("--long", action="store_true", help="only n = 1024..16384 (the default run does both)")
    parser.add_argument("--methods", nargs="+", choices=sorted(BY_NAME), help="a subset of the methods (SDPA is always run)")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per configuration (default 5; quick: 2)")
    parser.add_argument("--out", type=Path, default=None, help="folder for attention_bench.json and .md "
                        "(default benchmarks/results/, with --short benchmarks/results/small_n/)")
    parser.add_argument("--merge", action="store_true", help="keep the rows of the existing JSON at other n")
    parser.add_argument("--interleave", type=int, nargs="?", const=30, default=0, metavar="ROUNDS",
                        help="time all methods at one n in one process, in turns (default 30 rounds; no memory figure)")
    parser.add_argument("--wait-quiet", type=float, default=20.0, metavar="SECONDS",
                        help="before each configuration, wait up to this long for the CPUs to be mostly idle "
                             "(shared machines; default 20, 0 to never wait)")
    parser.add_argument("--threads", type=int, default=None, help=f"torch threads per worker (default {THREADS}; --short: 1)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker), args.threads or THREADS)
        return 0
    if not (args.short or args.long or args.quick or args.ns or args.interleave):   # the full run: both parts
        rest = list(argv if argv is not None else sys.argv[1:])
        if args.out is not None:                      # --out DIR: the long part in DIR, the short part in DIR/small_n
            i = rest.index("--out") if "--out" in rest else None
            rest = rest[:i] + rest[i + 2:] if i is not None else [a for a in rest if not a.startswith("--out=")]
        out = args.out or RESULTS
        return main(rest + ["--long", "--out", str(out)]) or main(rest + ["--short", "--out", str(out / "small_n")])
    if args.short:
        args.ns = args.ns or list(SHORT_NS)
        args.interleave = args.interleave or 30
        args.threads = args.threads or 1
        args.out = args.out or RESULTS / "small_n"
    args.out = args.out or RESULTS
    args.threads = args.threads or THREADS
    repeats = args.repeats or (2 if args.quick else 5)
    methods = select(args.methods)
    ns = tuple(args.ns) if args.ns else (QUICK_NS if args.quick else FULL_NS)
    new = run(methods, ns, repeats, quick=args.quick, max_wait_s=0.0 if args.quick else args.wait_quiet,
              interleave_rounds=args.interleave, threads=args.threads)
    old_path = args.out / "attention_bench.json"
    old = json.loads(old_path.read_text()) if args.merge and old_path.exists() else None
    data = combine(new, old)
    json_path, md_path = write_report(data, args.out)
    print("\n".join(table_at(data, max(ns))))
    print(f"\nwrote {json_path} and {md_path} in {new['run']['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
