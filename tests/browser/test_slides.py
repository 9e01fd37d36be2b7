"""The workshop slide decks (`make slides`): built offline, every slide visited, none overflowing.

Each deck of book/slides/decks.toml is built into a temporary folder, served from 127.0.0.1, and
opened in headless Chromium at 1024x768, the size of a typical projector. The test steps through
every slide and fragment (as the presenter's arrow key does), and checks on each: nothing on it
reaches past the slide or the screen, and no request leaves the machine (every request is
recorded; any not for 127.0.0.1, data: or blob: fails the test, and is blocked).
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from selfattn.tools import slides

pytestmark = pytest.mark.browser

DECKS = [d["name"] for d in slides.load()]
VIEWPORT = {"width": 1024, "height": 768}

JS_READY = "() => !!(window.Reveal && Reveal.isReady && Reveal.isReady())"
JS_MATH_DONE = "() => !window.MathJax || !MathJax.startup || !!MathJax.startup.document"

# Where the current slide reaches: in the slide's own coordinates (reveal scales the slide to
# the screen), and on the screen, element by element (speaker notes are not shown).
JS_OVERFLOW = """() => {
  const s = Reveal.getCurrentSlide();
  const cfg = Reveal.getConfig();
  const problems = [];
  if (s.scrollHeight > cfg.height + 2) problems.push(`content ${s.scrollHeight} px tall on a ${cfg.height} px slide`);
  if (s.scrollWidth > cfg.width + 2) problems.push(`content ${s.scrollWidth} px wide on a ${cfg.width} px slide`);
  const vw = window.innerWidth, vh = window.innerHeight;
  for (const el of s.querySelectorAll('img, p, h1, h2, h3, li, table, pre, mjx-container, .jp-OutputArea-output')) {
    if (el.closest('aside.notes')) continue;
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    if (r.bottom > vh + 1 || r.right > vw + 1 || r.top < -1 || r.left < -1) {
      problems.push(`${el.tagName.toLowerCase()} at (${Math.round(r.left)}, ${Math.round(r.top)})-(${Math.round(r.right)}, ${Math.round(r.bottom)}) leaves the ${vw}x${vh} screen: ` + (el.innerText || el.alt || '').slice(0, 60));
    }
  }
  const h = s.querySelector('h1, h2, h3');
  return {indices: Reveal.getIndices(), title: h ? h.innerText : '', problems};
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory, chromium):
    if not (slides.REVEAL / "dist" / "reveal.js").exists():
        message = "reveal.js is not installed: `npm ci --prefix node` (make setup runs it; needs Node.js and npm)"
        if os.environ.get("SELFATTN_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("slides")
    try:
        slides.build(out=out)
    except slides.DeckError as e:
        pytest.fail(str(e))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("deck", DECKS)
def test_deck_steps_through_every_slide_offline_and_nothing_overflows(deck, served, browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    outside, failed = [], []

    def guard(route):
        url = route.request.url
        if url.startswith((served, "data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()
    page.route("**/*", guard)
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{served}/{deck}.html", wait_until="load")
        page.wait_for_function(JS_READY, timeout=30_000)
        page.wait_for_function(JS_MATH_DONE, timeout=30_000)
        total = page.evaluate("() => Reveal.getTotalSlides()")
        assert total > 5, f"{deck}: only {total} slides"
        seen, problems = set(), []
        for _step in range(total * 6):
            state = page.evaluate(JS_OVERFLOW)
            seen.add((state["indices"]["h"], state["indices"]["v"]))
            problems += [f"slide {state['indices']['h']}.{state['indices']['v']} ({state['title']}): {p}"
                         for p in state["problems"]]
            if page.evaluate("() => Reveal.isLastSlide() && !Reveal.availableFragments().next"):
                break
            page.evaluate("() => Reveal.next()")
            page.wait_for_timeout(30)
        else:
            pytest.fail(f"{deck}: never reached the last slide")
        assert len(seen) == total, f"{deck}: visited {len(seen)} of {total} slides"
        assert not outside, f"{deck}: requests left the machine: {outside[:5]}"
        assert not failed, f"{deck}: requests failed: {failed[:5]}"
        assert not errors, f"{deck}: script errors: {errors[:3]}"
        assert not problems, f"{deck}: {len(problems)} overflowing slide(s):\n" + "\n".join(problems[:20])
    finally:
        context.close()
