"""Run a command with networking switched off: `python -m selfattn.tools.offline CMD ARGS...`.

`make test` runs the whole test suite through this, so every run proves that the book (unit
tests, every notebook, the browser tests, the static book, the learner build) needs no network.
The command runs in a new network namespace (`unshare -n` as root, `unshare -rn` otherwise)
that has only a loopback interface, brought up so that Jupyter kernels and the local JupyterLab
and web servers still work; nothing else is reachable. It sets SELFATTN_OFFLINE=1 for the
command (tests/test_offline.py checks it really is offline).

Where no network namespace can be made (no unshare, no user namespaces, no `ip`), the command
runs with the network on after a warning, or fails if SELFATTN_REQUIRE_OFFLINE=1 (as in CI).
SELFATTN_ALLOW_NETWORK=1 skips the namespace on purpose.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

LO_UP = 'ip link set lo up && exec "$@"'


def namespace_prefix() -> list[str] | None:
    """The unshare invocation that works here, or None."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if not unshare or not ip:
        return None
    candidates = [[unshare, "-n"]] if os.geteuid() == 0 else []
    candidates.append([unshare, "-rn"])
    for prefix in candidates:
        try:
            ok = subprocess.run([*prefix, "sh", "-c", LO_UP, "sh", "true"], capture_output=True, timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return prefix
    return None


def main(argv=None) -> int:
    command = list(sys.argv[1:] if argv is None else argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("SELFATTN_OFFLINE") == "1" or os.environ.get("SELFATTN_ALLOW_NETWORK") == "1":
        return subprocess.call(command)
    prefix = namespace_prefix()
    if prefix is None:
        message = ("cannot switch networking off here (needs `unshare` with network namespaces and `ip` from "
                   "iproute2)")
        if os.environ.get("SELFATTN_REQUIRE_OFFLINE") == "1":
            print(f"selfattn.tools.offline: {message}; SELFATTN_REQUIRE_OFFLINE=1, so this is an error", file=sys.stderr)
            return 1
        print(f"selfattn.tools.offline: {message}; running with the network on", file=sys.stderr)
        return subprocess.call(command)
    print(f"selfattn.tools.offline: networking off ({' '.join(os.path.basename(p) for p in prefix)}; loopback only)",
          file=sys.stderr, flush=True)
    env = dict(os.environ, SELFATTN_OFFLINE="1")
    return subprocess.call([*prefix, "sh", "-c", LO_UP, "sh", *command], env=env)


if __name__ == "__main__":
    sys.exit(main())
