"""Queries, keys and values as three linear views of the same tokens (chapter 2).

The plain computations behind chapter 2's figures and its projection widget:

* `project`: Q = X W_Q, K = X W_K, V = X W_V, with shape checks in the book's dimension names;
* `dot_geometry`: a dot product split into lengths and the angle between two vectors;
* `edit_projection`: rotate one projection inside a plane of the query/key space and scale it;
* `query_scores`: one query against every key (its own included), before and after an edit;
* `scores_over_angles`: the same scores for a whole sweep of rotation angles (the static figure);
* `sentence_view`: everything the projection widget shows for a typed sentence.

Math layer: numpy and torch only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..embeddings import QK_FEATURES, as_tokens, embed, hand_projections, is_known
from ..errors import (AttentionInputError, as_tensor, check_choice, check_finite, check_int, check_matrix,
                      check_positive, shape_str)
from ..limits import MAX_TOKENS



@dataclass(frozen=True)
class Projected:
    """Q, K and V for one sequence: q (n, d_k), k (n, d_k), v (n, d_v)."""

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor


def project(x, w_q, w_k, w_v) -> Projected:
    """Q = X W_Q, K = X W_K, V = X W_V: three linear views of the same token vectors X.

    x: (n, d_model); w_q, w_k: (d_model, d_k); w_v: (d_model, d_v). Numpy or torch; returns
    torch tensors in the promoted float dtype.
    """
    xt = check_matrix(x, "x", ("n", "d_model"))
    wq = check_matrix(w_q, "w_q", ("d_model", "d_k"))
    wk = check_matrix(w_k, "w_k", ("d_model", "d_k"))
    wv = check_matrix(w_v, "w_v", ("d_model", "d_v"))
    d_model = xt.shape[1]
    for w, name, out in ((wq, "w_q", "d_k"), (wk, "w_k", "d_k"), (wv, "w_v", "d_v")):
        if w.shape[0] != d_model:
            raise AttentionInputError(
                f"{name} must have shape (d_model={d_model}, {out}) to multiply x of shape "
                f"{shape_str(xt.shape, ('n', 'd_model'))}, got {name} of shape {shape_str(w.shape, ('d_model', out))}")
    if wq.shape[1] != wk.shape[1]:
        raise AttentionInputError(
            f"w_q and w_k must produce the same d_k (queries and keys meet in one dot product): "
            f"w_q has shape {shape_str(wq.shape, ('d_model', 'd_k'))}, w_k has shape {shape_str(wk.shape, ('d_model', 'd_k'))}")
    dtype = torch.promote_types(torch.promote_types(xt.dtype, wq.dtype), torch.promote_types(wk.dtype, wv.dtype))
    xt, wq, wk, wv = (t.to(dtype) for t in (xt, wq, wk, wv))
    q = xt @ wq                                                       # (n, d_k)
    k = xt @ wk                                                       # (n, d_k)
    v = xt @ wv                                                       # (n, d_v)
    return Projected(q, k, v)


@dataclass(frozen=True)
class DotGeometry:
    """q·k = |q| |k| cos θ, every factor kept (θ in degrees; 90 when either vector is zero)."""

    dot: float
    norm_q: float
    norm_k: float
    cosine: float
    angle_deg: float


def dot_geometry(q, k) -> DotGeometry:
    """Split the dot product of two vectors of the same length d_k into lengths and an angle."""
    qt = as_tensor(q, "q").to(torch.float64).reshape(-1)
    kt = as_tensor(k, "k").to(torch.float64).reshape(-1)
    if qt.numel() != kt.numel() or qt.numel() == 0:
        raise AttentionInputError(
            f"q and k must be vectors of the same length d_k, got q with {qt.numel()} and k with {kt.numel()} entries")
    check_finite(qt, "q")
    check_finite(kt, "k")
    dot = float(qt @ kt)
    nq, nk = float(qt.norm()), float(kt.norm())
    cos = dot / (nq * nk) if nq > 0 and nk > 0 else 0.0
    cos = max(-1.0, min(1.0, cos))
    return DotGeometry(dot, nq, nk, cos, math.degrees(math.acos(cos)))


def key_geometries(q, keys) -> list[DotGeometry]:
    """dot_geometry of one query with each row of keys (n_k, d_k): what the 2-D vector figure labels."""
    kt = check_matrix(keys, "keys", ("n_k", "d_k"))
    return [dot_geometry(q, k) for k in kt]


def rotation(d_k: int, plane: tuple[int, int], angle_deg: float) -> torch.Tensor:
    """(d_k, d_k) rotation by angle_deg inside the plane of dimensions plane = (a, b); identity elsewhere."""
    d_k = check_int(d_k, "d_k", minimum=2, meaning="a plane to rotate in needs two dimensions")
    a, b = (check_int(p, "each dimension of plane", minimum=0, maximum=d_k - 1) for p in plane)
    if a == b:
        raise AttentionInputError(f"plane must name two different dimensions in 0..d_k-1={d_k - 1}, got {tuple(plane)}")
    if not math.isfinite(angle_deg):
        raise AttentionInputError(f"angle_deg must be a finite number, got {angle_deg!r}")
    t = math.radians(angle_deg)
    r = torch.eye(d_k, dtype=torch.float64)                           # (d_k, d_k)
    r[a, a], r[a, b] = math.cos(t), math.sin(t)
    r[b, a], r[b, b] = -math.sin(t), math.cos(t)
    return r


def edit_projection(w, *, angle_deg: float = 0.0, scale: float = 1.0, plane: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """Rotate a projection's outputs inside one plane of the d_k space, then scale them.

    w: (d_model, d_k). Returns scale · w R, where R rotates dimension plane[0] towards
    plane[1] by angle_deg. Every token's projected vector turns by the same angle in that plane
    and stretches by the same factor, so its dot products with unedited vectors change.
    """
    wt = check_matrix(w, "w", ("d_model", "d_k"))
    if isinstance(scale, bool) or scale != 0:          # 0 is allowed: every score becomes 0
        scale = check_positive(scale, "scale", meaning="the factor a projection is stretched by, or 0")
    r = rotation(wt.shape[1], plane, angle_deg).to(wt.dtype)          # (d_k, d_k)
    return float(scale) * (wt @ r)                                    # (d_model, d_k)


@dataclass(frozen=True)
class QueryScores:
    """One query compared with every key: scores[j] = q_i · k_j = |q_i| |k_j| cos θ_ij."""

    query_index: int
    q: torch.Tensor          # (d_k,)
    k: torch.Tensor          # (n, d_k)
    scores: torch.Tensor     # (n,)
    norms_k: torch.Tensor    # (n,)
    cosines: torch.Tensor    # (n,)  0 where a vector is zero

    @property
    def norm_q(self) -> float:
        """|q_i|, the length of the query."""
        return float(self.q.norm())

    @property
    def best_key(self) -> int:
        """The key with the largest score (the first one on a tie)."""
        return int(self.scores.argmax())


def query_scores(q, k, query_index: int) -> QueryScores:
    """Compare query row `query_index` of q (n_q, d_k) with every row of k (n_k, d_k), its own key included."""
    qt = check_matrix(q, "q", ("n_q", "d_k"))
    kt = check_matrix(k, "k", ("n_k", "d_k"))
    if qt.shape[1] != kt.shape[1]:
        raise AttentionInputError(
            f"q and k must have the same d_k: q has shape {shape_str(qt.shape, ('n_q', 'd_k'))}, "
            f"k has shape {shape_str(kt.shape, ('n_k', 'd_k'))}")
    check_int(query_index, "query_index", minimum=0, maximum=qt.shape[0] - 1, meaning="which query row")
    qi = qt[int(query_index)]                                         # (d_k,)
    scores = kt @ qi                                                  # (n_k,)
    norms_k = kt.norm(dim=1)                                          # (n_k,)
    denom = norms_k * qi.norm()                                       # (n_k,)
    cosines = torch.where(denom > 0, scores / torch.where(denom > 0, denom, torch.ones_like(denom)),
                          torch.zeros_like(scores))                   # (n_k,)
    return QueryScores(int(query_index), qi, kt, scores, norms_k, cosines)


def scores_over_angles(x, w_q, w_k, query_index: int, angles_deg, *, which: str = "q",
                       plane: tuple[int, int] = (0, 1), scale: float = 1.0) -> torch.Tensor:
    """(len(angles_deg), n) scores of one query against every key while W_Q (which="q") or W_K
    (which="k") is rotated through each angle in `plane` and scaled by `scale`."""
    check_choice(which, "which ('q' edits W_Q, 'k' edits W_K)", ("q", "k"))
    rows = []
    for a in np.asarray(angles_deg, dtype=float).reshape(-1):
        wq = edit_projection(w_q, angle_deg=float(a), scale=scale, plane=plane) if which == "q" else as_tensor(w_q, "w_q")
        wk = edit_projection(w_k, angle_deg=float(a), scale=scale, plane=plane) if which == "k" else as_tensor(w_k, "w_k")
        p = project(x, wq, wk, wk)
        rows.append(query_scores(p.q, p.k, query_index).scores)
    return torch.stack(rows)                                          # (n_angles, n)


@dataclass(frozen=True)
class SentenceView:
    """What the projection widget shows for one sentence, one query and one edit."""

    tokens: list[str]
    unknown: list[str]           # tokens with no hand-designed vector (they get a small random one)
    x: torch.Tensor              # (n, d_model)
    w_q: torch.Tensor            # (d_model, d_k) after the edit
    w_k: torch.Tensor            # (d_model, d_k) after the edit
    q: torch.Tensor              # (n, d_k)
    k: torch.Tensor              # (n, d_k)
    scores: torch.Tensor         # (n, n) Q Kᵀ, unscaled
    row: QueryScores             # the chosen query against every key


def sentence_view(text_or_tokens, query_index: int = 0, *, which: str = "q", angle_deg: float = 0.0,
                  scale: float = 1.0, plane: tuple[int, int] = (0, 1), max_tokens: int = MAX_TOKENS) -> SentenceView:
    """Tokenise (or take) a sentence, embed it with the hand-designed vectors, edit W_Q or W_K,
    and return Q, K, the full score matrix Q Kᵀ and the chosen query's row.

    Raises AttentionInputError with a readable message for empty or over-long text.
    """
    tokens = as_tokens(text_or_tokens, max_tokens=max_tokens)
    check_choice(which, "which ('q' edits W_Q, 'k' edits W_K)", ("q", "k"))
    w_q, w_k, _ = hand_projections()
    if which == "q":
        w_q = edit_projection(w_q, angle_deg=angle_deg, scale=scale, plane=plane)
    else:
        w_k = edit_projection(w_k, angle_deg=angle_deg, scale=scale, plane=plane)
    w_q, w_k = w_q.to(torch.float32), w_k.to(torch.float32)
    x = embed(tokens)                                                 # (n, d_model)
    q = x @ w_q                                                       # (n, d_k)
    k = x @ w_k                                                       # (n, d_k)
    scores = q @ k.T                                                  # (n, n)
    query_index = min(max(int(query_index), 0), len(tokens) - 1)
    return SentenceView(tokens, [t for t in tokens if not is_known(t)], x, w_q, w_k, q, k, scores,
                        query_scores(q, k, query_index))


def plane_names(plane: tuple[int, int]) -> str:
    """'agent → action' for plane (0, 1) of the hand-designed query/key space."""
    return f"{QK_FEATURES[plane[0]]} → {QK_FEATURES[plane[1]]}"


def num(value, decimals: int = 3, *, sign: bool = False, width: int = 0) -> str:
    """One number with fixed decimals and never a "-0.000" (so printed outputs do not flip sign
    when the last bits of a zero differ between machines)."""
    v = float(value)
    if math.isinf(v) or math.isnan(v):
        return f"{v:>{width}}"
    v = round(v, decimals) + 0.0
    return f"{v:{'+' if sign else ''}{width}.{decimals}f}"


def table(matrix, row_labels, col_labels, *, decimals: int = 3, width: int = 8) -> str:
    """A matrix as aligned text with row and column labels (for printed, nbval-checked outputs).

    -inf prints as "-inf"; negative zero prints as 0; column labels longer than `width` - 1 are
    cut (row labels are printed whole).
    """
    m = as_tensor(matrix, "matrix").detach().to(torch.float64)
    if m.dim() == 1:
        m = m.unsqueeze(0)                                            # (1, cols)
    if m.dim() != 2 or m.shape[0] != len(row_labels) or m.shape[1] != len(col_labels):
        raise AttentionInputError(
            f"table needs a (rows, cols) matrix matching {len(row_labels)} row and {len(col_labels)} column "
            f"labels, got shape {tuple(m.shape)}")
    cut = width - 1
    rw = max([len(str(r)) for r in row_labels] + [1])
    lines = [" " * rw + "".join(f"{str(c)[:cut]:>{width}}" for c in col_labels)]
    for label, row in zip(row_labels, m.tolist()):
        cells = []
        for v in row:
            if math.isinf(v):
                cells.append(f"{'-inf' if v < 0 else 'inf':>{width}}")
            else:
                cells.append(num(v, decimals, width=width))
        lines.append(f"{str(label):>{rw}}" + "".join(cells))
    return "\n".join(lines)
