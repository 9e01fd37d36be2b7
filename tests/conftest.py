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


# How `make test` shares the work between its two pytest-xdist workers (`--dist loadgroup`).
# Every test file is one unit of work (its module fixtures are built once, a notebook's cells run
# in one kernel), except the files below whose tests each stand alone (one chapter per test):
# those are spread test by test. The slowest units are queued first so that the many small ones
# at the end even out the two workers.
SPREAD = ("tests/browser/test_lab_chapters.py", "tests/test_learner.py")
SLOW_FIRST = ("tests/browser/test_lab_chapters.py", "tests/hub/", "tests/test_learner.py", "notebooks/",
              "tests/browser/", "tests/test_static_book.py")


def _rank(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next((i for i, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if config.getoption("dist", "no") != "loadgroup":
        return
    items.sort(key=_rank)                                    # stable: files stay whole and in order
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path not in SPREAD:
            item.add_marker(pytest.mark.xdist_group(path))
