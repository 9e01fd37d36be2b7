"""The learner's edition of the book (`make lab` opens it; `make learner` refreshes it).

The chapters in notebooks/ are the answer key: every exercise solved, every check passing. The
learner's edition is the same chapters, every stored output and saved widget view kept, except
the exercises: each solution, marked as docs/CONTRIBUTING.md says,

    n_steps = 9  # SOLUTION              ->  n_steps = ...
    return Q @ K.T  # SOLUTION           ->  return ...
    # BEGIN SOLUTION                     ->  ...            (at the marker's indentation)
    ...the solution lines...
    # END SOLUTION

becomes `...`, and the outputs of the cells that hold an answer, run a check (`.check(`), show a
solution (`.solution(`) or report progress (`progress(`) are blank; run, they say "not attempted
yet" until the learner answers.

It lives in learner/ (ignored by git), written once: `--init` (run by `make setup`, `make lab`
and Binder's postBuild) only adds chapters that are missing. A refresh (`make learner`, the
default) rewrites the chapters the learner has not touched (the file is still exactly what was
written, recorded by hash in learner/.written.json) and keeps, and names, every chapter that
holds the learner's work; `--force` replaces those too. A `git pull` never touches learner/.

`--branch NAME` publishes the edition for a JupyterHub: a commit on branch NAME (the previous
tip its parent, so nbgitpuller's merge keeps learners' work) whose tree is this commit's with
notebooks/ replaced by learner/. The working tree and index are not touched.

    python -m selfattn.tools.learner [--init | --force] [--out learner] [notebooks/03_x.ipynb ...]
    python -m selfattn.tools.learner --branch learner-edition
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = "..."
ONE_LINE = re.compile(r"^(?P<code>.*?)\s*#\s*SOLUTION\s*$")
BEGIN = re.compile(r"^(?P<indent>\s*)#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
# cells whose stored outputs would give an answer away, or report the answer key's checks
ANSWER_OUTPUT = re.compile(r"\.check\(|\.solution\(|\bprogress\(")
MANIFEST = ".written.json"
DEFAULT_OUT = REPO / "learner"
DEFAULT_BRANCH = "learner-edition"


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


def blanks_output(source: str, solutions_removed: int) -> bool:
    """Does this cell's stored output belong to the answer key (an answer, a check, a solution)?"""
    return solutions_removed > 0 or bool(ANSWER_OUTPUT.search(source))


def learner_notebook(nb) -> tuple[object, int]:
    """A learner copy of a notebook node: solutions stripped and the outputs of answer, check,
    solution and progress cells cleared; every other output, and the saved widget state, kept."""
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
        if blanks_output(source, n):
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        removed += n
    return nb, removed


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _render(nb) -> bytes:
    return (nbformat.writes(nb) + "\n").encode()


def _read_manifest(out: Path) -> dict[str, str]:
    try:
        return json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def has_work(path: Path, written: str | None = None) -> bool:
    """Has the learner touched this notebook? True unless it is byte for byte what was written
    (`written`: the recorded sha256); with no record, any output or run counts as work."""
    data = path.read_bytes()
    if written is not None:
        return _digest(data) != written
    nb = nbformat.reads(data.decode(), as_version=4)
    return any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def build(notebooks: list[Path], out: Path, *, force: bool = False, init: bool = False) -> dict[str, int | str | None]:
    """Write the learner copies into `out`. Returns, per notebook, the number of solutions removed
    when it was written, None when it was kept because it holds the learner's work (refresh without
    force), "unchanged" when it was already up to date, or "exists" when --init found it there."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out)
    report: dict[str, int | str | None] = {}
    folders = {p.parent for p in notebooks}
    for folder in folders:  # images and data the notebooks use
        for extra in folder.iterdir():
            if extra.is_file() and extra.suffix != ".ipynb" and not extra.name.startswith("."):
                if not (init and (out / extra.name).exists()):
                    shutil.copy2(extra, out / extra.name)
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            learner, removed = learner_notebook(nb)
        except SolutionMarkerError as e:
            raise SolutionMarkerError(f"{path.name}: {e}") from None
        dest = out / path.name
        data = _render(learner)
        if dest.exists():
            if init:
                report[path.name] = "exists"
                continue
            recorded = manifest.get(path.name)
            if recorded is None and dest.read_bytes() == data:
                recorded = _digest(data)
            if not force and has_work(dest, recorded):
                report[path.name] = None
                continue
            if dest.read_bytes() == data:
                manifest[path.name] = _digest(data)
                report[path.name] = "unchanged"
                continue
        dest.write_bytes(data)
        manifest[path.name] = _digest(data)
        report[path.name] = removed
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return report


# --- the edition as a git branch, for a JupyterHub (nbgitpuller) ---------------------------------

def _git_in(*args: str, env: dict | None = None, input: bytes | None = None, repo: Path = REPO) -> str:
    run = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=env, input=input, check=False)
    if run.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {run.stderr.decode().strip()}")
    return run.stdout.decode().strip()


def publish_branch(branch: str, notebooks: list[Path], message: str | None = None, repo: Path = REPO) -> str:
    """Commit the learner's edition on `branch` (see the module docstring); returns the commit."""
    def _git(*args, **kw):
        return _git_in(*args, repo=repo, **kw)
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp) / "learner"
        build(notebooks, built, force=True)
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        _git("read-tree", "HEAD", env=env)
        tracked = _git("ls-files", "-z", "--", "notebooks", "learner", env=env).split("\0")
        doomed = [p for p in tracked if p]
        if doomed:
            _git("update-index", "--force-remove", "-z", "--stdin", env=env, input="\0".join(doomed).encode())
        for f in sorted(built.iterdir()):
            if f.name == MANIFEST:
                continue
            blob = _git("hash-object", "-w", "--", str(f))
            _git("update-index", "--add", "--cacheinfo", f"100644,{blob},learner/{f.name}", env=env)
        try:  # the edition's learner/ is tracked, so it must not be ignored there
            ignore = _git("show", "HEAD:.gitignore")
        except RuntimeError:
            ignore = None
        if ignore is not None:
            kept = "\n".join(ln for ln in ignore.splitlines() if ln.strip() not in ("learner/", "learner", "/learner/"))
            blob = _git("hash-object", "-w", "--stdin", input=(kept + "\n").encode())
            _git("update-index", "--add", "--cacheinfo", f"100644,{blob},.gitignore", env=env)
        tree = _git("write-tree", env=env)
    head = _git("rev-parse", "HEAD")
    try:
        parent = _git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    except RuntimeError:
        parent = ""
    if parent and _git("rev-parse", f"{parent}^{{tree}}") == tree:
        return parent  # nothing changed
    args = ["commit-tree", tree, "-m", message or f"Learner's edition of {head[:12]}"]
    if parent:
        args += ["-p", parent]
    env = dict(os.environ)
    try:
        _git("config", "user.email")
    except RuntimeError:  # no identity configured (a CI machine): name the tool
        env.update(GIT_AUTHOR_NAME="selfattn learner build", GIT_AUTHOR_EMAIL="learner-build@selfattn.invalid",
                   GIT_COMMITTER_NAME="selfattn learner build", GIT_COMMITTER_EMAIL="learner-build@selfattn.invalid")
    commit = _git(*args, env=env)
    _git("update-ref", f"refs/heads/{branch}", commit)
    return commit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--init", action="store_true", help="only add chapters missing from the edition (never overwrite)")
    mode.add_argument("--force", action="store_true", help="also replace chapters that have your work in them")
    mode.add_argument("--branch", help=f"commit the edition on this branch for a hub (e.g. {DEFAULT_BRANCH})")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        if args.init and args.out.is_dir():  # the published edition itself: nothing to build from
            return 0
        print("no notebooks to convert", file=sys.stderr)
        return 1
    try:
        if args.branch:
            commit = publish_branch(args.branch, notebooks)
            print(f"branch {args.branch} at {commit[:12]}: the learner's edition of this commit; "
                  f"publish it with: git push origin {args.branch}")
            return 0
        report = build(notebooks, args.out, force=args.force, init=args.init)
    except (SolutionMarkerError, RuntimeError) as e:
        print(f"learner build failed: {e}", file=sys.stderr)
        return 1
    out = args.out.resolve()
    where = str(out.relative_to(Path.cwd().resolve())) if out.is_relative_to(Path.cwd().resolve()) else str(out)
    written = [n for n, r in report.items() if isinstance(r, int)]
    kept = [n for n, r in report.items() if r is None]
    unchanged = [n for n, r in report.items() if r == "unchanged"]
    if args.init:
        if written:
            print(f"{where}/: the learner's edition, {len(written)} chapter(s) written "
                  f"(exercises blank; the answer key stays in notebooks/)")
        return 0
    for name in written:
        print(f"{where}/{name}: refreshed ({report[name]} exercise answer(s) left for you)")
    for name in kept:
        print(f"{where}/{name}: kept, it has your work in it (make learner FORCE=1 replaces it)")
    print(f"{where}/: {len(written)} chapter(s) refreshed, {len(unchanged)} already up to date, "
          f"{len(kept)} kept because you have worked in them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
