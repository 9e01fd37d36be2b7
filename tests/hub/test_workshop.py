"""The class path, on a real JupyterHub: two learners, nbgitpuller links, an instructor's update.

What a workshop does, end to end, on 127.0.0.1 (docs/JUPYTERHUB.md lists the same steps as the
instructor's checklist):

1. The instructor publishes the learner's edition (`python -m selfattn.tools.learner --branch
   learner-edition`) to the course repository (here a bare repository in a temporary folder,
   reached by a file:// URL) and prints the links with `python -m selfattn.tools.links --hub`.
2. Each learner follows the start page's link in Chromium, logs in, lands on the learner's start
   page (stored figures there, the exercise blank), runs the chapter (its check says "not
   attempted yet"), answers the exercise (the check passes) and saves.
3. The instructor changes a chapter and publishes again; a learner follows the same link again
   and gets the change while keeping their answer (nbgitpuller's merge rule).
4. One learner cannot open the other's files: not through the other's server, not by climbing
   out of their own.

Needs node and configurable-http-proxy (`npm ci --prefix node`, done by `make setup`) and
Debian's chromium; skipped with a message without them (a failure when SELFATTN_REQUIRE_HUB=1 or
SELFATTN_REQUIRE_BROWSER=1, as in CI). Run it alone before a workshop: `make hub`.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hub as hubmod  # noqa: E402

from browser import jlab  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
COURSE = "course"
START = "learner/00_start_here.ipynb"
CHECK = "ex.d_head.check(d_head)"
ANSWERS = {"ada": "d_head = 512 // 8", "grace": "d_head = 64  # grace's own answer"}
NOTE = "A note from your instructor: today we stop after section 1.3."

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.slow]


def _required() -> bool:
    return any(os.environ.get(v, "") not in ("", "0") for v in ("SELFATTN_REQUIRE_HUB", "SELFATTN_REQUIRE_BROWSER"))


@pytest.fixture(scope="module")
def needs():
    problems = [p for p in (hubmod.missing(), None if jlab.chromium_path() else "no chromium: " + jlab.ENABLE_HINT) if p]
    if problems:
        if _required():
            pytest.fail("the hub test is required here, but " + "; ".join(problems))
        pytest.skip("the JupyterHub workshop test needs " + "; ".join(problems))


def git(*args, cwd: Path) -> str:
    out = subprocess.run(["git", "-c", "user.name=Instructor", "-c", "user.email=instructor@example.org", *args],
                         cwd=cwd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout


def publish(instructor: Path, course: Path) -> None:
    """What the instructor runs: build the edition branch in their clone, push it."""
    run = subprocess.run([sys.executable, "-c", (
        "import sys; from pathlib import Path; from selfattn.tools import learner; "
        "repo = Path(sys.argv[1]); "
        "print(learner.publish_branch('learner-edition', sorted((repo / 'notebooks').glob('[0-9][0-9]_*.ipynb')), repo=repo))"),
        str(instructor)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    git("push", "-q", course.as_uri(), "learner-edition", cwd=instructor)


def start_link(hub_url: str, course: Path) -> str:
    """The start page's JupyterHub link, as `python -m selfattn.tools.links` prints it."""
    out = subprocess.run([sys.executable, "-m", "selfattn.tools.links", "--repo", course.as_uri(), "--hub", hub_url],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("| 00_start_here"))
    return re.search(r"\[open\]\(([^)]+)\)", row).group(1)


JS_CELL_TEXT = """(needle) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets;
  for (let i = 0; i < cells.length; i++) {
    const m = cells[i].model;
    if (m.type === 'code' && m.sharedModel.getSource().includes(needle)) {
      const text = m.outputs.toJSON().map(o => o.text || (o.data && o.data['text/plain']) || '').join('');
      return {index: i, source: m.sharedModel.getSource(), text, n_outputs: m.outputs.length};
    }
  }
  return null;
}"""

JS_ANSWER_AND_RUN = """async ([needle, source]) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const cells = panel.content.widgets;
  const i = cells.findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(needle));
  cells[i].model.sharedModel.setSource(source);
  panel.content.activeCellIndex = i;
  await app.commands.execute('notebook:run-cell');
  return i;
}"""

JS_SAVE = """async () => {
  const app = window.jupyterapp;
  await app.commands.execute('docmanager:save');
  return !window.jupyterapp.shell.currentWidget.context.model.dirty;
}"""


def follow(page, link: str, user: str) -> None:
    """Click the link as a learner: log in if asked, wait for the pull, land on the start page."""
    page.goto(link, wait_until="domcontentloaded")
    if page.locator("#username_input").count():
        page.fill("#username_input", user)
        page.fill("#password_input", "any password")
        page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{user}/lab/tree/{COURSE}/{re.escape(START)}"), timeout=150_000)
    page.wait_for_function(jlab.JS_NOTEBOOK_READY, timeout=150_000, polling=250)


def wait_idle(page, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if page.evaluate(jlab.JS_KERNEL_IDLE):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 0.5:
                return
        else:
            idle_since = None
        time.sleep(0.1)
    raise TimeoutError("kernel still busy")


def learner_session(page, link: str, user: str) -> dict:
    follow(page, link, user)
    cells = page.evaluate(jlab.JS_CELLS)
    check = page.evaluate(JS_CELL_TEXT, CHECK)
    stored = [c for c in cells if c["type"] == "code" and c["n_outputs"]]
    assert stored, "the learner's edition must keep the chapter's stored outputs"
    assert check and check["n_outputs"] == 0 and "d_head = ..." in check["source"], check
    page.evaluate(jlab.JS_RUN_ALL)
    wait_idle(page)
    errors = [e for c in page.evaluate(jlab.JS_CELLS) for e in c["errors"]]
    assert not errors, f"{user}: the chapter fails on the hub: {errors}"
    before = page.evaluate(JS_CELL_TEXT, CHECK)["text"]
    assert "not attempted yet" in before.lower(), before
    page.evaluate(JS_ANSWER_AND_RUN, [CHECK, f"{ANSWERS[user]}\n{CHECK}"])
    wait_idle(page)
    after = page.evaluate(JS_CELL_TEXT, CHECK)["text"]
    assert "✔ Correct" in after, after
    assert page.evaluate(JS_SAVE)
    return {"before": before, "after": after}


def test_two_learners_pull_the_book_answer_and_keep_their_work_through_an_update(needs, tmp_path):
    t0 = time.monotonic()
    # the course repository, and the instructor's clone of the book
    course = tmp_path / f"{COURSE}.git"
    git("init", "-q", "--bare", str(course), cwd=tmp_path)
    instructor = tmp_path / "instructor"
    git("clone", "-q", "--depth", "1", (REPO).as_uri(), str(instructor), cwd=tmp_path)
    publish(instructor, course)

    with hubmod.Hub(tmp_path / "hub", users=tuple(ANSWERS)) as hub, jlab.browser_session() as browser:
        link = start_link(hub.url, course)
        assert "/hub/user-redirect/git-pull?" in link and quote("learner/00_start_here.ipynb", safe="") in link
        pages = {}
        for user in ANSWERS:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            pages[user] = context.new_page()
            learner_session(pages[user], link, user)
            saved = (hub.home(user) / COURSE / START).read_text()
            assert ANSWERS[user] in saved, f"{user}'s answer is not saved in their home"

        # the instructor corrects chapter 1 and publishes again
        chapter1 = instructor / "notebooks" / "01_why_attention.ipynb"
        import nbformat
        nb = nbformat.read(chapter1, as_version=4)
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(NOTE))
        nbformat.write(nb, chapter1)
        git("commit", "-qam", "Chapter 1: a note for today's class", cwd=instructor)
        publish(instructor, course)

        # ada follows the same link again: the change arrives, her answer stays
        ada = pages["ada"]
        follow(ada, link, "ada")
        home = hub.home("ada") / COURSE
        assert NOTE in (home / "learner" / "01_why_attention.ipynb").read_text(), "the instructor's change did not arrive"
        assert ANSWERS["ada"] in (home / START).read_text(), "the learner's answer was lost in the update"
        shown = ada.evaluate(JS_CELL_TEXT, CHECK)
        assert ANSWERS["ada"] in shown["source"], "the reopened start page does not show her answer"
        assert not (hub.home("ada") / COURSE / "notebooks").exists(), "the answer key must not reach learners"

        # ada cannot open grace's files
        secret = ANSWERS["grace"]
        request = ada.context.request
        theirs = request.get(f"{hub.url}/user/grace/api/contents/{COURSE}/{START}", max_redirects=0)
        assert theirs.status in (302, 403, 404), theirs.status
        assert secret not in theirs.text()
        climb = quote(f"../grace/{COURSE}/{START}", safe="")
        for url in (f"{hub.url}/user/ada/api/contents/{climb}", f"{hub.url}/user/ada/files/{climb}"):
            out = request.get(url, max_redirects=0)
            assert out.status >= 400 and secret not in out.text(), (url, out.status)
        mine = request.get(f"{hub.url}/user/ada/api/contents/{COURSE}/{START}", max_redirects=0)
        assert mine.status == 200 and ANSWERS["ada"] in mine.text(), "the same request must work for her own file"
    print(f"workshop test: {time.monotonic() - t0:.1f} s")
