"""What attention costs, measured on the reader's machine: flops executed, memory held, time taken (chapter 8).

    count_flops(fn)         matmul flops torch really executes (torch.utils.flop_counter)
    tensor_memory(fn)       peak bytes of tensors alive at once while fn runs, and the largest one
    kernel_scratch(fn)      bytes torch's allocator hands out inside the ops fn calls (seen by torch.profiler)
    time_fn(fn)             median seconds over repeats, after warm-up
    loglog_fit(x, y)        the slope of log y against log x: 2 means "doubling x quadruples y"
    measure_scaling         attention timed, weighed and counted at several n
    measure_decode_cost     one decoding step with and without a key/value cache, at several n

Timings depend on the machine and its load: compare them within one run, never against stored numbers.
"""
from __future__ import annotations

import math
import os
import statistics
import time
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from ...errors import AttentionInputError, check_choice, check_int
from ...threads import torch_threads
from .formulas import attention_flops, attention_matrix_bytes, decode_step_flops


def count_flops(fn: Callable[[], object]) -> int:
    """Run fn() once and return the matmul flops torch executed (torch.utils.flop_counter).

    This counts what the code really does, so it checks the formulas. (torch 2.13 does not
    count inside the fused CPU kernel of scaled_dot_product_attention; it reports 0 there.)
    """
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class TensorMemory:
    """What tensor_memory measured: the peak of bytes alive at once, and the largest single tensor."""

    peak_bytes: int
    largest_bytes: int
    largest_shape: tuple[int, ...]


class _LiveTensors(TorchDispatchMode):
    """Sees every tensor an operation returns; adds its storage's bytes while the tensor is alive."""

    def __init__(self, existing: set[int]):
        super().__init__()
        self.existing = existing
        self.live: dict[int, int] = {}
        self.now = self.peak = self.largest = 0
        self.largest_shape: tuple[int, ...] = ()

    def _free(self, key: int) -> None:
        self.now -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {a.untyped_storage().data_ptr() for a in tree_flatten((args, kwargs))[0]
                  if isinstance(a, torch.Tensor) and a.device.type != "meta"}
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                continue
            storage = t.untyped_storage()
            key = storage.data_ptr()
            if key == 0 or key in inputs or key in self.live or key in self.existing:
                continue                                      # a view (or in-place result) of memory already there
            nbytes = storage.nbytes()
            self.live[key] = nbytes
            self.now += nbytes
            self.peak = max(self.peak, self.now)
            if nbytes > self.largest:
                self.largest, self.largest_shape = nbytes, tuple(t.shape)
            weakref.finalize(t, self._free, key)
        return out


def tensor_memory(fn: Callable[[], object], *inputs: torch.Tensor) -> TensorMemory:
    """Run fn() and measure the memory of the tensors it creates (inputs not counted).

    peak_bytes: the most bytes that tensors created by fn held at any one time while it ran
    (a tensor counts until it is freed); largest_bytes/largest_shape: its biggest tensor.
    A tensor that shares storage with an operation's input (a view such as a transpose, or an
    in-place result) is not new memory and is not counted. `inputs` may list tensors whose
    memory existed before fn (only needed if fn writes into them through a fresh view).
    Scratch space an operation allocates and frees inside itself is not seen here (it is
    never returned as a tensor); `kernel_scratch` measures it.
    """
    existing = {t.untyped_storage().data_ptr() for t in inputs if isinstance(t, torch.Tensor)}
    mode = _LiveTensors(existing)
    with torch.no_grad(), mode:
        result = fn()
    del result
    return TensorMemory(mode.peak, mode.largest, mode.largest_shape)


@contextmanager
def _quiet_stderr():
    """Silence the two start/stop lines the profiler's C++ side writes straight to file descriptor 2."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def kernel_scratch(fn: Callable[[], object], op: str = "aten::empty") -> int:
    """Bytes allocated by `op` calls while fn() runs, as torch.profiler's memory profiling records them.

    Unlike tensor_memory, the profiler sees allocations inside an operation: for the fused CPU
    kernel of scaled_dot_product_attention, the buffers it allocates for its blocks of scores
    and its per-query softmax statistics (aten::empty calls inside the kernel).
    """
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad(), _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return int(sum(e.self_cpu_memory_usage for e in prof.key_averages() if e.key == op and e.self_cpu_memory_usage > 0))


def time_fn(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, threads: int | None = None) -> float:
    """Median wall-clock seconds of fn() over `repeats` runs, after `warmup` untimed runs.

    The median ignores the odd slow run (another process, a cold cache).
    threads: run with this many torch threads (None: leave the setting alone). One thread
    measures the work itself; several threads on a machine whose cores are busy (a shared
    server, Binder) wait for each other and can turn a millisecond into a tenth of a second.
    """
    repeats = check_int(repeats, "repeats", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    threads_ctx = nullcontext() if threads is None else torch_threads(check_int(threads, "threads", minimum=1))
    with torch.no_grad(), threads_ctx:
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class LogLogFit:
    """y ≈ coefficient · x**slope, fitted as a straight line through (log x, log y)."""

    slope: float
    coefficient: float

    def predict(self, x) -> np.ndarray:
        return self.coefficient * np.asarray(x, dtype=float) ** self.slope


def loglog_fit(x: Sequence[float], y: Sequence[float]) -> LogLogFit:
    """Least-squares line through (log x, log y). A slope of 2 means y grows like x²."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise AttentionInputError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} and {y.shape}")
    if (x <= 0).any() or (y <= 0).any() or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise AttentionInputError("x and y must be positive and finite to take logarithms")
    if np.unique(x).size < 2:
        raise AttentionInputError("x needs at least two different values to fit a slope")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return LogLogFit(float(slope), float(np.exp(intercept)))


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """The exponent p in y ≈ c·x^p, fitted on a log-log scale."""
    return loglog_fit(x, y).slope


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(QKᵀ/√d_k)V written out, storing the full (..., n_q, n_k) matrix as most teaching code does."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])           # (..., n_q, n_k)
    weights = torch.softmax(scores, dim=-1)                               # (..., n_q, n_k)
    return weights @ v                                                    # (..., n_q, d_v)


def fused_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """torch's scaled_dot_product_attention (SDPA): on 4-D inputs a fused kernel that never stores n×n."""
    return torch.nn.functional.scaled_dot_product_attention(q, k, v)     # (batch, n_heads, n_q, d_v)


METHODS = {"naive": naive_attention, "sdpa": fused_attention}


@dataclass
class ScalingRun:
    """Attention measured at several n (one head, batch 1, d_k = d_v = d_head, float32)."""

    ns: list[int]
    d_head: int
    flops: list[int] = field(default_factory=list)               # counted formula, same for both methods
    matrix_bytes: list[int] = field(default_factory=list)        # one n×n float32 matrix
    seconds: dict[str, list[float]] = field(default_factory=dict)
    peak_bytes: dict[str, list[int]] = field(default_factory=dict)
    time_slopes: dict[str, float] = field(default_factory=dict)      # log-log slope of each method's time
    memory_slopes: dict[str, float] = field(default_factory=dict)    # ... and of its peak memory

    def slope(self, method: str, what: str = "seconds") -> float:
        values = self.seconds[method] if what == "seconds" else self.peak_bytes[method]
        return loglog_slope(self.ns, values)

    def slopes(self, what: str = "seconds") -> dict[str, float]:
        """The fitted slope of every method that has measurements of `what`."""
        table = self.seconds if what == "seconds" else self.peak_bytes
        return {m: loglog_slope(self.ns, v) for m, v in table.items() if v}


def measure_scaling(ns: Sequence[int], *, d_head: int = 64, methods: Sequence[str] = ("naive", "sdpa"),
                    repeats: int = 5, seed: int = 0, timed: bool = True, threads: int | None = 1) -> ScalingRun:
    """Time and weigh attention over n tokens for each n and method; count its flops.

    Methods are interleaved at each n so a burst of load elsewhere hits them alike.
    timed=False skips the clock (memory and counts are deterministic; timings are not).
    threads: torch threads while timing (see time_fn); None keeps the current setting.
    """
    run = ScalingRun([check_int(n, "n", minimum=1) for n in ns], check_int(d_head, "d_head", minimum=1))
    for name in methods:
        check_choice(name, "method", tuple(METHODS))
        run.seconds[name], run.peak_bytes[name] = [], []
    gen = torch.Generator().manual_seed(seed)
    for n in run.ns:
        q, k, v = (torch.randn(1, 1, n, d_head, generator=gen) for _ in range(3))  # (batch, n_heads, n, d_head)
        run.flops.append(attention_flops(n, n, d_head))
        run.matrix_bytes.append(attention_matrix_bytes(n))
        for name in methods:
            fn = METHODS[name]
            run.peak_bytes[name].append(tensor_memory(lambda: fn(q, k, v), q, k, v).peak_bytes)
            if timed:
                run.seconds[name].append(time_fn(lambda: fn(q, k, v), repeats=repeats, threads=threads))
    if len(run.ns) >= 2:
        run.time_slopes, run.memory_slopes = run.slopes("seconds"), run.slopes("bytes")
    return run


@dataclass
class DecodeCost:
    """The cost of producing token n (n tokens in context), with and without a key/value cache."""

    ns: list[int]
    flops_cached: list[int]
    flops_recompute: list[int]
    counted_cached: list[int]
    counted_recompute: list[int]
    seconds_cached: list[float]
    seconds_recompute: list[float]


def measure_decode_cost(mha, ns: Sequence[int], *, repeats: int = 5, seed: int = 0, timed: bool = True,
                        threads: int | None = 1) -> DecodeCost:
    """For each n: the formula, the counted flops and the median time of one decoding step.

    With the cache: a KVCache holding n - 1 tokens takes one more (the step is undone after each
    repeat, so every repeat sees the same n). Without: the layer reruns over all n tokens.
    """
    from ...decoding import KVCache, decode_step                          # decoding imports nothing from here

    ns = [check_int(n, "n", minimum=1) for n in ns]
    gen = torch.Generator().manual_seed(seed)
    dtype = mha.w_q.weight.dtype
    x = torch.randn(1, max(ns), mha.d_model, generator=gen, dtype=dtype)  # (batch, n, d_model)
    out = DecodeCost(ns, [], [], [], [], [], [])
    dims = (mha.d_model, mha.n_heads, mha.n_kv_heads)
    for n in ns:
        cache = KVCache.empty(mha, 1, capacity=max(ns), dtype=dtype)
        with torch.no_grad():
            if n > 1:
                decode_step(mha, x[:, :n - 1], cache)                     # prefill n - 1 tokens
        x_new = x[:, n - 1:n]                                             # (batch, 1, d_model)

        def cached_step():
            decode_step(mha, x_new, cache)
            cache.truncate(n - 1)

        def recompute_step():
            return mha(x[:, :n], causal=True)[0][:, -1]                   # (batch, d_model)

        out.flops_cached.append(decode_step_flops(n, *dims, cached=True))
        out.flops_recompute.append(decode_step_flops(n, *dims, cached=False))
        with torch.no_grad():
            out.counted_cached.append(count_flops(cached_step))
            out.counted_recompute.append(count_flops(recompute_step))
        if timed:
            out.seconds_cached.append(time_fn(cached_step, repeats=repeats, threads=threads))
            out.seconds_recompute.append(time_fn(recompute_step, repeats=repeats, threads=threads))
    return out
