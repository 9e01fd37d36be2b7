"""The static book (`make book`): it builds from the stored outputs, offline, and reads well in a browser.

The build runs once per test session into a temporary folder. Without a browser we check that
every chapter has a page and that no page loads a script, stylesheet or image from another
host. With chromium (marker `browser`) every page is opened over a local HTTP server: the
chapter renders, its figures and math show, its saved widgets render as static views, and no
request fails or leaves this machine. Screenshots go to artifacts/screenshots/static-*.png.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
import time
from pathlib import Path

import pytest

from browser import jlab
from selfattn.tools import build_book

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = build_book.chapter_notebooks(REPO / "notebooks")
ARTIFACTS = REPO / "artifacts" / "screenshots"
# a tag that makes the browser fetch something: its URL must stay on the site
FETCHING = re.compile(r"<(script|img|link|iframe|source)\b[^>]*?\b(src|href)=\"([^\"]+)\"", re.I)

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no chapter notebooks (notebooks/NN_*.ipynb) yet")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book") / "html"
    return build_book.build(out, REPO / "notebooks", quiet=True, strict=True)


@contextlib.contextmanager
def serve_folder(folder: Path):
    """A local HTTP server for a built site (also used by tests/browser/test_a11y.py); yields its URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args, **kwargs: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def server(site):
    with serve_folder(site) as url:
        yield url


@pytest.mark.slow
def test_every_chapter_has_a_page_and_nothing_loads_from_another_host(site):
    missing = [nb.name for nb in NOTEBOOKS if not (site / "notebooks" / f"{nb.stem}.html").exists()]
    assert not missing, f"chapters without a page: {missing}"
    outside = []
    for page in site.rglob("*.html"):
        for tag, _attr, url in FETCHING.findall(page.read_text(encoding="utf-8")):
            if tag.lower() == "link" and not url.endswith((".css", ".js", ".png", ".ico", ".svg", ".woff2")):
                continue  # <link rel="next"> and friends are navigation, not fetches
            if re.match(r"^(https?:)?//", url):
                outside.append(f"{page.relative_to(site)}: <{tag} {url}>")
    assert not outside, "pages load from another host (a CDN?):\n" + "\n".join(outside)


@pytest.mark.slow
def test_saved_widget_state_is_in_the_pages(site):
    for nb in NOTEBOOKS:
        text = nb.read_text(encoding="utf-8")
        if "application/vnd.jupyter.widget-view+json" in text:
            html = (site / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
            assert "application/vnd.jupyter.widget-state+json" in html, f"{nb.name}: widget state missing from its page"


IMG_TAG = re.compile(r"<img\b[^>]*>", re.I)
ALT = re.compile(r'\balt="([^"]*)"')
SRC = re.compile(r'\bsrc="([^"]*)"')


@pytest.mark.slow
def test_every_figure_has_alt_text_that_says_what_it_shows(site):
    bad = []
    for page in sorted((site / "notebooks").glob("*.html")):
        for tag in IMG_TAG.findall(page.read_text(encoding="utf-8")):
            src = (SRC.search(tag) or [None, ""])[1]
            if "_images/" not in src:
                continue
            alt = (ALT.search(tag) or [None, ""])[1]
            if (len(alt) < 10 or re.search(r"[0-9a-f]{32}", alt) or alt.endswith((".png", ".jpg", ".svg"))
                    or not alt.startswith("Figure") and len(alt.split()) < 3):
                bad.append(f"{page.name}: <img src={src[-20:]}> alt={alt!r}")
    assert not bad, "figures without a real alt text:\n" + "\n".join(bad)


@pytest.mark.slow
def test_download_links_point_at_files_that_exist(site):
    broken = []
    for page in sorted(site.rglob("*.html")):
        for href in re.findall(r'<a href="([^"#]*_sources[^"#]*)"', page.read_text(encoding="utf-8")):
            target = (page.parent / href).resolve()
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {href}")
    assert not broken, "download links to missing files (an empty folder?):\n" + "\n".join(broken)


@pytest.mark.slow
def test_every_saved_widget_says_it_becomes_live_in_jupyter(site):
    missing = []
    for page in sorted((site / "notebooks").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        views = text.count('<script type="application/vnd.jupyter.widget-view+json">')
        notes = text.count('class="selfattn-static-note"')
        if views != notes:
            missing.append(f"{page.name}: {views} saved widgets, {notes} notes")
    assert not missing, "saved widgets without the note that they are live in Jupyter:\n" + "\n".join(missing)
    assert "open the notebook in Jupyter" in build_book.STATIC_NOTE


JS_PAGE_STATE = """() => {
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const unrendered = views.filter(s => !s.parentElement.querySelector('.jupyter-widgets, .widget-subarea, .selfattn-heatmap'));
  const text = document.body.innerText;
  return {
    h1: (document.querySelector('h1') || {}).innerText || '',
    images: [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
    views: views.length,
    unrendered: unrendered.length,
    widgetErrors: ['Error displaying widget', 'Loading widget', 'Failed to load'].filter(t => text.includes(t)),
    math: document.querySelectorAll('.math, span.math, div.math').length,
    mathRendered: document.querySelectorAll('mjx-container').length,
    heatmaps: document.querySelectorAll('.selfattn-heatmap canvas').length,
  };
}"""


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    log = {"outside": [], "failed": [], "errors": []}
    page.on("request", lambda r: log["outside"].append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")) else None)
    page.on("requestfailed", lambda r: log["failed"].append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: log["failed"].append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["errors"].append(f"pageerror: {e}"))
    page.goto(url, wait_until="load")
    return context, page, log


def _settled_state(page, timeout: float = 30) -> dict:
    """Wait until saved widgets have rendered and MathJax has typeset, then read the page."""
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(JS_PAGE_STATE)
        done = state["unrendered"] == 0 and (state["math"] == 0 or state["mathRendered"] > 0)
        if done or time.monotonic() > deadline:
            page.wait_for_load_state("networkidle")
            return page.evaluate(JS_PAGE_STATE)
        time.sleep(0.2)


@pytest.fixture(scope="module")
def browser():
    jlab.chromium_or_skip()
    with jlab.browser_session() as b:
        yield b


@pytest.mark.browser
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_chapter_page_renders_in_a_browser(nb, browser, server):
    context, page, log = _open(browser, f"{server}/notebooks/{nb.stem}.html")
    try:
        state = _settled_state(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"static-{nb.stem}.png"))
        if state["heatmaps"]:
            page.locator(".selfattn-heatmap").first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"static-{nb.stem}-widget.png"))
        assert state["h1"].startswith("Chapter"), f"{nb.name}: page title is {state['h1']!r}"
        broken = [i["src"] for i in state["images"] if not i["ok"]]
        assert not broken, f"{nb.name}: figures that did not load: {broken}"
        has_figures = '"image/png"' in nb.read_text(encoding="utf-8")
        assert not has_figures or state["images"], f"{nb.name}: the notebook has figures but the page shows none"
        assert state["unrendered"] == 0, f"{nb.name}: {state['unrendered']} of {state['views']} saved widgets did not render"
        assert not state["widgetErrors"], f"{nb.name}: widget errors shown: {state['widgetErrors']}"
        assert state["math"] == 0 or state["mathRendered"] > 0, f"{nb.name}: math was not typeset"
        assert not log["failed"], f"{nb.name}: failed requests:\n" + "\n".join(log["failed"])
        assert not log["outside"], f"{nb.name}: requests left this machine:\n" + "\n".join(log["outside"])
        assert not log["errors"], f"{nb.name}: JavaScript errors:\n" + "\n".join(log["errors"])
    finally:
        context.close()


@pytest.mark.browser
def test_start_page_lists_every_chapter(browser, server):
    context, page, log = _open(browser, f"{server}/index.html")
    try:
        links = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.getAttribute('href') || '')")
        missing = [nb.stem for nb in NOTEBOOKS if not any(f"notebooks/{nb.stem}.html" in h for h in links)]
        assert not missing, f"start page does not link to: {missing}"
        page.wait_for_load_state("networkidle")
        assert not log["failed"] and not log["outside"] and not log["errors"], log
    finally:
        context.close()
