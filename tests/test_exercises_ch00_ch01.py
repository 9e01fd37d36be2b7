"""Chapter 0 and 1 exercises: the reference passes, typical mistakes fail with a reason, placeholders read as not attempted."""
from selfattn.exercises import ch00, ch01, exercises

from exercise_helpers import fails, passes


def test_registered_in_order():
    assert [e.name for e in exercises("ch00")] == ["weight_on_cat", "half_temperature", "fix_temperature", "d_head"]
    assert [e.name for e in exercises("ch01")] == ["dilated_layers", "schedule_32", "reach", "cycle_layers"]


def test_d_head():
    passes(ch00.d_head, 64)
    fails(ch00.d_head, 4096, "divide")
    assert ch00.d_head.evaluate(...).passed is None


def test_weight_on_cat_predict():
    assert "0.993" in passes(ch00.weight_on_cat, 0.99)
    fails(ch00.weight_on_cat, 1 / 6, "HIGH temperature")
    fails(ch00.weight_on_cat, 0.394, "temperature 1.0")
    fails(ch00.weight_on_cat, 1.5, "between 0 and 1")


def test_half_temperature_design():
    assert "0.493" in passes(ch00.half_temperature, 0.7)
    fails(ch00.half_temperature, 0.3, "Raise the temperature")
    fails(ch00.half_temperature, 2.0, "Lower the temperature")
    fails(ch00.half_temperature, 0, "must be positive")


def test_fix_temperature_debug():
    passes(ch00.fix_temperature, ch00.weights_solution)
    fails(ch00.fix_temperature, ch00.buggy_weights, "buggy function itself")
    fails(ch00.fix_temperature, lambda s, t: ch00.softmax(s * t), "multiplied by the temperature")
    fails(ch00.fix_temperature, lambda s, t: ch00.softmax(s), "differs at")


def test_dilated_layers_predict():
    assert "7 layers" in passes(ch01.dilated_layers, 7)
    fails(ch01.dilated_layers, 5, "tripling")
    fails(ch01.dilated_layers, 6, "63")
    fails(ch01.dilated_layers, 100, "RNN")
    fails(ch01.dilated_layers, 50, "ordinary convolutions")


def test_schedule_design():
    passes(ch01.schedule_32, [1, 2, 4, 8, 16])
    passes(ch01.schedule_32, [16, 8, 4, 2, 1])
    fails(ch01.schedule_32, [2, 4, 8, 16, 32], "Include dilation 1")
    fails(ch01.schedule_32, [1, 2, 3, 4, 5], "add up to 15")
    fails(ch01.schedule_32, [1, 30], "token 0 never reaches position 2")
    fails(ch01.schedule_32, [1] * 6, "at most 5")
    assert ch01.schedule_32.evaluate(None).passed is None


def test_reach_debug():
    passes(ch01.reach, ch01.reach_solution)
    fails(ch01.reach, ch01.buggy_reach, "the last layer's jump alone")
    fails(ch01.reach, lambda d, k: k * sum(d), "(k-1)/2 positions")
    fails(ch01.reach, lambda d, k: 1 / 0, "ZeroDivisionError")


def test_cycle_layers():
    passes(ch01.cycle_layers, ch01.cycle_layers_solution)
    assert [ch01.cycle_layers_solution(d) for d in (0, 31, 32, 63, 127)] == [0, 5, 6, 11, 22]   # chapter 1, section 1.4
    fails(ch01.cycle_layers, lambda d, cap=16: max(d, 0).bit_length(), "ceil(log2(d + 1)) holds only")
    fails(ch01.cycle_layers, lambda d, cap=16: -(-d // (2 * cap - 1)) * (cap.bit_length()), "whole cycles")
    fails(ch01.cycle_layers, lambda d, cap=16: -(-d // cap), "does not move a signal")
    fails(ch01.cycle_layers, lambda d, cap=16: d / 0, "ZeroDivisionError")

    def placeholder(distance, max_dilation=16):
        ...
    assert ch01.cycle_layers.evaluate(placeholder).passed is None
