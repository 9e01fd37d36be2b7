"""Paths shared by the browser tests (imported by conftest.py and the test modules)."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "screenshots"


def notebooks_dir() -> Path:
    """The chapters' folder: notebooks/, or $SELFATTN_NOTEBOOKS_DIR (to try the tests on other notebooks)."""
    return Path(os.environ.get("SELFATTN_NOTEBOOKS_DIR", REPO / "notebooks")).resolve()


def chapter_notebooks() -> list[Path]:
    """Every chapter notebook, found by name (NN_slug.ipynb), in reading order."""
    return sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
