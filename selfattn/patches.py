"""Images as sequences of tokens: cut a picture into square patches, as the Vision Transformer does.

ViT (Dosovitskiy et al., ICLR 2021, "An Image is Worth 16x16 Words") cuts an image into a grid of
patch_size × patch_size squares, flattens each square into one vector, and from then on treats
the patches exactly like words: a linear map to d_model, positions added, self-attention.

``patchify`` does the cutting (row by row over the grid, like reading a page), ``unpatchify`` puts
the pieces back, ``patch_grid`` says where each patch came from, and ``shapes_image`` draws a
small test picture in code (no files, no downloads). Math layer: numpy and torch only.
"""
from __future__ import annotations

import numpy as np
import torch

from .errors import AttentionInputError, as_tensor, check_finite, check_int


def _patch_size(patch_size) -> int:
    return check_int(patch_size, "patch_size", minimum=1, meaning="side of a square patch in pixels")


def _image(image) -> tuple[torch.Tensor, bool, bool]:
    """Return the image as (channels, height, width), whether it was numpy, whether it had channels."""
    as_numpy = isinstance(image, np.ndarray)
    t = as_tensor(image, "image", allow_int=True)
    if t.dim() not in (2, 3):
        raise AttentionInputError(
            f"image must have shape (height, width) or (channels, height, width), got shape {tuple(t.shape)}")
    if any(s == 0 for s in t.shape):
        raise AttentionInputError(f"image has an empty dimension: shape {tuple(t.shape)}")
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    check_finite(t, "image")
    had_channels = t.dim() == 3
    return (t if had_channels else t.unsqueeze(0)), as_numpy, had_channels


def patchify(image, patch_size: int):
    """Cut an image into (n_patches, channels·patch_size²) flattened patches, row by row.

    image: (height, width) or (channels, height, width), numpy or torch; height and width must
    be multiples of patch_size. Patch r·(width/patch_size) + c is the square in grid row r,
    column c; inside a patch the pixels are flattened channel by channel, then row by row (the
    order of a ViT patch-embedding convolution's weights). Returns the same kind as image.
    """
    p = _patch_size(patch_size)
    t, as_numpy, _ = _image(image)
    channels, height, width = t.shape
    if height % p or width % p:
        raise AttentionInputError(
            f"image height and width must be multiples of patch_size={p}, got (height={height}, width={width}); "
            f"crop or pad the image to ({height - height % p}, {width - width % p}) or "
            f"({height + (-height) % p}, {width + (-width) % p})")
    rows, cols = height // p, width // p
    grid = t.reshape(channels, rows, p, cols, p)                        # (channels, rows, p, cols, p)
    grid = grid.permute(1, 3, 0, 2, 4)                                  # (rows, cols, channels, p, p)
    out = grid.reshape(rows * cols, channels * p * p)                   # (n_patches, channels·p²)
    return out.numpy() if as_numpy else out


def unpatchify(patches, image_shape, patch_size: int):
    """Put patches from ``patchify`` back together into an image of image_shape."""
    p = _patch_size(patch_size)
    as_numpy = isinstance(patches, np.ndarray)
    t = as_tensor(patches, "patches", allow_int=True)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3):
        raise AttentionInputError(f"image_shape must be (height, width) or (channels, height, width), got {shape}")
    channels, height, width = shape if len(shape) == 3 else (1, *shape)
    if height % p or width % p:
        raise AttentionInputError(f"image_shape {shape} is not a whole number of {p}×{p} patches")
    rows, cols = height // p, width // p
    if tuple(t.shape) != (rows * cols, channels * p * p):
        raise AttentionInputError(
            f"patches must have shape (n_patches={rows * cols}, {channels * p * p}) for image_shape {shape} "
            f"and patch_size={p}, got shape {tuple(t.shape)}")
    grid = t.reshape(rows, cols, channels, p, p).permute(2, 0, 3, 1, 4)  # (channels, rows, p, cols, p)
    out = grid.reshape(shape)                                            # image_shape
    return out.numpy() if as_numpy else out


def patch_grid(height: int, width: int, patch_size: int) -> torch.Tensor:
    """(n_patches, 2) integer (row, column) of each patch in the grid, in patchify's order."""
    p = _patch_size(patch_size)
    for name, v in (("height", height), ("width", width)):
        if check_int(v, name, minimum=1) % p:
            raise AttentionInputError(f"{name} must be a positive multiple of patch_size={p}, got {v!r}")
    rows, cols = height // p, width // p
    r = torch.arange(rows).repeat_interleave(cols)                       # (n_patches,)
    c = torch.arange(cols).repeat(rows)                                  # (n_patches,)
    return torch.stack((r, c), dim=1)                                    # (n_patches, 2)


def weights_on_grid(weights, height: int, width: int, patch_size: int, query: int) -> torch.Tensor:
    """(rows, cols) the attention weights of one query patch laid back onto the grid of patches.

    weights: (n_patches, n_patches) from attention over patchify's tokens (row = query patch).
    """
    p = _patch_size(patch_size)
    grid = patch_grid(height, width, p)                                  # (n_patches, 2)
    w = as_tensor(weights, "weights")
    n = grid.shape[0]
    if tuple(w.shape) != (n, n):
        raise AttentionInputError(f"weights must have shape (n_patches={n}, n_patches={n}) for a "
                                  f"{height}×{width} image in {p}×{p} patches, got shape {tuple(w.shape)}")
    query = check_int(query, "query", minimum=0, maximum=n - 1, meaning="index of the query patch")
    return w[query].reshape(height // p, width // p)                    # (rows, cols)


def shapes_image() -> torch.Tensor:
    """A 16×16 test picture drawn in code: 1 = ink, 0 = background.

    On a 4×4 grid of 4×4 patches it holds two identical small squares in opposite corners
    (grid cells (0, 0) and (3, 3)), two identical plus signs in the other two corners
    ((0, 3) and (3, 0)), and a horizontal bar across the middle ((1, 1) to (1, 2)).
    Everything else is background. Identical shapes far apart make good test cases: a patch
    can find its twin across the picture in one attention step.
    """
    img = torch.zeros(16, 16)
    for r0, c0 in ((0, 0), (12, 12)):                                    # squares
        img[r0 + 1:r0 + 3, c0 + 1:c0 + 3] = 1.0
    for r0, c0 in ((0, 12), (12, 0)):                                    # plus signs
        img[r0 + 1:r0 + 4, c0 + 2] = 1.0
        img[r0 + 2, c0 + 1:c0 + 4] = 1.0
    img[6, 5:11] = 1.0                                                   # horizontal bar
    return img
