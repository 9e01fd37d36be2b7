"""selfattn.explore.projections (chapter 2) against plain numpy loops and geometric facts."""
import math
import re

import numpy as np
import pytest
import torch

from selfattn import AttentionInputError
from selfattn.embeddings import D_K, D_MODEL, FEATURES, QK_FEATURES, embed, hand_projections, tokenize
from selfattn.explore import projections as P


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_project_matches_loops():
    x, wq, wk, wv = rand(5, 6, seed=1), rand(6, 3, seed=2), rand(6, 3, seed=3), rand(6, 4, seed=4)
    p = P.project(x, wq, wk, wv)
    xn, wqn = x.numpy(), wq.numpy()
    q_loop = np.array([[sum(xn[i, m] * wqn[m, c] for m in range(6)) for c in range(3)] for i in range(5)])
    np.testing.assert_allclose(p.q.numpy(), q_loop, atol=1e-12)
    assert p.k.shape == (5, 3) and p.v.shape == (5, 4)
    np.testing.assert_allclose(p.v.numpy(), xn @ wv.numpy(), atol=1e-12)


def test_project_accepts_numpy_and_promotes():
    x = np.ones((2, 3), dtype=np.float32)
    w = np.eye(3)
    p = P.project(x, w, w, w)
    assert p.q.dtype == torch.float64


@pytest.mark.parametrize("args,fragment", [
    (((4, 5), (6, 3), (6, 3), (6, 2)), "w_q must have shape (d_model=5"),
    (((4, 6), (6, 3), (6, 2), (6, 2)), "same d_k"),
    (((4,), (6, 3), (6, 3), (6, 2)), "x must have shape (n, d_model)"),
])
def test_project_errors_name_argument_and_shapes(args, fragment):
    tensors = [torch.zeros(*s) for s in args]
    with pytest.raises(AttentionInputError, match=re.escape(fragment)):
        P.project(*tensors)


def test_dot_geometry():
    g = P.dot_geometry(np.array([1.0, 0.0]), np.array([0.0, 2.0]))
    assert g.dot == 0 and g.angle_deg == pytest.approx(90) and g.norm_k == pytest.approx(2)
    g = P.dot_geometry(torch.tensor([1.0, 2.0, 0.0]), torch.tensor([-1.0, -2.0, 0.0]))
    assert g.dot == pytest.approx(-5) and g.cosine == pytest.approx(-1) and g.angle_deg == pytest.approx(180)
    g = P.dot_geometry(np.zeros(3), np.ones(3))
    assert g.dot == 0 and g.cosine == 0
    q, k = rand(7, seed=1), rand(7, seed=2)
    g = P.dot_geometry(q, k)
    assert g.dot == pytest.approx(g.norm_q * g.norm_k * math.cos(math.radians(g.angle_deg)))
    with pytest.raises(AttentionInputError, match="same length d_k"):
        P.dot_geometry(np.ones(3), np.ones(4))


def test_rotation_is_orthogonal_and_turns_a_towards_b():
    r = P.rotation(4, (0, 2), 30.0)
    torch.testing.assert_close(r @ r.T, torch.eye(4, dtype=torch.float64))
    e0 = torch.tensor([1.0, 0, 0, 0], dtype=torch.float64)
    torch.testing.assert_close(e0 @ r, torch.tensor([math.cos(math.radians(30)), 0, math.sin(math.radians(30)), 0],
                                                    dtype=torch.float64))
    torch.testing.assert_close(P.rotation(3, (1, 2), 0.0), torch.eye(3, dtype=torch.float64))
    with pytest.raises(AttentionInputError, match="plane"):
        P.rotation(3, (1, 1), 10)
    with pytest.raises(AttentionInputError, match="plane"):
        P.rotation(3, (0, 3), 10)


def test_edit_projection_rotates_and_scales_every_token_alike():
    w = rand(6, 4, seed=5)
    x = rand(3, 6, seed=6)
    e = P.edit_projection(w, angle_deg=40, scale=2.0, plane=(1, 3))
    q0, q1 = x @ w, x @ e
    # lengths scale by exactly 2; the angle between two tokens' vectors is unchanged
    torch.testing.assert_close(q1.norm(dim=1), 2 * q0.norm(dim=1))
    torch.testing.assert_close(q1 @ q1.T, 4 * (q0 @ q0.T))
    # dimensions outside the plane are untouched (up to the scale)
    torch.testing.assert_close(q1[:, [0, 2]], 2 * q0[:, [0, 2]])
    torch.testing.assert_close(P.edit_projection(w, angle_deg=360.0), w)
    with pytest.raises(AttentionInputError, match="scale"):
        P.edit_projection(w, scale=-1.0)


def test_query_scores_includes_own_key_and_splits_into_geometry():
    q, k = rand(4, 3, seed=7), rand(4, 3, seed=8)
    r = P.query_scores(q, k, 2)
    torch.testing.assert_close(r.scores, k @ q[2])
    assert r.scores.shape == (4,)           # every key, its own (index 2) included
    torch.testing.assert_close(r.scores, r.norms_k * q[2].norm() * r.cosines)
    with pytest.raises(AttentionInputError, match="query_index"):
        P.query_scores(q, k, 4)


def test_scores_over_angles_matches_single_edits():
    x = embed("the cat sat on the mat")
    wq, wk, _ = hand_projections()
    angles = [-90.0, 0.0, 45.0, 180.0]
    s = P.scores_over_angles(x, wq, wk, 1, angles, which="k", plane=(1, 2))
    assert s.shape == (4, 6)
    for a_idx, a in enumerate(angles):
        k = x @ P.edit_projection(wk, angle_deg=a, plane=(1, 2)).float()
        torch.testing.assert_close(s[a_idx].float(), k @ (x[1] @ wq), atol=1e-5, rtol=1e-5)
    # rotating W_Q by 180 degrees in a plane that holds all of q_cat flips the sign of its scores
    s = P.scores_over_angles(x, wq, wk, 1, [0.0, 180.0], which="q", plane=(0, 1))
    torch.testing.assert_close(s[1], -s[0], atol=1e-6, rtol=0)


def test_hand_projections_are_fresh_copies_with_documented_shapes():
    wq, wk, wv = hand_projections()
    assert wq.shape == (D_MODEL, D_K) and wk.shape == (D_MODEL, D_K) and wv.shape == (D_MODEL, D_MODEL)
    assert len(QK_FEATURES) == D_K and len(FEATURES) == D_MODEL
    wq[0, 0] = 99.0
    assert hand_projections()[0][0, 0] != 99.0


def test_hand_designed_example_means_what_the_book_says():
    view = P.sentence_view("the cat sat on the mat", 1)
    toks = view.tokens
    assert toks[int(view.row.scores.argmax())] == "sat"                  # cat looks for its action
    sat = P.query_scores(view.q, view.k, toks.index("sat"))
    assert toks[int(sat.scores.argmax())] == "cat"                       # sat looks for its agent
    on = P.query_scores(view.q, view.k, toks.index("on"))
    assert toks[int(on.scores.argmax())] == "mat"                        # on looks for its place
    torch.testing.assert_close(view.scores, view.q @ view.k.T)


def test_sentence_view_edge_cases():
    with pytest.raises(AttentionInputError, match="no words"):
        P.sentence_view("   ")
    with pytest.raises(AttentionInputError, match="at most 16"):
        P.sentence_view("a " * 17)
    v = P.sentence_view("Zebra? 🐱 ünïcode", 99)           # unknown words, unicode, out-of-range query
    assert v.row.query_index == len(v.tokens) - 1
    assert set(v.unknown) == {"zebra", "?", "🐱", "ünïcode"}
    assert torch.isfinite(v.scores).all()
    v = P.sentence_view(tokenize("x " * 16), 0)
    assert v.scores.shape == (16, 16)
    with pytest.raises(AttentionInputError, match="which"):
        P.sentence_view("the cat", which="v")
    assert P.plane_names((0, 1)) == "agent → action"


def test_table_formats_labels_inf_and_negative_zero():
    t = P.table(torch.tensor([[-0.0001, float("-inf")], [1.23456, 2.0]]), ["a", "longlabel"], ["x", "y"])
    lines = t.split("\n")
    assert lines[0].split() == ["x", "y"]
    assert lines[1].split() == ["a", "0.000", "-inf"]
    assert lines[2].split() == ["longlabel", "1.235", "2.000"]
    assert P.table(np.ones((1, 1)), ["r"], ["averylongcolumn"]).split("\n")[0].split() == ["averylo"]
    assert P.table(np.array([1.0, 2.0]), ["row"], ["a", "b"]).split("\n")[1].split() == ["row", "1.000", "2.000"]
    with pytest.raises(AttentionInputError, match="labels"):
        P.table(np.ones((2, 2)), ["a"], ["x", "y"])


def test_key_geometries_are_what_the_2d_figure_labels():
    q = torch.tensor([2.0, 1.0])
    keys = torch.tensor([[1.5, 1.0], [-1.0, 2.0], [3.0, 0.2], [-1.5, -1.0]])
    gs = P.key_geometries(q, keys)
    assert [round(g.dot, 3) for g in gs] == [4.0, 0.0, 6.2, -4.0]
    assert [round(g.angle_deg) for g in gs] == [7, 90, 23, 173]
    assert gs[2].norm_k == pytest.approx(math.hypot(3.0, 0.2))


def test_shared_validators_name_the_argument():
    with pytest.raises(AttentionInputError, match=r"d_k .*integer >= 2"):
        P.rotation(1, (0, 1), 10)
    with pytest.raises(AttentionInputError, match=r"scale .*positive finite"):
        P.edit_projection(rand(6, 4), scale=float("nan"))
    torch.testing.assert_close(P.edit_projection(rand(6, 4), scale=0), torch.zeros(6, 4, dtype=torch.float64))
    with pytest.raises(AttentionInputError, match=r"query_index .*from 0 to 3"):
        P.query_scores(rand(4, 3), rand(4, 3), -1)
    with pytest.raises(AttentionInputError, match="w_q must have shape"):
        P.project(rand(4, 6), rand(6, 3, 1), rand(6, 3), rand(6, 3))


def test_query_scores_length_and_best_key():
    q, k = rand(3, 4, seed=5), rand(6, 4, seed=6)
    r = P.query_scores(q, k, 1)
    assert r.norm_q == pytest.approx(float(np.linalg.norm(q[1].numpy())))
    assert r.best_key == int(np.argmax(k.numpy() @ q[1].numpy()))
