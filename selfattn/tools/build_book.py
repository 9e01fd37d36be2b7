"""Build the static book (`make book`): HTML from the notebooks' stored outputs, offline.

Copies book/ (Sphinx configuration, start page, _static with the vendored JavaScript) and the
chapter notebooks (notebooks/NN_*.ipynb) into build/book-src/, then runs Sphinx with myst-nb
there without executing anything. The site lands in build/book/html/ (open index.html, or
serve the folder: `python -m http.server -d build/book/html`).

    python -m selfattn.tools.build_book [--out build/book/html] [--notebooks notebooks]

After Sphinx, every page is finished for readers who cannot see the figures or run the code:
each figure's <img alt> says what the figure shows (the alt text the figure output carries,
written by selfattn.book.setup(), else the cell's "alt" metadata, else the section and the
function that drew it: never the image file's hash), and each saved widget gets a visible note
that it is a still copy that becomes live in Jupyter.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "book"
NAME_SLIDERS = REPO / "selfattn" / "widgets" / "static" / "name_sliders.js"
DEFAULT_OUT = REPO / "build" / "book" / "html"


def chapter_notebooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def prepare_source(notebooks: Path, src: Path) -> list[Path]:
    """A fresh Sphinx source folder: book/ plus the chapter notebooks under notebooks/."""
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(BOOK, src, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    shutil.copy2(NAME_SLIDERS, src / "_static" / NAME_SLIDERS.name)  # one copy of the code, live and static
    (src / "notebooks").mkdir()
    chapters = chapter_notebooks(notebooks)
    for nb in chapters:
        shutil.copy2(nb, src / "notebooks" / nb.name)
    for extra in notebooks.iterdir():  # images or data the notebooks link to
        if extra.is_file() and extra.suffix.lower() in (".png", ".svg", ".jpg", ".gif"):
            shutil.copy2(extra, src / "notebooks" / extra.name)
    return chapters


def build(out: Path = DEFAULT_OUT, notebooks: Path = REPO / "notebooks", *, quiet: bool = True, strict: bool = True) -> Path:
    src = out.parent / "book-src" if out.name == "html" else out.with_name(out.name + "-src")
    chapters = prepare_source(notebooks, src)
    if not chapters:
        raise SystemExit(f"no chapter notebooks (NN_*.ipynb) in {notebooks}")
    if out.exists():
        shutil.rmtree(out)
    doctrees = out.parent / "doctrees"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-d", str(doctrees), str(src), str(out)]
    if strict:  # a warning (a broken link, an unknown output) fails the build
        cmd[3:3] = ["-W", "--keep-going"]
    if quiet:
        cmd.insert(3, "-q")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise BookBuildError(f"Sphinx failed (exit {proc.returncode}); its warnings and errors:\n{proc.stderr[-6000:]}")
    finish_pages(out, chapters)
    return out


# --- finishing the pages: alt text and notes on saved widgets --------------------------------------

STATIC_NOTE = ('<p class="selfattn-static-note" role="note"><strong>A still copy of a live widget.</strong> '
               "Its controls change nothing on this page; open the notebook in Jupyter and run the cell "
               "to use it.</p>")
WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'
IMG = re.compile(r'<img\b([^>]*?)\balt="([^"]*)"([^>]*?)\bsrc="([^"]*?_images/([0-9a-f]{64})\.(png|jpeg|jpg|gif|svg))"')
CALL = re.compile(r"([A-Za-z_][\w.]*)\(")


def _heading(cell) -> str | None:
    for line in cell.get("source", "").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


def _fallback_alt(cell, heading: str | None) -> str:
    """'Figure in section 5.2 ...: mask picture', from the call that drew it (when the output has no alt)."""
    source = cell.get("source", "")
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith("#")]
    calls = [m.group(1) for ln in lines if re.match(r"\s*fig\w*\s*=", ln) for m in [CALL.search(ln.split("=", 1)[1])] if m]
    if not calls:
        calls = [m.group(1) for ln in lines for m in CALL.finditer(ln)][-1:]
    what = calls[0].rsplit(".", 1)[-1].replace("_", " ") if calls else "a figure"
    where = f" in section {heading}" if heading else ""
    return f"Figure{where}: {what}."


def image_alt_texts(chapters: list[Path]) -> dict[str, str]:
    """{sha256 of an image output: its alt text} over every chapter (the names myst-nb gives images)."""
    alts: dict[str, str] = {}
    for nb in chapters:
        heading = None
        for cell in json.loads(nb.read_text(encoding="utf-8")).get("cells", []):
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
            if cell.get("cell_type") == "markdown":
                heading = _heading(cell) or heading
                continue
            for out in cell.get("outputs", []):
                for mime in ("image/png", "image/jpeg", "image/gif"):
                    data = out.get("data", {}).get(mime)
                    if not data:
                        continue
                    raw = base64.b64decode("".join(data) if isinstance(data, list) else data)
                    meta = out.get("metadata", {})
                    alt = ((meta.get(mime) or {}).get("alt") or meta.get("alt")
                           or cell.get("metadata", {}).get("alt") or _fallback_alt(cell, heading))
                    alts[hashlib.sha256(raw).hexdigest()] = " ".join(str(alt).split())
    return alts


def finish_pages(out: Path, chapters: list[Path]) -> None:
    """Alt text on every figure, a note on every saved widget (see the module docstring)."""
    alts = image_alt_texts(chapters)

    def with_alt(m: re.Match) -> str:
        alt = alts.get(m.group(5)) or "Figure."
        return f'<img{m.group(1)}alt="{html.escape(alt, quote=True)}"{m.group(3)}src="{m.group(4)}"'

    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = IMG.sub(with_alt, text)
        new = new.replace(WIDGET_VIEW, STATIC_NOTE + WIDGET_VIEW)
        if new != text:
            page.write_text(new, encoding="utf-8")


class BookBuildError(RuntimeError):
    """The static book did not build (a Sphinx error, or a warning in strict mode)."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--no-strict", action="store_true", help="report warnings without failing")
    args = parser.parse_args(argv)
    try:
        out = build(args.out.resolve(), args.notebooks.resolve(), quiet=not args.verbose, strict=not args.no_strict)
    except BookBuildError:
        print("static book: the build failed (warnings above; --no-strict builds anyway)", file=sys.stderr)
        return 1
    print(f"static book: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
