"""Learner notebooks without solutions (`make learner`): one command, from the same sources.

Each chapter notebook stores its exercises' solutions, marked as docs/CONTRIBUTING.md says:

    n_steps = 9  # SOLUTION              ->  n_steps = ...
    return Q @ K.T  # SOLUTION           ->  return ...
    # BEGIN SOLUTION                     ->  ...            (at the marker's indentation)
    ...the solution lines...
    # END SOLUTION

The learner copy has those replaced by `...` (which the checkers report as "not attempted yet"),
every output and execution count cleared, and the saved widget state dropped, so a learner
starts from a clean notebook. Written to learner/ (gitignored); other files beside the
notebooks (images, data) are copied too. A learner notebook that already has outputs (someone
has worked in it) is kept unless --force is given.

    python -m selfattn.tools.learner [--out learner] [notebooks/03_x.ipynb ...]
"""
from __future__ import annotations

import argparse
import ast
import io
import re
import shutil
import sys
import tokenize
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = "..."
ONE_LINE = re.compile(r"^(?P<code>.*?)\s*#\s*SOLUTION\s*$")
BEGIN = re.compile(r"^(?P<indent>\s*)#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")


class SolutionMarkerError(ValueError):
    """Markers that do not pair up, or a stripped cell that is no longer valid Python."""


def _assignment_target(code: str) -> str | None:
    """'x, y = f(z)' -> 'x, y' (the text before the first top-level '=' of an assignment)."""
    depth = 0
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    for tok in tokens:
        if tok.type == tokenize.OP:
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
            elif depth == 0 and tok.string in ("=", "+=", "-=", "*=", "/=", "//=", "@=", "%=", "**=", "|=", "&=", "^="):
                return code.strip()[: tok.start[1]].rstrip() + f" {tok.string}"
    return None


def strip_line(line: str) -> str:
    """One line ending in '# SOLUTION' -> its placeholder form, at the same indentation."""
    m = ONE_LINE.match(line)
    if not m:
        return line
    code = m.group("code")
    indent = code[: len(code) - len(code.lstrip())]
    body = code.strip()
    if body.startswith("return ") or body == "return":
        return f"{indent}return {PLACEHOLDER}"
    if body.startswith("yield "):
        return f"{indent}yield {PLACEHOLDER}"
    target = _assignment_target(body)
    if target is not None:
        return f"{indent}{target} {PLACEHOLDER}"
    return f"{indent}{PLACEHOLDER}"


def strip_source(source: str) -> tuple[str, int]:
    """A cell's source without its solutions, and how many solutions were removed."""
    out: list[str] = []
    removed = 0
    in_block = False
    for number, line in enumerate(source.split("\n"), start=1):
        if in_block:
            if BEGIN.match(line):
                raise SolutionMarkerError(f"line {number}: '# BEGIN SOLUTION' inside another solution block")
            if END.match(line):
                in_block = False
            continue
        m = BEGIN.match(line)
        if m:
            out.append(f"{m.group('indent')}{PLACEHOLDER}")
            in_block = True
            removed += 1
            continue
        if END.match(line):
            raise SolutionMarkerError(f"line {number}: '# END SOLUTION' without a '# BEGIN SOLUTION' before it")
        stripped = strip_line(line)
        if stripped != line:
            removed += 1
        out.append(stripped)
    if in_block:
        raise SolutionMarkerError("'# BEGIN SOLUTION' without a matching '# END SOLUTION'")
    return "\n".join(out), removed


def _check_python(source: str, where: str) -> None:
    lines = [ln for ln in source.split("\n") if not ln.lstrip().startswith(("%", "!"))]  # IPython magics
    try:
        ast.parse("\n".join(lines))
    except SyntaxError as e:
        raise SolutionMarkerError(f"{where}: the learner version is not valid Python ({e.msg}, line {e.lineno})") from None


def learner_notebook(nb) -> tuple[object, int]:
    """A learner copy of a notebook node: solutions stripped, outputs and widget state cleared."""
    nb = nbformat.from_dict(nb)  # a deep copy
    removed = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            source, n = strip_source(cell.source)
        except SolutionMarkerError as e:
            raise SolutionMarkerError(f"cell {index}: {e}") from None
        if n:
            _check_python(source, f"cell {index}")
        cell.source = source
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        removed += n
    nb.metadata.pop("widgets", None)
    return nb, removed


def has_work(path: Path) -> bool:
    """A learner notebook that has been run or edited (it has outputs): do not overwrite it."""
    nb = nbformat.read(path, as_version=4)
    return any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def build(notebooks: list[Path], out: Path, *, force: bool = False) -> dict[str, int | None]:
    """Write the learner copies into `out`; returns solutions removed per notebook (None: kept,
    because the learner's copy there has work in it and force is False)."""
    out.mkdir(parents=True, exist_ok=True)
    report = {}
    folders = {p.parent for p in notebooks}
    for folder in folders:  # images and data the notebooks use
        for extra in folder.iterdir():
            if extra.is_file() and extra.suffix != ".ipynb" and not extra.name.startswith("."):
                shutil.copy2(extra, out / extra.name)
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            learner, removed = learner_notebook(nb)
        except SolutionMarkerError as e:
            raise SolutionMarkerError(f"{path.name}: {e}") from None
        dest = out / path.name
        if dest.exists() and not force and has_work(dest):
            report[path.name] = None
            continue
        nbformat.write(learner, dest)
        report[path.name] = removed
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    parser.add_argument("--out", type=Path, default=REPO / "learner")
    parser.add_argument("--force", action="store_true", help="overwrite learner notebooks that have work in them")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print("no notebooks to convert", file=sys.stderr)
        return 1
    try:
        report = build(notebooks, args.out, force=args.force)
    except SolutionMarkerError as e:
        print(f"learner build failed: {e}", file=sys.stderr)
        return 1
    for name, removed in report.items():
        if removed is None:
            print(f"{args.out.name}/{name}: kept (it has your work in it; --force replaces it)")
        else:
            print(f"{args.out.name}/{name}: {removed} solution(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
