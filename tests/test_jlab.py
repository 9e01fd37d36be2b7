"""The browser helpers' pure parts (tests/browser/jlab.py): what a slider step must give, tree walking."""
from __future__ import annotations

import pytest

from browser import jlab


def _slider(cls, **kw):
    return {"id": "s", "cls": f"ipywidgets.widgets.widget_float.{cls}", **kw}


@pytest.mark.parametrize("node, direction, expected", [
    (_slider("FloatSlider", value=1.0, min=0.25, max=4.0, step=0.25), 1, 1.25),
    (_slider("FloatSlider", value=4.0, min=0.25, max=4.0, step=0.25), -1, 3.75),
    (_slider("IntSlider", value=3, min=1, max=16, step=1), 1, 4),
    (_slider("SelectionSlider", value="b", options=["a", "b", "c"], index=1), 1, "c"),
])
def test_expected_slider_value(node, direction, expected):
    assert jlab.close_enough(jlab.expected_slider_value(node, direction), expected)


def test_log_slider_steps_in_the_exponent():
    node = _slider("FloatLogSlider", value=10.0, min=-1, max=2, step=0.5, base=10.0)
    assert jlab.slider_direction(node) == 1
    assert jlab.close_enough(jlab.expected_slider_value(node, 1), 10 ** 1.5)


def test_direction_turns_back_at_the_end():
    assert jlab.slider_direction(_slider("IntSlider", value=16, min=1, max=16, step=1)) == -1
    assert jlab.slider_direction(_slider("SelectionSlider", value="c", options=["a", "b", "c"], index=2)) == -1


def test_widgets_of_walks_boxes_in_page_order():
    tree = {"id": "box", "cls": "ipywidgets.widgets.widget_box.VBox", "children": [
        _slider("FloatSlider", value=1.0),
        {"id": "h", "cls": "selfattn.widgets.heatmap.Heatmap", "values": [[1.0]], "blocked": []},
        {"id": "inner", "cls": "ipywidgets.widgets.widget_box.HBox", "children": [
            {"id": "d", "cls": "ipywidgets.widgets.widget_selection.Dropdown", "options": ["x", "y"], "index": 0}]},
    ]}
    assert [n["id"] for n in jlab.widgets_of([tree, None], "slider")] == ["s"]
    assert [n["id"] for n in jlab.widgets_of([tree], "heatmap")] == ["h"]
    assert [n["id"] for n in jlab.widgets_of([tree], "dropdown")] == ["d"]


def test_close_enough_compares_nested_values():
    assert jlab.close_enough([[0.1, None], [True, "a"]], [[0.1 + 1e-9, None], [True, "a"]])
    assert not jlab.close_enough([[0.1, 0.2]], [[0.1, 0.3]])
    assert not jlab.close_enough([1, 2], [1, 2, 3])


def test_chromium_or_skip_fails_when_a_browser_is_required(monkeypatch):
    monkeypatch.setattr(jlab, "chromium_path", lambda: None)
    monkeypatch.setenv("SELFATTN_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="SELFATTN_REQUIRE_BROWSER"):
        jlab.chromium_or_skip()
    monkeypatch.setenv("SELFATTN_REQUIRE_BROWSER", "0")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        jlab.chromium_or_skip()
