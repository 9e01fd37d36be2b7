"""Chapter 5 and 6 figures draw what they are given, fit 7 in, and keep text at least 9 px (at 90 dpi)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from selfattn import attention, masks  # noqa: E402
from selfattn.explore import masks as xm  # noqa: E402
from selfattn.explore.heads import HeadMaps, head_view  # noqa: E402
from selfattn.viz import heads as vh  # noqa: E402
from selfattn.viz import masks as vm  # noqa: E402
from selfattn.viz.style import ACCENT  # noqa: E402


def smallest_text_px(fig) -> float:
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    return min(sizes) * 90 / 72


def outlines(ax, colour=ACCENT):
    return [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()
            and matplotlib.colors.same_color(p.get_edgecolor(), colour)]


def hatched_cells(ax) -> int:
    return sum(len(c.get_paths()) for c in ax.collections if isinstance(c, PatchCollection) and c.get_hatch())


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_head_grid_one_layer_is_a_two_by_two_gallery_with_names_and_one_colour_scale():
    view = head_view("the cat sat on the mat")
    fig = vh.head_grid(view, title="four heads")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["head 0: previous word", "head 1: next word", "head 2: naming words",
                                                 "head 3: same kind of word"]
    assert fig.get_size_inches()[0] <= 7.0 and smallest_text_px(fig) >= 9
    assert [ax.get_ylabel() for ax in panels] == ["query", "", "query", ""]     # 2 across
    assert any(ax.get_ylabel() == "weight" for ax in fig.axes)                  # the shared colour scale
    assert fig._suptitle.get_text() == "four heads"


def test_head_grid_layers_mask_and_query_come_from_the_caller():
    n = 5
    causal = masks.causal(n)
    w = torch.softmax(torch.randn(2, 3, n, n, generator=torch.Generator().manual_seed(0)).masked_fill(~causal, float("-inf")), -1)
    fig = vh.head_grid(w, list("abcde"), mask=causal, query=3)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels][:4] == ["layer 0 · head 0", "layer 0 · head 1", "layer 0 · head 2",
                                                     "layer 1 · head 0"]
    assert len(panels) == 6
    for ax in panels:
        assert hatched_cells(ax) == n - 1                  # one hatched run per row with a blocked key
        (box,) = outlines(ax)
        assert box.get_xy() == (-0.5, 2.5) and box.get_width() == n
    same = vh.head_grid(HeadMaps(tokens=tuple("abcde"), weights=w, mask=causal, query=3))
    assert len([ax for ax in same.axes if ax.get_title()]) == 6
    with pytest.raises(ValueError, match="need 5 tokens"):
        vh.head_grid(w, list("abc"))


def test_mask_pictures_outline_exactly_the_leaks_they_are_given():
    m = xm.toggle(masks.causal(4), 0, 2)                   # query 0 sees key 2
    leaks = xm.future_cells(m)
    assert leaks == [(0, 2)]
    fig = vm.mask_picture(m, list("abcd"), list("abcd"), leaks=leaks)
    (box,) = outlines(fig.axes[0])
    assert box.get_xy() == (1.5, -0.5)
    assert hatched_cells(fig.axes[0]) == 4                 # blocked runs: row 0 keys 1 and 3, row 1 keys 2-3, row 2 key 3
    plain = vm.mask_picture(m, list("abcd"), list("abcd"))
    assert outlines(plain.axes[0]) == []                   # nothing is computed in the figure


def test_mask_row_wraps_at_three_and_fits_seven_inches():
    gallery = [xm.preset_mask(kind, 6, length=4, width=2) for kind in xm.PRESETS]
    fig = vm.mask_row(gallery, list(xm.PRESETS), list("abcdef"), list("abcdef"))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 5 and fig.get_size_inches()[0] <= 7.0 and smallest_text_px(fig) >= 9


def test_padded_batch_picture_takes_the_real_positions():
    real = xm.real_positions([3, 1], 4)
    assert real.tolist() == [[True, True, True, False], [True, False, False, False]]
    fig = vm.padded_batch_picture([["a", "b", "c"], ["d"]], real)
    assert hatched_cells(fig.axes[0]) == 2                 # one run of padding per sequence
    assert [t.get_text() for t in fig.axes[0].texts].count("<pad>") == 4
    with pytest.raises(ValueError, match="real must be"):
        vm.padded_batch_picture([["a"]], real)


def test_mask_editor_figure_shows_the_row_sums_it_is_given():
    tokens, q, k, v = xm.sentence_qkv("the bank by the river")
    view = xm.apply_mask_edit(q, k, v, xm.preset_mask("causal", 5), 0, 0)
    fig = vm.mask_editor_figure(view.weights, view.mask, tokens, view.row_sums, clicked=[(0, 0)])
    sums_ax = fig.axes[1]
    assert [t.get_text() for t in sums_ax.texts] == ["0.00", "1.00", "1.00", "1.00", "1.00"]
    assert len(outlines(fig.axes[0])) == 1 and smallest_text_px(fig) >= 9


def test_side_by_side_shares_one_scale_and_hatches_blocked_cells():
    tokens, q, k, v = xm.sentence_qkv("the bank by the river")
    w = [attention(q, k, v).weights, attention(q, k, v, causal=True).weights]
    fig = vm.masked_side_by_side(w, ["bidirectional", "causal"], tokens, masks=[masks.bidirectional(5), masks.causal(5)])
    assert hatched_cells(fig.axes[0]) == 0 and hatched_cells(fig.axes[1]) == 4
    assert fig.get_size_inches()[0] <= 7.0


def test_neighbour_task_figure_has_one_labelled_line_per_run():
    from selfattn.explore.heads import NeighbourResult
    runs = [NeighbourResult(n_heads=h, d_head=32 // h, seed=0, loss_bits=tuple(3.0 / (1 + i) for i in range(50)))
            for h in (1, 2)]
    fig = vh.neighbour_task_figure(runs)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["1 head of width 32, seed 0", "2 heads of width 16, seed 0"]
    assert all(line.get_marker() not in (None, "None", "") for line in ax.lines)
    assert ax.get_ylim()[0] == 0
