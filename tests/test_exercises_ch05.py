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


def test_every_exercise_prints_its_own_hint_and_a_solution_that_passes(capsys):
    items = exercises("ch05")
    assert [e.name for e in items] == ["causal_by_hand", "renormalise_by_hand", "masked_softmax", "padding_mask",
                                       "decoder_mask", "changed_positions", "debug_masked_softmax", "prefix_lm_mask"]
    for e in items:
        e.hint()
        out = capsys.readouterr().out
        assert out == f"Hint ({e.name}): {e.hint_text}\n" and len(e.hint_text) > 40
        e.solution()
        out = capsys.readouterr().out
        assert out.startswith(f"Solution ({e.name}):\n") and len(out) > len(e.name) + 30
        assert e.evaluate(e.reference_answer()).passed is True, e.name


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


def test_changed_positions_names_the_usual_predictions():
    assert ex.changed_positions.evaluate([2, 3, 4, 5]).passed
    assert ex.changed_positions.evaluate((5, 4, 3, 2)).passed
    assert "bidirectional" in message(ex.changed_positions, list(range(6)))
    assert "diagonal of a causal mask is open" in message(ex.changed_positions, [3, 4, 5])
    assert "every later query" in message(ex.changed_positions, 2)
    assert "comes before the changed token" in message(ex.changed_positions, [1, 2, 3, 4, 5])
    assert "position 4 changes too" in message(ex.changed_positions, [2, 3])


def test_changed_positions_answer_is_what_attention_computes():
    from selfattn import attention
    from selfattn.embeddings import embed, hand_projections
    w_q, w_k, w_v = hand_projections()
    a = list(ex.PREDICT_SENTENCE)
    b = list(a)
    b[ex.PREDICT_SWAP[0]] = ex.PREDICT_SWAP[1]
    outs = [attention(embed(s) @ w_q, embed(s) @ w_k, embed(s) @ w_v, causal=True).output for s in (a, b)]
    moved = ((outs[0] - outs[1]).abs().amax(-1) > 1e-3).nonzero().flatten().tolist()
    assert moved == [2, 3, 4, 5]
    assert ex.changed_positions.evaluate(moved).passed


def test_debug_masked_softmax_names_the_additive_and_zero_fill_slips():
    assert "still the bug" in message(ex.debug_masked_softmax, ex.buggy_masked_softmax)
    assert "-inf where it is blocked" in message(ex.debug_masked_softmax, ex.buggy_masked_softmax)

    def zero_fill(scores, mask):                             # the slip section 5.2 shows
        return torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1)
    assert "e^0 = 1" in message(ex.debug_masked_softmax, zero_fill)
    assert "does not re-normalise" in message(ex.debug_masked_softmax, _masked_softmax_after)
    assert "True in the mask means" in message(ex.debug_masked_softmax, _masked_softmax_inverted)
    assert ex.debug_masked_softmax.evaluate(_masked_softmax_big_negative).passed    # fine when no row is empty
    assert ex.debug_masked_softmax.evaluate(ex.debug_masked_softmax.reference()).passed


def test_prefix_lm_mask():
    ref = ex.prefix_lm_mask.reference()
    assert ref(6, 3).int().tolist()[0] == [1, 1, 1, 0, 0, 0] and ref(6, 3).int().tolist()[4] == [1, 1, 1, 1, 1, 0]
    assert torch.equal(ref(4, 0), torch.tril(torch.ones(4, 4, dtype=torch.bool)))
    assert ref(4, 4).all()
    causal = lambda n, p: torch.tril(torch.ones(n, n, dtype=torch.bool))  # noqa: E731
    assert "which is in the prefix" in message(ex.prefix_lm_mask, causal)
    square = lambda n, p: causal(n, p) | ((torch.arange(n) < p + 1)[:, None] & (torch.arange(n) < p + 1)[None, :])  # noqa: E731
    assert "a generated token after it" in message(ex.prefix_lm_mask, square)
    assert "True exactly where" in message(ex.prefix_lm_mask, lambda n, p: ~ref(n, p))


@pytest.mark.parametrize("name", ["causal_by_hand", "renormalise_by_hand", "masked_softmax", "padding_mask", "decoder_mask",
                                  "changed_positions", "debug_masked_softmax", "prefix_lm_mask"])
def test_placeholder_reads_not_attempted(name):
    assert getattr(ex, name).evaluate(None).passed is None
