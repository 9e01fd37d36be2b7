"""Chapter 0 (Start here): warm-up exercises that show how checks, hints and solutions work.

One of each kind the book uses: a computation (d_head), a prediction checked afterwards
(the weight at a low temperature), a design (choose a temperature) and a debugging task.
"""
from ..attention import softmax
from ..explore.intro import SCORES, TOKENS, largest_weight, weights_at
from ._core import Exercise, Wrong, as_array, call, expect_close

CHAPTER = "ch00"


# --- predict, then check -----------------------------------------------------------------------------

def _check_cold_weight(answer):
    value = as_array(answer, "weight_on_cat")
    if value.shape != ():
        raise Wrong("give one number between 0 and 1: the weight on \"cat\"")
    exact, word = largest_weight(0.1)
    if abs(value - exact) <= 0.02:
        return f"the weight on \"{word}\" at temperature 0.1 is {exact:.3f}: a cold softmax is almost a hard choice"
    if abs(value - 1 / len(TOKENS)) <= 0.02:
        raise Wrong("1/6 is what a HIGH temperature tends to: dividing by a small number makes the gaps larger, "
                    "not smaller")
    if abs(value - float(weights_at(1.0)[0, 1])) <= 0.02:
        raise Wrong("that is the weight at temperature 1.0; at 0.1 the scores are divided by 0.1, so their gaps "
                    "are ten times larger")
    if not 0 <= value <= 1:
        raise Wrong("a weight is between 0 and 1, and the six weights sum to 1")
    raise Wrong(f"got {value:g}; the cell after this one shows the weights at temperature 0.1")


weight_on_cat = Exercise(
    CHAPTER, "weight_on_cat",
    "predict: at temperature 0.1, about how much of the weight goes to \"cat\" (two decimals)?",
    _check_cold_weight,
    "The scores are divided by the temperature. \"cat\" scores 2.0 and the next best, \"mat\", 1.5: "
    "what is the gap after dividing by 0.1?",
    "weight_on_cat = 0.99  # the gap of 0.5 becomes 5, and e^-5 is under 1%",
)


# --- design --------------------------------------------------------------------------------------

def _check_half_temperature(answer):
    value = as_array(answer, "temperature")
    if value.shape != ():
        raise Wrong("give one temperature, a positive number")
    if value <= 0:
        raise Wrong("the temperature divides the scores, so it must be positive")
    top, word = largest_weight(float(value))
    if 0.45 <= top <= 0.55:
        return f"at temperature {float(value):g} the largest weight is {top:.3f} (on \"{word}\")"
    if top > 0.55:
        raise Wrong(f"at temperature {float(value):g} the largest weight is {top:.3f}: too sharp. Raise the temperature")
    raise Wrong(f"at temperature {float(value):g} the largest weight is {top:.3f}: too flat. Lower the temperature")


half_temperature = Exercise(
    CHAPTER, "half_temperature",
    "design: choose a temperature at which the largest weight is between 0.45 and 0.55",
    _check_half_temperature,
    "At temperature 1.0 the largest weight is 0.394, and lower temperatures sharpen. Try the slider.",
    "half_temperature = 0.7  # largest weight 0.493",
)


# --- debug ---------------------------------------------------------------------------------------

def buggy_weights(scores, temperature):
    """Softmax of scores at a temperature (has a bug: low temperature should sharpen)."""
    return softmax(scores * temperature)


def weights_solution(scores, temperature):
    """Softmax of scores at a temperature: divide, so a low temperature sharpens."""
    return softmax(scores / temperature)


def _check_weights(fn):
    if fn is buggy_weights:
        raise Wrong("that is the buggy function itself; write your fixed version and pass it")
    for t in (0.1, 0.5, 1.0, 3.0):
        got = as_array(call(fn, SCORES.clone(), t, what="weights"), "your weights")
        ref = weights_at(t)
        if got.shape == tuple(ref.shape) and abs(got - as_array(softmax(SCORES * t), "w")).max() < 1e-6 and t != 1.0:
            raise Wrong("the scores are still multiplied by the temperature: at temperature 0.1 that flattens "
                        "the row instead of sharpening it. Divide")
        expect_close(got, ref, f"your weights at temperature {t}", atol=1e-5, names="(row, word)")
    return "a temperature divides the scores: below 1 it widens their gaps, above 1 it shrinks them"


fix_temperature = Exercise(
    CHAPTER, "fix_temperature",
    "debug: buggy_weights(scores, temperature) makes a low temperature flatten the weights; fix it",
    _check_weights,
    "Compare what the function does with the sentence under the widget: the slider sets a temperature that "
    "divides the scores.",
    weights_solution,
)


# --- compute (Exercise 0.4): the width of one head ------------------------------------------------

def _check_d_head(answer):
    value = as_array(answer, "d_head")
    if value.shape != ():
        raise Wrong(f"d_head is a single number, got an array of shape {value.shape}")
    if value == 512 * 8:
        raise Wrong("that is d_model × n_heads; each head gets a slice of d_model, so divide instead")
    if value != 64:
        raise Wrong(f"got {value:g}; d_head is the width of one head: d_model split evenly over n_heads")
    return "d_head = d_model / n_heads = 512 / 8 = 64, the value in the original Transformer"


d_head = Exercise(
    CHAPTER, "d_head",
    "the original Transformer has d_model = 512 and n_heads = 8: what is d_head?",
    _check_d_head,
    "Each of the n_heads heads works on an equal slice of the d_model features.",
    "d_head = 512 // 8  # = 64",
)


__all__ = ["weight_on_cat", "half_temperature", "fix_temperature", "buggy_weights", "d_head"]
