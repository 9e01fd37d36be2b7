"""selfattn.book.setup() shows the book's errors briefly in IPython (and gives figures alt text); nothing elsewhere."""
import sys

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from nbclient import NotebookClient

import selfattn.book as book

BAD_CELL = "q = torch.randn(5, 4)\nout = selfattn.attention(q, q, q, mask=torch.ones(3, 5, 5, dtype=torch.bool))"


@pytest.fixture
def shell():
    sh = InteractiveShell.instance()
    yield sh
    sh.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_a_book_error_shows_the_message_and_the_readers_line(shell, capsys):
    shell.run_cell("import torch, selfattn\nfrom selfattn.book import setup\nsetup()")
    res = shell.run_cell(BAD_CELL)
    assert type(res.error_in_exec).__name__ == "AttentionInputError"
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines[0].startswith("AttentionInputError: mask of shape (3, 5, 5)")
    assert "out = selfattn.attention(q, q, q, mask=" in out           # the reader's own line
    assert "selfattn/attention.py" not in out and "errors.py" not in out  # no package stack
    assert "full_traceback()" in out and "%tb" in out
    assert len(lines) <= 5
    # the full stack is one call away
    shell.run_cell("selfattn.book.full_traceback()")
    full = capsys.readouterr().out
    assert "attention.py" in full and "AttentionInputError" in full


def test_a_readers_own_function_is_named(shell, capsys):
    shell.run_cell("import torch, selfattn\nfrom selfattn.book import setup\nsetup()")
    shell.run_cell("def f(x):\n    return selfattn.attention(x, x[:, :2], x)\nf(torch.randn(3, 4))")
    out = capsys.readouterr().out
    assert "in f()" in out and "return selfattn.attention(x, x[:, :2], x)" in out


def test_other_errors_keep_the_full_traceback(shell, capsys):
    shell.run_cell("import selfattn\nfrom selfattn.book import setup\nsetup()")
    shell.run_cell("def g():\n    return 1 / 0\ng()")
    out = capsys.readouterr().out
    assert "ZeroDivisionError" in out and "Traceback" in out


def test_no_effect_outside_ipython(monkeypatch):
    InteractiveShell.clear_instance()
    hook = sys.excepthook
    assert book.show_book_errors_briefly() is False
    book.setup()
    assert sys.excepthook is hook


def test_in_a_real_kernel_the_error_output_is_short():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch, selfattn\nfrom selfattn.book import setup\nsetup()"),
                nbformat.v4.new_code_cell(BAD_CELL),
                nbformat.v4.new_code_cell("from selfattn.viz.heatmap import attention_heatmap\n"
                                          "fig = attention_heatmap(torch.full((3, 3), 1 / 3), title='uniform weights')")]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    err = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert err and err[0].ename == "AttentionInputError"
    text = "\n".join(err[0].traceback)
    assert len(err[0].traceback) <= 5, text
    assert "mask=torch.ones(3, 5, 5" in text and "attention.py" not in text
    # setup() also gives every figure output an alt text, from the figure's own titles and labels
    png = [o for o in nb.cells[2].outputs if "image/png" in o.get("data", {})]
    assert png and png[0].metadata["image/png"]["alt"].startswith("Figure: uniform weights (x: key")
