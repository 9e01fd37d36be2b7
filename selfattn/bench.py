"""The attention benchmark: time, peak memory, FLOP rate and error of every method against n.

    python -m selfattn.bench            # the full run: n = 1024 .. 16384 (several minutes)
    python -m selfattn.bench --quick    # small n, few repeats: checks that the code path works

For each method and each n, one fresh Python process (so no method inherits another's memory or
warm caches) builds seeded inputs q, k, v of shape (1, 1, n, 64) in float32, runs the method
once while watching the process's peak resident memory, then times it (median of several
calls), and finally compares its output with exact attention computed in float64. Everything
runs on two threads. Torch's own fused `scaled_dot_product_attention` (SDPA) runs in the same
session, so every ratio compares numbers measured under the same conditions.

Results: a table on stdout, `attention_bench.json` (every number) and `attention_bench.md`
(tables, the machine, and whether the targets were met) in benchmarks/results/ (or --out).
Hand-written notes between the NOTES markers of an existing .md file are kept when it is rewritten.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

D_HEAD = 64
THREADS = 2
FULL_NS = (1024, 2048, 4096, 8192, 16384)
QUICK_NS = (200,)
WINDOW = 256              # sliding-window width (keys per query)
SPARSE_BLOCK = 64         # block size of the block-sparse layouts
TILE_KEYS = 512           # tiled attention: keys per block
CHUNK = 64                # chunked linear attention: tokens per chunk
N_FEATURES = 256          # Performer: random features
RESULTS = Path("benchmarks/results")
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
@dataclass(frozen=True)
class Method:
    name: str
    baseline: str | None           # the SDPA configuration it is compared with
    causal: bool
    what: str                      # one line for the table
    reference: str = "softmax"     # "softmax": exact attention with the same mask; "kernel": linear attention's definition


METHODS = {m.name: m for m in [
    Method("sdpa_full", None, False, "torch SDPA, no mask (fused kernel)"),
    Method("sdpa_causal", None, True, "torch SDPA, is_causal=True (fused kernel)"),
    Method("naive_full", "sdpa_full", False, "softmax(QKᵀ/√d)V, n×n matrix in memory"),
    Method("naive_causal", "sdpa_causal", True, "the same with a causal mask"),
    Method("tiled_full", "sdpa_full", False, f"tiled_attention, online softmax, {TILE_KEYS}-key blocks"),
    Method("tiled_causal", "sdpa_causal", True, "tiled_attention, causal, future blocks skipped"),
    Method("sliding_window", "sdpa_causal", True, f"sliding_window_attention, window {WINDOW}, causal"),
    Method("strided_sparse", "sdpa_causal", True, f"block_sparse_attention, strided layout, block {SPARSE_BLOCK}"),
    Method("bigbird_sparse", "sdpa_full", False, f"block_sparse_attention, BigBird layout, block {SPARSE_BLOCK}"),
    Method("linear_chunked", "sdpa_causal", True, f"linear_attention, causal, chunked ({CHUNK})", "kernel"),
    Method("linear_parallel", "sdpa_causal", True, "linear_attention, causal, parallel (cumsum)", "kernel"),
    Method("linear_recurrent", "sdpa_causal", True, "linear_attention, causal, recurrent (token loop)", "kernel"),
    Method("performer", "sdpa_full", False, f"performer_attention, {N_FEATURES} orthogonal features"),
]}


def _strided(n: int):
    from .efficient import strided_layout
    n_blocks = math.ceil(n / SPARSE_BLOCK)
    return strided_layout(n, SPARSE_BLOCK, max(1, round(math.sqrt(n_blocks))))   # stride ≈ √n, as in the paper


def _bigbird(n: int):
    from .efficient import bigbird_layout
    return bigbird_layout(n, SPARSE_BLOCK, window=3, n_global=2, n_random=3, seed=0)


def build(name: str, n: int) -> Callable:
    """The function to time, with anything that is not part of the computation (layouts) prepared."""
    import torch
    import torch.nn.functional as F

    from . import efficient as eff

    scale = 1.0 / math.sqrt(D_HEAD)
    if name == "sdpa_full":
        return lambda q, k, v: F.scaled_dot_product_attention(q, k, v)
    if name == "sdpa_causal":
        return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)
    if name == "naive_full":
        return lambda q, k, v: torch.softmax((q @ k.transpose(-2, -1)).mul_(scale), dim=-1) @ v
    if name == "naive_causal":
        def naive_causal(q, k, v):
            scores = (q @ k.transpose(-2, -1)).mul_(scale)                       # (1, 1, n, n)
            future = torch.ones(n, n, dtype=torch.bool).triu_(1)                 # (n, n)
            return torch.softmax(scores.masked_fill_(future, float("-inf")), dim=-1) @ v
        return naive_causal
    if name == "tiled_full":
        return lambda q, k, v: eff.tiled_attention(q, k, v, block_size=TILE_KEYS)
    if name == "tiled_causal":
        return lambda q, k, v: eff.tiled_attention(q, k, v, block_size=TILE_KEYS, causal=True)
    if name == "sliding_window":
        return lambda q, k, v: eff.sliding_window_attention(q, k, v, WINDOW)
    if name == "strided_sparse":
        layout = _strided(n)
        return lambda q, k, v: eff.block_sparse_attention(q, k, v, layout)
    if name == "bigbird_sparse":
        layout = _bigbird(n)
        return lambda q, k, v: eff.block_sparse_attention(q, k, v, layout)
    if name.startswith("linear_"):
        form = name.split("_", 1)[1]
        return lambda q, k, v: eff.linear_attention(q, k, v, form=form, chunk_size=CHUNK)
    if name == "performer":
        return lambda q, k, v: eff.performer_attention(q, k, v, N_FEATURES, seed=0)
    raise ValueError(f"unknown method {name!r}; choose from {sorted(METHODS)}")


def useful_flops(name: str, n: int) -> float:
    """Floating-point operations the method's result needs (not what a wasteful version would do).

    Softmax attention: 4·d per visible (query, key) pair (2·d for the score, 2·d for the
    weighted value). Linear attention: 4·d² per token (update the d×d state, read it).
    Performer: 4·m·d per token for the features of q and k, plus 4·m·d per token for the state.
    """
    d = D_HEAD
    method = METHODS[name]
    if name in ("sliding_window",):
        pairs = sum(min(i + 1, WINDOW) for i in range(n))
    elif name in ("strided_sparse", "bigbird_sparse"):
        pairs = _visible_pairs(_strided(n) if name == "strided_sparse" else _bigbird(n))
    elif name.startswith("linear_"):
        return 4.0 * n * d * d
    elif name == "performer":
        return 8.0 * n * N_FEATURES * d
    else:
        pairs = n * (n + 1) / 2 if method.causal else n * n
    return 4.0 * d * pairs


def _visible_pairs(layout) -> float:
    bs, n = layout.block_size, layout.n
    sizes = [min(bs, n - c * bs) for c in range(layout.n_blocks)]
    total = 0.0
    for c, c2 in layout.blocks.nonzero().tolist():
        if layout.causal and c == c2:
            total += sizes[c] * (sizes[c] + 1) / 2
        elif not layout.causal or c2 < c:
            total += sizes[c] * sizes[c2]
    return total


# --------------------------------------------------------------------------- measuring, in a worker process
def _status(field: str) -> int:
    """A line of /proc/self/status in kB (Linux), or -1 where there is no such file."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _release_free_memory() -> None:
    """Hand memory that Python and malloc hold but no longer use back to the system (glibc only),
    so the resident-memory rise of the next call counts all it allocates, not just what does not
    fit in memory freed earlier."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


ERROR_ROWS = 2048          # beyond this many queries, the error is checked on an evenly spread sample of rows


def error_rows(n: int):
    """Query rows whose output is compared with float64 exact attention: all of them up to
    ERROR_ROWS, else ERROR_ROWS rows spread evenly from the first to the last (the unit tests
    compare every row at small n)."""
    import torch

    if n <= ERROR_ROWS:
        return torch.arange(n)
    return torch.linspace(0, n - 1, ERROR_ROWS).round().long().unique()


def _exact_reference(q, k, v, name: str, n: int, rows):
    """float64 output, for the given query rows, of the definition the method implements."""
    import torch

    from .efficient import FEATURE_MAPS, layout_mask, sliding_window_mask

    method = METHODS[name]
    q, k, v = (t[0, 0].double() for t in (q, k, v))                 # (n, d_head)
    mask = None
    if name == "sliding_window":
        mask = sliding_window_mask(n, WINDOW)
    elif name == "strided_sparse":
        mask = layout_mask(_strided(n))
    elif name == "bigbird_sparse":
        mask = layout_mask(_bigbird(n))
    out_softmax = torch.empty(len(rows), v.shape[-1], dtype=torch.float64)   # (rows, d_head)
    out_kernel = torch.empty_like(out_softmax) if method.reference == "kernel" else None
    scale = 1.0 / math.sqrt(q.shape[-1])
    phi = FEATURE_MAPS["elu"]
    for r0 in range(0, len(rows), 512):
        idx = rows[r0:r0 + 512]                                      # (chunk,) query positions
        part = slice(r0, r0 + len(idx))
        visible = torch.ones(len(idx), n, dtype=torch.bool) if mask is None else mask[idx]   # (chunk, n)
        if method.causal:
            visible = visible & (torch.arange(n) <= idx.unsqueeze(1))
        scores = (q[idx] @ k.T * scale).masked_fill(~visible, float("-inf"))   # (chunk, n)
        out_softmax[part] = torch.softmax(scores, dim=-1) @ v
        if out_kernel is not None:
            kernel = (phi(q[idx]) @ phi(k).T) * visible              # (chunk, n)
            out_kernel[part] = (kernel @ v) / (kernel.sum(-1, keepdim=True) + 1e-6)
    return out_softmax, out_kernel


def measure(name: str, n: int, repeats: int, *, with_error: bool = True) -> dict:
    """Time and memory of one method at one n, in this process."""
    import torch

    torch.set_num_threads(THREADS)
    g = torch.Generator().manual_seed(n)
    q, k, v = (torch.randn(1, 1, n, D_HEAD, generator=g) for _ in range(3))   # (batch, n_heads, n, d_head)
    fn = build(name, n)
    matmul_now = matmul_peak(5, 1024)                                # how fast this machine multiplies right now
    small = [t[..., :128, :].contiguous() for t in (q, k, v)]
    build(name, 128)(*small)                                         # first-call costs (thread pools) out of the way

    _release_free_memory()
    baseline_kb = _status("VmRSS")
    exact_peak = _reset_peak()
    t0 = time.perf_counter()
    out = fn(q, k, v)
    first_s = time.perf_counter() - t0
    peak_kb = _status("VmHWM")
    peak_mb = (peak_kb - baseline_kb) / 1024 if peak_kb >= 0 and baseline_kb >= 0 else float("nan")

    reps = repeats if first_s < 1.0 else max(2, min(repeats, 3))
    fn(q, k, v)                                                      # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(q, k, v)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    result = {
        "method": name, "n": n, "d_head": D_HEAD, "threads": torch.get_num_threads(),
        "median_s": median, "min_s": min(times), "times_s": times, "first_call_s": first_s,
        "peak_mb": peak_mb, "peak_exact": exact_peak,
        "gflops": useful_flops(name, n) / median / 1e9,
        "matmul_gflops_before": matmul_now,
        "load_avg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    if with_error:
        rows = error_rows(n)
        ref_softmax, ref_kernel = _exact_reference(q, k, v, name, n, rows)
        got = out[0, 0, rows].double()                               # (rows, d_head)
        result["max_err_vs_softmax"] = float((got - ref_softmax).abs().max())
        result["max_err"] = float((got - (ref_kernel if ref_kernel is not None else ref_softmax)).abs().max())
        result["reference"] = METHODS[name].reference
        result["error_rows"] = len(rows)
    return result


def matmul_peak(repeats: int = 10, size: int = 2048) -> float:
    """GFLOP/s of a size×size float32 matrix product on THREADS threads (the machine's practical peak)."""
    import torch

    torch.set_num_threads(THREADS)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * size ** 3 / statistics.median(times) / 1e9


def _worker(configs: list, repeats: int) -> None:
    for item in configs:
        if item == "matmul_peak":
            print(json.dumps({"matmul_peak_gflops": matmul_peak()}), flush=True)
        elif item == "matmul_peak_quick":
            print(json.dumps({"matmul_peak_gflops": matmul_peak(3, 512)}), flush=True)
        else:
            name, n = item
            print(json.dumps(measure(name, int(n), repeats)), flush=True)


# --------------------------------------------------------------------------- running and reporting
def cpu_busy(interval: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over `interval` seconds (from /proc/stat), or None off Linux."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)                    # idle + iowait, total
    try:
        idle0, total0 = sample()
        time.sleep(interval)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(max_wait_s: float, busy_below: float = 0.3) -> float | None:
    """On a shared machine, wait (up to max_wait_s) until other work leaves the CPUs mostly idle.

    Returns the busy fraction seen last. Two busy threads of ours need two idle cores: timing
    while other processes compete for them measures the scheduler, not the method.
    """
    deadline = time.monotonic() + max_wait_s
    busy = cpu_busy()
    while busy is not None and busy >= busy_below and time.monotonic() < deadline:
        time.sleep(2.0)
        busy = cpu_busy()
    return busy


def _spawn(configs: list, repeats: int) -> list[dict]:
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    env.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
    cmd = [sys.executable, "-m", "selfattn.bench", "--worker", json.dumps(configs), "--repeats", str(repeats)]
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {configs}:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def machine_info() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = round(int(f.readline().split()[1]) / 1024 ** 2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu, "logical_cores": os.cpu_count(), "memory_gb": mem_gb, "threads_used": THREADS,
        "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_avg_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "gomp_spincount": os.environ.get("GOMP_SPINCOUNT", GOMP_SPINCOUNT),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
    }


DISTURBED = 0.15          # a configuration that ran while other processes kept this much of the CPUs busy is retried


def _cpu_jiffies():
    """(busy jiffies of the whole machine, jiffies in all, CPU seconds used by our finished children)."""
    import resource

    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    ours = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(fields) - fields[3] - fields[4], sum(fields), ours.ru_utime + ours.ru_stime


def _others_busy(before) -> float | None:
    """Fraction of the machine's CPU time that other processes used since `before`."""
    after = _cpu_jiffies()
    if before is None or after is None:
        return None
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = after[1] - before[1]
    others = (after[0] - before[0]) - (after[2] - before[2]) * hz
    return max(0.0, others / total) if total > 0 else None


def run(ns, repeats: int, quick: bool, progress=print, max_wait_s: float = 0.0, retries: int = 2) -> dict:
    names = list(METHODS)
    results = []
    if quick:                      # one process for everything: checks the code path, measures nothing
        rows = _spawn(["matmul_peak_quick"] + [[m, n] for n in ns for m in names], repeats)
        peak, results = rows[0]["matmul_peak_gflops"], rows[1:]
    else:
        peak = _spawn(["matmul_peak"], repeats)[0]["matmul_peak_gflops"]
        progress(f"matmul peak: {peak:.1f} GFLOP/s on {THREADS} threads")
        todo = [(m, n) for n in ns for m in names]
        for attempt in range(1 + retries):
            disturbed = []
            for m, n in todo:
                t0 = time.perf_counter()
                busy = wait_for_quiet(max_wait_s) if max_wait_s > 0 else cpu_busy(0.2)
                before = _cpu_jiffies()
                row = _spawn([[m, n]], repeats)[0]
                row["cpu_busy_before"] = busy
                row["others_busy_during"] = others = _others_busy(before)
                row["attempt"] = attempt + 1
                old = next((r for r in results if r["method"] == m and r["n"] == n), None)
                if old is None or (others or 0) < (old["others_busy_during"] or 0):
                    if old is not None:
                        results.remove(old)
                    results.append(row)
                if others is not None and others > DISTURBED:
                    disturbed.append((m, n))
                progress(f"  n={n:>6} {m:<17} {row['median_s'] * 1e3:10.2f} ms  {row['peak_mb']:9.1f} MB"
                         f"  (other work: {_fmt(busy)} before, {_fmt(others)} during; {time.perf_counter() - t0:.1f} s)")
            todo = disturbed
            if not todo:
                break
            if attempt < retries:
                progress(f"again, {len(todo)} configuration(s) that ran while other work was busy:")
        results.sort(key=lambda r: (ns.index(r["n"]), names.index(r["method"])))
    # The peak is the best matrix-product rate seen in the whole run (at the start, and in every
    # worker just before its method), so a burst of other work on the machine cannot lower it.
    peak = max([peak] + [r.get("matmul_gflops_before", 0.0) for r in results])
    for row in results:
        row["pct_of_matmul_peak"] = 100 * row["gflops"] / peak
        base = METHODS[row["method"]].baseline
        if base:
            ref = next(r for r in results if r["method"] == base and r["n"] == row["n"])
            row["baseline"] = base
            row["time_ratio"] = row["median_s"] / ref["median_s"]
            row["memory_ratio"] = _ratio(row["peak_mb"], ref["peak_mb"])
    return {"quick": quick, "matmul_peak_gflops": peak, "matmul_size": 512 if quick else 2048, "results": results}


def _ratio(a: float, b: float) -> float:
    return a / b if b and b > 0 and math.isfinite(b) else float("nan")


def _get(data: dict, method: str, n: int) -> dict | None:
    return next((r for r in data["results"] if r["method"] == method and r["n"] == n), None)


def evaluate_targets(data: dict) -> list[dict]:
    """The issue's targets at the largest n, each with the measured value and whether it was met."""
    n = max(r["n"] for r in data["results"])
    out = []

    def add(target, measured, need, higher_is_better, unit="×"):
        met = bool(measured >= need if higher_is_better else measured <= need)   # NaN: not met
        shortfall = None if met else (_ratio(need, measured) if higher_is_better else measured / need)
        out.append({"target": target, "n": n, "measured": measured, "needed": need, "met": met,
                    "relation": ">=" if higher_is_better else "<=",
                    "missed_by_factor": shortfall, "unit": unit})

    g = lambda m: _get(data, m, n)                                   # noqa: E731
    if g("sliding_window") and g("sdpa_causal"):
        add("sliding window (w=256) speed-up over causal SDPA", _ratio(g("sdpa_causal")["median_s"], g("sliding_window")["median_s"]), 10, True)
        add("sliding window peak memory ÷ causal SDPA's", g("sliding_window")["memory_ratio"], 5, False)
    if g("linear_chunked"):
        add("chunked causal linear attention speed-up over causal SDPA", _ratio(g("sdpa_causal")["median_s"], g("linear_chunked")["median_s"]), 25, True)
    for kind in ("full", "causal"):
        if g(f"tiled_{kind}"):
            add(f"tiled exact ({kind}) time ÷ SDPA ({kind})", g(f"tiled_{kind}")["time_ratio"], 1.3, False)
            add(f"naive n×n ({kind}) peak memory ÷ tiled ({kind})", _ratio(g(f"naive_{kind}")["peak_mb"], g(f"tiled_{kind}")["peak_mb"]), 100, True)
    return out


def _fmt(x, spec=".2f"):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return format(x, spec)


def table_at(data: dict, n: int) -> list[str]:
    lines = ["| method | what | median ms | time ÷ SDPA | peak MB | memory ÷ SDPA | GFLOP/s | % matmul peak | max error | error against |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, method in METHODS.items():
        r = _get(data, name, n)
        if r is None:
            continue
        against = "linear-attention definition" if r.get("reference") == "kernel" else "exact softmax attention"
        err = _fmt(r.get("max_err"), ".1e")
        if r.get("reference") == "kernel":
            err += f" (vs softmax {_fmt(r.get('max_err_vs_softmax'), '.2f')})"
        lines.append(f"| {name} | {method.what} | {_fmt(r['median_s'] * 1e3)} | {_fmt(r.get('time_ratio'), '.3f')} | "
                     f"{_fmt(r['peak_mb'], '.1f')} | {_fmt(r.get('memory_ratio'), '.2f')} | {_fmt(r['gflops'], '.1f')} | "
                     f"{_fmt(r['pct_of_matmul_peak'], '.0f')} | {err} | {against} |")
    return lines


def grid(data: dict, key: str, spec: str, scale: float = 1.0) -> list[str]:
    ns = sorted({r["n"] for r in data["results"]})
    lines = ["| method | " + " | ".join(f"n={n}" for n in ns) + " |", "|---|" + "---:|" * len(ns)]
    for name in METHODS:
        cells = []
        for n in ns:
            r = _get(data, name, n)
            cells.append(_fmt(r[key] * scale, spec) if r else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown(data: dict, notes: str) -> str:
    info = data["machine"]
    n_max = max(r["n"] for r in data["results"])
    lines = [
        "# Attention benchmark",
        "",
        "Written by `python -m selfattn.bench` (`make bench`)." + (" **Quick mode: tiny n, one process; not a measurement.**" if data["quick"] else ""),
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}, {info['logical_cores']} logical cores, {info['memory_gb']} GB memory; {info['threads_used']} threads used",
        f"- torch {info['torch']}, Python {info['python']}, {info['platform']}; GOMP_SPINCOUNT={info.get('gomp_spincount')}, OMP_WAIT_POLICY={info.get('omp_wait_policy')}",
        f"- date: {info['date']}; wall time of the run: {data['wall_s'] / 60:.1f} min",
        f"- load average (1 min) at start / end: {_fmt(info['load_avg_start'])} / {_fmt(data.get('load_avg_end'))}"
        " — the machine is shared with other jobs, so absolute times are noisy; ratios are taken within one run",
        _disturbance_line(data),
        f"- measured matmul peak (float32, {info['threads_used']} threads; the best rate of {data['matmul_size']}² products "
        f"at the start and 1024² products before each configuration): {data['matmul_peak_gflops']:.1f} GFLOP/s",
        "",
        "Setup: q, k, v of shape (1, 1, n, 64) (batch, n_heads, n, d_head), float32, seeded. Each (method, n) runs in a "
        "fresh process: one call while the peak resident memory (VmHWM, reset just before) is watched, one warm-up, then "
        "the median of 5 timed calls (3 for calls over a second). Peak memory is the rise above the resident memory "
        "just before the call (after freed memory was handed back to the system with malloc_trim), the output included. "
        f"A configuration during which other processes kept more than {DISTURBED:.0%} of the CPUs busy is run again "
        "(up to twice) and the least disturbed attempt is kept; the JSON records how busy the machine was. GFLOP/s counts useful operations only: 4·d per visible "
        "(query, key) pair for softmax attention, 4·d² per token for linear attention, 8·m·d per token for the Performer. "
        f"Errors are the largest absolute difference from a float64 computation of the same definition (every "
        f"query row up to n = {ERROR_ROWS}, beyond that {ERROR_ROWS} rows spread evenly over the sequence).",
        "",
        "## Targets at n = %d" % n_max,
        "",
    ]
    if data["quick"]:
        lines += ["(Quick mode: the targets are for n = 16384 and are not meaningful here.)", ""]
    lines += [
        "| target | needed | measured | met? |",
        "|---|---:|---:|---|",
    ]
    for t in data["targets"]:
        need = ("≥ " if t["relation"] == ">=" else "≤ ") + f"{t['needed']:g}×"
        verdict = "yes" if t["met"] else f"no (missed by a factor {_fmt(t['missed_by_factor'])})"
        lines.append(f"| {t['target']} | {need} | {_fmt(t['measured'])}× | {verdict} |")
    lines += ["", f"## All methods at n = {n_max}", ""] + table_at(data, n_max)
    lines += ["", "## Median time (ms) against n", ""] + grid(data, "median_s", ".2f", 1e3)
    lines += ["", "## Peak memory (MB above the inputs) against n", ""] + grid(data, "peak_mb", ".1f")
    lines += ["", "## Time ÷ SDPA against n (below 1: faster than torch's fused kernel)", ""] + grid_ratio(data)
    lines += ["", "## Notes", "", NOTES_BEGIN, notes.strip("\n"), NOTES_END, ""]
    return "\n".join(lines)


def _disturbance_line(data: dict) -> str:
    shares = sorted(r["others_busy_during"] for r in data["results"] if r.get("others_busy_during") is not None)
    if not shares:
        return "- other processes' share of the CPUs during the measurements: not recorded"
    return (f"- other processes' share of the CPUs while the kept measurements ran: median {statistics.median(shares):.0%}, "
            f"largest {shares[-1]:.0%}")


def grid_ratio(data: dict) -> list[str]:
    ns = sorted({r["n"] for r in data["results"]})
    lines = ["| method | baseline | " + " | ".join(f"n={n}" for n in ns) + " |", "|---|---|" + "---:|" * len(ns)]
    for name, method in METHODS.items():
        if not method.baseline:
            continue
        cells = [_fmt((_get(data, name, n) or {}).get("time_ratio"), ".3f") for n in ns]
        lines.append(f"| {name} | {method.baseline} | " + " | ".join(cells) + " |")
    return lines


def _old_notes(path: Path) -> str:
    if path.exists():
        text = path.read_text()
        if NOTES_BEGIN in text and NOTES_END in text:
            return text.split(NOTES_BEGIN, 1)[1].split(NOTES_END, 1)[0]
    return "(none yet)"


def main(argv=None) -> int:
    global METHODS
    parser = argparse.ArgumentParser(prog="python -m selfattn.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small n, few repeats, one process (checks the code path)")
    parser.add_argument("--ns", type=int, nargs="+", help="sequence lengths (default 1024..16384; quick: 256 300)")
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), help="a subset of the methods (SDPA is always run)")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per configuration (default 5; quick: 2)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for attention_bench.json and .md")
    parser.add_argument("--wait-quiet", type=float, default=20.0, metavar="SECONDS",
                        help="before each configuration, wait up to this long for the CPUs to be mostly idle "
                             "(shared machines; default 20, 0 to never wait)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    if args.worker:
        _worker(json.loads(args.worker), repeats)
        return 0
    if args.methods:
        keep = {"sdpa_full", "sdpa_causal"} | set(args.methods)
        keep |= {f"naive_{m.split('_')[1]}" for m in args.methods if m.startswith("tiled_")}
        METHODS = {k: v for k, v in METHODS.items() if k in keep}
    ns = tuple(args.ns) if args.ns else (QUICK_NS if args.quick else FULL_NS)
    start = time.perf_counter()
    info = machine_info()
    data = run(ns, repeats, args.quick, max_wait_s=0.0 if args.quick else args.wait_quiet)
    data["machine"] = info
    data["wall_s"] = time.perf_counter() - start
    data["load_avg_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    data["targets"] = evaluate_targets(data)
    data["settings"] = {"window": WINDOW, "sparse_block": SPARSE_BLOCK, "tile_keys": TILE_KEYS, "chunk": CHUNK,
                        "n_features": N_FEATURES, "d_head": D_HEAD, "repeats": repeats}
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = args.out / "attention_bench.json", args.out / "attention_bench.md"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    md_path.write_text(markdown(data, _old_notes(md_path)))
    n_max = max(ns)
    print("\n".join(table_at(data, n_max)))
    print()
    for t in data["targets"]:
        print(f"{'met   ' if t['met'] else 'MISSED'} {t['target']}: {_fmt(t['measured'])}× (needed {t['needed']:g}×)")
    print(f"\nwrote {json_path} and {md_path} in {data['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
