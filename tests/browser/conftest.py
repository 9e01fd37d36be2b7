"""Fixtures for the browser tests: a private JupyterLab and Debian's headless Chromium.

Without chromium these tests are skipped with a message that says how to enable them; with
SELFATTN_REQUIRE_BROWSER=1 (set by .ci/run) a missing chromium is a failure instead.
SELFATTN_NOTEBOOKS_DIR points the tests at another folder of notebooks (default: notebooks/).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ARTIFACTS, chapter_notebooks, notebooks_dir  # noqa: E402

from browser import jlab  # noqa: E402


@pytest.fixture(scope="session")
def chromium() -> str:
    return jlab.chromium_or_skip()


@pytest.fixture(scope="module")
def browser(chromium):
    # Module scope: one sync Playwright per thread at a time, and tests/test_static_book.py
    # starts its own when this module is done.
    with jlab.browser_session() as b:
        yield b


@pytest.fixture(scope="session")
def lab(chromium, tmp_path_factory):
    """JupyterLab serving the learner's edition of the chapters (what `make lab` opens: solutions
    blanked, check outputs cleared), built into a temporary folder named like the notebooks folder."""
    from selfattn.tools import learner
    root = tmp_path_factory.mktemp("lab-root")
    learner.build(chapter_notebooks(), root / notebooks_dir().name)
    with jlab.LabServer(root) as server:
        yield server


@pytest.fixture(scope="session")
def screenshots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(browser):
    """A fresh page that records every request leaving 127.0.0.1 and every failed request."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    p = context.new_page()
    p.outside_requests = []
    p.failed_requests = []

    def on_request(req):
        if not req.url.startswith(("http://127.0.0.1", "file://", "data:", "blob:", "about:")):
            p.outside_requests.append(req.url)

    def on_failed(req):
        p.failed_requests.append(f"{req.url} ({req.failure})")

    def on_response(resp):
        if resp.status >= 400:
            p.failed_requests.append(f"{resp.url} (HTTP {resp.status})")

    p.on("request", on_request)
    p.on("requestfailed", on_failed)
    p.on("response", on_response)
    yield p
    context.close()
