"""The book needs no network: the whole suite, notebooks included, passes with networking off.

`make test` (and so CI) runs pytest through selfattn.tools.offline, inside a network namespace
with only a loopback interface. The first test proves the run really is offline; since every
notebook (nbval), browser test, static book build and learner run is part of the same run, a
green suite is the proof that all of them pass offline. CI sets SELFATTN_REQUIRE_OFFLINE=1, so
a run that could not switch the network off fails instead of passing unproven.

Run outside that wrapper (plain `pytest`), the second test runs nbval over the notebooks in
such a namespace itself, where one can be made.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from selfattn.tools import offline

REPO = Path(__file__).resolve().parents[1]
OFFLINE = os.environ.get("SELFATTN_OFFLINE") == "1"


def test_this_run_has_no_network():
    if not OFFLINE:
        if os.environ.get("SELFATTN_REQUIRE_OFFLINE") == "1":
            pytest.fail("SELFATTN_REQUIRE_OFFLINE=1 but the tests run with the network on: run them with `make test`")
        pytest.skip("the suite runs with the network on; `make test` runs it offline")
    interfaces = sorted(name for _index, name in socket.if_nameindex())
    assert interfaces == ["lo"], f"network interfaces besides loopback: {interfaces}"
    with pytest.raises(OSError):
        socket.getaddrinfo("pypi.org", 443)
    with socket.socket() as s:  # loopback works: kernels and local servers need it
        s.bind(("127.0.0.1", 0))


@pytest.mark.slow
def test_notebooks_pass_offline_when_run_outside_the_wrapper():
    if OFFLINE:
        pytest.skip("this whole run is offline: the notebooks' own nbval tests are the proof")
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        pytest.skip("no notebooks yet")
    if offline.namespace_prefix() is None:
        pytest.skip("cannot make a network namespace here (unshare -n / -rn and ip are needed)")
    cmd = [sys.executable, "-m", "selfattn.tools.offline", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           *[str(p.relative_to(REPO)) for p in notebooks]]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"notebooks fail offline:\n{proc.stdout[-5000:]}\n{proc.stderr[-2000:]}"


def test_wrapper_passes_exit_codes_through():
    env = dict(os.environ, SELFATTN_OFFLINE="1")  # run directly: no namespace needed for this check
    code = subprocess.call([sys.executable, "-m", "selfattn.tools.offline", sys.executable, "-c", "raise SystemExit(3)"],
                           env=env)
    assert code == 3
