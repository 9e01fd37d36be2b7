"""Chapter 0 (Start here): one warm-up exercise that shows how checks, hints and solutions work."""
from ._core import Exercise, Wrong, as_array

CHAPTER = "ch00"


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
