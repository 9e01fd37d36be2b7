"""Chapter 1 (Why attention): path lengths between tokens, predicted, designed and debugged.

Path length is the number of edges (hops) a signal crosses; the distance between tokens i and j
is d = |i - j| (the convention of chapter 1, section 1.3).
"""
import random

from ..explore import paths
from ._core import Exercise, NotAttempted, Wrong, as_array, call

CHAPTER = "ch01"


# --- Exercise 1.1 (predict, then check): a dilated stack over 101 tokens ----------------------------

def _check_dilated_layers(answer):
    value = as_array(answer, "dilated_layers")
    if value.shape != ():
        raise Wrong("give a single whole number of layers")
    expected = paths.path_length("dilated_cnn", 101, 0, 100, 3)
    if value == expected:
        return (f"{expected} layers: the dilations 1, 2, 4, ..., 64 reach 1 + 2 + ... + 64 = 127 >= 100 positions "
                "after 7 layers, while 6 layers reach only 63")
    if value == 100:
        raise Wrong("100 is the RNN's count (one recurrence step per token of distance); a dilated stack jumps further "
                    "at every layer")
    if value == 50:
        raise Wrong("50 is the count for ordinary convolutions of width 3 (one position per side per layer); "
                    "with dilations the reach doubles from layer to layer")
    if value == 5:
        raise Wrong("5 layers is right for dilations 1, 3, 9, 27, 81 (tripling); WaveNet and ByteNet double theirs: "
                    "1, 2, 4, ...")
    if value == 6:
        raise Wrong("after 6 layers the dilations 1 + 2 + 4 + 8 + 16 + 32 add up to 63 positions: not yet 100")
    raise Wrong(f"got {value:g}; add up the dilations 1, 2, 4, ... layer by layer until the sum reaches 100")


dilated_layers = Exercise(
    CHAPTER, "dilated_layers",
    "predict: in a stack of width-3 convolutions with dilations 1, 2, 4, ... over 101 tokens, how many layers "
    "does the shortest path from token 0 to position 100 cross?",
    _check_dilated_layers,
    "A width-3 layer with dilation D moves a signal by up to D positions. After L layers the reach is the sum of "
    "the first L dilations.",
    "dilated_layers = 7  # 1 + 2 + 4 + 8 + 16 + 32 = 63 < 100 <= 127 = 63 + 64",
)


# --- Exercise 1.2 (design): a dilation schedule that connects 32 tokens ------------------------------

def _check_schedule(answer):
    if answer is None or answer is ...:
        raise NotAttempted
    try:
        schedule = [int(d) for d in answer]
    except (TypeError, ValueError):
        raise Wrong(f"give a list of whole numbers, one dilation per layer, got {answer!r}") from None
    if any(d != float(x) for d, x in zip(schedule, answer)) or not schedule:
        raise Wrong("give a non-empty list of whole numbers, one dilation per layer")
    if any(d < 1 for d in schedule):
        raise Wrong("every dilation is at least 1 (dilation 1 is an ordinary convolution)")
    if len(schedule) > 5:
        raise Wrong(f"{len(schedule)} layers; the task allows at most 5")
    reach = sum(schedule)
    if all(d % 2 == 0 for d in schedule):
        raise Wrong("every dilation is even, so every jump is even: odd distances such as 0 -> 31 can never be "
                    "covered. Include dilation 1")
    if reach < 31:
        raise Wrong(f"the dilations add up to {reach}, so the top layer sees at most {reach} positions to each side; "
                    "token 0 and position 31 are 31 apart")
    table = paths.path_table("dilated_cnn", 32, 3, dilations=schedule)
    missed = [(i, j) for i in range(32) for j in range(32) if table[i][j] is None or table[i][j] > len(schedule)]
    if missed:
        i, j = min(missed, key=lambda ij: (abs(ij[0] - ij[1]), ij))
        raise Wrong(f"the dilations add up to {reach}, but token {i} never reaches position {j} in {len(schedule)} "
                    "layers: no choice of one jump (-D, 0 or +D) per layer, staying inside the 32 tokens, gets there. "
                    "The schedule has gaps")
    worst = max(v for row in table for v in row)
    return (f"every position of the 32 tokens sees every token within {worst} layers (reach {reach}); "
            "doubling, 1, 2, 4, 8, 16, is the schedule that reaches furthest without gaps")


schedule_32 = Exercise(
    CHAPTER, "schedule_32",
    "design: a list of at most 5 dilations for width-3 convolutions so that, over 32 tokens, every position "
    "sees every token",
    _check_schedule,
    "One layer of dilation D moves a signal up to D positions either way (or keeps it in place). Which distances "
    "can a sum of such jumps make?",
    "schedule_32 = [1, 2, 4, 8, 16]  # reach 31, and 1 makes odd distances possible",
)


# --- Exercise 1.3 (debug): the reach of a dilated stack ----------------------------------------------

def buggy_reach(dilations, kernel=3):
    """How many positions to each side the top of a stack of dilated convolutions sees (has a bug)."""
    radius = (kernel - 1) // 2
    return radius * max(dilations)


def reach_solution(dilations, kernel=3):
    """How many positions to each side the top of a stack of dilated convolutions sees."""
    radius = (kernel - 1) // 2          # one layer moves a signal up to radius · dilation positions
    return radius * sum(dilations)      # the layers' jumps add up


def _measured_reach(dilations, kernel) -> int:
    """How far from the centre of a long enough sequence the top of one pass through the stack sees."""
    n = 2 * ((kernel - 1) // 2) * sum(dilations) + 3
    table = paths.path_table("dilated_cnn", n, kernel, dilations=dilations)
    centre = n // 2
    return max(abs(i - centre) for i in range(n) if table[i][centre] is not None and table[i][centre] <= len(dilations))


def _check_reach(fn):
    cases = [([1, 2, 4, 8], 3), ([1, 1, 1], 3), ([1, 2, 4], 5), ([3], 3), ([1, 3, 9], 3), ([1, 2, 4, 8], 7)]
    for dilations, kernel in cases:
        got = call(fn, list(dilations), kernel, what="reach")
        measured = _measured_reach(dilations, kernel)
        if got != measured:
            why = ""
            if got == (kernel - 1) // 2 * max(dilations):
                why = " (that is the last layer's jump alone; every layer below moves the signal too)"
            elif got == kernel * sum(dilations):
                why = " (a width-k kernel reaches (k-1)/2 positions to each side, not k)"
            raise Wrong(f"reach({dilations}, kernel={kernel}) returned {got}; the graph measures {measured}{why}")
    return "right: the jumps of the layers add up, radius × (sum of the dilations)"


reach = Exercise(
    CHAPTER, "reach",
    "debug: buggy_reach(dilations, kernel) should say how far the top of a dilated stack sees; fix it",
    _check_reach,
    "Follow a signal up the stack: how far can it move in the first layer, in the second, ...?",
    reach_solution,
    "Each layer can move the signal by up to radius × its dilation, and the moves of successive layers add up.",
)


# --- Exercise 1.4 (implement): a capped, cyclic dilation schedule -----------------------------------

def cycle_layers_solution(distance: int, max_dilation: int = 16) -> int:
    """Layers of width-3 convolutions with the cyclic schedule 1, 2, 4, ..., max_dilation, 1, 2, ...
    that carry a signal `distance` positions (ByteNet's cycle when max_dilation = 16)."""
    cycle = [1]
    while cycle[-1] * 2 <= max_dilation:
        cycle.append(cycle[-1] * 2)                 # one cycle: 1, 2, 4, ..., max_dilation
    full, rest = divmod(distance, sum(cycle))       # one cycle carries a signal sum(cycle) positions
    layers, covered = full * len(cycle), 0
    for dilation in cycle:                          # the last cycle stops as soon as it has reached far enough
        if covered >= rest:
            break
        covered += dilation
        layers += 1
    return layers


def _log2_layers(distance: int) -> int:
    return max(distance, 0).bit_length()            # ceil(log2(distance + 1)): an uncapped doubling schedule


def _whole_cycles(distance: int, cap: int) -> int:
    cycle = paths.dilation_schedule(cap + 1, max_dilation=cap)
    return -(-distance // sum(cycle)) * len(cycle)


def _check_cycle_layers(fn):
    rs = random.Random(4)
    cases = [(0, 16), (1, 16), (31, 16), (32, 16), (62, 16), (100, 16), (7, 4), (8, 4), (15, 8)]
    cases += [(rs.randint(0, 90), rs.choice([2, 4, 8, 16])) for _ in range(12)]
    for distance, cap in cases:
        got = call(fn, distance, cap, what="cycle_layers")
        cycle = paths.dilation_schedule(cap + 1, max_dilation=cap)
        measured = paths.path_length("dilated_cnn", distance + 1, 0, distance, 3, dilations=cycle)
        if got == measured:
            continue
        where = f"cycle_layers({distance}, {cap}) returned {got}, but the graph with dilations {cycle}, repeated, needs {measured}"
        if got == _log2_layers(distance):
            raise Wrong(f"{where}: ceil(log2(d + 1)) holds only while one cycle of doublings spans the distance; "
                        f"this one stops at {cap} and starts again at 1, so one cycle carries a signal only {sum(cycle)} positions")
        if got == _whole_cycles(distance, cap):
            raise Wrong(f"{where}: you counted whole cycles; the last cycle can stop after its first few layers")
        if got == -(-distance // cap):
            raise Wrong(f"{where}: a cycle does not move a signal {cap} positions per layer; its layers jump "
                        f"{', '.join(map(str, cycle))} positions, {sum(cycle)} in all")
        raise Wrong(where)
    return ("your count matches the shortest paths measured on the graphs: whole cycles of "
            "1 + 2 + ... + max_dilation positions each, then the layers of the last, partial cycle")


cycle_layers = Exercise(
    CHAPTER, "cycle_layers",
    "implement cycle_layers(distance, max_dilation): how many layers of width-3 convolutions with the cyclic "
    "schedule 1, 2, 4, ..., max_dilation, 1, 2, ... connect two tokens `distance` apart?",
    _check_cycle_layers,
    "One cycle 1, 2, 4, 8, 16 carries a signal at most 1 + 2 + 4 + 8 + 16 = 31 positions. Count the whole cycles "
    "the distance needs, then the layers of the last, partial cycle.",
    cycle_layers_solution,
    "Whole cycles carry a signal sum(cycle) positions each; within the last cycle, m layers reach 2^m - 1 "
    "positions. So the path grows linearly with the distance once it is longer than one cycle's reach, "
    "only more slowly than an ordinary convolution's.",
)
