"""What attention costs: operations counted, memory weighed, time measured, focus spread thin.

Counting (exact, checkable):
    attention_flops      2·n_q·n_k·d_k for QKᵀ plus 2·n_q·n_k·d_v for AV (4·n²·d for self-attention)
    attention_matrix_bytes  bytes of the n_q×n_k score (or weight) matrices
    mha_flops, decode_step_flops, generation_flops   the same for a whole MultiHeadAttention layer
    kv_cache_bytes       bytes a key/value cache holds: 2 · n_layers · n_kv_heads · d_head · n · element size
Measuring (on the reader's machine):
    count_flops(fn)      matmul flops torch really executes (torch.utils.flop_counter)
    tensor_memory(fn)    peak bytes of tensors alive at once while fn runs, and the largest one
    time_fn(fn)          median seconds over repeats, after warm-up
    loglog_fit(x, y)     the slope of log y against log x: 2 means "doubling x quadruples y"
Focus (C23):
    spread_thin          how the largest weight and the entropy of a softmax row behave as n grows,
                         and how much weight one relevant token keeps among n - 1 distractors
    needle_rows          the weights of such rows, one per n, for a picture
    context_report       every number the chapter's context-length explorer shows, for one n

A flop here is one floating-point multiply or add, so a multiply-add is 2 flops (the convention
of torch's FlopCounterMode and of most papers). Only matrix products are counted: softmax,
scaling and bias additions cost O(n²) or O(n·d) operations, a factor of about d fewer.
"""
from __future__ import annotations

import math
import statistics
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from .errors import AttentionInputError


def _pos_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise AttentionInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _bytes_per_element(dtype) -> int:
    if isinstance(dtype, torch.dtype):
        return torch.empty((), dtype=dtype).element_size()
    if isinstance(dtype, (int, np.integer)) and not isinstance(dtype, bool) and dtype > 0:
        return int(dtype)
    raise AttentionInputError(f"dtype must be a torch dtype or a number of bytes per element, got {dtype!r}")


# --- counting -------------------------------------------------------------------------------------

def attention_flops(n_q: int, n_k: int | None = None, d_k: int = 64, d_v: int | None = None, *,
                    n_heads: int = 1, batch: int = 1) -> int:
    """Matmul flops of softmax(QKᵀ/√d_k)V: 2·n_q·n_k·d_k (scores) + 2·n_q·n_k·d_v (weighted sum).

    For self-attention with n_q = n_k = n and d_k = d_v = d this is 4·n²·d per head: doubling n
    multiplies it by 4. A dense mask does not change it (masked scores are computed, then hidden).
    """
    n_q = _pos_int(n_q, "n_q")
    n_k = n_q if n_k is None else _pos_int(n_k, "n_k")
    d_k = _pos_int(d_k, "d_k")
    d_v = d_k if d_v is None else _pos_int(d_v, "d_v")
    return _pos_int(batch, "batch") * _pos_int(n_heads, "n_heads") * 2 * n_q * n_k * (d_k + d_v)


def attention_matrix_bytes(n_q: int, n_k: int | None = None, *, n_heads: int = 1, batch: int = 1,
                           dtype=torch.float32) -> int:
    """Bytes of one (batch, n_heads, n_q, n_k) matrix of scores or weights: grows with n²."""
    n_q = _pos_int(n_q, "n_q")
    n_k = n_q if n_k is None else _pos_int(n_k, "n_k")
    return _pos_int(batch, "batch") * _pos_int(n_heads, "n_heads") * n_q * n_k * _bytes_per_element(dtype)


def _mha_dims(d_model: int, n_heads: int, n_kv_heads: int | None) -> tuple[int, int, int]:
    d_model, n_heads = _pos_int(d_model, "d_model"), _pos_int(n_heads, "n_heads")
    n_kv_heads = n_heads if n_kv_heads is None else _pos_int(n_kv_heads, "n_kv_heads")
    if d_model % n_heads or n_heads % n_kv_heads:
        raise AttentionInputError(
            f"need d_model divisible by n_heads and n_heads divisible by n_kv_heads, got "
            f"d_model={d_model}, n_heads={n_heads}, n_kv_heads={n_kv_heads}")
    return d_model, d_model // n_heads, n_kv_heads


def projection_flops(n: int, d_model: int, n_heads: int, n_kv_heads: int | None = None) -> int:
    """Matmul flops of the four projections W_Q, W_K, W_V, W_O applied to n tokens.

    W_Q and W_O are d_model×d_model; W_K and W_V are d_model×(n_kv_heads·d_head).
    """
    d_model, d_head, n_kv_heads = _mha_dims(d_model, n_heads, n_kv_heads)
    d_kv = n_kv_heads * d_head
    return _pos_int(n, "n") * (2 * 2 * d_model * d_model + 2 * 2 * d_model * d_kv)


def mha_flops(n: int, d_model: int, n_heads: int, n_kv_heads: int | None = None, *, batch: int = 1) -> int:
    """Matmul flops of one MultiHeadAttention forward pass over n tokens (causal or not).

    projections 4·n·d_model² (fewer with n_kv_heads < n_heads) + attention 4·n²·d_model.
    """
    d_model, d_head, n_kv_heads = _mha_dims(d_model, n_heads, n_kv_heads)
    attn = attention_flops(n, n, d_head, n_heads=n_heads)
    return _pos_int(batch, "batch") * (projection_flops(n, d_model, n_heads, n_kv_heads) + attn)


def decode_step_flops(n: int, d_model: int, n_heads: int, n_kv_heads: int | None = None, *,
                      cached: bool = True, batch: int = 1) -> int:
    """Matmul flops to produce the output of token n (so n tokens are in context, itself included).

    cached=True: project the one new token and attend from one query to n cached keys:
        projection_flops(1, ...) + 4·n·d_model              (grows linearly with n)
    cached=False: rerun the layer over all n tokens (decoding.decode_recompute):
        projection_flops(n, ...) + 4·n²·d_model             (grows with n²)
    """
    n = _pos_int(n, "n")
    d_model, d_head, n_kv_heads = _mha_dims(d_model, n_heads, n_kv_heads)
    if cached:
        one = projection_flops(1, d_model, n_heads, n_kv_heads) + attention_flops(1, n, d_head, n_heads=n_heads)
        return _pos_int(batch, "batch") * one
    return mha_flops(n, d_model, n_heads, n_kv_heads, batch=batch)


def generation_flops(n_prompt: int, n_new: int, d_model: int, n_heads: int, n_kv_heads: int | None = None, *,
                     cached: bool = True, batch: int = 1) -> int:
    """Total attention-layer flops to read a prompt and produce n_new outputs after it.

    cached=True: one prefill pass over the prompt, then n_new - 1 single-token steps (the last
    generated token needs no step of its own), as `decoding.generate` does.
    cached=False: n_new full passes over n_prompt, n_prompt + 1, ... tokens.
    """
    n_prompt = _pos_int(n_prompt, "n_prompt")
    n_new = _pos_int(n_new, "n_new", minimum=0)
    if n_new == 0:
        return 0
    if cached:
        total = mha_flops(n_prompt, d_model, n_heads, n_kv_heads, batch=batch)
        total += sum(decode_step_flops(n, d_model, n_heads, n_kv_heads, cached=True, batch=batch)
                     for n in range(n_prompt + 1, n_prompt + n_new))
        return total
    return sum(mha_flops(n, d_model, n_heads, n_kv_heads, batch=batch) for n in range(n_prompt, n_prompt + n_new))


def kv_cache_bytes(n: int, *, n_layers: int, n_kv_heads: int, d_head: int, batch: int = 1,
                   dtype=torch.float16) -> int:
    """Bytes of a key/value cache holding n tokens: 2 (K and V) · n_layers · n_kv_heads · d_head · n · batch · element size.

    Multi-head attention has n_kv_heads = n_heads; grouped-query attention fewer; multi-query 1.
    `dtype` is a torch dtype or a number of bytes per element (float16 and bfloat16: 2).
    """
    return (2 * _pos_int(n_layers, "n_layers") * _pos_int(n_kv_heads, "n_kv_heads") * _pos_int(d_head, "d_head")
            * _pos_int(n, "n", minimum=0) * _pos_int(batch, "batch") * _bytes_per_element(dtype))


# --- measuring ------------------------------------------------------------------------------------

def count_flops(fn: Callable[[], object]) -> int:
    """Run fn() once and return the matmul flops torch executed (torch.utils.flop_counter).

    This counts what the code really does, so it checks the formulas above. (torch 2.13 does not
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
    Scratch space a fused kernel allocates inside itself (not as a tensor) is not seen: for
    torch's flash-style CPU kernel that is a few blocks per thread, independent of n.
    """
    existing = {t.untyped_storage().data_ptr() for t in inputs if isinstance(t, torch.Tensor)}
    mode = _LiveTensors(existing)
    with torch.no_grad(), mode:
        result = fn()
    del result
    return TensorMemory(mode.peak, mode.largest, mode.largest_shape)


@contextmanager
def torch_threads(threads: int | None):
    """Run a block with torch limited to `threads` threads (None: leave the setting alone)."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(_pos_int(threads, "threads"))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_fn(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, threads: int | None = None) -> float:
    """Median wall-clock seconds of fn() over `repeats` runs, after `warmup` untimed runs.

    The median ignores the odd slow run (another process, a cold cache). Timings depend on the
    machine and its load: compare them within one run, never against stored numbers.
    threads: run with this many torch threads. One thread measures the work itself; several
    threads on a machine whose cores are busy (a shared server, Binder) wait for each other
    and can turn a millisecond into a tenth of a second.
    """
    repeats = _pos_int(repeats, "repeats")
    warmup = _pos_int(warmup, "warmup", minimum=0)
    with torch.no_grad(), torch_threads(threads):
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


# --- the attention layer at several lengths: timed, weighed, counted -------------------------------

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

    def slope(self, method: str, what: str = "seconds") -> float:
        values = self.seconds[method] if what == "seconds" else self.peak_bytes[method]
        return loglog_slope(self.ns, values)


def measure_scaling(ns: Sequence[int], *, d_head: int = 64, methods: Sequence[str] = ("naive", "sdpa"),
                    repeats: int = 5, seed: int = 0, timed: bool = True, threads: int | None = 1) -> ScalingRun:
    """Time and weigh attention over n tokens for each n and method; count its flops.

    Methods are interleaved at each n so a burst of load elsewhere hits them alike.
    timed=False skips the clock (memory and counts are deterministic; timings are not).
    threads: torch threads while timing (see time_fn); None keeps the current setting.
    """
    run = ScalingRun([_pos_int(n, "n") for n in ns], _pos_int(d_head, "d_head"))
    for name in methods:
        if name not in METHODS:
            raise AttentionInputError(f"method must be one of {sorted(METHODS)}, got {name!r}")
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
    return run


# --- per-token cost of generation -----------------------------------------------------------------

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
    from .decoding import KVCache, decode_step                           # decoding imports nothing from here

    ns = [_pos_int(n, "n") for n in ns]
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


# --- attention spread thin (C23) ------------------------------------------------------------------

def expected_needle_weight(n, margin: float, sigma: float = 1.0):
    """Approximate weight on one relevant key scoring `margin` among n - 1 distractors with N(0, σ²) scores.

    softmax gives it e^m / (e^m + Σ_j e^{z_j}); the distractors' sum is close to its mean
    (n - 1)·e^{σ²/2}, so the weight is about e^m / (e^m + (n - 1)·e^{σ²/2}): it falls like 1/n.
    """
    n = np.asarray(n, dtype=float)
    if (n < 1).any():
        raise AttentionInputError("n must be >= 1")
    return 1.0 / (1.0 + (n - 1) * np.exp(sigma ** 2 / 2 - margin))


def margin_needed(n, weight: float = 0.5, sigma: float = 1.0):
    """The score margin m at which the relevant key keeps `weight` of the attention among n keys.

    Solving weight = e^m / (e^m + (n-1)·e^{σ²/2}) for m gives m = log(weight/(1-weight)) + log(n-1) + σ²/2:
    to stay equally focused, the margin must grow like log n.
    """
    n = np.asarray(n, dtype=float)
    if not 0 < weight < 1:
        raise AttentionInputError(f"weight must lie strictly between 0 and 1, got {weight!r}")
    if (n < 2).any():
        raise AttentionInputError("n must be >= 2 (one relevant key and at least one distractor)")
    return np.log(weight / (1 - weight)) + np.log(n - 1) + sigma ** 2 / 2


@dataclass
class SpreadThin:
    """Statistics of softmax rows over n keys, averaged over rows (one entry per n)."""

    ns: np.ndarray
    max_weight: np.ndarray        # the largest weight in a row of random scores
    entropy: np.ndarray           # entropy of that row, in nats (log n would be perfectly uniform)
    needle_weight: np.ndarray     # weight on the one relevant key (nan when margin is None)
    expected_needle: np.ndarray   # expected_needle_weight at the same n
    margin: float | None
    sigma: float


def spread_thin(ns: Sequence[int], *, margin: float | None = 3.0, sigma: float = 1.0, n_rows: int = 64,
                seed: int = 0) -> SpreadThin:
    """Softmax over n scores, for each n: how concentrated is the attention?

    Random rows: n scores drawn from N(0, σ²) (random queries and keys, scaled by 1/√d_k, give
    scores of about unit variance). The largest weight shrinks and the entropy approaches
    log n - σ²/2: the row drifts towards uniform.
    Needle rows: key 0 is relevant and scores `margin`; the other n - 1 are random distractors.
    Its weight falls like 1/n (see expected_needle_weight).
    """
    ns = np.array([_pos_int(n, "n") for n in ns])
    if not (isinstance(sigma, (int, float)) and sigma > 0):
        raise AttentionInputError(f"sigma must be a positive number, got {sigma!r}")
    n_rows = _pos_int(n_rows, "n_rows")
    gen = torch.Generator().manual_seed(seed)
    max_w, ent, needle = [], [], []
    for n in ns:
        scores = sigma * torch.randn(n_rows, int(n), generator=gen, dtype=torch.float64)  # (n_rows, n)
        w = torch.softmax(scores, dim=-1)                                                  # (n_rows, n)
        max_w.append(float(w.max(dim=-1).values.mean()))
        ent.append(float(-(w * torch.log(w)).sum(dim=-1).mean()))
        if margin is None:
            needle.append(float("nan"))
        else:
            scores[:, 0] = margin
            needle.append(float(torch.softmax(scores, dim=-1)[:, 0].mean()))
    expected = (np.full(len(ns), np.nan) if margin is None else expected_needle_weight(ns, margin, sigma))
    return SpreadThin(ns, np.array(max_w), np.array(ent), np.array(needle), expected, margin, float(sigma))


def needle_rows(ns: Sequence[int], *, margin: float = 3.0, sigma: float = 1.0, seed: int = 0) -> np.ndarray:
    """(len(ns), max(ns)) array: row r is a softmax over ns[r] keys, key 0 relevant (score `margin`),
    the others distractors with N(0, σ²) scores; positions past ns[r] are nan (no such key).

    The distractor scores are shared between rows (row r uses the first ns[r] - 1 of them), so
    the rows differ only in how many distractors there are.
    """
    ns = [_pos_int(n, "n") for n in ns]
    if not ns:
        raise AttentionInputError("ns must list at least one n")
    width = max(ns)
    gen = torch.Generator().manual_seed(seed)
    distractors = sigma * torch.randn(width - 1, generator=gen, dtype=torch.float64)   # (width - 1,)
    rows = np.full((len(ns), width), np.nan)
    for r, n in enumerate(ns):
        scores = torch.cat([torch.tensor([float(margin)], dtype=torch.float64), distractors[:n - 1]])  # (n,)
        rows[r, :n] = torch.softmax(scores, dim=0).numpy()
    return rows


# --- the context-length explorer ------------------------------------------------------------------

@dataclass(frozen=True)
class ModelShape:
    """The sizes of a decoder that set its attention costs (a named shape, not a trained model)."""

    name: str
    d_model: int
    n_heads: int
    n_kv_heads: int
    n_layers: int

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


# The published shape of a 7-billion-parameter decoder (Llama 2 7B: 32 layers, 32 heads of d_head = 128)
# and the same shape with grouped-query (8 key/value heads) and multi-query (1) attention.
MODEL_SHAPES = {
    "MHA (32 key/value heads)": ModelShape("MHA (32 key/value heads)", 4096, 32, 32, 32),
    "GQA (8 key/value heads)": ModelShape("GQA (8 key/value heads)", 4096, 32, 8, 32),
    "MQA (1 key/value head)": ModelShape("MQA (1 key/value head)", 4096, 32, 1, 32),
}


def context_report(n: int, shape: ModelShape, *, margin: float = 3.0, sigma: float = 1.0,
                   dtype=torch.float16) -> dict[str, float]:
    """Every number the context-length explorer shows for a context of n tokens and one model shape.

    attention_flops:       QKᵀ and AV for all heads and layers over n tokens (a full forward pass)
    score_matrix_bytes:    one n×n matrix for every head of every layer, if it were stored
    kv_cache_bytes:        the key/value cache for n tokens (`dtype`, default 2 bytes per number)
    kv_bytes_per_token:    the same for one token
    step_flops_cached / step_flops_recompute: the attention layers' flops for token n
    needle_weight:         expected weight on one relevant token with score margin `margin`
    """
    n = _pos_int(n, "n")
    if not isinstance(shape, ModelShape):
        raise AttentionInputError(f"shape must be a ModelShape (see MODEL_SHAPES), got {type(shape).__name__}")
    layers = shape.n_layers
    dims = (shape.d_model, shape.n_heads, shape.n_kv_heads)
    per_token = kv_cache_bytes(1, n_layers=layers, n_kv_heads=shape.n_kv_heads, d_head=shape.d_head, dtype=dtype)
    return {
        "n": n,
        "attention_flops": layers * attention_flops(n, n, shape.d_head, n_heads=shape.n_heads),
        "score_matrix_bytes": layers * attention_matrix_bytes(n, n_heads=shape.n_heads, dtype=dtype),
        "kv_cache_bytes": n * per_token,
        "kv_bytes_per_token": per_token,
        "step_flops_cached": layers * decode_step_flops(n, *dims, cached=True),
        "step_flops_recompute": layers * decode_step_flops(n, *dims, cached=False),
        "needle_weight": float(expected_needle_weight(n, margin, sigma)),
    }


def human_bytes(nbytes: float) -> str:
    """1536 -> '1.5 KiB' (powers of 1024), for tables the reader can take in at a glance."""
    units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]
    value, unit = float(nbytes), 0
    while abs(value) >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{int(value)} bytes" if unit == 0 else f"{value:.1f} {units[unit]}"


def human_flops(flops: float) -> str:
    """3.2e9 -> '3.2 GFLOP' (powers of 1000)."""
    units = ["FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"]
    value, unit = float(flops), 0
    while abs(value) >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    return f"{int(value)} FLOP" if unit == 0 else f"{value:.1f} {units[unit]}"
