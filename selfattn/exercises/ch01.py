"""Chapter 1 (Why attention): path lengths between tokens, by hand and as code."""
import random

from ..explore import paths
from ._core import Exercise, Wrong, as_array, call

CHAPTER = "ch01"


def _check_rnn_steps(answer):
    value = as_array(answer, "rnn_steps")
    expected = paths.path_length("rnn", 10, 2, 9)
    if value.shape != ():
        raise Wrong("give a single whole number")
    if value == expected - 1:
        raise Wrong(f"got {value:g}: you counted the hops from h_2 to h_9 but not the first step, x_2 entering h_2")
    if value != expected:
        raise Wrong(f"got {value:g}; count every computation on the way: x_2 -> h_2 -> h_3 -> ... -> h_9")
    return f"{expected} steps: one to read x_2 into h_2, then 7 recurrent steps to h_9"


rnn_steps = Exercise(
    CHAPTER, "rnn_steps",
    "in an RNN over n = 10 tokens, how many computations lie between token 2 and the hidden state at position 9?",
    _check_rnn_steps,
    "Write the chain out: x_2 enters h_2, then h_3 = f(h_2, x_3), and so on up to h_9. Count the arrows.",
    "rnn_steps = 8  # x_2 -> h_2 (1) then h_2 -> h_3 -> ... -> h_9 (7)",
)


def _check_attention_steps(answer):
    value = as_array(answer, "attention_steps")
    if value.shape != ():
        raise Wrong("give a single whole number")
    if value == 998 or value == 999:
        raise Wrong(f"got {value:g}: that is the RNN's count; in self-attention position 999 reads token 0 directly")
    if value != paths.path_length("attention", 64, 0, 63):
        raise Wrong(f"got {value:g}; one self-attention layer compares every query with every key")
    return "1: a single attention layer connects any two positions, whatever their distance"


attention_steps = Exercise(
    CHAPTER, "attention_steps",
    "in one self-attention layer over 1,000 tokens, how many computations lie between token 0 and position 999?",
    _check_attention_steps,
    "In self-attention, which keys does the query at position 999 look at?",
    "attention_steps = 1",
)


def cnn_layers_solution(distance: int, kernel: int) -> int:
    """Layers of centred convolutions (odd kernel width) needed to carry a signal `distance` positions."""
    radius = (kernel - 1) // 2          # each layer widens the receptive field by this much per side
    return -(-distance // radius)       # ceil(distance / radius); 0 for distance 0


def _check_cnn_layers(fn):
    rs = random.Random(1)
    cases = [(0, 3), (1, 3), (7, 3), (7, 5), (9, 5)] + [(rs.randint(0, 40), rs.choice([3, 5, 7, 9])) for _ in range(20)]
    for distance, kernel in cases:
        got = call(fn, distance, kernel, what="cnn_layers")
        n = distance + 1
        measured = paths.max_path_length("cnn", n, kernel) if distance > 0 else 0
        if got != measured:
            hint = ""
            if got == -(-distance // kernel):
                hint = " (a layer widens the field by (kernel-1)/2 on each side, not by kernel)"
            elif got == distance // ((kernel - 1) // 2):
                hint = " (round up: a partial layer is still a layer)"
            raise Wrong(f"cnn_layers({distance}, {kernel}) returned {got}, but the graph needs {measured}{hint}")
    return "your formula matches the layer counts measured on the convolution graphs"


cnn_layers = Exercise(
    CHAPTER, "cnn_layers",
    "implement cnn_layers(distance, kernel): how many stacked convolutions connect two tokens `distance` apart?",
    _check_cnn_layers,
    "A centred kernel of width k sees (k-1)/2 positions on each side. After L layers, how far does that reach?",
    cnn_layers_solution,
    "Each layer widens the receptive field by (k-1)/2 on each side, so L layers reach L·(k-1)/2 positions: "
    "L = ceil(distance / ((k-1)/2)). That is Table 1's O(n/k) for contiguous kernels.",
)
