"""Figures stay readable: text on cells contrasts >= 4.5:1 (WCAG), blocked cells carry a pattern,
every heatmap where colour carries a value has a colour scale."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from selfattn.viz import style  # noqa: E402
from selfattn.viz.heatmap import (attention_heatmap, blocked_patch, draw_mask, hatch_blocked,  # noqa: E402
                                  heatmap_grid)


def test_luminance_and_contrast_match_wcag_reference_values():
    assert style.relative_luminance("#ffffff") == pytest.approx(1.0)
    assert style.relative_luminance("#000000") == pytest.approx(0.0)
    assert style.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    # WCAG's own worked example: #777777 on white is about 4.48:1 (just fails AA)
    assert style.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("cmap", [style.WEIGHTS_CMAP, style.SCORES_CMAP])
def test_annotation_text_meets_4_5_to_1_on_every_colour_of_the_maps(cmap):
    colours = matplotlib.colormaps[cmap](np.linspace(0, 1, 257))
    worst = min(style.contrast_ratio(c, style.text_colour_on(c)) for c in colours)
    assert worst >= style.MIN_CONTRAST, f"{cmap}: worst text contrast {worst:.2f}:1"


def test_the_old_white_on_mid_blue_choice_would_fail_and_the_new_one_does_not():
    mid_blue = matplotlib.colormaps["Blues"](0.62)   # white text was used above 0.6: about 3.4:1
    assert style.contrast_ratio(mid_blue, "#ffffff") < 4.5
    assert style.contrast_ratio(mid_blue, style.text_colour_on(mid_blue)) >= 4.5


def test_every_text_in_a_heatmap_contrasts_with_its_cell():
    rng = np.random.default_rng(0)
    w = torch.softmax(torch.tensor(rng.normal(size=(8, 8)) * 3), -1)
    fig = attention_heatmap(w)
    ax = fig.axes[0]
    im = ax.images[0]
    checked = 0
    for text in ax.texts:
        x, y = (int(round(c)) for c in text.get_position())
        cell = im.cmap(im.norm(w[y, x].item()))
        assert style.contrast_ratio(cell, text.get_color()) >= 4.5, (y, x, to_hex(cell), text.get_color())
        checked += 1
    assert checked == 64
    plt.close(fig)


def test_heatmaps_carry_a_colour_scale():
    w = torch.full((4, 4), 0.25)
    fig = attention_heatmap(w)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "weight"
    plt.close(fig)
    fig = heatmap_grid([w, w, w], ["a", "b", "c"])
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert "weight" in labels
    plt.close(fig)
    fig = heatmap_grid([w - 0.3, w], ["a", "b"], signed=True)
    assert "score" in [ax.get_ylabel() for ax in fig.axes]
    plt.close(fig)


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)


def _cell_pixels(fig, ax, i, j, img):
    """The pixels strictly inside cell (i, j) of ax (imshow coordinates), rows top to bottom."""
    h = img.shape[0]
    (x0, y0), (x1, y1) = ax.transData.transform([(j - 0.4, i + 0.4), (j + 0.4, i - 0.4)])
    return img[int(h - y1):int(h - y0), int(x0):int(x1)]


def test_blocked_and_open_cells_differ_by_a_pattern_not_only_a_shade():
    mask = torch.tril(torch.ones(5, 5, dtype=torch.bool))
    fig, ax = plt.subplots(figsize=(3, 3), dpi=90)
    draw_mask(ax, mask)
    img = _pixels(fig)
    open_cell = _cell_pixels(fig, ax, 3, 1, img)
    blocked_cell = _cell_pixels(fig, ax, 1, 3, img)
    # an open cell is one flat colour; a blocked cell has hatch lines: many dark and light pixels
    assert open_cell.std(axis=(0, 1)).max() < 2
    lum = blocked_cell.mean(axis=2)
    assert lum.std() > 20, "blocked cells need a visible pattern"
    assert (lum < 140).mean() > 0.05 and (lum > 200).mean() > 0.3
    # and the flat colours themselves differ clearly (the old pair was 1.24:1)
    assert style.contrast_ratio(style.MASK_OPEN, style.MASK_BLOCKED) >= 2.5
    assert style.contrast_ratio(style.HATCH_COLOUR, style.MASK_BLOCKED) >= 4.5
    plt.close(fig)


def test_masked_heatmap_cells_are_hatched_and_empty_weight_cells_are_not():
    mask = torch.tril(torch.ones(4, 4, dtype=torch.bool))
    w = torch.where(mask, torch.tensor(0.0), torch.tensor(0.0))  # open cells weight 0: nearly white
    fig = attention_heatmap(w, mask=mask, annotate=False)
    ax = fig.axes[0]
    img = _pixels(fig)
    assert _cell_pixels(fig, ax, 0, 3, img).mean(axis=2).std() > 20    # blocked: hatched
    assert _cell_pixels(fig, ax, 3, 0, img).mean(axis=2).std() < 2     # open, weight 0: flat
    assert any(c.get_hatch() == style.BLOCKED_HATCH for c in ax.collections)
    plt.close(fig)


def test_hatch_helpers_merge_runs_and_give_a_legend_entry():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((3, 6)))
    pc = hatch_blocked(ax, np.array([[0, 1, 1, 1, 0, 1], [0] * 6, [1] * 6], bool))
    assert len(pc.get_paths()) == 3
    assert hatch_blocked(ax, np.zeros((2, 2), bool)) is None
    assert blocked_patch().get_hatch() == style.BLOCKED_HATCH
    plt.close(fig)


def test_widget_palette_is_json_and_comes_from_the_colour_maps():
    import json
    pal = style.widget_palette()
    json.dumps(pal)
    assert pal["weights"][0] == [round(255 * c) for c in matplotlib.colormaps[style.WEIGHTS_CMAP](0.0)[:3]]
    assert pal["blocked"] == style.MASK_BLOCKED and pal["hatch"] == style.HATCH_COLOUR


def test_grids_fit_a_notebook_column():
    w = torch.full((8, 8), 0.125)
    fig = heatmap_grid([w] * 4, [f"head {h}" for h in range(4)])
    assert fig.get_figwidth() <= 7.01
    plt.close(fig)


def test_figure_alt_text_says_what_the_figure_shows():
    w = torch.full((3, 3), 1 / 3)
    fig = attention_heatmap(w, title="uniform weights")
    alt = style.figure_alt(fig)
    assert alt.startswith("Figure: uniform weights (x: key (attended to); y: query (attending)")
    assert "colour scale: weight" in alt and ".png" not in alt
    plt.close(fig)
    fig = heatmap_grid([w, w], ["head 0", "head 1"], suptitle="two heads")
    alt = style.figure_alt(fig)
    assert alt.startswith("Figure: two heads. panel 1: head 0") and "panel 2: head 1" in alt
    assert style.figure_alt(style.set_alt(fig, "Two identical  uniform maps.")) == "Two identical uniform maps."
    plt.close(fig)
