"""Binder and nbgitpuller links (selfattn.tools.links): one setting, the right URL patterns."""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlparse

from selfattn.tools import links


def test_github_binder_link_opens_the_chapter_in_lab():
    url = links.binder_link("https://github.com/someone/selfattn", "main", "notebooks/03_x.ipynb")
    assert url == "https://mybinder.org/v2/gh/someone/selfattn/main?urlpath=lab/tree/notebooks/03_x.ipynb"


def test_other_hosts_use_the_git_form():
    url = links.binder_link("https://git.example.org/a/b", "dev", "notebooks/00_x.ipynb")
    assert url.startswith("https://mybinder.org/v2/git/https%3A%2F%2Fgit.example.org%2Fa%2Fb/dev?urlpath=")


def test_nbgitpuller_link_pulls_the_repo_and_opens_the_chapter_inside_it():
    link = links.nbgitpuller_link("https://hub.example.org/", "https://github.com/someone/selfattn", "main",
                                  "notebooks/05_masks.ipynb")
    parsed = urlparse(link)
    assert parsed.path == "/hub/user-redirect/git-pull"
    q = parse_qs(parsed.query)
    assert q["repo"] == ["https://github.com/someone/selfattn"]
    assert q["branch"] == ["main"]
    assert unquote(q["urlpath"][0]) == "lab/tree/selfattn/notebooks/05_masks.ipynb"


def test_repo_setting_wins_and_ssh_remotes_become_https(monkeypatch):
    monkeypatch.setenv(links.REPO_SETTING, "git@github.com:someone/selfattn.git")
    assert links.repo_url() == "https://github.com/someone/selfattn"
    assert links.repo_url("https://github.com/other/book/") == "https://github.com/other/book"
