"""Build the static book (`make book`): HTML from the notebooks' stored outputs, offline.

Copies book/ (Sphinx configuration, start page, _static with the vendored JavaScript) and the
chapter notebooks (notebooks/NN_*.ipynb) into build/book-src/, then runs Sphinx with myst-nb
there without executing anything. The site lands in build/book/html/ (open index.html, or
serve the folder: `python -m http.server -d build/book/html`).

    python -m selfattn.tools.build_book [--out build/book/html] [--notebooks notebooks]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "book"
DEFAULT_OUT = REPO / "build" / "book" / "html"


def chapter_notebooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def prepare_source(notebooks: Path, src: Path) -> list[Path]:
    """A fresh Sphinx source folder: book/ plus the chapter notebooks under notebooks/."""
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(BOOK, src, ignore=shutil.ignore_patterns("_build", "__pycache__"))
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
    return out


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
