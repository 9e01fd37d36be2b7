"""Binder and JupyterHub (nbgitpuller) links for every chapter, generated from one setting.

The only input is where the repository is published. It is taken, first found wins, from
`--repo URL`, the environment variable BINDER_REPO, or this clone's git remote "origin"; so a
published clone needs no setting at all. The branch comes from `--branch`, BINDER_BRANCH, or
"main"; the hub's branch from `--hub-branch`, else "learner-edition".

    python -m selfattn.tools.links                       # Binder link per chapter (Markdown table)
    python -m selfattn.tools.links --hub https://HUB     # plus an nbgitpuller link per chapter

Every link opens the learner's edition (learner/NN_x.ipynb: exercises blank), never the answer
key in notebooks/. Binder opens a chapter with `?urlpath=lab/tree/learner/NN_x.ipynb`
(repo2docker builds the environment from binder/, and binder/postBuild writes learner/).
nbgitpuller clones or updates the hub branch, which `python -m selfattn.tools.learner --branch
learner-edition` makes (learner/ tracked, notebooks/ left out), into the learner's home folder,
then opens the same path inside it; a learner's own edits survive every later click.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
REPO_SETTING = "BINDER_REPO"
BRANCH_SETTING = "BINDER_BRANCH"
HUB_BRANCH_SETTING = "HUB_BRANCH"
BINDER = "https://mybinder.org"
EDITION = "learner"                 # the folder the links open (selfattn.tools.learner writes it)
HUB_BRANCH = "learner-edition"      # the branch a hub pulls (selfattn.tools.learner --branch)


def repo_url(explicit: str | None = None) -> str | None:
    """The published repository's URL: --repo, $BINDER_REPO, or git remote origin (as https)."""
    url = explicit or os.environ.get(REPO_SETTING)
    if not url:
        try:
            url = subprocess.run(["git", "-C", str(REPO), "remote", "get-url", "origin"], capture_output=True,
                                 text=True, timeout=10).stdout.strip() or None
        except (OSError, subprocess.TimeoutExpired):
            url = None
    if not url:
        return None
    m = re.match(r"^git@([^:]+):(.+)$", url)  # scp-like ssh address -> https
    if m:
        url = f"https://{m.group(1)}/{m.group(2)}"
    url = url.removesuffix("/")
    return url.removesuffix(".git") if url.startswith(("http://", "https://")) else url  # a local path keeps its name


def _host_path(url: str) -> tuple[str, str]:
    m = re.match(r"^https?://([^/]+)/(.+)$", url)
    if not m:
        raise ValueError(f"not an http(s) repository URL: {url!r}")
    return m.group(1).lower(), m.group(2)


def binder_link(url: str, branch: str, path: str) -> str:
    """mybinder.org link that builds the repository and opens `path` in JupyterLab."""
    host, repo_path = _host_path(url)
    target = f"?urlpath={quote('lab/tree/' + path)}"
    if host == "github.com":
        return f"{BINDER}/v2/gh/{repo_path}/{quote(branch, safe='')}{target}"
    if host == "gitlab.com":
        return f"{BINDER}/v2/gl/{quote(repo_path, safe='')}/{quote(branch, safe='')}{target}"
    return f"{BINDER}/v2/git/{quote(url, safe='')}/{quote(branch, safe='')}{target}"


def folder_of(url: str) -> str:
    """The folder nbgitpuller clones `url` into: its last path part, without .git."""
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "book"


def nbgitpuller_link(hub: str, url: str, branch: str, path: str) -> str:
    """JupyterHub link that pulls the repository into the user's home and opens `path` in it."""
    folder = folder_of(url)
    return (f"{hub.rstrip('/')}/hub/user-redirect/git-pull?repo={quote(url, safe='')}"
            f"&branch={quote(branch, safe='')}&targetpath={quote(folder, safe='')}"
            f"&urlpath={quote(f'lab/tree/{folder}/{path}', safe='')}")


def chapters() -> list[str]:
    """The learner's-edition path of every chapter, start page first."""
    return [f"{EDITION}/{p.name}" for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def table(url: str, branch: str, hub: str | None, hub_branch: str = HUB_BRANCH) -> str:
    head = "| chapter | Binder |" + (" JupyterHub |" if hub else "")
    rule = "|---|---|" + ("---|" if hub else "")
    rows = [head, rule]
    for path in chapters():
        name = Path(path).stem
        try:
            binder = f"[launch]({binder_link(url, branch, path)})"
        except ValueError:  # a local or ssh-only repository: no Binder
            binder = "(not on the web)"
        row = f"| {name} | {binder} |"
        if hub:
            row += f" [open]({nbgitpuller_link(hub, url, hub_branch, path)}) |"
        rows.append(row)
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help=f"repository URL (default: ${REPO_SETTING}, else git remote origin)")
    parser.add_argument("--branch", default=os.environ.get(BRANCH_SETTING, "main"))
    parser.add_argument("--hub", help="JupyterHub base URL, for nbgitpuller links")
    parser.add_argument("--hub-branch", default=os.environ.get(HUB_BRANCH_SETTING, HUB_BRANCH),
                        help="the branch the hub pulls (made by python -m selfattn.tools.learner --branch)")
    args = parser.parse_args(argv)
    url = repo_url(args.repo)
    if url is None:
        print(f"no repository URL: pass --repo, set {REPO_SETTING}, or add a git remote named origin", file=sys.stderr)
        return 2
    print(table(url, args.branch, args.hub, args.hub_branch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
