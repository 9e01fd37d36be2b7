"""`make slides`: the instructor guide's workshop paths as reveal.js slide decks, built offline.

    python -m selfattn.tools.slides [--decks book/slides/decks.toml] [--out build/slides]

book/slides/decks.toml lists, per deck, the chapters and sections it shows (its comments give the
format). The chapters carry no slide marks of their own: this tool copies the cells a deck names,
sets each copy's `slideshow.slide_type` (slide, subslide, fragment, notes) and exports the result
with nbconvert's reveal.js exporter through the template in book/slides/template/, which loads
every script from beside the deck: reveal.js from the npm package (node/package.json, installed by
`make setup`), MathJax from the static book's vendor folder. Nothing is fetched from a CDN, so the
decks open from the file system or any local server with no network.

What a section becomes: one slide with its heading and first paragraph (the rest of its text, and
the guide's notes for that chapter, go to the speaker notes), a slide below it for each stored
figure (code hidden), and a line naming the live widget where the section has one (widgets run in
JupyterLab; the decks show the stored figures). A section the deck names but the chapter lacks
stops the build with its name, so the decks cannot drift from the chapters silently.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
DECKS = REPO / "book" / "slides" / "decks.toml"
TEMPLATES = REPO / "book" / "slides" / "template"
OUT = REPO / "build" / "slides"
REVEAL = REPO / "node" / "node_modules" / "reveal.js"
MATHJAX = REPO / "book" / "_static" / "vendor" / "mathjax"
REVEAL_FILES = ["dist/reveal.css", "dist/reveal.js", "dist/theme/white.css", "dist/plugin/notes.js", "LICENSE"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
LEAD_WORDS = 60


class DeckError(ValueError):
    """The deck file names something the chapters do not have, or the build cannot run."""


@dataclass
class Section:
    number: str
    title: str
    body: str                                   # the heading cell's text after the heading line
    cells: list = field(default_factory=list)   # the cells after the heading cell, up to the next section


def _slide(cell, kind: str):
    cell.metadata["slideshow"] = {"slide_type": kind}
    return cell


def _md(text: str, kind: str):
    return _slide(nbformat.v4.new_markdown_cell(text), kind)


def chapter_path(number: str, notebooks: Path) -> Path:
    found = sorted(notebooks.glob(f"{number}_*.ipynb"))
    if not found:
        raise DeckError(f"no chapter {number} in {notebooks}")
    return found[0]


def chapter_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = HEADING.match(line)
                if m and len(m.group(1)) == 1:
                    return m.group(2)
    return "Chapter"


def sections(nb) -> dict[str, Section]:
    """Every '## N.M Title' section of a chapter, by number."""
    out: dict[str, Section] = {}
    current: Section | None = None
    for cell in nb.cells:
        started = False
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            for i, line in enumerate(lines):
                m = HEADING.match(line)
                if not m or len(m.group(1)) != 2:
                    continue
                num = re.match(r"^(\d+\.\d+)\s+(.*)$", m.group(2))
                if num:
                    rest = lines[i + 1:]
                    stop = next((k for k, ln in enumerate(rest) if (h := HEADING.match(ln)) and len(h.group(1)) <= 2),
                                len(rest))
                    current = Section(num.group(1), num.group(2), "\n".join(rest[:stop]).strip())
                    out[current.number] = current
                else:
                    current = None  # Summary, Sources: not a numbered section
                started = True
        if current is not None and not started:
            current.cells.append(cell)
    return out


def lead(body: str) -> tuple[str, str]:
    """(first paragraph, trimmed to whole sentences within LEAD_WORDS; the rest)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip() and not HEADING.match(p.strip())]
    if not paragraphs:
        return "", ""
    first = paragraphs[0]
    if first.startswith(("|", "```", "<", "- ", "* ", "1. ")):
        return "", body
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'*`$])", first)
    kept, words = [], 0
    for s in sentences:
        n = len(s.split())
        if kept and words + n > LEAD_WORDS:
            break
        kept.append(s)
        words += n
    shown = " ".join(kept)
    return shown, body


def _figure_cells(cells, skip: set[str]) -> list[tuple[object, dict]]:
    """(cell, one image output) for every stored figure in the cells."""
    out = []
    for cell in cells:
        if cell.cell_type != "code" or cell.get("id") in skip:
            continue
        for o in cell.get("outputs", []):
            if "data" in o and "image/png" in o["data"]:
                out.append((cell, o))
    return out


def _has_widget(cells) -> bool:
    return any(cell.cell_type == "code" and any("data" in o and WIDGET_VIEW in o["data"] for o in cell.get("outputs", []))
               for cell in cells)


def deck_notebook(deck: dict, notebooks: Path) -> nbformat.NotebookNode:
    """The notebook a deck is exported from: copies of the cells it names, marked as slides."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["title"] = deck["title"]
    cells = [_md(f"# {deck['title']}\n\n{deck.get('subtitle', '')}\n\n"
                 f"<p class=\"sa-source\">selfattn · from the instructor guide, “{deck.get('path', '')}”</p>", "slide")]
    for part in deck["part"]:
        path = chapter_path(part["chapter"], notebooks)
        chapter = nbformat.read(path, as_version=4)
        found = sections(chapter)
        title = chapter_title(chapter)
        cells.append(_md(f"# {title}\n\n<p class=\"sa-source\">notebooks/{path.name}</p>", "slide"))
        if part.get("notes"):
            cells.append(_md(part["notes"], "notes"))
        skip, fragments = set(part.get("skip", [])), set(part.get("fragment", []))
        for number in part["sections"]:
            if number not in found:
                raise DeckError(f"deck {deck['name']}: chapter {part['chapter']} ({path.name}) has no section "
                                f"{number}; its sections are {', '.join(found) or 'none'}")
            sec = found[number]
            shown, notes = lead(sec.body)
            text = f"## {sec.number} {sec.title}" + (f"\n\n{shown}" if shown else "")
            cells.append(_md(text, "slide"))
            if _has_widget(sec.cells):
                cells.append(_md(f'<p class="sa-live">Live in JupyterLab: the widget of section {sec.number} '
                                 f'(notebooks/{path.name}); run its cell, then use it.</p>', "fragment"))
            if notes:
                cells.append(_md(notes, "notes"))
            for cell, output in _figure_cells(sec.cells, skip):
                fig = nbformat.v4.new_code_cell("", outputs=[nbformat.from_dict(output)])
                kind = "fragment" if cell.get("id") in fragments else "subslide"
                if kind == "subslide":
                    cells.append(_md(f"### {sec.number} {sec.title}", "subslide"))
                    kind = "-"
                cells.append(_slide(fig, kind))
    nb.cells = cells
    return nb


def _assets(out: Path) -> None:
    if not (REVEAL / "dist" / "reveal.js").exists():
        raise DeckError(f"reveal.js is not installed in {REVEAL}: run `npm ci --prefix node` (make setup does it)")
    if not (MATHJAX / "tex-chtml.js").exists():
        raise DeckError(f"MathJax is missing from {MATHJAX}")
    static = out / "_static"
    for rel in REVEAL_FILES:
        dest = static / "reveal" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REVEAL / rel, dest)
    if (static / "mathjax").exists():
        shutil.rmtree(static / "mathjax")
    shutil.copytree(MATHJAX, static / "mathjax")


def exporter():
    from nbconvert import SlidesExporter
    from traitlets.config import Config
    c = Config()
    c.SlidesExporter.extra_template_basedirs = [str(TEMPLATES)]
    c.SlidesExporter.template_name = "selfattn_reveal"
    c.SlidesExporter.reveal_url_prefix = "_static/reveal"
    c.SlidesExporter.reveal_theme = "white"
    c.SlidesExporter.reveal_transition = "none"
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.reveal_width = "1024"
    c.SlidesExporter.reveal_height = "768"
    c.SlidesExporter.exclude_input = True
    c.SlidesExporter.exclude_input_prompt = True
    c.SlidesExporter.exclude_output_prompt = True
    return SlidesExporter(config=c)


def load(decks: Path = DECKS) -> list[dict]:
    with open(decks, "rb") as f:
        data = tomllib.load(f)
    found = data.get("deck", [])
    if not found:
        raise DeckError(f"{decks} defines no [[deck]]")
    return found


def build(decks: Path = DECKS, out: Path = OUT, notebooks: Path = REPO / "notebooks") -> list[Path]:
    """Build every deck into `out`; returns the deck files written."""
    out.mkdir(parents=True, exist_ok=True)
    _assets(out)
    written = []
    exp = exporter()
    for deck in load(decks):
        nb = deck_notebook(deck, notebooks)
        html, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": deck["title"]}})
        remote = sorted(set(re.findall(r"""(?:src|href)=["'](https?:)?//[^"']+""", html)))
        if re.search(r"""(?:src|href)=["'](?:https?:)?//""", html):
            raise DeckError(f"deck {deck['name']} would load something from the network: {remote}")
        dest = out / f"{deck['name']}.html"
        dest.write_text(html)
        written.append(dest)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decks", type=Path, default=DECKS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        written = build(args.decks, args.out)
    except DeckError as e:
        print(f"slides: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{path}  (open it in a browser; S opens the speaker notes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
