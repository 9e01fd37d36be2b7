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
