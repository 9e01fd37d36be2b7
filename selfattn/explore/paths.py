"""How far information travels: path lengths and sequential steps in RNN, CNN and self-attention layers.

Each architecture is written down as a dependency graph over (layer, position) nodes, and every
number the book quotes is *measured* on that graph by breadth-first search or a longest-chain pass,
then compared with the asymptotic table of Vaswani et al. (2017), Table 1.

The book's convention (chapter 1 states it once): the **path length** between token i and
position j is the number of edges (hops) a signal crosses on the shortest path; the distance is
d = |i - j|. Then an RNN needs d recurrence steps, a stack of ordinary convolutions of odd width k
(centred) needs ceil(d / ((k-1)/2)) layers, and self-attention needs 1 (0 when i = j everywhere).

Nodes: for the stacked layers (convolutions, attention), node (0, p) is input token p and node
(l, p) is position p's representation after l layers. The RNN has one row of nodes: node (0, p)
is the hidden state h_p, the cell that reads token p, and its edges are the recurrence
h_{p-1} -> h_p (token p enters its own cell, so reading it is not a hop between positions).

Dilated convolutions double their dilation from layer to layer (1, 2, 4, ...), as WaveNet and
ByteNet do, and the cycle repeats once it reaches its largest dilation (cyclic schedule).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..errors import check_choice, check_int, check_positive
from . import gradients

ARCHITECTURES = ("rnn", "cnn", "dilated_cnn", "restricted_attention", "attention")
MAX_N = 128          # graphs are built node by node; the formulas take any n


def _check(arch: str, n: int, kernel: int, max_n: int | None = MAX_N) -> None:
    check_choice(arch, "arch", ARCHITECTURES)
    check_int(n, "n", minimum=1, maximum=max_n, meaning="number of tokens")
    check_int(kernel, "kernel", minimum=2, meaning="kernel width k, or neighbourhood size r")


def dilation_schedule(n: int, max_dilation: int | None = None) -> list[int]:
    """One cycle of a doubling schedule: 1, 2, 4, ... while the dilation stays below n (or up to
    max_dilation, e.g. ByteNet's 16). A deeper stack repeats the cycle from 1."""
    check_int(n, "n", minimum=1, meaning="number of tokens")
    cap = n - 1 if max_dilation is None else check_int(max_dilation, "max_dilation", minimum=1)
    out = [1]
    while out[-1] * 2 <= cap:
        out.append(out[-1] * 2)
    return out


def _dilations(n: int, dilations) -> list[int]:
    if dilations is None:
        return dilation_schedule(n)
    out = [check_int(d, "each dilation", minimum=1) for d in dilations]
    if not out:
        check_int(len(out), "len(dilations)", minimum=1, meaning="a schedule needs at least one layer")
    return out


def parents(arch: str, layer: int, p: int, n: int, kernel: int = 3, dilations=None) -> list[tuple[int, int]]:
    """The nodes that node (layer, p) reads directly (its incoming edges)."""
    if arch == "rnn":            # one row of cells: h_p = f(h_{p-1}, x_p)
        return [(0, p - 1)] if layer == 0 and p > 0 else []
    if layer == 0:
        return []
    if arch == "attention":      # every position reads every position of the layer below
        return [(layer - 1, j) for j in range(n)]
    if arch in ("cnn", "restricted_attention"):   # a centred window of width k (or neighbourhood r)
        lo = p - (kernel - 1) // 2
        return [(layer - 1, j) for j in range(lo, lo + kernel) if 0 <= j < n]
    schedule = _dilations(n, dilations)           # dilated: taps `dilation` apart, schedule cycles
    dilation = schedule[(layer - 1) % len(schedule)]
    half = (kernel - 1) // 2
    taps = [p + dilation * t for t in range(-half, kernel - half)]
    return [(layer - 1, j) for j in taps if 0 <= j < n]


def path_table(arch: str, n: int, kernel: int = 3, dilations=None) -> list[list[int | None]]:
    """(n, n) table: entry [i][j] is the path length (edges) from token i to position j, None if no path.

    For stacked layers it is the first layer whose receptive field at j contains i (0 when i = j),
    found by growing every position's receptive field layer by layer (as bit masks); for the RNN it
    is j - i recurrence steps, and None when j < i (information flows forward only).
    """
    _check(arch, n, kernel)
    schedule = None if dilations is None else tuple(_dilations(n, dilations))
    return [list(row) for row in _path_table(arch, n, kernel, schedule)]


@lru_cache(maxsize=256)
def _path_table(arch: str, n: int, kernel: int, dilations: tuple | None) -> tuple[tuple[int | None, ...], ...]:
    """path_table's work, remembered: a widget asks for the same graphs on every redraw."""
    if arch == "rnn":
        return tuple(tuple((j - i) if j >= i else None for j in range(n)) for i in range(n))
    table = [[0 if i == j else None for j in range(n)] for i in range(n)]
    fields = [1 << p for p in range(n)]           # bit i of fields[p]: token i reaches position p
    full = (1 << n) - 1
    cycle = len(_dilations(n, dilations)) if arch == "dilated_cnn" else 1
    layer, stale = 0, 0
    while any(f != full for f in fields) and stale < cycle:
        layer += 1
        new = []
        for p in range(n):
            f = fields[p]
            for _, q in parents(arch, layer, p, n, kernel, dilations):
                f |= fields[q]
            fresh, i = f & ~fields[p], 0
            while fresh:
                if fresh & 1:
                    table[i][p] = layer
                fresh >>= 1
                i += 1
            new.append(f)
        stale = stale + 1 if new == fields else 0   # a whole cycle with no growth: never reachable
        fields = new
    return tuple(tuple(row) for row in table)


def layers_needed(arch: str, n: int, kernel: int = 3, dilations=None) -> int:
    """Fewest stacked layers after which every output position can see every input token (RNN: 1)."""
    if arch == "rnn":
        _check(arch, n, kernel)
        return 1
    return max((v for row in path_table(arch, n, kernel, dilations) for v in row if v is not None), default=0)


def _position(name: str, pos, n: int) -> int:
    return check_int(pos, name, minimum=0, maximum=n - 1, meaning=f"a position in 0..n-1 = 0..{n - 1}")


def shortest_path(arch: str, n: int, i: int, j: int, kernel: int = 3, dilations=None):
    """The shortest chain of nodes carrying token i to position j, from (0, i) to (top, j).

    Returns None when no path exists (in an RNN, information never flows backwards).
    """
    _check(arch, n, kernel)
    i, j = _position("i", i, n), _position("j", j, n)
    if arch == "rnn":
        return [(0, p) for p in range(i, j + 1)] if j >= i else None
    top = path_table(arch, n, kernel, dilations)[i][j]
    if top is None:
        return None
    start, goal = (top, j), (0, i)                 # breadth-first search backwards from the target
    prev = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return path
        for par in parents(arch, node[0], node[1], n, kernel, dilations):
            if par not in prev:
                prev[par] = node
                queue.append(par)
    return None  # pragma: no cover  (the table said a path exists)


def path_length(arch: str, n: int, i: int, j: int, kernel: int = 3, dilations=None) -> int | None:
    """Number of edges (hops) on the shortest path from token i to position j (None: no path)."""
    path = shortest_path(arch, n, i, j, kernel, dilations)
    return None if path is None else len(path) - 1


def max_path_length(arch: str, n: int, kernel: int = 3, dilations=None) -> int | None:
    """Longest of the shortest paths over all connected pairs (i, j): Table 1's "maximum path length".

    None when some pair is never connected (a dilation schedule with gaps)."""
    table = path_table(arch, n, kernel, dilations)
    if arch != "rnn" and any(v is None for row in table for v in row):
        return None
    return max(v for row in table for v in row if v is not None)


def summary(n: int, i: int, j: int, kernel: int = 3) -> dict[str, int | None]:
    """Path length from token i to position j in every architecture (what chapter 1's widget shows)."""
    return {arch: path_length(arch, n, i, j, kernel) for arch in ARCHITECTURES}


def sequential_steps(arch: str, n: int, kernel: int = 3) -> int:
    """Longest chain of computations inside ONE layer that must run one after another.

    Positions whose inputs are all ready can be computed at the same time; this counts the
    rounds needed (the depth of the layer's dependency graph), not the operations.
    """
    _check(arch, n, kernel)
    layer = 0 if arch == "rnn" else 1
    depth: dict[int, int] = {}
    for p in range(n):  # positions in order, so an RNN's h_{p-1} is done before h_p
        inside = [q for (lq, q) in parents(arch, layer, p, n, kernel) if lq == layer]
        depth[p] = 1 + max((depth[q] for q in inside), default=0)
    return max(depth.values())


def flops_per_layer(arch: str, n: int, d: int, kernel: int = 3) -> int:
    """Flops (one multiply-add = 2 flops) of one layer of width d: Table 1's "complexity per layer".

    attention: scores QKᵀ (n·n·d multiply-adds) plus the weighted sum AV (n·n·d), projections left
    out as Table 1 does; restricted attention: the same with r = kernel keys per query;
    rnn: h_p = W_h h_{p-1} + W_x x_p is 2·d² multiply-adds per position; cnn: k·d² per position.
    """
    _check(arch, n, kernel, max_n=None)
    d = check_int(d, "d", minimum=1, meaning="width of a token vector")
    macs = {"attention": 2 * n * n * d, "restricted_attention": 2 * n * kernel * d, "rnn": 2 * n * d * d,
            "cnn": kernel * n * d * d, "dilated_cnn": kernel * n * d * d}[arch]
    return 2 * macs


@dataclass(frozen=True)
class TableRow:
    arch: str
    max_path_length: int
    sequential_steps: int
    flops: int
    vaswani: str   # the asymptotic entry of Table 1 for the same row


VASWANI_TABLE1 = {
    "rnn": "O(n) path, O(n) sequential, O(n·d²) per layer",
    "cnn": "O(n/k) path, O(1) sequential, O(k·n·d²) per layer",
    "dilated_cnn": "O(log_k n) path, O(1) sequential, O(k·n·d²) per layer",
    "restricted_attention": "O(n/r) path, O(1) sequential, O(r·n·d) per layer",
    "attention": "O(1) path, O(1) sequential, O(n²·d) per layer",
}


def _width(arch: str, kernel: int, window: int | None) -> int:
    """The window a row uses: the neighbourhood r for restricted attention (when given), else k."""
    return window if arch == "restricted_attention" and window is not None else kernel


def comparison_table(n: int, d: int, kernel: int = 3, window: int | None = None) -> list[TableRow]:
    """Measured path lengths, sequential steps and flops for every architecture at one n
    (convolutions of width `kernel`; restricted attention over `window` = r neighbours, default k)."""
    return [TableRow(a, max_path_length(a, n, _width(a, kernel, window)), sequential_steps(a, n, _width(a, kernel, window)),
                     flops_per_layer(a, n, d, _width(a, kernel, window)), VASWANI_TABLE1[a]) for a in ARCHITECTURES]


def growth(arch: str, ns, kernel: int = 3) -> list[int]:
    """max_path_length for each n in ns (to see O(1), O(log n), O(n/k) and O(n) emerge)."""
    return [max_path_length(arch, n, kernel) for n in ns]


def growth_table(ns, kernel: int = 3, window: int | None = None) -> dict[str, list[int]]:
    """growth() for every architecture (restricted attention over `window` = r neighbours): the growth figure."""
    return {arch: growth(arch, ns, _width(arch, kernel, window)) for arch in ARCHITECTURES}


def predicted_cnn_layers(distance: int, kernel: int) -> int:
    """The convention's closed form for centred kernels of odd width k: ceil(d / ((k-1)/2))."""
    check_int(distance, "distance", minimum=0)
    check_int(kernel, "kernel", minimum=3)
    return math.ceil(distance / ((kernel - 1) // 2))


def layout(arch: str, n: int, i: int, j: int, kernel: int = 3, dilations=None) -> dict:
    """Geometry for drawing: nodes, all edges and the highlighted shortest path (used by viz and widget)."""
    path = shortest_path(arch, n, i, j, kernel, dilations)
    top = 0 if arch == "rnn" else (path[-1][0] if path else layers_needed(arch, n, kernel, dilations))
    if arch != "rnn":
        top = max(top, 1)
    nodes = [(layer, p) for layer in range(top + 1) for p in range(n)]
    edges = [(par, (layer, p)) for layer in range(top + 1) for p in range(n)
             for par in parents(arch, layer, p, n, kernel, dilations)]
    return {"arch": arch, "n": n, "i": i, "j": j, "kernel": kernel, "layers": top, "nodes": nodes,
            "edges": edges, "path": path or [], "length": None if path is None else len(path) - 1}


# --- gradients over distance, averaged over random initialisations ---------------------------------

@dataclass(frozen=True)
class Sensitivity:
    """‖∂y_{n-1}/∂x_i‖ for a tanh RNN and one attention layer, over several random seeds.

    distance[i] = n-1-i; rnn and attention are (n_seeds, n); geo_* are geometric means over seeds;
    factor_* is the fitted change per token of distance of each seed (10 ** slope of log10)."""

    distance: torch.Tensor       # (n,)
    rnn: torch.Tensor            # (n_seeds, n)
    attention: torch.Tensor      # (n_seeds, n)
    geo_rnn: torch.Tensor        # (n,)
    geo_attention: torch.Tensor  # (n,)
    factor_rnn: torch.Tensor     # (n_seeds,)
    factor_attention: torch.Tensor  # (n_seeds,)


def _per_token_factor(s: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    """10 ** (slope of log10 s against distance), fitted on distances >= 1, one per row of s."""
    keep = distance >= 1
    x = distance[keep].double()
    y = torch.log10(s[:, keep])                              # (n_seeds, n-1)
    xc = x - x.mean()
    slope = ((y - y.mean(dim=1, keepdim=True)) * xc).sum(dim=1) / (xc * xc).sum()
    return 10.0 ** slope


def sensitivity_over_seeds(n: int = 32, d: int = 16, *, gain: float = 0.9, seeds=range(10)) -> Sensitivity:
    """Gradient norms of the last output with respect to every input, for each seed in `seeds`."""
    check_int(n, "n", minimum=2, maximum=256)
    check_positive(gain, "gain", meaning="spectral radius of the recurrent matrix")
    seeds = list(seeds)
    check_int(len(seeds), "len(seeds)", minimum=1)
    rnn = torch.stack([gradients.rnn_sensitivity(n=n, d=d, gain=gain, seed=s) for s in seeds])   # (n_seeds, n)
    att = torch.stack([gradients.attention_sensitivity(n=n, d=d, seed=s) for s in seeds])        # (n_seeds, n)
    distance = torch.arange(n - 1, -1, -1)                                                        # (n,)
    return Sensitivity(distance, rnn, att, 10 ** torch.log10(rnn).mean(0), 10 ** torch.log10(att).mean(0),
                       _per_token_factor(rnn, distance), _per_token_factor(att, distance))
