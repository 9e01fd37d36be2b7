import torch

from selfattn import masks


def test_causal_is_lower_triangular():
    assert masks.causal(3).int().tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    # offset aligns the last query with the last key (new queries after a cache of keys)
    assert masks.causal(2, 4, offset=2).int().tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]


def test_padding_from_lengths():
    m = masks.padding([3, 1], 4)
    assert m.shape == (2, 1, 4)
    assert m[:, 0].int().tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]


def test_window_masks():
    assert masks.window(4, 2).int().tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    assert masks.window(4, 2, causal=False).int().tolist() == [[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]]


def test_combine_and_empty_rows():
    m = masks.combine(masks.causal(3), masks.padding([2], 3))
    assert m.shape == (1, 3, 3)
    assert m[0].int().tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 0]]
    blocked = masks.combine(masks.causal(3), torch.tensor([False, True, True]))
    assert masks.empty_rows(blocked).tolist() == [True, False, False]
    assert masks.bidirectional(2, 3).all() and masks.bidirectional(2, 3).shape == (2, 3)
