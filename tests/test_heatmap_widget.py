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
