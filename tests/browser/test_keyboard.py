"""BookWidget's key guard in JupyterLab: arrow keys on its controls never move JupyterLab to
another cell, and End/Home on a slider reach the slider's current limits.

Every chapter's main widget is operated from the keyboard in test_lab_chapters.py (keyboard.py
says how).
"""
from __future__ import annotations

import pytest
from common import notebooks_dir
from keyboard import JS_ACTIVE_CELL

from browser import jlab

pytestmark = pytest.mark.browser

GUARD_CELLS = [
    "from selfattn.book import setup\nsetup()\nimport ipywidgets as W\nfrom selfattn.widgets.base import BookWidget",
    "class Panel(BookWidget):\n    kind = 'test panel'\n    def __init__(self):\n"
    "        self.choice = W.Dropdown(options=['a', 'b', 'c'], value='a', description='choice')\n"
    "        self.mode = W.ToggleButtons(options=['x', 'y', 'z'], value='x', description='mode')\n"
    "        self.i = W.IntSlider(value=3, min=0, max=9, description='from token i', continuous_update=False)\n"
    "        self._build([self.choice, self.mode, self.i])\n"
    "    def values(self):\n        return {'choice': self.choice.value, 'mode': self.mode.value}\n"
    "    def redraw(self):\n        pass\npanel = Panel()\npanel.i.max = 16   # the range grows after the slider was built\npanel",
    "plain = W.Dropdown(options=['a', 'b', 'c'], value='a', description='plain')\nplain",
    "print('last cell')",
]


def test_key_guard_keeps_arrow_keys_on_book_widget_controls(lab, page):
    """Arrows on a BookWidget's dropdown and toggle buttons never move JupyterLab to another cell;
    End/Home on its slider reach the slider's current limits."""
    with jlab.scratch_notebook(page, lab, notebooks_dir().name, "zz_key_guard.ipynb", GUARD_CELLS) as nb:
        nb.widget_problems()
        results = {}
        for index, selector, keys in [(1, ".widget-dropdown select", ["ArrowDown"]),
                                      (1, ".widget-toggle-buttons button", ["ArrowRight", "ArrowDown", "Home", "End"]),
                                      (2, ".widget-dropdown select", ["ArrowDown"])]:
            loc = nb.cell(index)
            page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", index)
            loc.locator(selector).first.focus()
            for key in keys:
                page.keyboard.press(key)
            page.wait_for_timeout(300)
            results[(index, selector)] = page.evaluate(JS_ACTIVE_CELL)
        assert results[(1, ".widget-dropdown select")] == 1, results
        assert results[(1, ".widget-toggle-buttons button")] == 1, results
        value = nb.kernel_exec("print(panel.choice.value)").strip()
        assert value == "b", f"the dropdown itself should still answer ArrowDown: value {value!r}"
        # End and Home on a slider whose range changed reach the new limits (ipywidgets alone stops at the old max)
        loc = nb.cell(1)
        loc.locator(".noUi-handle").first.focus()
        page.keyboard.press("End")
        jlab.wait_until(lambda: nb.kernel_exec("print(panel.i.value)").strip() == "16", 20, what="End to reach max 16")
        page.keyboard.press("Home")
        jlab.wait_until(lambda: nb.kernel_exec("print(panel.i.value)").strip() == "0", 20, what="Home to reach min 0")
        assert page.evaluate(JS_ACTIVE_CELL) == 1
        print(f"active cell after the keys: guarded dropdown {results[(1, '.widget-dropdown select')]}, "
              f"guarded toggle buttons {results[(1, '.widget-toggle-buttons button')]}, "
              f"an unguarded ipywidgets dropdown (cell 2) {results[(2, '.widget-dropdown select')]}")
