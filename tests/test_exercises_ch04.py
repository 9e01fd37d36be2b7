"""Chapter 4's exercises pass their reference solutions and reject typical mistakes with a reason."""
import math

import numpy as np
import pytest

from selfattn.exercises import ch04 as ex


def verdict(exercise, answer):
    return exercise.evaluate(answer)


def test_every_reference_solution_passes():
    answers = {
        "cross_shapes": ((4, 7), (4, 5)),
        "path_steps": (1, 99, 50),
        "shuffled_outputs": np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]),
        "pe_by_hand": np.array([np.sin(2), np.cos(2), np.sin(0.02), np.cos(0.02)]),
        "sinusoidal": ex.solution_sinusoidal,
        "rotary": ex.solution_rotary,
        "shift_prediction": (0, 6),
        "rope_offset": 16,
        "fixed_rope_attention": ex.fixed_rope_attention.reference(),
        "vit_tokens": (196, 768),
    }
    from selfattn.exercises import exercises
    assert {e.name for e in exercises("ch04")} == set(answers)
    for name, answer in answers.items():
        result = verdict(getattr(ex, name), answer)
        assert result.passed is True, (name, result.message)


@pytest.mark.parametrize("answer", [None, ...])
def test_placeholders_read_as_not_attempted(answer):
    for e in (ex.cross_shapes, ex.path_steps, ex.shuffled_outputs, ex.pe_by_hand, ex.sinusoidal, ex.rotary,
              ex.shift_prediction, ex.rope_offset, ex.fixed_rope_attention, ex.vit_tokens):
        assert e.evaluate(answer).passed is None


def test_a_function_that_returns_the_placeholder_is_not_attempted():
    assert ex.sinusoidal.evaluate(lambda n, d_model: ...).passed is None


@pytest.mark.parametrize("answer,needle", [
    (((7, 7), (4, 5)), "not square"), (((4, 4), (4, 5)), "not square"), (((7, 4), (4, 5)), "rows are queries"),
    (((4, 7), (7, 5)), "one row per *query*"), (((4, 7), (4, 16)), "d_v = 5"), (((4, 7), (4, 3)), "(n_q, d_v)"),
    (((2, 2), (4, 5)), "(n_q, n_k)"), ((4, 7), "a shape such as"), ((1, 2, 3), "two shapes"), ((("a", "b"), (4, 5)), "a shape such as"),
])
def test_cross_shapes_mistakes(answer, needle):
    r = verdict(ex.cross_shapes, answer)
    assert r.passed is False and needle in r.message, r.message


@pytest.mark.parametrize("answer,needle", [((1, 100, 50), "not the tokens"), ((1, 98, 50), "token 99 itself"),
                                           ((99, 99, 50), "too many"), ((1, 1, 50), "one step at a time"),
                                           ((1, 99, 20), "'n / k' literally"), ((1, 99, 25), "causal kernel"),
                                           ((1, 99, 49), "round up"), ((1, 99, 99), "(k - 1) / 2 positions further"),
                                           ((1, 99), "three whole numbers"), ("x", "three whole numbers")])
def test_path_steps_mistakes(answer, needle):
    r = verdict(ex.path_steps, answer)
    assert r.passed is False and needle in r.message, r.message


@pytest.mark.parametrize("answer,needle", [
    (ex.OUTPUTS_ABC, "kept the original row order"),
    (ex.OUTPUTS_ABC[[1, 2, 0]], "opposite way"),
    (ex.OUTPUTS_ABC[[2, 1, 0]], "right rows, wrong places"),
    (np.ones((3, 2)), "cannot create new values"),
    (np.ones((2, 2)), "shape"),
])
def test_shuffled_outputs_mistakes(answer, needle):
    r = verdict(ex.shuffled_outputs, answer)
    assert r.passed is False and needle in r.message


@pytest.mark.parametrize("answer,needle", [
    ([math.cos(2), math.sin(2), math.cos(0.02), math.sin(0.02)], "swapped"),
    ([math.sin(2), math.cos(2), math.sin(0.2), math.cos(0.2)], "turns too fast"),
    ([math.sin(2), math.cos(2), math.sin(2), math.cos(2)], "same frequency"),
    ([math.sin(2), math.sin(0.02), math.cos(2), math.cos(0.02)], "interleaves"),
    ([math.sin(2), math.cos(2), math.sin(2e-4), math.cos(2e-4)], "pair index"),
    ([math.sin(math.radians(2)), math.cos(math.radians(2)), math.sin(math.radians(0.02)),
      math.cos(math.radians(0.02))], "degrees"),
    ([0, 0, 0, 0], "differs"),
])
def test_pe_by_hand_mistakes(answer, needle):
    r = verdict(ex.pe_by_hand, answer)
    assert r.passed is False and needle in r.message


def sines_first(n, d_model):
    pe = ex.solution_sinusoidal(n, d_model)
    return np.concatenate([pe[:, 0::2], pe[:, 1::2]], axis=1)


def swapped(n, d_model):
    pe = ex.solution_sinusoidal(n, d_model)
    return pe[:, np.arange(d_model) ^ 1]


def exponent_off(n, d_model):
    i = np.arange(d_model // 2)
    angle = np.arange(n)[:, None] / 10000 ** (i / d_model)
    pe = np.zeros((n, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe


def crashes(n, d_model):
    raise IndexError("index 3 is out of bounds")


@pytest.mark.parametrize("fn,needle", [(sines_first, "sines first"), (swapped, "swapped"),
                                       (exponent_off, "factor 2"), (crashes, "raised IndexError"),
                                       (lambda n, d_model: np.zeros((n, d_model + 1)), "shape"),
                                       (lambda n, d_model: np.zeros((n, d_model)), "differs")])
def test_sinusoidal_mistakes(fn, needle):
    r = verdict(ex.sinusoidal, fn)
    assert r.passed is False and needle in r.message, r.message


def clockwise(x):
    return ex.solution_rotary(x * np.array([1, -1] * (x.shape[1] // 2))) * np.array([1, -1] * (x.shape[1] // 2))


@pytest.mark.parametrize("fn,needle", [(ex._half_split_rope, "i + d_k/2"), (clockwise, "clockwise"),
                                       (lambda x: x, "equals the input"), (lambda x: 2 * x, "differs")])
def test_rotary_mistakes(fn, needle):
    r = verdict(ex.rotary, fn)
    assert r.passed is False and needle in r.message, r.message


@pytest.mark.parametrize("answer,needle", [((14, 768), "one side"), ((196, 256), "three numbers per pixel"),
                                           ((100, 768), "not right"), ((196, 700), "patch_dim = 700"),
                                           ("abc", "two whole numbers")])
def test_vit_tokens_mistakes(answer, needle):
    r = verdict(ex.vit_tokens, answer)
    assert r.passed is False and needle in r.message


def test_check_prints_and_records_progress(capsys):
    from selfattn.exercises import progress
    ex.vit_tokens.check((196, 768))
    assert "✔ Correct" in capsys.readouterr().out
    progress("ch04")
    assert "vit_tokens" in capsys.readouterr().out


def test_hints_and_solutions_print(capsys):
    for e in (ex.shuffled_outputs, ex.pe_by_hand, ex.sinusoidal, ex.rotary, ex.vit_tokens):
        e.hint()
        e.solution()
    out = capsys.readouterr().out
    assert "def sinusoidal(n, d_model)" in out and "def rotary(x)" in out


def test_order_in_the_notebook():
    from selfattn.exercises import exercises
    assert [e.name for e in exercises("ch04")] == ["cross_shapes", "path_steps", "shuffled_outputs", "pe_by_hand",
                                                   "sinusoidal", "rotary", "shift_prediction", "rope_offset",
                                                   "fixed_rope_attention", "vit_tokens"]


@pytest.mark.parametrize("answer,needle", [((6, 6), "only through the offset"), ((0, 0), "PE[pos + 5]"),
                                           ((1, 6), "only through the offset"), ("many", "two whole numbers")])
def test_shift_prediction_mistakes(answer, needle):
    assert ex.shift_reference() == (0, 6)
    r = verdict(ex.shift_prediction, answer)
    assert r.passed is False and needle in r.message, r.message


@pytest.mark.parametrize("answer,needle", [(24, "wrong sign"), (3, "stayed at position 3"), (13, "keep the offset"),
                                           ("left", "one position")])
def test_rope_offset_mistakes(answer, needle):
    r = verdict(ex.rope_offset, answer)
    assert r.passed is False and needle in r.message, r.message


def test_rope_offset_score_depends_on_the_offset_only():
    assert ex.rope_score(7, 3) == pytest.approx(ex.rope_score(20, 16), abs=1e-12)
    assert ex.rope_score(7, 3) == pytest.approx(2.9775, abs=1e-4)
    assert abs(ex.rope_score(7, 3) - ex.rope_score(20, 24)) > 0.1
    assert "score is again 2.9775" in verdict(ex.rope_offset, 16).message


def test_fixed_rope_attention_names_each_bug():
    from selfattn import attention
    from selfattn.positions import rotary
    assert verdict(ex.fixed_rope_attention, ex.buggy_rope_attention).message.startswith(
        "the keys are not rotated and the values are")
    r = verdict(ex.fixed_rope_attention, lambda x, p: attention(rotary(3 * x, p), x, x).output)
    assert r.passed is False and r.message.startswith("the keys are not rotated.")
    r = verdict(ex.fixed_rope_attention, lambda x, p: attention(rotary(3 * x, p), rotary(x, p), rotary(x, p)).output)
    assert r.passed is False and r.message.startswith("the values are rotated")
    r = verdict(ex.fixed_rope_attention, lambda x, p: attention(3 * x, x, x).output)
    assert r.passed is False and "differs at" in r.message
    r = verdict(ex.fixed_rope_attention, lambda x, p: attention(rotary(3 * x, p), rotary(x, p), x).output[:, :4])
    assert r.passed is False and "(6, 4)" in r.message
