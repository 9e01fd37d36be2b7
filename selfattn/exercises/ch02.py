"""Exercises for chapter 2 (notebooks/02_projections.ipynb): queries, keys, values, dot products.

    from selfattn.exercises import ch02 as ex
    ex.dot_by_hand.check([...])
"""
from __future__ import annotations

import numpy as np
import torch

from ..embeddings import FEATURES, QK_FEATURES, embed, hand_projections
from ..explore.projections import edit_projection
from ._core import Exercise, NotAttempted, Wrong, as_array, call, expect_close, expect_shape, random_inputs

CHAPTER = "ch02"

# --- predict, then check in the widget: when does a score reach zero? -------------------------------

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
    "predict: rotate W_Q in the agent → action plane; at what angle (degrees, 0-180) does \"cat\"'s score with "
    "\"sat\" first reach 0?",
    _check_zero_angle,
    "\"cat\"'s query lies along one axis of that plane and \"sat\"'s key has its large part along the other; "
    "the score is |q| |k| cos θ. Or choose query \"cat\" in the widget and move the slider.",
    "90  # the rotation turns q_cat by 90°, to a right angle with k_sat, and cos 90° = 0",
    "Rotating W_Q turns every query by the same angle in that plane. Only the key's component in the plane "
    "matters here, and q_cat lies entirely in it.")

# --- compute by hand: three dot products -------------------------------------------------------
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
        raise Wrong("you gave a 3×3 table: that is the element-wise products q_c·k_c. A dot product adds them up "
                    "into one number per key")
    expect_shape(got, (3,), "your scores (one per key: k_a, k_b, k_c)")
    norms = np.linalg.norm(DOT_KEYS, axis=1) * np.linalg.norm(DOT_Q)
    if np.allclose(got, expected / norms, atol=1e-2):
        raise Wrong("those are the cosines (the dot products divided by both lengths). The score is the raw dot "
                    "product q·k, lengths included")
    if np.allclose(got, np.abs(expected), atol=1e-6) and not np.allclose(got, expected, atol=1e-6):
        raise Wrong("mind the signs: k_c = (-1, -2, 0) points the opposite way from q, so (1)(-1) + (2)(-2) is "
                    "negative; a dot product is not a distance and can be below zero")
    expect_close(got, expected, "your scores", atol=1e-6, names="key")
    return "k_a agrees with q (score 4), k_b is at a right angle (0), k_c points the opposite way (-5)"


dot_by_hand = Exercise(
    CHAPTER, "dot_by_hand",
    "Compute by hand the score q·k of q = (1, 2, 0) with k_a = (2, 1, 0), k_b = (0, 0, 3), k_c = (-1, -2, 0).",
    _check_dot,
    "Multiply matching entries and add: q·k = q_0 k_0 + q_1 k_1 + q_2 k_2. Give a list of three numbers.",
    "[1*2 + 2*1 + 0*0, 1*0 + 2*0 + 0*3, 1*(-1) + 2*(-2) + 0*0]  # = [4, 0, -5]",
    "A positive score means the key points roughly the same way as the query, zero means at a right angle, "
    "negative means away from it. k_c is -1 times q, so its score is -|q|² = -5.")


# --- design: edit one entry of W_K so that "mat" attends most to "on" ----------------------------

SENTENCE = ("the", "cat", "sat", "on", "the", "mat")


def mat_on_reference():
    """One answer: the hand-designed W_K with one entry changed, so the relation feature offers an action."""
    _, w_k, _ = hand_projections()
    w_k[FEATURES.index("relation"), QK_FEATURES.index("action")] = 3.0
    return w_k


def _check_mat_on(answer):
    if callable(answer):
        answer = call(answer, what="your function")
    got = as_array(answer, "your W_K")
    w_q, w_k, _ = hand_projections()
    expect_shape(got, tuple(w_k.shape), "your W_K (d_model, d_k)")
    changed = np.argwhere(~np.isclose(got, w_k.numpy()))
    if len(changed) == 0:
        raise NotAttempted
    if len(changed) > 1:
        where = ", ".join(f"({FEATURES[r]}, {QK_FEATURES[c]})" for r, c in changed[:4])
        raise Wrong(f"you changed {len(changed)} entries ({where}); the task is to change exactly one")
    (row, col), = changed
    x = embed(list(SENTENCE))                                         # (n, d_model)
    scores = (x @ w_q)[SENTENCE.index("mat")] @ (x @ torch.as_tensor(got, dtype=x.dtype)).T   # (n,)
    best = SENTENCE[int(scores.argmax())]
    entry = f"W_K[{FEATURES[row]}, {QK_FEATURES[col]}]"
    on, sat = float(scores[3]), float(scores[2])
    if best == "on" and on > float(np.sort(scores.numpy())[-2]) + 1e-6:
        return (f"with {entry} = {got[row, col]:g}, \"mat\"'s query (it asks for an action) scores \"on\" {on:.2f}, "
                f"above \"sat\" at {sat:.2f}: the key of a relation word now offers an action")
    if QK_FEATURES[col] != "action":
        raise Wrong(f"you changed {entry}, but \"mat\"'s query only looks along the action dimension "
                    "(row 'place' of W_Q): a key can only win along a dimension the query asks for")
    if FEATURES[row] == "place":
        raise Wrong(f"{entry} also feeds \"mat\"'s own key (mat is all place) and \"sat\"'s: now \"{best}\" wins. "
                    "Pick a feature that \"on\" has and \"mat\" and \"sat\" do not")
    if FEATURES[row] not in ("relation",):
        raise Wrong(f"\"on\" has no {FEATURES[row]} feature, so {entry} leaves its key alone; now \"{best}\" "
                    "wins. Which feature does \"on\" have that no other word here has?")
    raise Wrong(f"with {entry} = {got[row, col]:g}, \"on\" scores {on:.2f} and \"sat\" {sat:.2f}: "
                f"\"{best}\" still wins. Make it larger than sat's score")


mat_attends_on = Exercise(
    CHAPTER, "mat_attends_on",
    "design: change one entry of W_K so that the query of \"mat\" scores \"on\" highest",
    _check_mat_on,
    "Print Q for \"mat\": which dimension does it look along? Then find a feature that \"on\" has and no other "
    "word of the sentence has, and make it offer that dimension.",
    mat_on_reference,
    "The query of \"mat\" is row 'place' of W_Q, (0, 1, 0, 0): it asks only for an action. \"on\" is the only "
    "word with the relation feature, so W_K[relation, action] = 3 gives its key an action of 3, above sat's 2.")


# --- debug: a transposed projection ----------------------------------------------------------------

def buggy_scores(X, W_Q, W_K):
    """Every query against every key, the raw scores Q Kᵀ (has a bug that only runs because d_model = d_k)."""
    Q = X @ W_Q            # (n, d_k)
    K = X @ W_K.T          # (n, d_k)
    return Q @ K.T         # (n, n)


def _scores_solution(X, W_Q, W_K):
    Q = X @ W_Q            # (n, d_k): what each token looks for
    K = X @ W_K            # (n, d_k): what each token offers
    return Q @ K.T         # (n, n): row i = query i against every key


def _check_scores(fn):
    if fn is buggy_scores:
        raise Wrong("that is the buggy function itself; write your fixed version and pass it")
    X, W_Q, W_K = random_inputs(3, (5, 4), (4, 4), (4, 4))           # square: the bug runs silently
    out = as_array(call(fn, X, W_Q, W_K, what="scores"), "your scores")
    expected = ((X @ W_Q) @ (X @ W_K).T).numpy()                      # (n, n)
    if out.shape == expected.shape and np.allclose(out, ((X @ W_Q) @ (X @ W_K.T).T).numpy(), atol=1e-6):
        raise Wrong("K is still X @ W_K.T: the transpose turns W_K's columns into rows, so each key mixes the "
                    "features the wrong way round. It runs only because W_K happens to be square")
    if out.shape == expected.shape and np.allclose(out, expected.T, atol=1e-6):
        raise Wrong("you returned K Qᵀ: its rows are keys. Row i must be query i against every key: Q @ K.T")
    expect_close(out, expected, "your scores", atol=1e-6, names="(query, key)")
    X2, W_Q2, W_K2 = random_inputs(4, (6, 5), (5, 3), (5, 3))        # d_model = 5, d_k = 3
    out2 = as_array(call(fn, X2, W_Q2, W_K2, what="scores"), "your scores")
    expect_shape(out2, (6, 6), "your scores for n = 6 tokens with d_model = 5, d_k = 3")
    expect_close(out2, ((X2 @ W_Q2) @ (X2 @ W_K2).T).numpy(), "your scores", atol=1e-6, names="(query, key)")
    return "K = X @ W_K, like Q: every projection multiplies X on the right by its own (d_model, d_k) matrix"


fix_scores = Exercise(
    CHAPTER, "fix_scores",
    "debug: buggy_scores(X, W_Q, W_K) runs but gives wrong scores when d_model = d_k; fix it",
    _check_scores,
    "Write the shape next to every line for d_model = 5 and d_k = 3. Which line stops making sense?",
    _scores_solution)


__all__ = ["dot_by_hand", "zero_angle", "mat_attends_on", "fix_scores", "buggy_scores", "mat_on_reference",
           "zero_angle_reference"]
