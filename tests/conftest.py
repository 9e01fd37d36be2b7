import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
# Under pytest-xdist (`make test` runs two workers on CI's two cores) each worker gets one thread,
# so the two never fight over a core; a plain run may use two.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads()))


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)


# How `make test` shares the work between its two pytest-xdist workers (`-n 2 --dist loadfile`).
# Every test file stays one unit of work, as loadfile does (its module fixtures are built once, a
# notebook's cells run in one kernel), except the files in SPREAD, whose tests each stand alone (one
# chapter per test) and are handed out one at a time. The slowest units are queued first, so that
# the many small ones at the end even out the two workers.
SPREAD = ("tests/browser/test_lab_chapters.py", "tests/test_learner.py")
SLOW_FIRST = ("tests/browser/test_lab_chapters.py", "tests/hub/", "tests/test_learner.py", "notebooks/",
              "tests/browser/", "tests/test_static_book.py")


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _rank(item) -> int:
    path = _file(item.nodeid)
    return next((i for i, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST))


def _distributed(config) -> bool:
    # on an xdist worker `dist` reads "no"; the controller passes `-n` down as numprocesses
    return bool(getattr(config.option, "numprocesses", None) or getattr(config, "workerinput", None))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if _distributed(config):
        items.sort(key=_rank)                                # stable: each file stays whole and in order


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FilesWithSpreadChapters(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = _file(nodeid)
            return nodeid if path in SPREAD else path

    config.option.loadscopereorder = False                   # keep the slowest-first order above
    return FilesWithSpreadChapters(config, log)
