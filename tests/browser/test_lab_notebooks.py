"""Every chapter, opened in JupyterLab in headless Chromium and run top to bottom as a reader would.

For each notebook: Run All; no cell shows an error; every widget rendered (none left at
"Loading widget..." or "Error displaying widget"); no JavaScript error; no request failed or
left this machine; then at least one widget is operated with a real key press, click or choice and what
it shows is checked against the expected value (see operate.py). Screenshots are saved under
artifacts/screenshots/. Needs chromium (see conftest.py).
"""
from __future__ import annotations

import pytest
from common import chapter_notebooks, notebooks_dir
from operate import operate_chapter

from browser import jlab

pytestmark = pytest.mark.browser
NOTEBOOKS = chapter_notebooks()


def _id(path) -> str:
    return path.stem


@pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=[_id(p) for p in NOTEBOOKS] or ["no-notebooks"])
def test_notebook_runs_and_widgets_work_in_jupyterlab(path, lab, page, screenshots):
    if path is None:
        pytest.skip(f"no chapter notebooks (NN_*.ipynb) in {notebooks_dir()} yet")
    rel = f"{notebooks_dir().name}/{path.name}"
    nb = jlab.LabNotebook(page, lab, rel)
    try:
        nb.open()
        nb.run_all()
        errors = nb.errors()
        assert not errors, f"{path.name}: cells failed in JupyterLab:\n" + "\n".join(errors)

        problems = nb.widget_problems()
        nb.screenshot(screenshots / f"{path.stem}.png")
        assert not problems, f"{path.name}: widgets did not render:\n" + "\n".join(problems)

        has_widgets = any(c["widgets"] for c in nb.cells())
        if has_widgets:
            operated = operate_chapter(nb)
            page.screenshot(path=str(screenshots / f"{path.stem}-operated.png"))
            assert operated, (f"{path.name}: has widgets but none could be operated (a clickable Heatmap, a slider, "
                              "a dropdown or toggle buttons); every chapter needs at least one live widget")
            print(f"{path.name}: operated " + "; ".join(str(o) for o in operated))
        else:
            pytest.fail(f"{path.name}: no live widget in this chapter (the curriculum asks every chapter for one)")

        js_errors = [e for e in nb.console_errors if "favicon" not in e]
        assert not js_errors, f"{path.name}: JavaScript errors in the page:\n" + "\n".join(js_errors)
        assert not page.outside_requests, f"{path.name}: requests left this machine:\n" + "\n".join(page.outside_requests)
        assert not page.failed_requests, f"{path.name}: failed requests:\n" + "\n".join(page.failed_requests)
    finally:
        try:
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        except Exception:  # the page may already be gone after a failure
            pass
