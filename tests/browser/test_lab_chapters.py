"""Every chapter as a reader meets it: the learner's edition (solutions blanked, as `make lab`
opens it), in JupyterLab in headless Chromium at a 1024 px-wide window, run top to bottom, then
checked in one pass:

1. Run All: no cell shows an error, no code cell is left unrun, and every exercise check says
   "not attempted" (none passes: no solution was left in).
2. Every widget rendered (none left at "Loading widget..." or "Error displaying widget"); a
   screenshot is saved under artifacts/screenshots/.
3. Accessibility: every cell's outputs audited with axe-core (a11y.py); no serious or critical
   violation; each figure output carries alt text.
4. Keyboard: the chapter's main widget operated with keys alone (keyboard.py).
5. Mouse: the first control of each kind operated with a click, key press or choice, and what it
   then shows checked against its Python state (operate.py).
6. No JavaScript error, no failed request, nothing requested beyond this machine.

One pass per chapter because running a chapter is most of the cost (chapter 7 trains two models);
the answer key's edition is run by nbval. Run two or three chapters at a time on a shared machine:
    pytest -m browser tests/browser/test_lab_chapters.py -k "05_masks or 06_multi_head" -p no:nbval -o addopts=""
Needs chromium (see conftest.py).
"""
from __future__ import annotations

import pytest
from a11y import audit_lab_outputs, failing, record
from common import chapter_notebooks, notebooks_dir
from exercise_helpers import learner_checks_say_not_attempted
from keyboard import operate_main_widget_by_keyboard
from operate import operate_chapter

from browser import jlab

pytestmark = pytest.mark.browser
NOTEBOOKS = chapter_notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=[p.stem for p in NOTEBOOKS] or ["no-notebooks"])
def test_chapter_runs_reads_and_operates_in_jupyterlab(path, lab, page, screenshots):
    if path is None:
        pytest.skip(f"no chapter notebooks (NN_*.ipynb) in {notebooks_dir()} yet")
    name = path.name
    page.set_viewport_size({"width": 1024, "height": 900})
    nb = jlab.LabNotebook(page, lab, f"{notebooks_dir().name}/{name}")
    try:
        nb.open()
        nb.run_all()
        errors = nb.errors()
        assert not errors, f"{name}: cells failed in JupyterLab (learner's edition):\n" + "\n".join(errors)
        unattempted_checks_say_so(nb.cells(), path)

        problems = nb.widget_problems()
        nb.screenshot(screenshots / f"{path.stem}.png")
        assert not problems, f"{name}: widgets did not render:\n" + "\n".join(problems)
        assert any(c["widgets"] for c in nb.cells()), f"{name}: no live widget in this chapter (every chapter has one)"

        summary = audit_lab_outputs(nb)
        record(f"lab-{path.stem}", summary)
        bad = failing(summary)
        assert not bad, f"{name}: axe found serious or critical violations in the outputs:\n" + "\n".join(bad)

        by_keyboard = operate_main_widget_by_keyboard(nb, name)
        print(f"{name}: keyboard: {by_keyboard}")

        operated = operate_chapter(nb)
        page.screenshot(path=str(screenshots / f"{path.stem}-operated.png"))
        assert operated, (f"{name}: has widgets but none could be operated (a clickable Heatmap, a slider, "
                          "a dropdown or toggle buttons)")
        print(f"{name}: operated " + "; ".join(str(o) for o in operated))

        js_errors = [e for e in nb.console_errors if "favicon" not in e]
        assert not js_errors, f"{name}: JavaScript errors in the page:\n" + "\n".join(js_errors)
        assert not page.outside_requests, f"{name}: requests left this machine:\n" + "\n".join(page.outside_requests)
        assert not page.failed_requests, f"{name}: failed requests:\n" + "\n".join(page.failed_requests)
    finally:
        nb.shutdown()


def unattempted_checks_say_so(cells: list[dict], chapter) -> None:
    """The learner's edition of `chapter`, run in JupyterLab: its exercise checks say "not attempted"."""
    import nbformat
    answer_key = nbformat.read(chapter, as_version=4)
    has_solutions = any("SOLUTION" in c.source for c in answer_key.cells if c.cell_type == "code")
    learner_checks_say_not_attempted(chapter.name, has_solutions,
                                     [(c["index"], c["source"], c["text"]) for c in cells if c["type"] == "code"])
