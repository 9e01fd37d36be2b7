"""Chapter 5's exercises: each passes its reference solution and rejects typical mistakes with a message."""
import numpy as np
import pytest
import torch

from selfattn.exercises import ch05 as ex
from selfattn.exercises import exercises


def message(exercise, answer):
    result = exercise.evaluate(answer)
    assert result.passed is False, f"expected a rejection, got {result}"
    return result.message


def test_chapter_has_at_least_three_exercises_with_hints_and_solutions(capsys):
    items = exercises("ch05")
    assert len(items) >= 3
    for e in items:
        e.hint()
        e.solution()
    out = capsys.readouterr().out
    assert out.count("Hint (") == len(items) and out.count("Solution (") == len(items)


def test_causal_by_hand():
    good = [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    assert ex.causal_by_hand.evaluate(good).passed
    assert ex.causal_by_hand.evaluate(np.tril(np.ones((4, 4), dtype=bool))).passed
    assert ex.causal_by_hand.evaluate(...).passed is None
    leak = [row[:] for row in good]
    leak[1][3] = 1
    msg = message(ex.causal_by_hand, leak)
    assert "future token leaks" in msg and "query 1 sees key 3" in msg
    assert "upside down" in message(ex.causal_by_hand, (~np.tril(np.ones((4, 4), dtype=bool))).astype(int))
    assert "cannot see itself" in message(ex.causal_by_hand, np.tril(np.ones((4, 4)), -1))
    assert "earlier token" in message(ex.causal_by_hand, np.eye(4))
    assert "shape" in message(ex.causal_by_hand, np.tril(np.ones((3, 3))))


def test_renormalise_by_hand():
    assert ex.renormalise_by_hand.evaluate([0.1 / 0.6, 0.2 / 0.6, 0.3 / 0.6, 0.0]).passed
    assert ex.renormalise_by_hand.evaluate([0.167, 0.333, 0.5, 0]).passed
    assert "did not re-normalise" in message(ex.renormalise_by_hand, [0.1, 0.2, 0.3, 0.0])
    assert "in proportion" in message(ex.renormalise_by_hand, [0.1 + 0.4 / 3, 0.2 + 0.4 / 3, 0.3 + 0.4 / 3, 0.0])
    assert "all four" in message(ex.renormalise_by_hand, [0.167, 0.333, 0.5])
    assert "exactly 0" in message(ex.renormalise_by_hand, [0.1, 0.2, 0.3, 0.4])


def _masked_softmax_zero_fill(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1)


def _masked_softmax_after(scores, mask):
    return torch.softmax(scores, dim=-1) * mask


def _masked_softmax_nan(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def _masked_softmax_big_negative(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, -1e9), dim=-1)


def _masked_softmax_inverted(scores, mask):
    return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)


def test_masked_softmax():
    assert ex.masked_softmax.evaluate(ex.masked_softmax.reference()).passed
    assert "e^0 = 1" in message(ex.masked_softmax, _masked_softmax_zero_fill)
    assert "after softmax" in message(ex.masked_softmax, _masked_softmax_after)
    assert "returns NaN" in message(ex.masked_softmax, _masked_softmax_nan)
    assert "-1e9" in message(ex.masked_softmax, _masked_softmax_big_negative)
    assert "True in the mask means" in message(ex.masked_softmax, _masked_softmax_inverted)
    assert "raised" in message(ex.masked_softmax, lambda s, m: s @ torch.ones(7))
    assert ex.masked_softmax.evaluate(lambda s, m: ...).passed is None


def test_padding_mask():
    assert ex.padding_mask.evaluate(ex.padding_mask.reference()).passed
    assert "key_padding_mask" in message(ex.padding_mask, lambda lengths, n: ~ex.padding_mask.reference()(lengths, n))
    off_by_one = lambda lengths, n: torch.arange(n)[None, :] <= torch.as_tensor(lengths)[:, None]  # noqa: E731
    assert "<= instead of <" in message(ex.padding_mask, off_by_one)
    assert "one row per sequence" in message(ex.padding_mask, lambda lengths, n: ex.padding_mask.reference()(lengths, n).T)


def test_decoder_mask_says_when_a_future_token_leaks():
    ref = ex.decoder_mask.reference()
    assert ex.decoder_mask.evaluate(ref).passed
    padding_only = lambda lengths, n: ex.padding_mask.reference()(lengths, n)[:, None, :].expand(len(lengths), n, n)  # noqa: E731
    msg = message(ex.decoder_mask, padding_only)
    assert "future token leaks" in msg and "sequence 0" in msg
    causal_only = lambda lengths, n: torch.tril(torch.ones(n, n, dtype=torch.bool)).expand(len(lengths), n, n)  # noqa: E731
    assert "padding position" in message(ex.decoder_mask, causal_only)

    def outer(lengths, n):                                   # blocks padded queries too: empty rows
        real = ex.padding_mask.reference()(lengths, n)
        return ref(lengths, n) & real[:, :, None]
    assert "can see no key at all" in message(ex.decoder_mask, outer)
    assert "True exactly where" in message(ex.decoder_mask, lambda lengths, n: ~ref(lengths, n))


@pytest.mark.parametrize("name", ["causal_by_hand", "renormalise_by_hand", "masked_softmax", "padding_mask", "decoder_mask"])
def test_placeholder_reads_not_attempted(name):
    assert getattr(ex, name).evaluate(None).passed is None
