"""Operate a chapter's widgets in JupyterLab as a reader does, and check what they then show.

For each kind of control a chapter has (a click on a clickable Heatmap such as the mask editor,
an arrow key on a slider, a new choice in a dropdown or toggle buttons) the first one found is
operated once. Afterwards:

- the control's Python value is the one that input must give (a slider moved by exactly one
  step, the dropdown on the chosen option; a heatmap click either selects the clicked row or, in a
  mask editor, flips the clicked cell between blocked and open with every row's open weights
  summing to one again);
- every Heatmap in that cell shows exactly the numbers its Python object now holds (the view is
  read from the page: the `.selfattn-heatmap` element's data-values / data-blocked);
- what the cell's outputs show (text, heatmap data, images, canvas pixels) has changed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from browser import jlab

KINDS = ("heatmap", "slider", "dropdown", "toggle_buttons")


@dataclass
class Operated:
    cell: int
    kind: str
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.kind}: {self.what}"


def _tree_nodes(nb: jlab.LabNotebook, cell: dict) -> list[dict | None]:
    return jlab.widget_trees(nb, cell["widgets"])


def _heatmaps_match(nb, loc, cell) -> bool:
    """Every Heatmap in the cell shows what its Python object holds."""
    py = jlab.widgets_of(_tree_nodes(nb, cell), "heatmap")
    dom = [loc.locator(".selfattn-heatmap").nth(k).evaluate(jlab.JS_HEATMAP_STATE)
           for k in range(loc.locator(".selfattn-heatmap").count())]
    if len(py) != len(dom):
        return False
    return all(jlab.close_enough(p["values"], d["values"]) and jlab.close_enough(p["blocked"], d["blocked"])
               for p, d in zip(py, dom))


def _settle(nb, loc, cell, before: dict, what: str) -> None:
    """Wait for the kernel to finish, the heatmaps to match Python, and the outputs to change."""
    jlab.wait_until(lambda: nb.page.evaluate(jlab.JS_KERNEL_IDLE), 30, what="the kernel to go idle")
    jlab.wait_until(lambda: _heatmaps_match(nb, loc, cell), 15,
                    what=f"every heatmap in cell {cell['index']} to show its Python values after {what}")
    jlab.wait_until(lambda: loc.evaluate(jlab.JS_SNAPSHOT) != before, 15,
                    what=f"cell {cell['index']}'s outputs to change after {what}")


def operate_heatmap(nb, loc, cell, k: int, node: dict) -> str:
    """Click a cell of a clickable Heatmap. A mask editor must flip that cell between blocked and
    open and re-normalise the rows; a selector must select the clicked row; either way the page
    must then show what Python holds."""
    values, blocked = node["values"], node["blocked"]
    n_q = len(values)
    selected_row = (node.get("selected") or [-1])[0]
    row = n_q - 1 if selected_row != n_q - 1 or n_q == 1 else n_q - 2
    col = 0
    if blocked:  # an open cell of that row, not its only open cell (a mask editor will block it)
        open_cols = [j for j, b in enumerate(blocked[row]) if not b]
        col = open_cols[0] if open_cols else 0
    target = loc.locator(f'[data-sa-control="heatmap:{k}"]')
    before = loc.evaluate(jlab.JS_SNAPSHOT)
    x, y = jlab.heatmap_click_point(target, row, col)
    nb.page.mouse.move(x, y)
    nb.page.mouse.click(x, y)
    what = f"a click on cell ({row}, {col}) of a heatmap"

    def outcome():
        now = jlab.widgets_of(_tree_nodes(nb, cell), "heatmap")[k]
        if blocked and now["blocked"] and now["blocked"][row][col] != blocked[row][col]:
            return "mask", now
        if (now.get("selected") or [-1])[0] == row and selected_row != row:
            return "select", now
        if now["values"] != values or now["blocked"] != blocked:
            return "values", now
        return None
    kind, now = jlab.wait_until(outcome, 15, what=f"a click on cell ({row}, {col}) to change the heatmap's state in Python")
    if kind == "mask":
        if not now["signed"]:
            for i, (vals, blk) in enumerate(zip(now["values"], now["blocked"])):
                shown = [v for v, b in zip(vals, blk) if not b]
                for v, b in zip(vals, blk):
                    assert not b or v in (None, 0, 0.0), f"row {i}: a blocked cell holds weight {v}"
                if shown and all(v is not None for v in shown):
                    assert math.isclose(sum(shown), 1.0, abs_tol=1e-3), \
                        f"after the click, row {i}'s open weights sum to {sum(shown):.4f}, not 1"
        what += f" (mask editor: cell now {'blocked' if now['blocked'][row][col] else 'open'}, rows renormalised)"
    elif kind == "select":
        what += f" (row {row} selected)"
    else:
        what += " (new values)"
    nb.page.mouse.move(1, 1)
    _settle(nb, loc, cell, before, what)
    return what


def operate_slider(nb, loc, cell, k: int, node: dict) -> str:
    direction = jlab.slider_direction(node)
    expected = jlab.expected_slider_value(node, direction)
    key = "ArrowRight" if direction > 0 else "ArrowLeft"
    container = loc.locator(f'[data-sa-control="slider:{k}"]')
    before = loc.evaluate(jlab.JS_SNAPSHOT)
    handle = container.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    nb.page.keyboard.press(key)

    def moved():
        now = [n for n in jlab.widgets_of(_tree_nodes(nb, cell), "slider") if n["id"] == node["id"]][0]
        return now if jlab.close_enough(now["value"], expected, 1e-6) else None
    jlab.wait_until(moved, 15, what=f"slider '{node.get('description', '')}' to reach {expected!r} after {key}")
    readout = container.locator(".widget-readout")
    if readout.count():
        text = readout.first.inner_text().strip()
        if isinstance(expected, (int, float)):
            assert math.isclose(float(text), expected, rel_tol=0.02, abs_tol=0.006), \
                f"slider readout shows {text!r}, expected {expected!r}"
        else:
            assert text == str(expected), f"slider readout shows {text!r}, expected {expected!r}"
    what = f"{key} on slider '{node.get('description', '')}': {node['value']!r} -> {expected!r}"
    _settle(nb, loc, cell, before, what)
    return what


def _choice(nb, loc, cell, k, node, kind, act) -> str:
    n = len(node["options"])
    assert n >= 2, f"{kind} '{node.get('description', '')}' has fewer than two options"
    new = (node["index"] + 1) % n
    before = loc.evaluate(jlab.JS_SNAPSHOT)
    act(loc.locator(f'[data-sa-control="{kind}:{k}"]'), new)

    def chosen():
        now = [x for x in jlab.widgets_of(_tree_nodes(nb, cell), kind) if x["id"] == node["id"]][0]
        return now if now["index"] == new else None
    jlab.wait_until(chosen, 15, what=f"{kind} '{node.get('description', '')}' to take option {new}")
    what = f"{kind} '{node.get('description', '')}': option {node['index']} -> {new} ({node['options'][new]!r})"
    _settle(nb, loc, cell, before, what)
    return what


def operate_dropdown(nb, loc, cell, k, node) -> str:
    return _choice(nb, loc, cell, k, node, "dropdown", lambda el, i: el.locator("select").select_option(index=i))


def operate_toggle_buttons(nb, loc, cell, k, node) -> str:
    return _choice(nb, loc, cell, k, node, "toggle_buttons", lambda el, i: el.locator("button").nth(i).click())


OPERATIONS = {"heatmap": operate_heatmap, "slider": operate_slider, "dropdown": operate_dropdown,
              "toggle_buttons": operate_toggle_buttons}


def operate_chapter(nb: jlab.LabNotebook) -> list[Operated]:
    """Operate the first control of each kind in the notebook; return what was checked."""
    done: list[Operated] = []
    kinds_done: set[str] = set()
    for cell in nb.cells():
        if not cell["widgets"] or len(kinds_done) == len(KINDS):
            continue
        loc = nb.cell(cell["index"])
        controls = loc.evaluate(jlab.JS_CONTROLS)
        trees = _tree_nodes(nb, cell)
        for kind in KINDS:
            if kind in kinds_done:
                continue
            dom = [c for c in controls if c["kind"] == kind]
            py = jlab.widgets_of(trees, kind)
            if not dom or len(dom) != len(py):
                continue
            for k, node in enumerate(py):
                if kind == "heatmap" and not node.get("clickable"):
                    continue
                if node.get("disabled"):
                    continue
                what = OPERATIONS[kind](nb, loc, cell, k, node)
                done.append(Operated(cell["index"], kind, what))
                kinds_done.add(kind)
                break
    return done
