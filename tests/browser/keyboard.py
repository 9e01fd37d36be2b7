"""A chapter's main widget, operated with the keyboard alone in JupyterLab (called from
test_lab_chapters.py, after Run All).

The main widget is the first clickable Heatmap; else the first slider, dropdown or toggle buttons.
The focus goes to the start of that widget's output and Tab is pressed until the control has it, then:

* a Heatmap grid: arrow keys move its focus (the grid's aria-activedescendant names the cell),
  Enter does what a click does: the kernel receives exactly that (row, col), the widget's Python
  state changes, and every heatmap in the cell shows what Python holds;
* a slider: one arrow key moves it one step (its Python value checked);
* a dropdown: ArrowDown chooses the next option; toggle buttons: Space on another button.

In every case JupyterLab must not have moved to another cell (the arrow keys stayed inside the
widget: the heatmap stops them itself, BookWidget's KeyGuard does it for the other controls) and
the focus must still be in the widget.
"""
from __future__ import annotations

import json
import re

from operate import _heatmaps_match

from browser import jlab

JS_ACTIVE_CELL = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
JS_FOCUS_START = """(root) => {
  const area = root.querySelector('.jp-Cell-outputWrapper') || root;
  area.setAttribute('tabindex', '-1');
  area.focus();
  return document.activeElement === area;
}"""
JS_FOCUS_IN = """([root, selector]) => {
  const a = document.activeElement;
  const target = root.querySelector(selector);
  return !!(a && target && (target === a || target.contains(a)));
}"""
JS_ACTIVE_DESC = "(grid) => grid.getAttribute('aria-activedescendant') || ''"

PY_RECORD_CLICKS = r'''
from ipywidgets.widgets.widget import _instances as _sa_inst
_sa_kb_clicks = []
_sa_inst[%r].on_click(lambda r, c: _sa_kb_clicks.append([r, c]))
print("ok")
'''


def _main_widget(nb, cells):
    """(cell, kind, k, node) of the chapter's main widget."""
    fallback = None
    for cell in cells:
        if not cell["widgets"]:
            continue
        trees = jlab.widget_trees(nb, cell["widgets"])
        heatmaps = jlab.widgets_of(trees, "heatmap")
        for k, node in enumerate(heatmaps):
            if node.get("clickable"):
                return cell, "heatmap", k, node
        if fallback is None:
            for kind in ("slider", "dropdown", "toggle_buttons"):
                found = jlab.widgets_of(trees, kind)
                if found:
                    fallback = (cell, kind, 0, found[0])
                    break
    return fallback


def _tab_to(nb, loc, selector: str, limit: int = 60) -> int:
    """Focus the start of the cell's outputs, then Tab until `selector` has the focus; returns presses."""
    assert loc.evaluate(JS_FOCUS_START), "could not put the focus at the start of the widget's output"
    handle = loc.element_handle()
    for presses in range(1, limit + 1):
        nb.page.keyboard.press("Tab")
        if nb.page.evaluate(JS_FOCUS_IN, [handle, selector]):
            return presses
    raise AssertionError(f"{selector} never got the focus after {limit} Tab presses")


def _state(nb, cell):
    trees = jlab.widget_trees(nb, cell["widgets"])
    return json.dumps([{k: n.get(k) for k in ("value", "values", "blocked", "selected", "index")}
                       for t in trees for n in jlab.walk(t)], sort_keys=True, default=str)


def _operate_heatmap(nb, loc, cell, k, node) -> str:
    nb.kernel_exec(PY_RECORD_CLICKS % node["id"])
    grids = loc.locator(".selfattn-heatmap .sa-grid")
    grid = grids.nth(k)
    grid.evaluate("(g) => g.setAttribute('data-sa-kb', 'target')")
    presses = _tab_to(nb, loc, '.sa-grid[data-sa-kb="target"]')
    start = grid.evaluate(JS_ACTIVE_DESC)
    i0, j0 = (int(x) for x in re.search(r"-c(\d+)-(\d+)$", start).groups())
    n_q, n_k = len(node["values"]), len(node["values"][0])
    before = _state(nb, cell)
    moves = ["ArrowDown" if i0 + 1 < n_q else "ArrowUp", "ArrowRight" if j0 + 1 < n_k else "ArrowLeft"]
    for key in moves:
        nb.page.keyboard.press(key)
    i = i0 + (1 if moves[0] == "ArrowDown" else -1)
    j = j0 + (1 if moves[1] == "ArrowRight" else -1)
    now = grid.evaluate(JS_ACTIVE_DESC)
    assert now.endswith(f"-c{i}-{j}"), f"arrow keys moved the focus to {now}, expected cell ({i}, {j})"
    label = grid.locator(f'[id="{now}"]').get_attribute("aria-label")
    assert label and "→" in label and ":" in label, f"focused cell's label {label!r}"
    readout = loc.locator(".selfattn-heatmap .sa-readout").nth(k).inner_text()
    assert readout == label, f"the readout ({readout!r}) does not follow the focus ({label!r})"
    nb.page.keyboard.press("Enter")
    clicks = jlab.wait_until(lambda: json.loads(nb.kernel_exec("print(__import__('json').dumps(_sa_kb_clicks))")), 20,
                             what="the kernel to receive the Enter key as a click")
    assert clicks == [[i, j]], f"the kernel received {clicks}, expected [[{i}, {j}]]"
    jlab.wait_until(lambda: nb.page.evaluate(jlab.JS_KERNEL_IDLE), 30, what="the kernel to go idle")
    jlab.wait_until(lambda: _state(nb, cell) != before, 15, what="the widget's Python state to change")
    jlab.wait_until(lambda: _heatmaps_match(nb, loc, cell), 15, what="every heatmap to show its Python values")
    return f"heatmap {k}: {presses} Tab, {' '.join(moves)}, Enter -> click ({i}, {j}) in the kernel"


def _operate_slider(nb, loc, cell, k, node) -> str:
    handles = loc.locator(".widget-slider .noUi-handle")
    handles.nth(k).evaluate("(h) => h.setAttribute('data-sa-kb', 'target')")
    presses = _tab_to(nb, loc, '.noUi-handle[data-sa-kb="target"]')
    direction = jlab.slider_direction(node)
    expected = jlab.expected_slider_value(node, direction)
    nb.page.keyboard.press("ArrowRight" if direction > 0 else "ArrowLeft")

    def value_now():
        tree = jlab.widget_trees(nb, [node["id"]])[0]
        return jlab.close_enough(tree["value"], expected)
    jlab.wait_until(value_now, 20, what=f"slider {node.get('description')!r} to reach {expected!r}")
    return f"slider {node.get('description')!r}: {presses} Tab, one arrow -> {expected!r}"


def _operate_dropdown(nb, loc, cell, k, node) -> str:
    sel = loc.locator(".widget-dropdown select").nth(k)
    sel.evaluate("(s) => s.setAttribute('data-sa-kb', 'target')")
    presses = _tab_to(nb, loc, 'select[data-sa-kb="target"]')
    index = node["index"]
    key, expected = ("ArrowDown", index + 1) if index + 1 < len(node["options"]) else ("ArrowUp", index - 1)
    nb.page.keyboard.press(key)
    jlab.wait_until(lambda: jlab.widget_trees(nb, [node["id"]])[0]["index"] == expected, 20,
                    what=f"dropdown {node.get('description')!r} to choose option {expected}")
    return f"dropdown {node.get('description')!r}: {presses} Tab, {key} -> option {expected}"


def _operate_toggle_buttons(nb, loc, cell, k, node) -> str:
    group = loc.locator(".widget-toggle-buttons").nth(k)
    target = (node["index"] + 1) % len(node["options"])
    group.locator("button").nth(target).evaluate("(b) => b.setAttribute('data-sa-kb', 'target')")
    presses = _tab_to(nb, loc, 'button[data-sa-kb="target"]')
    nb.page.keyboard.press("Space")
    jlab.wait_until(lambda: jlab.widget_trees(nb, [node["id"]])[0]["index"] == target, 20,
                    what=f"toggle buttons {node.get('description')!r} to choose option {target}")
    return f"toggle buttons {node.get('description')!r}: {presses} Tab, Space -> option {target}"


OPERATE = {"heatmap": _operate_heatmap, "slider": _operate_slider, "dropdown": _operate_dropdown,
           "toggle_buttons": _operate_toggle_buttons}


def operate_main_widget_by_keyboard(nb: jlab.LabNotebook, name: str) -> str:
    """Operate the chapter's main widget with keys alone and check the result; returns what was done."""
    page = nb.page
    found = _main_widget(nb, nb.cells())
    assert found, f"{name}: no widget to operate"
    cell, kind, k, node = found
    loc = nb.cell(cell["index"])
    page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", cell["index"])
    active = page.evaluate(JS_ACTIVE_CELL)
    what = OPERATE[kind](nb, loc, cell, k, node)
    assert page.evaluate(JS_ACTIVE_CELL) == active, (
        f"{name}: JupyterLab moved from cell {active} to {page.evaluate(JS_ACTIVE_CELL)} while keys "
        f"were pressed in the widget ({what})")
    assert page.evaluate("() => !!document.activeElement.closest('.jp-OutputArea-output')"), \
        f"{name}: the focus left the widget ({what})"
    return f"cell {cell['index']}: {what}"
