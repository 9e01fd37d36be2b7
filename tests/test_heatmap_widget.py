"""The anywidget Heatmap: what it sends to the browser, and clicks coming back."""
import numpy as np

from selfattn.widgets import Heatmap, matrix_to_lists


def test_heatmap_receives_browser_clicks_through_the_comm():
    """A click message from the browser goes through ipywidgets' own _handle_msg to on_click handlers."""
    h = Heatmap([[0.5, 0.5]], ["q"], ["a", "b"])
    seen = []
    h.on_click(lambda r, c: seen.append((r, c)))
    msg = {"content": {"data": {"method": "custom", "content": {"event": "click", "row": 0, "col": 1}}}, "buffers": []}
    h._handle_msg(msg)
    assert seen == [(0, 1)]


def test_values_are_plain_lists_with_none_for_blocked_scores():
    assert matrix_to_lists(np.array([[0.25, -np.inf], [np.nan, 1.0]])) == [[0.25, None], [None, 1.0]]
    h = Heatmap(np.eye(2), ["a", "b"], ["c", "d"], title="t")
    assert h.values == [[1.0, 0.0], [0.0, 1.0]] and h.row_labels == ["a", "b"] and repr(h) == "Heatmap(2×2, title='t')"
    h.show(np.ones((2, 3)) / 3, blocked=np.array([[0, 0, 1], [0, 0, 0]], dtype=bool))
    assert h.col_labels == ["0", "1", "2"] and h.blocked[0] == [False, False, True]


def test_colours_and_limits_come_from_one_source():
    """The ES module gets its colours from viz.style and its size limit from limits: no copies in the JS."""
    from pathlib import Path

    from selfattn.limits import MAX_TOKENS
    from selfattn.viz.style import widget_palette
    from selfattn.widgets.heatmap import STATIC, cell_size_for

    h = Heatmap(np.eye(3))
    assert h.palette == widget_palette() and h.max_tokens == MAX_TOKENS
    js = Path(STATIC / "heatmap.js").read_text()
    pal = widget_palette()
    for colour in (pal["blocked"], pal["hatch"], pal["selected"], pal["focus"]):
        assert js.count(colour) <= 1, f"{colour} is written into heatmap.js as more than a fallback"
    assert "247, 251, 255" not in js and "107, 174, 214" not in js   # the old hand-copied Blues stops
    assert cell_size_for(10) == 40 and cell_size_for(MAX_TOKENS) == 32 and cell_size_for(4 * MAX_TOKENS) < 32


def test_es_module_has_keyboard_and_aria_grid():
    from pathlib import Path

    from selfattn.widgets.heatmap import STATIC
    js = Path(STATIC / "heatmap.js").read_text()
    for needle in ('"grid"', '"gridcell"', '"row"', "aria-activedescendant", "aria-live", "stopPropagation",
                   "ArrowDown", "Home", "End", '"Enter"', "tabIndex = 0"):
        assert needle in js, needle


def test_every_book_widget_carries_a_key_guard():
    from selfattn.widgets.base import BookWidget, KeyGuard
    from selfattn.widgets.masks import MaskEditor

    w = MaskEditor("the cat sat")
    assert isinstance(w.children[-1], KeyGuard) and w.children[-1].layout.display == "none"
    assert "selfattn-widget" in w._dom_classes
    assert "stopPropagation" in KeyGuard._esm.default_value if hasattr(KeyGuard._esm, "default_value") else True
    assert issubclass(MaskEditor, BookWidget)
