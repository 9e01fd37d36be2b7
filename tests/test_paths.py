"""Chapter 1's measured path lengths agree with hand-derived formulas and with Vaswani et al.'s Table 1."""
import math

import pytest
import torch

from selfattn import AttentionInputError
from selfattn.explore import gradients, paths
from selfattn.widgets.paths import PathExplorer, path_svg, summary


@pytest.mark.parametrize("n", [1, 2, 5, 13])
def test_rnn_path_is_one_read_plus_the_distance(n):
    for i in range(n):
        for j in range(n):
            expected = 1 + j - i if j >= i else None
            assert paths.path_length("rnn", n, i, j) == expected


@pytest.mark.parametrize("n", [2, 7, 16])
def test_attention_connects_every_pair_in_one_step(n):
    assert {paths.path_length("attention", n, i, j) for i in range(n) for j in range(n)} == {1}
    assert paths.max_path_length("attention", n) == 1


@pytest.mark.parametrize("kernel", [3, 5, 7])
@pytest.mark.parametrize("n", [2, 9, 20])
def test_cnn_path_is_distance_over_radius(n, kernel):
    radius = (kernel - 1) // 2
    for i in (0, n // 2, n - 1):
        for j in range(n):
            assert paths.path_length("cnn", n, i, j, kernel) == max(1, math.ceil(abs(i - j) / radius))
    assert paths.max_path_length("cnn", n, kernel) == paths.predicted_cnn_layers(n, kernel) or n == 2


def test_dilated_cnn_grows_logarithmically():
    growth = paths.growth("dilated_cnn", [8, 16, 32, 64], 3)
    assert growth == sorted(growth) and growth[-1] <= 2 * math.ceil(math.log(64, 3)) + 1
    assert growth[-1] < paths.max_path_length("cnn", 64, 3) / 5


def test_sequential_steps_and_operations():
    assert paths.sequential_steps("rnn", 12) == 12
    assert paths.sequential_steps("cnn", 12) == paths.sequential_steps("attention", 12) == 1
    assert paths.operations_per_layer("attention", 100, 8) == 2 * 100 * 100 * 8
    assert paths.operations_per_layer("rnn", 100, 8) == 2 * 100 * 64
    assert paths.operations_per_layer("attention", 4096, 64) > 0   # formulas accept any n


def test_paths_are_real_edges_of_the_graph():
    for arch in ("rnn", "cnn", "dilated_cnn", "attention"):
        path = paths.shortest_path(arch, 11, 2, 9)
        assert path[0] == (0, 2) and path[-1][1] == 9
        for a, b in zip(path, path[1:]):
            assert a in paths.parents(arch, b[0], b[1], 11)


def test_bad_arguments_are_refused():
    with pytest.raises(AttentionInputError, match="arch must be one of"):
        paths.path_length("lstm", 4, 0, 1)
    with pytest.raises(AttentionInputError, match="j must be a position in 0..n-1 = 0..3"):
        paths.path_length("rnn", 4, 0, 4)
    with pytest.raises(AttentionInputError, match="n must be an integer between 1 and 64"):
        paths.max_path_length("cnn", 1000)


def test_rnn_gradients_vanish_and_attention_gradients_do_not():
    rnn = gradients.rnn_sensitivity(n=24, d=8, seed=3)
    att = gradients.attention_sensitivity(n=24, d=8, seed=3)
    assert rnn[-2] / rnn[0] > 1e4          # a neighbour matters far more than a token 23 steps back
    assert att[0] > 1e-3 * att[-2]          # attention's far token is not suppressed by distance
    assert torch.all(rnn[1:-1] > 0) and torch.all(att > 0)


def test_path_widget_shows_the_measured_numbers():
    w = PathExplorer(n=10, i=1, j=8)
    assert w.values() == {"rnn": 8, "cnn": 7, "dilated_cnn": 4, "attention": 1}
    assert 'data-length="8"' in w.panels.value and "path length 1" in w.panels.value
    w.n.value = 5                         # shrinking n clamps the position sliders
    assert w.j.value <= 4 and w.values() == summary(5, w.i.value, w.j.value)
    w.i.value, w.j.value = 4, 1
    assert "no path" in w.panels.value    # an RNN carries information forward only
    demo = PathExplorer.demo()
    before = demo.panels.value
    demo.step(0)
    assert demo.panels.value != before
    assert path_svg("attention", 3, 0, 2).startswith("<svg")
