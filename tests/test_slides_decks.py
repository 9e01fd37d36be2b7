"""The slide deck file (book/slides/decks.toml) names only sections the chapters have, and the
tool turns a section into the slides its docstring promises (no browser: tests/browser/test_slides.py
opens the built decks)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from selfattn.tools import slides

REPO = Path(__file__).resolve().parents[1]


def test_every_deck_section_exists_in_its_chapter():
    for deck in slides.load():
        assert deck["part"], deck["name"]
        for part in deck["part"]:
            chapter = nbformat.read(slides.chapter_path(part["chapter"], REPO / "notebooks"), as_version=4)
            missing = set(part["sections"]) - set(slides.sections(chapter))
            assert not missing, f"{deck['name']}: chapter {part['chapter']} lacks sections {sorted(missing)}"


def _chapter(tmp_path):
    nb = nbformat.v4.new_notebook()
    fig = nbformat.v4.new_code_cell("plot()")
    fig.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter 9 · Test"),
                nbformat.v4.new_markdown_cell("## 9.1 First\n\nOne short lead. A second sentence.\n\nMore text."),
                fig,
                nbformat.v4.new_markdown_cell("## Summary\n\nDone.")]
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "09_test.ipynb")
    return tmp_path / "nb"


def test_a_section_becomes_a_slide_with_its_lead_notes_and_a_figure_below(tmp_path):
    folder = _chapter(tmp_path)
    deck = {"name": "t", "title": "T", "part": [{"chapter": "09", "sections": ["9.1"], "notes": "demo live"}]}
    nb = slides.deck_notebook(deck, folder)
    kinds = [(c.cell_type, c.metadata["slideshow"]["slide_type"]) for c in nb.cells]
    assert kinds == [("markdown", "slide"), ("markdown", "slide"), ("markdown", "notes"), ("markdown", "slide"),
                     ("markdown", "notes"), ("markdown", "subslide"), ("code", "-")]
    assert nb.cells[3].source == "## 9.1 First\n\nOne short lead. A second sentence."
    assert "More text." in nb.cells[4].source and nb.cells[2].source == "demo live"
    assert nb.cells[6].outputs[0]["data"]["image/png"] == "iVBOR" and nb.cells[6].source == ""


def test_a_section_the_chapter_lacks_stops_the_build_with_its_name(tmp_path):
    folder = _chapter(tmp_path)
    deck = {"name": "t", "title": "T", "part": [{"chapter": "09", "sections": ["9.7"]}]}
    with pytest.raises(slides.DeckError, match="no section 9.7; its sections are 9.1"):
        slides.deck_notebook(deck, folder)
