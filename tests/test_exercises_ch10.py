"""Chapter 10's exercises: each accepts its reference solution and names what is wrong in typical mistakes."""
import numpy as np
import torch

from selfattn.exercises import ch10 as ex
from selfattn.exercises import exercises

from exercise_helpers import fails, passes


def test_every_reference_passes_and_placeholders_are_not_attempted():
    assert len(exercises("ch10")) >= 3
    for e in exercises("ch10"):
        assert e.evaluate(e.reference_answer()).passed is True, e.name
        assert e.evaluate(...).passed is None
    for e in (ex.implement_top_p, ex.fix_the_block):
        assert e.evaluate(lambda *a: ...).passed is None


def test_temperature_mistakes_are_named():
    passes(ex.predict_temperature, 0.658)
    fails(ex.predict_temperature, 0.417, "temperature 2")
    fails(ex.predict_temperature, 0.5, "divides the")
    fails(ex.predict_temperature, 1.0, "greedy")
    fails(ex.predict_temperature, 0.25, "renormalis")
    fails(ex.predict_temperature, "two thirds", "one number")


def test_top_p_mistakes_are_named():
    def before_only(probs, p):                    # drops the token that crosses p
        order = np.argsort(-probs)
        keep = np.zeros(len(probs), bool)
        keep[order[np.cumsum(probs[order]) < p]] = True
        return keep

    def unsorted(probs, p):                       # walks in vocabulary order
        before = np.cumsum(probs) - probs
        return before < p

    def too_many(probs, p):                       # keeps while the sum including the token is <= p, plus one more
        order = np.argsort(-probs)
        keep = np.zeros(len(probs), bool)
        keep[order[np.cumsum(probs[order]) - probs[order] <= p]] = True
        return keep

    fails(ex.implement_top_p, before_only, "carries the running")
    fails(ex.implement_top_p, unsorted, "Sort by probability")
    fails(ex.implement_top_p, too_many, "smallest")
    fails(ex.implement_top_p, lambda probs, p: np.ones(2, bool), "shape")


def test_block_mistakes_are_named():
    fails(ex.fix_the_block, ex.buggy_block, "still the buggy block")
    fails(ex.fix_the_block, lambda x, ln1, attn, ln2, mlp: mlp(ln2(attn(ln1(x)))), "no residual")

    def post_norm(x, ln1, attn, ln2, mlp):
        x = ln1(x + attn(x))
        return ln2(x + mlp(x))

    fails(ex.fix_the_block, post_norm, "post-norm")
    fails(ex.fix_the_block, lambda x, *rest: x, "differs")
