"""selfattn.explore.masks: presets, one-cell edits and the views the mask editor shows."""
import pytest
import torch
import torch.nn.functional as F

from oracle import naive_attention
from selfattn import AttentionInputError, masks
from selfattn.explore import masks as mx


def test_presets_match_selfattn_masks():
    n = 6
    assert torch.equal(mx.preset_mask("bidirectional", n), torch.ones(n, n, dtype=torch.bool))
    assert torch.equal(mx.preset_mask("causal", n), torch.tril(torch.ones(n, n, dtype=torch.bool)))
    pad = mx.preset_mask("padding", n, length=4)
    assert pad.shape == (n, n)
    assert pad[:, :4].all() and not pad[:, 4:].any()              # every query, padding keys blocked
    assert torch.equal(mx.preset_mask("window", n, width=2), masks.window(n, 2, causal=True))
    both = mx.preset_mask("causal+padding", n, length=4)
    assert torch.equal(both, torch.tril(torch.ones(n, n, dtype=torch.bool)) & pad)
    assert mx.preset_mask("padding", n).all()                 # length defaults to n: no padding
    assert not mx.preset_mask("padding", n, length=0).any()    # length 0: every row empty


def test_presets_refuse_bad_arguments_with_messages():
    with pytest.raises(AttentionInputError, match="at most 16 tokens"):
        mx.preset_mask("causal", 17)
    with pytest.raises(AttentionInputError, match="kind must be one of"):
        mx.preset_mask("diagonal", 4)
    with pytest.raises(AttentionInputError, match="length"):
        mx.preset_mask("padding", 4, length=5)
    with pytest.raises(AttentionInputError, match="width"):
        mx.preset_mask("window", 4, width=0)


def test_toggle_flips_one_cell_and_copies():
    m = mx.preset_mask("causal", 4)
    t = mx.toggle(m, 1, 3)
    assert bool(t[1, 3]) and not bool(m[1, 3])                       # original untouched
    assert (t != m).sum() == 1
    assert torch.equal(mx.toggle(t, 1, 3), m)                  # twice: back where we started
    with pytest.raises(AttentionInputError, match="col"):
        mx.toggle(m, 0, 4)
    with pytest.raises(AttentionInputError, match="boolean"):
        mx.toggle(m.int(), 0, 0)


def test_future_cells():
    assert mx.future_cells(masks.causal(5)) == []
    assert mx.future_cells(masks.bidirectional(3)) == [(0, 1), (0, 2), (1, 2)]
    batch = masks.combine(masks.causal(3), masks.padding([3, 2], 3))  # (batch, n, n)
    assert mx.future_cells(batch) == []
    leaky = batch.clone()
    leaky[1, 0, 2] = True
    assert mx.future_cells(leaky) == [(0, 2)]


def test_view_weights_match_an_independent_reference():
    tokens, q, k, v = mx.sentence_qkv("the bank by the river")
    assert tokens == ["the", "bank", "by", "the", "river"]
    mask = mx.toggle(mx.preset_mask("causal", 5), 2, 4)
    view = mx.masked_view(q, k, v, mask)
    ref_out, ref_w = naive_attention(q.numpy(), k.numpy(), v.numpy(), mask=mask.numpy())
    assert torch.allclose(view.weights.double(), torch.from_numpy(ref_w), atol=1e-6)
    assert torch.allclose(view.output.double(), torch.from_numpy(ref_out), atol=1e-6)
    sdpa = F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=mask[None])[0]
    assert torch.allclose(view.output, sdpa, atol=1e-5)
    assert torch.allclose(view.row_sums, torch.ones(5))
    assert view.future == ((2, 4),)
    assert view.open_counts.tolist() == [1, 2, 4, 4, 5]


def test_one_click_renormalises_in_proportion():
    _, q, k, v = mx.sentence_qkv("the cat sat on the mat")
    before = mx.masked_view(q, k, v, mx.preset_mask("bidirectional", 6))
    after = mx.apply_mask_edit(q, k, v, before.mask, 2, 1)     # "sat" may no longer see "cat"
    assert float(after.weights[2, 1]) == 0.0
    row_before, row_after = before.weights[2], after.weights[2]
    open_keys = [0, 2, 3, 4, 5]
    expected = row_before[open_keys] / row_before[open_keys].sum()
    assert torch.allclose(row_after[open_keys], expected, atol=1e-6)
    others = [0, 1, 3, 4, 5]                                          # other rows do not move
    assert torch.equal(after.weights[others], before.weights[others])


def test_an_emptied_row_gives_zero_weights_and_zero_output():
    _, q, k, v = mx.sentence_qkv("the bank by the river")
    view = mx.apply_mask_edit(q, k, v, mx.preset_mask("causal", 5), 0, 0)
    assert view.empty_rows.tolist() == [True, False, False, False, False]
    assert float(view.row_sums[0]) == 0.0
    assert torch.all(view.weights[0] == 0) and torch.all(view.output[0] == 0)
    assert torch.isfinite(view.weights).all() and torch.isfinite(view.output).all()


def test_sentence_qkv_refuses_empty_and_long_text():
    with pytest.raises(AttentionInputError, match="no words"):
        mx.sentence_qkv("   ")
    with pytest.raises(AttentionInputError, match="at most 16"):
        mx.sentence_qkv("a " * 17)
    tokens, q, k, v = mx.sentence_qkv("Ünïcode bank ?")             # unknown words still get vectors
    assert len(tokens) == 3 and q.shape == (3, 4) and v.shape == (3, 8)


def test_masked_view_checks_its_inputs():
    _, q, k, v = mx.sentence_qkv("the bank by the river")
    with pytest.raises(AttentionInputError, match="shape"):
        mx.masked_view(q, k, v, mx.preset_mask("causal", 4))
    with pytest.raises(AttentionInputError, match="boolean"):
        mx.masked_view(q, k, v, torch.ones(5, 5))
