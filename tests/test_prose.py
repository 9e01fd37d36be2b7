"""What a reader sees in the chapters' text: no traces of how the book is made, one way of
numbering sections, and a way on at the end of every chapter."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Words that speak of the book's machinery rather than the reader's world.
TRACES = [
    (re.compile(r"\bC\d\d\b"), "a curriculum id"),
    (re.compile(r"\bnbval\b", re.I), "the notebook checker's name"),
    (re.compile(r"seed material|seed text|\bseeds?/", re.I), "the source material of the book"),
    (re.compile(r"\btargets?\b[^.\n]{0,60}\b(met|missed)\b", re.I), "an acceptance target"),
    (re.compile(r"\bacceptance\b", re.I), "an acceptance criterion"),
    (re.compile(r"test[- ]harness|test suite|automated checks?|\bpytest\b|\bunit tests?\b|\bCI\b", re.I),
     "the test machinery"),
    (re.compile(r"\bTODO\b|\bFIXME\b|\bXXX\b"), "an unfinished note"),
]
NEXT = re.compile(r"\*\*Next:\*\*\s*\[[^\]]+\]\((\d\d_[\w]+\.ipynb)\)")


def markdown_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def visible_code_text(path: Path) -> list[tuple[str, str]]:
    """(where, text) for every comment in a code cell and every printed output: the reader sees them too."""
    nb = json.loads(path.read_text())
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        comments = [ln.split("#", 1)[1] for ln in "".join(cell["source"]).splitlines() if "#" in ln]
        found.append((f"code cell {i} comments", "\n".join(comments)))
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            # a list of installed packages names the notebook checker as a package: that is the reader's world
            text = "\n".join(ln for ln in text.splitlines() if not re.match(r"^\s*[✔✘]?\s*(import )?nbval\s+\d", ln))
            found.append((f"code cell {i} output", text))
    return found


def chapter_of(path: Path) -> int:
    return int(path.name[:2])


def traces_in(text: str) -> list[str]:
    return [f"{why}: {m.group(0)!r}" for rx, why in TRACES for m in rx.finditer(text)]


def test_the_trace_finder_finds_traces():
    assert traces_in("Goals (C05, C06)") and traces_in("the check that nbval runs")
    assert traces_in("needed >= 10x: target met") and traces_in("from the seed material")
    assert not traces_in("The cat sat on the mat; 10 tokens, C-style indexing, a CNN.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_traces_of_how_the_book_is_made(path):
    found = [f"markdown cell {i}: {t}" for i, text in enumerate(markdown_cells(path)) for t in traces_in(text)]
    found += [f"{where}: {t}" for where, text in visible_code_text(path) for t in traces_in(text)]
    assert not found, f"{path.name} speaks of the book's machinery, not the reader's world:\n" + "\n".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_ends_with_a_next_link_to_a_real_chapter(path):
    last = markdown_cells(path)[-1]
    m = NEXT.search(last)
    assert m, f"{path.name}: the last markdown cell has no '**Next:** [Chapter ...](NN_name.ipynb)' line"
    target = m.group(1)
    assert (ROOT / "notebooks" / target).exists(), f"{path.name}: Next links to {target}, which does not exist"
    expected = 0 if path == NOTEBOOKS[-1] else chapter_of(path) + 1
    assert int(target[:2]) == expected, f"{path.name}: Next should lead to chapter {expected}, leads to {target}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sections_are_numbered_chapter_dot_section(path):
    chapter = chapter_of(path)
    numbers = []
    for text in markdown_cells(path):
        for line in text.splitlines():
            m = re.match(r"^##\s+(\d+)\.(\d+)\b", line)
            if m:
                assert int(m.group(1)) == chapter, f"{path.name}: section {line!r} is not numbered {chapter}.M"
                numbers.append(int(m.group(2)))
            elif re.match(r"^##\s+\d+[\s.)]", line):
                raise AssertionError(f"{path.name}: section {line!r} is not numbered as '{chapter}.M Title'")
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), \
        f"{path.name}: sections are not numbered in order: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_have_one_heading_style_and_run_in_order(path):
    """Every exercise is a '### Exercise N.k · ...' heading, numbered 1, 2, 3, ... within its chapter."""
    chapter = chapter_of(path)
    numbers = []
    for text in markdown_cells(path):
        assert not re.search(r"^\*\*Exercise \d", text, re.M), \
            f"{path.name}: an exercise starts with bold text; write it as '### Exercise {chapter}.k · Kind'"
        for m in re.finditer(r"^#+ Exercise (\d+)\.(\d+)\b(.*)$", text, re.M):
            assert m.group(0).startswith("### "), f"{path.name}: {m.group(0)!r} is not a level-3 heading"
            assert int(m.group(1)) == chapter, f"{path.name}: {m.group(0)!r} is numbered for another chapter"
            assert m.group(3).startswith(" · "), f"{path.name}: {m.group(0)!r} should read 'Exercise N.k · Kind'"
            numbers.append(int(m.group(2)))
    assert numbers == list(range(1, len(numbers) + 1)), f"{path.name}: exercises numbered {numbers}"
