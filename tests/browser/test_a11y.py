"""Accessibility audit of the static book with axe-core: every page, scoped to the article; and
a planted low-contrast output that the JupyterLab audit must report.

The helpers (and what counts as failing) are in a11y.py; the audit of every chapter's outputs
in JupyterLab runs in test_lab_chapters.py, in the same JupyterLab pass as the other checks.
Run a few pages at a time on a shared machine:
    pytest -m browser tests/browser/test_a11y.py -k "index or 05_masks" -p no:nbval -o addopts=""
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from a11y import audit, audit_lab_outputs, failing, record, summarise
from common import REPO, chapter_notebooks, notebooks_dir

from browser import jlab

pytestmark = pytest.mark.browser
NOTEBOOKS = chapter_notebooks()


@pytest.fixture(scope="module")
def book_site(tmp_path_factory) -> Path:
    from selfattn.tools import build_book
    out = tmp_path_factory.mktemp("a11y-book") / "html"
    return build_book.build(out, REPO / "notebooks", quiet=True, strict=False)


@pytest.fixture(scope="module")
def book_server(book_site):
    from test_static_book import serve_folder
    with serve_folder(book_site) as url:
        yield url


def audit_static_page(browser, url: str) -> dict:
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and page.evaluate(
                "() => [...document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]')]"
                ".some(s => !s.parentElement.querySelector('.jupyter-widgets, .widget-subarea, .selfattn-heatmap'))"):
            time.sleep(0.2)
        return summarise(audit(page, ["main"]))
    finally:
        context.close()


STATIC_PAGES = ["index"] + [f"notebooks/{nb.stem}" for nb in NOTEBOOKS]


@pytest.mark.parametrize("name", STATIC_PAGES, ids=[f"static-{p.split('/')[-1]}" for p in STATIC_PAGES])
def test_static_book_page_has_no_serious_violation(name, browser, book_server):
    summary = audit_static_page(browser, f"{book_server}/{name}.html")
    record(f"static-{name.split('/')[-1]}", summary)
    bad = failing(summary)
    assert not bad, f"{name}: axe found serious or critical violations in the book's content:\n" + "\n".join(bad)


CONTRAST_CELLS = [
    "from IPython.display import HTML, display",
    "display(HTML('<p style=\"color:#111111;background:#ffffff\">plain text</p>'))",
    "display(HTML('<p style=\"color:#d8d8d8;background:#ffffff\">faint text, contrast 1.4 : 1</p>'))",
]


def test_lab_audit_reports_a_low_contrast_output(lab, page):
    """The JupyterLab audit must see what is on screen: a faint output is a serious colour-contrast
    violation in its own cell, and the legible one beside it is not."""
    page.set_viewport_size({"width": 1024, "height": 900})
    with jlab.scratch_notebook(page, lab, notebooks_dir().name, "zz_contrast.ipynb", CONTRAST_CELLS) as nb:
        summary = audit_lab_outputs(nb)
    assert "color-contrast" in summary, f"the audit missed a 1.4 : 1 text: {summary}"
    assert summary["color-contrast"]["impact"] == "serious"
    assert summary["color-contrast"]["cells"] == [2], summary["color-contrast"]
    assert failing(summary), "a serious violation must fail the audit"
