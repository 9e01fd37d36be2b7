"""Chapter 11's exercises pass their reference solutions and reject the typical mistakes with a reason."""
import pytest
import torch

from selfattn.exercises import ch11 as ex


def wrong(exercise, answer) -> str:
    result = exercise.evaluate(answer)
    assert result.passed is False, f"{answer!r} was accepted"
    return result.message


@pytest.mark.parametrize("answer, says", [
    ((0, 1, 0), "not monotonic"),             # the source read left to right
    ((5, 1, 0), "later digit of the year"),   # the year's last digit
    ((1, 1, 0), "not a year digit"),          # counted from 1
    ((2, 0, 0), "only looks like the month's 7"),
    ((2, 2, 0), "month word"),
    ((2, 1, 1), "single digit"),
])
def test_which_source_token_names_the_mistake(answer, says):
    assert says in wrong(ex.which_source_token, answer)


def test_three_masks_name_the_mistake():
    real = torch.arange(5) < 4
    enc, dec, cross = real.expand(5, 5), torch.tril(torch.ones(3, 3, dtype=torch.bool)), real.expand(3, 5)
    assert ex.three_masks.evaluate((enc, dec, cross)).passed
    assert "causal" in wrong(ex.three_masks, (enc, torch.ones(3, 3, dtype=torch.bool), cross))
    assert "not causal" in wrong(ex.three_masks, (enc, dec, torch.tril(torch.ones(3, 5, dtype=torch.bool)) & real))
    assert "padding" in wrong(ex.three_masks, (torch.ones(5, 5, dtype=torch.bool), dec, cross))
    assert "queries come from the decoder" in wrong(ex.three_masks, (enc, dec, real[:, None].expand(5, 3)))
    assert "bidirectional" in wrong(ex.three_masks, (torch.tril(torch.ones(5, 5, dtype=torch.bool)) & real, dec, cross))


def test_fix_cross_attention_names_the_mistake():
    assert "queries still come from memory" in wrong(ex.fix_cross_attention, ex.buggy_cross_attention)
    assert "attending to itself" in wrong(ex.fix_cross_attention, lambda mha, x, m: mha(x, x, x)[0])
    assert ex.fix_cross_attention.evaluate(lambda mha, x, m: mha(x, m, m)[0]).passed


@pytest.mark.parametrize("answer, says", [((11, 11), "number of decoding steps"), ((1, 11), "number of decoding steps"),
                                          ((2, 1), "fixed while the answer is written"), ((1, 2), "once")])
def test_cache_saves_names_the_mistake(answer, says):
    assert says in wrong(ex.cache_saves, answer)
