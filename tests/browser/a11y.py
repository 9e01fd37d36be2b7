"""Accessibility audits with axe-core (axe-playwright-python bundles it): the book's own content only.

* Static book pages (tests/browser/test_a11y.py): scoped to the article (`main`): the theme's
  navigation, search box and side bars are Sphinx's, not the book's.
* A chapter in JupyterLab (tests/browser/test_lab_chapters.py): after Run All, every cell's output
  area (`.jp-OutputArea-output`: figures, printed results, widgets) scrolled into view and audited
  on its own. JupyterLab's own chrome (toolbar, side panels, cell editors, prompts) is left out, and
  so is the <img> JupyterLab renders for a figure (it never copies the output's alt text into it,
  jupyter/enhancement-proposals#120): each figure output must carry alt text instead. <html> and
  <body> get the window's height first (see JS_FULL_HEIGHT), or axe would see nothing on screen.

A serious or critical violation fails the test. Each audit writes what axe found, rule by rule,
to artifacts/a11y/<page>.json (static-<page>.json, lab-<chapter>.json).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from common import REPO

from browser import jlab

AUDIT_DIR = REPO / "artifacts" / "a11y"
FAILING = ("serious", "critical")
_AXE_SOURCE = None


def axe_source() -> str:
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        import axe_playwright_python
        _AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
    return _AXE_SOURCE


JS_AXE_RUN = """async ([include, exclude]) => {
  const context = exclude.length ? {include, exclude} : {include};
  const r = await axe.run(context, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: (n.failureSummary || '').slice(0, 300),
                              html: n.html.slice(0, 200)}))}));
}"""


def audit(page, include: list, exclude: list | None = None) -> list[dict]:
    """axe-core violations within `include` (CSS selectors), injected into the page once."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(JS_AXE_RUN, [include, exclude or []])


def summarise(violations: list[dict]) -> dict:
    """{rule id: {impact, nodes}} counted over a page."""
    out: dict[str, dict] = {}
    for v in violations:
        entry = out.setdefault(v["id"], {"impact": v["impact"], "nodes": 0, "help": v["help"], "examples": []})
        entry["nodes"] += len(v["nodes"])
        entry["examples"] = (entry["examples"] + [n["target"] + " :: " + n["summary"] for n in v["nodes"]])[:3]
    return out


def record(name: str, summary: dict) -> None:
    AUDIT_DIR.mkdir(parents=True, exist_ok=True)
    (AUDIT_DIR / f"{name}.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))


def failing(summary: dict) -> list[str]:
    return [f"{rule} ({s['impact']}, {s['nodes']} nodes): {s['help']}\n    " + "\n    ".join(s["examples"])
            for rule, s in sorted(summary.items()) if s["impact"] in FAILING]



# --- a chapter in JupyterLab -------------------------------------------------------------------

# Figure outputs whose output metadata carries no alt text. JupyterLab 4 does not copy that text
# into <img alt> yet (jupyter/enhancement-proposals#120), so axe's image-alt rule would flag every
# figure whatever the book does: the audit leaves rendered images out of axe's context and checks
# instead that each figure output carries its alt text (selfattn.book.setup() adds it).
JS_FIGURES_WITHOUT_ALT = """(i) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
  const outs = cell.model.outputs, missing = [];
  for (let k = 0; k < outs.length; k++) {
    const o = outs.get(k), md = o.metadata || {};
    for (const mime of ['image/png', 'image/jpeg']) {
      if (o.data && o.data[mime] && !((md[mime] || {}).alt || md.alt)) missing.push(k);
    }
  }
  return missing;
}"""

JS_OUTPUT_CELLS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  return nb.widgets.map((c, i) => (c.model.type === 'code' && c.model.outputs && c.model.outputs.length) ? i : -1)
                   .filter(i => i >= 0);
}"""


# JupyterLab lays itself out with absolutely positioned panels, leaving <html> and <body> 0 px
# tall with overflow hidden. axe takes that as every output being clipped away, so it skips all
# its on-screen checks (colour contrast among them) without reporting anything. Giving both the
# window's height changes nothing on screen and lets axe see the outputs.
JS_FULL_HEIGHT = """() => {
  document.documentElement.style.height = '100vh';
  document.body.style.height = '100vh';
  return document.body.getBoundingClientRect().height;
}"""


def audit_lab_outputs(nb: jlab.LabNotebook) -> dict:
    """Audit each cell's output area in view (JupyterLab's chrome left out), in a notebook that has
    run and whose widgets have rendered (LabNotebook.run_all, then widget_problems)."""
    merged: dict[str, dict] = {}
    nb.page.evaluate(JS_FULL_HEIGHT)
    for index in nb.page.evaluate(JS_OUTPUT_CELLS):
        nb.cell(index)
        time.sleep(0.05)
        selector = f'[data-sa-index="{index}"] .jp-OutputArea-output'
        found = summarise(audit(nb.page, [selector], [f'[data-sa-index="{index}"] .jp-RenderedImage img']))
        missing = nb.page.evaluate(JS_FIGURES_WITHOUT_ALT, index)
        if missing:
            found["image-alt"] = {"impact": "critical", "nodes": len(missing), "help": "figure output without alt text",
                                  "examples": [f"cell {index}, output {k}" for k in missing]}
        for rule, s in found.items():
            entry = merged.setdefault(rule, {**s, "nodes": 0, "examples": [], "cells": []})
            entry["nodes"] += s["nodes"]
            entry["cells"].append(index)
            entry["examples"] = (entry["examples"] + s["examples"])[:3]
    return merged


def totals(folder: Path = AUDIT_DIR, prefix: str = "") -> Counter:
    """Nodes per rule over every recorded page (for the before/after table)."""
    count: Counter = Counter()
    for f in sorted(folder.glob(f"{prefix}*.json")):
        for rule, s in json.loads(f.read_text()).items():
            count[f"{rule} ({s['impact']})"] += s["nodes"]
    return count
