"""Images as sequences of patches (selfattn.patches), checked against explicit slicing loops."""
import numpy as np
import pytest
import torch

from selfattn import AttentionInputError, attention
from selfattn.patches import patch_grid, patchify, shapes_image, unpatchify, weights_on_grid


def loop_patchify(img, p):
    """Slice each patch out by hand, row by row over the grid; flatten channel, row, column."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 2:
        img = img[None]
    _, h, w = img.shape
    return np.stack([img[:, r:r + p, c:c + p].reshape(-1) for r in range(0, h, p) for c in range(0, w, p)])


@pytest.mark.parametrize("shape,p", [((16, 16), 4), ((8, 12), 4), ((3, 6, 9), 3), ((2, 4, 4), 1), ((5, 5), 5)])
def test_patchify_matches_slicing(shape, p):
    img = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = patchify(img, p)
    np.testing.assert_array_equal(out.numpy(), loop_patchify(img.numpy(), p))
    back = unpatchify(out, shape, p)
    assert torch.equal(back, img)


def test_patchify_keeps_numpy_and_accepts_integer_images():
    img = np.arange(16, dtype=np.int64).reshape(4, 4)
    out = patchify(img, 2)
    assert isinstance(out, np.ndarray) and out.shape == (4, 4)
    np.testing.assert_array_equal(out[1], [2, 3, 6, 7])       # the top-right 2×2 square
    np.testing.assert_array_equal(unpatchify(out, (4, 4), 2), img)


def test_patch_grid_follows_patchify_order():
    grid = patch_grid(8, 12, 4)
    assert grid.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]


@pytest.mark.parametrize("img,p,needle", [
    (torch.zeros(10, 16), 4, r"multiples of patch_size=4.*\(8, 16\) or \(12, 16\)"),
    (torch.zeros(16), 4, "height, width"),
    (torch.zeros(1, 2, 4, 4), 2, "height, width"),
    (torch.zeros(0, 4), 2, "empty"),
    (torch.zeros(4, 4), 0, "patch_size"),
    (torch.zeros(4, 4), 2.0, "patch_size"),
    (torch.tensor([[float("nan"), 0.0], [0.0, 0.0]]), 1, "non-finite"),
    ([[0, 1], [1, 0]], 1, "numpy array or a torch tensor"),
])
def test_patchify_refuses_bad_input(img, p, needle):
    with pytest.raises(AttentionInputError, match=needle):
        patchify(img, p)


def test_unpatchify_and_grid_refuse_mismatches():
    with pytest.raises(AttentionInputError, match="n_patches=4"):
        unpatchify(torch.zeros(3, 4), (4, 4), 2)
    with pytest.raises(AttentionInputError, match="whole number"):
        unpatchify(torch.zeros(4, 4), (5, 4), 2)
    with pytest.raises(AttentionInputError, match="width must be a positive multiple"):
        patch_grid(8, 6, 4)


def test_shapes_image_has_twin_patches_that_find_each_other():
    img = shapes_image()
    assert img.shape == (16, 16) and set(img.unique().tolist()) == {0.0, 1.0}
    x = patchify(2 * img - 1, 4)                                 # (16 patches, 16 pixels), ink +1, paper -1
    assert torch.equal(x[0], x[15]) and torch.equal(x[3], x[12])  # twin squares, twin plus signs
    assert not torch.equal(x[0], x[3])
    w = attention(x, x, x).weights
    top2 = set(w[0].topk(2).indices.tolist())
    assert top2 == {0, 15}                                       # the square attends to itself and its twin
    assert set(w[3].topk(2).indices.tolist()) == {3, 12}


def test_weights_on_grid_lays_a_row_back_onto_the_patches():
    w = torch.arange(16 * 16, dtype=torch.float64).reshape(16, 16)
    g = weights_on_grid(w, 16, 16, 4, 5)
    assert g.shape == (4, 4)
    assert g[1, 1] == w[5, 5] and g[3, 0] == w[5, 12] and g[0, 3] == w[5, 3]
    with pytest.raises(AttentionInputError, match="n_patches=16"):
        weights_on_grid(w[:4], 16, 16, 4, 0)
    with pytest.raises(AttentionInputError, match="query"):
        weights_on_grid(w, 16, 16, 4, 16)
    with pytest.raises(AttentionInputError, match="patch_size"):
        weights_on_grid(w, 16, 16, 0, 0)
