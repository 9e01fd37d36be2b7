"""The learner build (`make learner`): solutions stripped by their markers, and the notebooks still run.

Unit tests pin the marker rules of docs/CONTRIBUTING.md. The end-to-end test builds the learner
copy of every chapter and runs it top to bottom, as a learner who has not started the
exercises would: no cell may fail, every exercise check must say "not attempted", and no check
may pass (a passing check would mean a solution was left in). Where chromium is installed the
JupyterLab pass (tests/browser/test_lab_chapters.py) runs the learner's edition instead, in the
browser, with the same checks.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from exercise_helpers import learner_checks_say_not_attempted
from nbclient import NotebookClient

from selfattn.tools import learner

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# --- the marker rules --------------------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("n_steps = 9  # SOLUTION", "n_steps = ..."),
    ("answer = (16, 1)  # SOLUTION", "answer = ..."),
    ("x[0, 1] = f(a=1, b=2)  # SOLUTION", "x[0, 1] = ..."),
    ("total += 4 * n  #SOLUTION", "total += ..."),
    ("    return Q @ K.T  # SOLUTION", "    return ..."),
    ("        print(compute())  # SOLUTION", "        ..."),
    ("ok = a == b  # SOLUTION", "ok = ..."),
    ("x = 1  # not a solution", "x = 1  # not a solution"),
])
def test_one_line_solutions(line, expected):
    assert learner.strip_line(line) == expected


def test_block_solution_becomes_ellipsis_at_its_indentation():
    src = ("def double(x):\n"
           "    # BEGIN SOLUTION\n"
           "    y = 2 * x\n"
           "    return y\n"
           "    # END SOLUTION\n"
           "\n"
           "ex.double.check(double)")
    out, removed = learner.strip_source(src)
    assert out == "def double(x):\n    ...\n\nex.double.check(double)"
    assert removed == 1


def test_top_level_block_and_one_liner_in_one_cell():
    src = "# BEGIN SOLUTION\nimport math\nk = math.pi\n# END SOLUTION\nn = 3  # SOLUTION\nprint(n)"
    out, removed = learner.strip_source(src)
    assert out == "...\nn = ...\nprint(n)"
    assert removed == 2


@pytest.mark.parametrize("src, message", [
    ("# BEGIN SOLUTION\nx = 1\n", "without a matching"),
    ("x = 1\n# END SOLUTION\n", "without a '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside another"),
])
def test_unpaired_markers_are_refused(src, message):
    with pytest.raises(learner.SolutionMarkerError, match=message):
        learner.strip_source(src)


def _worked_example():
    nb = nbformat.v4.new_notebook()
    figure = nbformat.v4.new_code_cell("plot()", execution_count=1)
    figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})]
    answer = nbformat.v4.new_code_cell("x = 2  # SOLUTION\nprint(x)", execution_count=3)
    answer.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    check = nbformat.v4.new_code_cell("ex.double.check(double)", execution_count=4)
    check.outputs = [nbformat.v4.new_output("stream", text="[double] ✔ Correct\n")]
    shown = nbformat.v4.new_code_cell("ex.double.solution()", execution_count=5)
    shown.outputs = [nbformat.v4.new_output("stream", text="def double(x): ...\n")]
    report = nbformat.v4.new_code_cell('progress("ch09")', execution_count=6)
    report.outputs = [nbformat.v4.new_output("stream", text="1 of 1 exercises pass\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter 9"), figure, answer, check, shown, report]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"a": {}}}}
    return nb


def test_learner_notebook_keeps_figures_and_widgets_but_blanks_answers_checks_and_progress():
    nb = _worked_example()
    out, removed = learner.learner_notebook(nb)
    assert removed == 1
    figure, answer, check, shown, report = out.cells[1:]
    assert figure.outputs == nb.cells[1].outputs and figure.execution_count == 1, "stored figures must stay"
    assert out.metadata["widgets"] == nb.metadata["widgets"], "saved widget views must stay"
    assert answer.source == "x = ...\nprint(x)"
    for cell in (answer, check, shown, report):
        assert cell.outputs == [] and cell.execution_count is None, cell.source
    assert nb.cells[2].source.startswith("x = 2"), "the source notebook must not change"


def test_stripping_that_breaks_the_code_is_reported():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("if True:\n    x = 1  # SOLUTION\n  y = 2")]
    with pytest.raises(learner.SolutionMarkerError, match="not valid Python"):
        learner.learner_notebook(nb)


# --- every chapter, as a learner meets it ------------------------------------------------------

@pytest.fixture(scope="module")
def learner_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("learner")
    learner.build(NOTEBOOKS, out)
    return out


def _text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "data" in o:
            parts.append(o["data"].get("text/plain", ""))
    return "".join(parts)


@pytest.mark.slow
@pytest.mark.skipif(not NOTEBOOKS, reason="no chapter notebooks yet")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_learner_notebook_runs_and_reports_not_attempted(path, learner_dir):
    """Where chromium is installed (CI requires it) the JupyterLab pass of
    tests/browser/test_lab_chapters.py runs the learner's edition and checks the same; running
    every chapter a second time here would only repeat it."""
    from browser import jlab
    if jlab.chromium_path() is not None:
        pytest.skip("tests/browser/test_lab_chapters.py runs the learner's edition of every chapter in JupyterLab")
    source = nbformat.read(path, as_version=4)
    has_solutions = any("SOLUTION" in c.source for c in source.cells if c.cell_type == "code")
    nb = nbformat.read(learner_dir / path.name, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(learner_dir)}})
    client.execute()
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, f"{path.name} (learner version) fails:\n" + "\n".join(errors)
    learner_checks_say_not_attempted(path.name, has_solutions, [(i, c.source, _text(c)) for i, c in enumerate(nb.cells)
                                                                 if c.cell_type == "code"])


def _one_chapter(tmp_path, text="x = 2  # SOLUTION"):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 1 Title"), nbformat.v4.new_code_cell(text)]
    nbformat.write(nb, src / "01_x.ipynb")
    return src / "01_x.ipynb"


def test_rebuilding_keeps_a_learner_notebook_with_work_in_it(tmp_path):
    chapter = _one_chapter(tmp_path)
    out = tmp_path / "learner"
    assert learner.build([chapter], out) == {"01_x.ipynb": 1}
    worked = nbformat.read(out / "01_x.ipynb", as_version=4)
    worked.cells[1].source = "x = 2"
    nbformat.write(worked, out / "01_x.ipynb")
    assert learner.build([chapter], out) == {"01_x.ipynb": None}
    assert nbformat.read(out / "01_x.ipynb", as_version=4).cells[1].source == "x = 2"
    assert learner.build([chapter], out, force=True) == {"01_x.ipynb": 1}


def test_init_writes_once_and_never_overwrites(tmp_path):
    chapter = _one_chapter(tmp_path)
    out = tmp_path / "learner"
    assert learner.build([chapter], out, init=True) == {"01_x.ipynb": 1}
    (out / "01_x.ipynb").write_text((out / "01_x.ipynb").read_text().replace("x = ...", "x = 7"))
    _one_chapter(tmp_path, "x = 3  # SOLUTION\ny = 1")              # the answer key moves on
    assert learner.build([chapter], out, init=True) == {"01_x.ipynb": "exists"}
    assert "x = 7" in (out / "01_x.ipynb").read_text()


def test_refresh_updates_untouched_chapters_and_names_the_kept_ones(tmp_path, capsys):
    first = _one_chapter(tmp_path)
    second = first.with_name("02_y.ipynb")
    nbformat.write(nbformat.read(first, as_version=4), second)
    out = tmp_path / "learner"
    assert learner.main(["--init", "--out", str(out), str(first), str(second)]) == 0
    # the reader works in chapter 2 (an answer typed in), chapter 1 stays as written
    (out / "02_y.ipynb").write_text((out / "02_y.ipynb").read_text().replace("x = ...", "x = 5"))
    # the book changes both chapters
    for path in (first, second):
        nb = nbformat.read(path, as_version=4)
        nb.cells[0].source = "# 1 A better title"
        nbformat.write(nb, path)
    capsys.readouterr()
    assert learner.main(["--out", str(out), str(first), str(second)]) == 0
    said = capsys.readouterr().out
    assert "01_x.ipynb: refreshed" in said
    assert "02_y.ipynb: kept, it has your work in it" in said
    assert "A better title" in (out / "01_x.ipynb").read_text()
    kept = (out / "02_y.ipynb").read_text()
    assert "x = 5" in kept and "A better title" not in kept
    capsys.readouterr()
    learner.main(["--out", str(out), str(first), str(second)])
    assert "1 already up to date, 1 kept" in capsys.readouterr().out


def test_the_hub_branch_tracks_learner_and_leaves_out_the_answer_key(tmp_path):
    import subprocess
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 2  # SOLUTION\nex.x.check(x)")]
    nbformat.write(nb, repo / "notebooks" / "00_start_here.ipynb")
    (repo / ".gitignore").write_text("learner/\n.venv/\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "book"], check=True)
    chapters = [repo / "notebooks" / "00_start_here.ipynb"]
    first = learner.publish_branch("learner-edition", chapters, repo=repo)
    files = subprocess.run(git + ["ls-tree", "-r", "--name-only", first], capture_output=True, text=True).stdout.split()
    assert "learner/00_start_here.ipynb" in files and not any(f.startswith("notebooks/") for f in files)
    shown = subprocess.run(git + ["show", f"{first}:learner/00_start_here.ipynb"], capture_output=True, text=True).stdout
    assert "x = ..." in shown and "x = 2" not in shown
    ignore = subprocess.run(git + ["show", f"{first}:.gitignore"], capture_output=True, text=True).stdout
    assert "learner/" not in ignore and ".venv/" in ignore
    assert learner.publish_branch("learner-edition", chapters, repo=repo) == first, "no change, no new commit"
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("A correction"))
    nbformat.write(nb, chapters[0])
    subprocess.run(git + ["commit", "-qam", "fix"], check=True)
    second = learner.publish_branch("learner-edition", chapters, repo=repo)
    parent = subprocess.run(git + ["rev-parse", f"{second}^"], capture_output=True, text=True).stdout.strip()
    assert parent == first, "each edition must build on the last, so nbgitpuller can merge it"


# --- make lab: the learner's edition, as root too, with its URL printed ----------------------------

def test_lab_command_serves_the_edition_folder_and_adds_allow_root_for_root(monkeypatch, tmp_path):
    from selfattn.tools import lab
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    cmd = lab.command(tmp_path, port=8899, token="t", ip="127.0.0.1")
    assert "--allow-root" in cmd and f"--ServerApp.root_dir={tmp_path}" in cmd and lab.START in cmd
    monkeypatch.setattr(lab.os, "geteuid", lambda: 1000)
    assert "--allow-root" not in lab.command(tmp_path, port=8899, token="t", ip="127.0.0.1")


@pytest.mark.slow
def test_make_lab_writes_the_edition_prints_its_url_and_serves_only_it(tmp_path):
    """What `make lab` runs, from scratch: the edition is written, the printed URL answers, and the
    server's root is the edition (so autosave can only write there, never into notebooks/)."""
    import json
    import os
    import re
    import subprocess
    import sys
    import time
    import urllib.request
    folder = tmp_path / "learner"
    proc = subprocess.Popen([sys.executable, "-m", "selfattn.tools.lab", "--folder", str(folder), "--no-browser"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, JUPYTER_PLATFORM_DIRS="1"))
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            m = re.search(r"served at: (http://\S+)", line)
            url = m.group(1) if m else None
        assert url and "/lab/tree/00_start_here.ipynb?token=" in url, "make lab must print the URL it serves"
        assert (folder / "00_start_here.ipynb").exists()
        base, token = url.split("/lab/")[0], url.split("token=")[1]
        listing = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=5) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "the server never answered"
        names = {item["name"] for item in listing["content"]}
        assert "00_start_here.ipynb" in names and "notebooks" not in names and "selfattn" not in names
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
