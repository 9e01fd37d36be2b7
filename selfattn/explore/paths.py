"""How far information travels: path lengths and sequential steps in RNN, CNN and self-attention layers.

Each architecture is written down as a dependency graph over (layer, position) nodes, and every
number the book quotes is *measured* on that graph by breadth-first search or a longest-path pass,
then compared with the asymptotic table of Vaswani et al. (2017), Table 1.

Node (0, p) is input token p; node (l, p) is position p's representation after l layers.
For the RNN, one "layer" is the recurrence, so node (1, p) is hidden state h_p.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ..errors import AttentionInputError

ARCHITECTURES = ("rnn", "cnn", "dilated_cnn", "attention")
MAX_N = 64


def _check(arch: str, n: int, kernel: int, max_n: int | None = MAX_N) -> None:
    """Graphs are built node by node, so they refuse n above MAX_N; formulas take any n."""
    if arch not in ARCHITECTURES:
        raise AttentionInputError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or (max_n is not None and n > max_n):
        raise AttentionInputError(f"n must be an integer between 1 and {max_n or 'any size'}, got {n!r}"
                                  + (" (the graphs are built node by node; larger n is slow)" if max_n else ""))
    if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 2:
        raise AttentionInputError(f"kernel must be an integer >= 2, got {kernel!r}")


def parents(arch: str, layer: int, p: int, n: int, kernel: int = 3) -> list[tuple[int, int]]:
    """The nodes that node (layer, p) reads directly (its incoming edges)."""
    if layer == 0:
        return []
    if arch == "rnn":  # h_p = f(h_{p-1}, x_p): one recurrent layer, edges inside it
        return [(0, p)] + ([(1, p - 1)] if p > 0 else [])
    if arch == "attention":  # every position reads every position of the layer below
        return [(layer - 1, j) for j in range(n)]
    if arch == "cnn":  # centred kernel of width `kernel`
        lo = p - (kernel - 1) // 2
        return [(layer - 1, j) for j in range(lo, lo + kernel) if 0 <= j < n]
    # dilated (WaveNet/ByteNet-style): dilations 1, k, k², ... below n, then the cycle repeats
    levels = max(1, math.ceil(math.log(n, kernel))) if n > 1 else 1
    dilation = kernel ** ((layer - 1) % levels)
    half = (kernel - 1) // 2 if kernel % 2 else kernel // 2
    taps = [p + dilation * t for t in range(-half, kernel - half)]
    return [(layer - 1, j) for j in taps if 0 <= j < n]


def contact_layers(arch: str, n: int, kernel: int = 3) -> list[list[int | None]]:
    """(n, n) table: entry [i][j] is the number of edges on the shortest path from input token i
    to position j's representation, in a stack just deep enough to connect them (None: never).

    For stacked layers (CNN, attention) that is the first layer whose receptive field at j
    contains i; for the RNN it is 1 + (j - i) steps along the recurrence, and None when j < i.
    """
    _check(arch, n, kernel)
    if arch == "rnn":
        return [[(1 + j - i) if j >= i else None for j in range(n)] for i in range(n)]
    table = [[None] * n for _ in range(n)]
    fields = [{p} for p in range(n)]                  # receptive field of each position at layer 0
    layer = 0
    while any(len(f) < n for f in fields) or layer == 0:
        layer += 1
        fields = [set().union(*(fields[par[1]] for par in parents(arch, layer, p, n, kernel))) for p in range(n)]
        for j, f in enumerate(fields):
            for i in f:
                if table[i][j] is None:
                    table[i][j] = layer
        if layer > 2 * n:
            break
    return table


def layers_needed(arch: str, n: int, kernel: int = 3) -> int:
    """Fewest stacked layers after which every output position can see every input token."""
    if arch == "rnn":
        _check(arch, n, kernel)
        return 1
    return max(v for row in contact_layers(arch, n, kernel) for v in row)


def shortest_path(arch: str, n: int, i: int, j: int, kernel: int = 3):
    """The shortest chain of nodes carrying token i's input to position j, from (0, i) to (top, j).

    Returns None when no path exists (in an RNN, information never flows backwards).
    """
    _check(arch, n, kernel)
    for name, pos in (("i", i), ("j", j)):
        if isinstance(pos, bool) or not isinstance(pos, int) or not 0 <= pos < n:
            raise AttentionInputError(f"{name} must be a position in 0..n-1 = 0..{n - 1}, got {pos!r}")
    top = 1 if arch == "rnn" else contact_layers(arch, n, kernel)[i][j]
    if top is None:
        return None
    # breadth-first search backwards from the target, so the path found is a shortest one
    start, goal = (top, j), (0, i)
    prev = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return path
        for par in parents(arch, node[0], node[1], n, kernel):
            if par not in prev:
                prev[par] = node
                queue.append(par)
    return None


def path_length(arch: str, n: int, i: int, j: int, kernel: int = 3) -> int | None:
    """Number of edges (computations) on the shortest path from input token i to position j."""
    path = shortest_path(arch, n, i, j, kernel)
    return None if path is None else len(path) - 1


def max_path_length(arch: str, n: int, kernel: int = 3) -> int:
    """Longest of the shortest paths over all connected pairs (i, j): Table 1's "maximum path length"."""
    return max(v for row in contact_layers(arch, n, kernel) for v in row if v is not None)


def sequential_steps(arch: str, n: int, kernel: int = 3) -> int:
    """Longest chain of computations inside ONE layer that must run one after another.

    Positions whose inputs are all ready can be computed at the same time; this counts the
    rounds needed (the depth of the layer's dependency graph), not the operations.
    """
    _check(arch, n, kernel)
    depth = {}
    for p in range(n):  # positions in order, so an RNN's h_{p-1} is done before h_p
        inside = [par for par in parents(arch, 1, p, n, kernel) if par[0] == 1]
        depth[p] = 1 + max((depth[par[1]] for par in inside), default=0)
    return max(depth.values())


def operations_per_layer(arch: str, n: int, d: int, kernel: int = 3) -> int:
    """Multiply-adds for one layer with width d (the "complexity per layer" column of Table 1).

    attention: scores QKᵀ (n·n·d) plus the weighted sum AV (n·n·d), projections left out as Table 1 does;
    rnn: h_p = W_h h_{p-1} + W_x x_p is 2·d² per position; cnn: kernel·d² per position.
    """
    _check(arch, n, kernel, max_n=None)
    if arch == "attention":
        return 2 * n * n * d
    if arch == "rnn":
        return 2 * n * d * d
    return kernel * n * d * d


@dataclass(frozen=True)
class TableRow:
    arch: str
    max_path_length: int
    sequential_steps: int
    operations: int
    vaswani: str   # the asymptotic entry of Table 1 for the same row


VASWANI_TABLE1 = {
    "attention": "O(1) path, O(1) sequential, O(n²·d) per layer",
    "rnn": "O(n) path, O(n) sequential, O(n·d²) per layer",
    "cnn": "O(n/k) path, O(1) sequential, O(k·n·d²) per layer",
    "dilated_cnn": "O(log_k n) path, O(1) sequential, O(k·n·d²) per layer",
}


def comparison_table(n: int, d: int, kernel: int = 3) -> list[TableRow]:
    """Measured path lengths, sequential steps and operations for every architecture at one n."""
    return [TableRow(a, max_path_length(a, n, kernel), sequential_steps(a, n, kernel),
                     operations_per_layer(a, n, d, kernel), VASWANI_TABLE1[a]) for a in ARCHITECTURES]


def growth(arch: str, ns, kernel: int = 3) -> list[int]:
    """max_path_length for each n in ns (to see O(1), O(log n), O(n/k) and O(n) emerge)."""
    return [max_path_length(arch, n, kernel) for n in ns]


def predicted_cnn_layers(n: int, kernel: int) -> int:
    """Closed form for contiguous centred kernels: the edge token must cross n-1 positions."""
    return math.ceil((n - 1) / ((kernel - 1) // 2)) if kernel >= 3 else n - 1


def layout(arch: str, n: int, i: int, j: int, kernel: int = 3) -> dict:
    """Geometry for drawing: nodes, all edges and the highlighted shortest path (used by viz and widget)."""
    path = shortest_path(arch, n, i, j, kernel)
    top = path[-1][0] if path else (1 if arch == "rnn" else layers_needed(arch, n, kernel))
    nodes = [(layer, p) for layer in range(top + 1) for p in range(n)]
    edges = [(par, (layer, p)) for layer in range(1, top + 1) for p in range(n)
             for par in parents(arch, layer, p, n, kernel)]
    return {"arch": arch, "n": n, "layers": top, "nodes": nodes, "edges": edges, "path": path or [],
            "length": None if path is None else len(path) - 1}
