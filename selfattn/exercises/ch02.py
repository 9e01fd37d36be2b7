"""Exercises for chapter 2 (notebooks/02_projections.ipynb): queries, keys, values, dot products.

    from selfattn.exercises import ch02 as ex
    ex.dot_by_hand.check([...])
"""
from __future__ import annotations

import numpy as np
import torch

from ..embeddings import embed, hand_projections
from ..explore.projections import edit_projection, project
from ._core import Exercise, NotAttempted, Wrong, as_array, call, expect_close, expect_shape, random_inputs

CHAPTER = "ch02"

# --- 1. compute by hand ------------------------------------------------------------------------
DOT_Q = np.array([1.0, 2.0, 0.0])
DOT_KEYS = np.array([[2.0, 1.0, 0.0],      # k_a
                     [0.0, 0.0, 3.0],      # k_b
                     [-1.0, -2.0, 0.0]])   # k_c


def _dot_answer() -> np.ndarray:
    return DOT_KEYS @ DOT_Q                                           # (3,)


def _check_dot(answer):
    got = as_array(answer, "your scores")
    if got.size == 3:
        got = got.reshape(-1)
    expected = _dot_answer()
    if got.shape == (3, 3):
        raise Wrong("you gave a 3×3 table: that is the element-wise products q_d·k_d. A dot product adds them up "
                    "into one number per key")
    expect_shape(got, (3,), "your scores (one per key: k_a, k_b, k_c)")
    norms = np.linalg.norm(DOT_KEYS, axis=1) * np.linalg.norm(DOT_Q)
    if np.allclose(got, expected / norms, atol=1e-2):
        raise Wrong("those are the cosines (the dot products divided by both lengths). The score is the raw dot "
                    "product q·k, lengths included")
    expect_close(got, expected, "your scores", atol=1e-6, names="key")
    return "k_a agrees with q (score 4), k_b is at a right angle (0), k_c points the opposite way (-5)"


dot_by_hand = Exercise(
    CHAPTER, "dot_by_hand",
    "Compute by hand the score q·k of q = (1, 2, 0) with k_a = (2, 1, 0), k_b = (0, 0, 3), k_c = (-1, -2, 0).",
    _check_dot,
    "Multiply matching entries and add: q·k = q_1 k_1 + q_2 k_2 + q_3 k_3. Give a list of three numbers.",
    "[1*2 + 2*1 + 0*0, 1*0 + 2*0 + 0*3, 1*(-1) + 2*(-2) + 0*0]  # = [4, 0, -5]",
    "A positive score means the key points roughly the same way as the query, zero means at a right angle, "
    "negative means away from it. k_c is -1 times q, so its score is -|q|² = -5.")


# --- 2. implement the three projections --------------------------------------------------------

def _project_solution(X, W_Q, W_K, W_V):
    Q = X @ W_Q          # (n, d_k): what each token looks for
    K = X @ W_K          # (n, d_k): what each token offers
    V = X @ W_V          # (n, d_v): what each token contributes
    return Q, K, V


def _check_project(fn):
    X, W_Q, W_K, W_V = random_inputs(2, (5, 6), (6, 3), (6, 3), (6, 4))
    out = call(fn, X, W_Q, W_K, W_V, what="project_qkv")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise Wrong(f"project_qkv should return three matrices (Q, K, V), got {type(out).__name__}"
                    + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    ref = project(X, W_Q, W_K, W_V)
    for got, exp, name, shape_name in ((out[0], ref.q, "Q", "(n, d_k)"), (out[1], ref.k, "K", "(n, d_k)"),
                                       (out[2], ref.v, "V", "(n, d_v)")):
        g = as_array(got, name)
        if g.shape != tuple(exp.shape):
            raise Wrong(f"{name} has shape {g.shape}, expected {tuple(exp.shape)} = {shape_name}: one row per token. "
                        f"Multiply X (n, d_model) on the left: {name} = X @ W_{name}")
        for other, oname in ((ref.q, "W_Q"), (ref.k, "W_K"), (ref.v, "W_V")):
            if other.shape == exp.shape and other is not exp and np.allclose(g, other.numpy(), atol=1e-6) \
                    and not np.allclose(g, exp.numpy(), atol=1e-6):
                raise Wrong(f"your {name} equals X @ {oname}; {name} comes from W_{name}")
        expect_close(g, exp, f"your {name}", atol=1e-6, names="(token, dimension)")
    return "Q, K and V are three linear views of the same rows of X"


project_qkv = Exercise(
    CHAPTER, "project_qkv",
    "Implement project_qkv(X, W_Q, W_K, W_V) returning (Q, K, V) for X of shape (n, d_model).",
    _check_project,
    "Each row of X is one token. Q = X @ W_Q keeps one row per token; so do K and V.",
    _project_solution)


# --- 3. implement the score matrix -------------------------------------------------------------

def _scores_solution(Q, K):
    return Q @ K.T       # (n_q, n_k): row i holds query i against every key


def _check_scores(fn):
    Q, K = random_inputs(3, (5, 3), (5, 3))
    out = as_array(call(fn, Q, K, what="all_scores"), "your scores")
    expected = (Q @ K.T).numpy()                                      # (n_q, n_k)
    if out.shape == (3, 3):
        raise Wrong("the result is (d_k, d_k) = (3, 3): you multiplied Qᵀ K, which compares dimensions, not tokens. "
                    "Put tokens on both sides: Q @ K.T")
    if out.shape == (5, 5) and np.allclose(out, expected.T, atol=1e-6) and not np.allclose(out, expected, atol=1e-6):
        raise Wrong("you returned K Qᵀ: its rows are keys. Row i must be query i against every key: Q @ K.T")
    expect_close(out, expected, "your scores", atol=1e-6, names="(query, key)")
    Q2, K2 = random_inputs(4, (4, 3), (6, 3))
    out2 = as_array(call(fn, Q2, K2, what="all_scores"), "your scores")
    expect_shape(out2, (4, 6), "your scores for n_q=4 queries and n_k=6 keys")
    expect_close(out2, (Q2 @ K2.T).numpy(), "your scores", atol=1e-6, names="(query, key)")
    return "row i is query i compared with every key, its own included (the diagonal when K comes from the same tokens)"


all_scores = Exercise(
    CHAPTER, "all_scores",
    "Implement all_scores(Q, K): the (n_q, n_k) matrix of every query's dot product with every key.",
    _check_scores,
    "Entry (i, j) is Q[i] · K[j]. One matrix product does all of them; think about which side gets a transpose.",
    _scores_solution)


# --- 4. use the widget (or reason): when does a score reach zero? -------------------------------

def zero_angle_reference() -> float:
    """The smallest positive rotation of W_Q in the agent → action plane at which cat · sat = 0 (bisection)."""
    w_q, w_k, _ = hand_projections()
    x = embed(["cat", "sat"])                                         # (2, d_model)
    k_sat = x[1] @ w_k                                                # (d_k,)

    def score(angle: float) -> float:
        return float((x[0] @ edit_projection(w_q, angle_deg=angle, plane=(0, 1)).to(x.dtype)) @ k_sat)

    grid = np.arange(0.0, 181.0, 5.0)
    for lo, hi in zip(grid[:-1], grid[1:]):
        if np.sign(score(lo)) != np.sign(score(hi)):
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if np.sign(score(mid)) == np.sign(score(lo)) else (lo, mid)
            return 0.5 * (lo + hi)
    raise RuntimeError("no zero crossing between 0 and 180 degrees")  # pragma: no cover


def _check_zero_angle(answer):
    if answer is None or answer is ...:
        raise NotAttempted
    try:
        a = float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"give the angle as one number of degrees, got {answer!r}") from None
    ref = zero_angle_reference()
    if abs(a - ref) <= 2.5:
        return f"at {ref:.0f}° the query of \"cat\" is at a right angle to the key of \"sat\": cos 90° = 0"
    if abs(a - 180) <= 2.5:
        raise Wrong("at 180° the score is as negative as it gets (cos 180° = -1); it crossed zero earlier")
    if 40 <= a <= 50:
        raise Wrong("at 45° cos θ is about 0.71: the score has dropped by 29%, not to zero")
    if a < 0:
        raise Wrong("turn the slider the positive way (towards 'action'); the question asks for the first positive angle")
    raise Wrong(f"at {a:g}° the score is not zero yet; read it in the widget's table, or use cos θ")


zero_angle = Exercise(
    CHAPTER, "zero_angle",
    "Rotate W_Q in the agent → action plane: at what angle (degrees, 0-180) does \"cat\"'s score with \"sat\" first reach 0?",
    _check_zero_angle,
    "\"cat\"'s query lies along one axis of that plane and \"sat\"'s key has its large part along the other; "
    "the score is |q| |k| cos θ. Or choose query \"cat\" in the widget and move the slider.",
    "90  # the rotation turns q_cat by 90°, to a right angle with k_sat, and cos 90° = 0",
    "Rotating W_Q turns every query by the same angle in that plane. Only the key's component in the plane "
    "matters here, and q_cat lies entirely in it.")

__all__ = ["dot_by_hand", "project_qkv", "all_scores", "zero_angle", "zero_angle_reference"]
