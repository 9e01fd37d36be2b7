"""Chapter 1's measured path lengths agree with the book's convention and with Vaswani et al.'s Table 1.

Convention: path length = edges (hops) on the shortest path; distance d = |i - j|; RNN d steps,
ordinary convolutions of odd width k ceil(d / ((k-1)/2)) layers, self-attention 1 (0 when i = j).
"""
import math

import pytest
import torch

from selfattn import AttentionInputError
from selfattn.explore import paths
from selfattn.widgets.paths import PathExplorer, path_svg


@pytest.mark.parametrize("n", [1, 2, 5, 13])
def test_rnn_path_is_the_distance_forward_only(n):
    for i in range(n):
        for j in range(n):
            assert paths.path_length("rnn", n, i, j) == (j - i if j >= i else None)


@pytest.mark.parametrize("n", [2, 7, 16])
def test_attention_connects_every_pair_in_one_step(n):
    lengths = {(i, j): paths.path_length("attention", n, i, j) for i in range(n) for j in range(n)}
    assert {v for (i, j), v in lengths.items() if i != j} == {1}
    assert all(lengths[(i, i)] == 0 for i in range(n))
    assert paths.max_path_length("attention", n) == 1


@pytest.mark.parametrize("kernel", [3, 5, 7])
@pytest.mark.parametrize("n", [2, 9, 20])
def test_cnn_path_is_distance_over_radius(n, kernel):
    radius = (kernel - 1) // 2
    for i in (0, n // 2, n - 1):
        for j in range(n):
            assert paths.path_length("cnn", n, i, j, kernel) == math.ceil(abs(i - j) / radius)
            assert paths.path_length("restricted_attention", n, i, j, kernel) == math.ceil(abs(i - j) / radius)
    assert paths.max_path_length("cnn", n, kernel) == paths.predicted_cnn_layers(n - 1, kernel)


def test_dilations_double_and_the_schedule_cycles():
    assert paths.dilation_schedule(10) == [1, 2, 4, 8]
    assert paths.dilation_schedule(101) == [1, 2, 4, 8, 16, 32, 64]
    assert paths.dilation_schedule(128, max_dilation=16) == [1, 2, 4, 8, 16]        # ByteNet's cap
    # parents of layer 1..4 are 1, 2, 4, 8 apart, and layer 5 starts the cycle again at 1
    assert [paths.parents("dilated_cnn", layer, 8, 16)[0][1] for layer in range(1, 6)] == [7, 6, 4, 0, 7]
    path = paths.shortest_path("dilated_cnn", 10, 1, 8)
    assert [b[1] - a[1] for a, b in zip(path, path[1:])] == [1, 2, 4]               # jumps double
    assert paths.path_length("dilated_cnn", 101, 0, 100) == 7                        # 1+...+32 = 63 < 100
    assert paths.growth("dilated_cnn", [4, 8, 16, 32, 64, 128]) == [2, 3, 4, 5, 6, 7]
    # a cycle capped at 16 reaches 31 per cycle: the path grows linearly again beyond it
    assert paths.max_path_length("dilated_cnn", 128, 3, dilations=paths.dilation_schedule(128, 16)) == 22


def test_schedules_with_gaps_never_connect():
    assert paths.max_path_length("dilated_cnn", 32, 3, dilations=[2, 4, 8, 16]) is None
    assert paths.path_length("dilated_cnn", 32, 0, 31, 3, dilations=[2, 4]) is None
    assert paths.max_path_length("dilated_cnn", 32, 3, dilations=[1, 2, 4, 8, 16]) == 5


def test_sequential_steps_and_flops():
    assert paths.sequential_steps("rnn", 12) == 12
    assert {paths.sequential_steps(a, 12) for a in paths.ARCHITECTURES if a != "rnn"} == {1}
    assert paths.flops_per_layer("attention", 100, 8) == 4 * 100 * 100 * 8              # 2 flops per multiply-add
    assert paths.flops_per_layer("rnn", 100, 8) == 4 * 100 * 64
    assert paths.flops_per_layer("restricted_attention", 100, 8, kernel=5) == 4 * 100 * 5 * 8
    assert paths.flops_per_layer("attention", 4096, 64) == 4 * 4096 ** 2 * 64         # formulas accept any n


def test_comparison_table_rows_match_table_1():
    rows = {r.arch: r for r in paths.comparison_table(16, 64, kernel=3, window=5)}
    assert rows["rnn"].max_path_length == 15 and rows["rnn"].sequential_steps == 16
    assert rows["cnn"].max_path_length == 15 and rows["dilated_cnn"].max_path_length == 4
    assert rows["restricted_attention"].max_path_length == 8 and "O(n/r)" in rows["restricted_attention"].vaswani
    assert rows["attention"].max_path_length == 1 and rows["attention"].flops == 4 * 16 * 16 * 64


def test_paths_are_real_edges_of_the_graph():
    for arch in paths.ARCHITECTURES:
        path = paths.shortest_path(arch, 11, 2, 9)
        assert path[0] == (0, 2) and path[-1][1] == 9
        for a, b in zip(path, path[1:]):
            assert a in paths.parents(arch, b[0], b[1], 11)


def test_bad_arguments_are_refused():
    with pytest.raises(AttentionInputError, match="arch must be one of"):
        paths.path_length("lstm", 4, 0, 1)
    with pytest.raises(AttentionInputError, match=r"j \(a position in 0..n-1 = 0..3\) must be an integer from 0 to 3"):
        paths.path_length("rnn", 4, 0, 4)
    with pytest.raises(AttentionInputError, match="n .* must be an integer from 1 to 128"):
        paths.max_path_length("cnn", 1000)


def test_gradients_vanish_in_the_rnn_and_not_in_attention_over_seeds():
    s = paths.sensitivity_over_seeds(n=24, d=8, seeds=range(4))
    assert s.rnn.shape == s.attention.shape == (4, 24) and s.distance.tolist() == list(range(23, -1, -1))
    assert float(s.geo_rnn[-2] / s.geo_rnn[0]) > 1e4           # a neighbour matters far more than a token 23 back
    assert float(s.factor_rnn.max()) < 0.8                     # every seed decays by more than 20% per token
    assert 0.9 < float(s.factor_attention.min()) and float(s.factor_attention.max()) < 1.1
    torch.testing.assert_close(s.geo_rnn, 10 ** torch.log10(s.rnn).mean(0))


def test_path_widget_shows_the_measured_numbers():
    w = PathExplorer(n=10, i=1, j=8)
    assert w.values() == {"n": 10, "i": 1, "j": 8, "kernel": 3, "rnn": 7, "cnn": 7, "dilated_cnn": 3,
                          "restricted_attention": 7, "attention": 1}
    assert 'data-length="7"' in w.panels.value and "path length 1" in w.panels.value
    assert "rnn: 7" in w.report() and w.refused is False
    w.n.value = 16                        # raising n gives position sliders whose range is the new one
    assert w.i.max == w.j.max == 15 and w.positions.children == (w.i, w.j)
    w.j.value = 15
    assert w.values()["rnn"] == 14
    w.n.value = 5                         # shrinking n clamps the positions
    assert w.j.value == 4 and w.j.max == 4 and w.values()["attention"] == 1
    w.i.value, w.j.value = 4, 1
    assert "no path" in w.panels.value and w.values()["rnn"] is None   # an RNN carries information forward only
    demo = PathExplorer.demo()
    before = demo.panels.value
    demo.step(0)
    assert demo.panels.value != before
    svg = path_svg(paths.layout("attention", 3, 0, 2))
    assert svg.startswith("<svg") and 'data-length="1"' in svg
    assert "run this cell" in repr(w)
