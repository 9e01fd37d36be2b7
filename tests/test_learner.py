"""The learner build (`make learner`): solutions stripped by their markers, and the notebooks still run.

Unit tests pin the marker rules of docs/CONTRIBUTING.md. The end-to-end test builds the learner
copy of every chapter and runs it top to bottom, as a learner who has not started the
exercises would: no cell may fail, every exercise check must say "not attempted", and no check
may pass (a passing check would mean a solution was left in).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
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


def test_learner_notebook_clears_outputs_and_widget_state():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 2  # SOLUTION\nprint(x)", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter 9"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"a": {}}}}
    out, removed = learner.learner_notebook(nb)
    assert removed == 1
    assert out.cells[1].source == "x = ...\nprint(x)"
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert "widgets" not in out.metadata
    assert nb.cells[1].source.startswith("x = 2"), "the source notebook must not change"


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
    source = nbformat.read(path, as_version=4)
    has_solutions = any("SOLUTION" in c.source for c in source.cells if c.cell_type == "code")
    nb = nbformat.read(learner_dir / path.name, as_version=4)
    assert all("SOLUTION" not in c.source for c in nb.cells if c.cell_type == "code"), "a solution marker survived"
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(learner_dir)}})
    client.execute()
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, f"{path.name} (learner version) fails:\n" + "\n".join(errors)
    checks = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and ".check(" in c.source]
    if has_solutions:
        assert checks, f"{path.name} has solutions but no exercise check"
    for i, cell in checks:
        text = _text(cell)
        assert "not attempted" in text.lower(), f"{path.name} cell {i}: the check does not say 'not attempted':\n{text}"
        assert "✔" not in text, f"{path.name} cell {i}: a check passes in the learner version (solution left in?):\n{text}"


def test_rebuilding_keeps_a_learner_notebook_with_work_in_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 2  # SOLUTION")]
    nbformat.write(nb, src / "01_x.ipynb")
    out = tmp_path / "learner"
    assert learner.build([src / "01_x.ipynb"], out) == {"01_x.ipynb": 1}
    worked = nbformat.read(out / "01_x.ipynb", as_version=4)
    worked.cells[0].source = "x = 2"
    worked.cells[0].execution_count = 1
    nbformat.write(worked, out / "01_x.ipynb")
    assert learner.build([src / "01_x.ipynb"], out) == {"01_x.ipynb": None}
    assert nbformat.read(out / "01_x.ipynb", as_version=4).cells[0].source == "x = 2"
    assert learner.build([src / "01_x.ipynb"], out, force=True) == {"01_x.ipynb": 1}
