"""Chapter 11's figures: each fits a notebook column, keeps its text readable, says what it shows
in its alt text, and the book map's arrows do not meet at one point."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from selfattn import masks  # noqa: E402
from selfattn.explore.encoder_decoder import book_map, task  # noqa: E402
from selfattn.viz import encoder_decoder as ved  # noqa: E402
from selfattn.viz.style import figure_alt  # noqa: E402

DATE = task.Date(30, 10, 1978)


def _figures():
    src, tgt = DATE.source_tokens(), DATE.target_tokens()
    real = torch.ones(len(src), dtype=torch.bool)
    w = torch.softmax(torch.randn(10, len(src), generator=torch.Generator().manual_seed(0)), -1)   # (n_tgt, n_src)
    return {
        "arrangements": ved.arrangements_figure([
            {"mask": real.expand(len(src), len(src)), "rows": src, "cols": src, "title": "a", "q_from": "source",
             "kv_from": "source"},
            {"mask": masks.causal(10), "rows": tgt, "cols": tgt, "title": "b", "q_from": "target", "kv_from": "target"}]),
        "alignment": ved.alignment_figure(w, tgt, src, task.alignment_matrix(DATE), title="one date"),
        "shares": ved.aligned_share_figure(torch.tensor([[0.3, 0.4], [0.6, 0.7]]), 0.175, title="shares"),
        "ablation": ved.ablation_figure({"as trained": 1.0, "cross-attention off": 0.0}, title="ablation"),
        "decoding": ved.decoding_cost_figure([1, 2, 3], [1, 1, 1], [1, 2, 3]),
        "book map": ved.book_map_figure(book_map.CHAPTERS, book_map.LINKS),
    }


@pytest.mark.parametrize("name", ["arrangements", "alignment", "shares", "ablation", "decoding", "book map"])
def test_figures_fit_read_and_describe_themselves(name):
    fig = _figures()[name]
    try:
        assert fig.get_figwidth() <= 7.0 + 1e-9, f"{name}: {fig.get_figwidth():.2f} in is wider than a notebook column"
        fig.canvas.draw()
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
        assert min(sizes) >= 8, f"{name}: text at {min(sizes)} pt is below 8 pt (about 9 px at 1024 px wide)"
        alt = figure_alt(fig)
        assert len(alt) > 40 and not alt.rstrip(".").endswith(":"), f"{name}: alt text {alt!r}"
    finally:
        plt.close("all")


def test_alignment_figure_has_a_colour_scale_and_outlines_the_known_alignment():
    fig = _figures()["alignment"]
    try:
        assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
        outlined = [p for p in fig.axes[0].patches if not p.get_fill()]
        assert len(outlined) == int(task.alignment_matrix(DATE).sum())
    finally:
        plt.close("all")


def test_book_map_arrows_have_distinct_ends():
    fig = _figures()["book map"]
    try:
        arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
        assert len(arrows) == len(book_map.LINKS)
        ends = [tuple(round(v, 3) for v in a._posA_posB[k]) for a in arrows for k in (0, 1)]
        assert len(ends) == len(set(ends)), "two arrows start or end at the same point of a box"
    finally:
        plt.close("all")
