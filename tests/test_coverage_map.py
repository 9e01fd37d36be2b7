"""docs/COVERAGE.md maps every curriculum concept (C01..C31) to a real section of a real notebook,
and to a widget or exercise that exists in the package."""
import importlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\|\s*(C\d\d)\s*\|(.*)\|\s*$")


def rows():
    out = {}
    for line in (ROOT / "docs/COVERAGE.md").read_text().splitlines():
        m = ROW.match(line)
        if m:
            cells = [c.strip() for c in m.group(2).split("|")]
            out[m.group(1)] = cells        # concept, notebook, section, try it
    return out


def headings(notebook: Path) -> list[str]:
    nb = json.loads(notebook.read_text())
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            found += [ln.lstrip("#").strip() for ln in "".join(cell["source"]).splitlines() if ln.startswith("#")]
    return found


def resolve(dotted: str):
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def test_every_concept_is_mapped():
    mapped = rows()
    assert sorted(mapped) == [f"C{i:02d}" for i in range(1, 32)]


def test_each_row_names_a_real_section_and_a_real_widget_or_exercise():
    for cid, (concept, notebook, section, try_it) in rows().items():
        nb_names = re.findall(r"\((?:\.\./)?notebooks/([^)]+\.ipynb)\)", notebook)
        assert nb_names, f"{cid}: no notebook link in {notebook!r}"
        sections = [s.strip() for s in re.findall(r"§\s*([^;]+)", section)]
        assert sections, f"{cid}: no section (write § heading text) in {section!r}"
        all_headings = [h for name in nb_names for h in headings(ROOT / "notebooks" / name)]
        for s in sections:
            assert any(h.startswith(s) for h in all_headings), f"{cid}: no heading starting {s!r} in {nb_names}"
        targets = re.findall(r"`(selfattn\.[\w.]+)`", try_it)
        assert targets, f"{cid}: name a widget or exercise (`selfattn....`) in {try_it!r}"
        for t in targets:
            resolve(t)
