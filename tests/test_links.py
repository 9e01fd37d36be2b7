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


def test_every_link_opens_the_learners_edition_and_the_hub_pulls_its_branch():
    table = links.table("https://github.com/someone/selfattn", "main", "https://hub.example.org")
    rows = [r for r in table.splitlines()[2:]]
    assert rows and all("lab/tree/learner/" in r for r in rows)
    hub = [urlparse(u) for u in __import__("re").findall(r"\((https://hub\.example\.org[^)]+)\)", table)]
    assert len(hub) == len(rows)
    for parsed in hub:
        q = parse_qs(parsed.query)
        assert q["branch"] == [links.HUB_BRANCH] and q["targetpath"] == ["selfattn"]
        assert unquote(q["urlpath"][0]).startswith("lab/tree/selfattn/learner/")
    assert "notebooks/" not in table, "no link may open the answer key"


def test_a_local_course_repository_keeps_its_path_and_clones_into_a_named_folder():
    assert links.repo_url("file:///tmp/course.git") == "file:///tmp/course.git"
    assert links.folder_of("file:///tmp/course.git") == "course"
    table = links.table("file:///tmp/course.git", "main", "http://127.0.0.1:8000")
    assert "(not on the web)" in table and "targetpath=course&" in table
