"""`make lab`: JupyterLab on the learner's edition, at its start page, with the URL printed first.

    python -m selfattn.tools.lab                 # learner/ (written once from notebooks/ if missing)
    python -m selfattn.tools.lab --answer-key    # notebooks/, the solved chapters (instructors)

What it does, in order: adds any chapter missing from learner/ (never overwrites one; see
selfattn.tools.learner), picks a free port from 8888 up and a token, prints the address it will
serve, then runs `jupyter lab` with the edition's folder as its root, so the file browser, and
JupyterLab's autosave, stay inside that folder. Run as root (a container, a cloud workspace) it
adds --allow-root, which JupyterLab otherwise demands and stops without. --ip (or $LAB_IP) picks
the address to listen on (default 127.0.0.1; 0.0.0.0 to reach it from outside a container).
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

from . import learner

REPO = learner.REPO
START = "00_start_here.ipynb"


def free_port(ip: str, first: int = 8888, tries: int = 50) -> int:
    for port in range(first, first + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((ip if ip not in ("", "*") else "0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}..{first + tries - 1}")


def command(folder: Path, *, port: int, token: str, ip: str, open_browser: bool = True) -> list[str]:
    """The jupyter lab command line for serving `folder` at its start page."""
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    cmd = [jupyter, "lab", START, f"--ServerApp.root_dir={folder}", f"--ServerApp.ip={ip}",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answer-key", action="store_true", help="open notebooks/ (solutions in) instead of learner/")
    parser.add_argument("--folder", type=Path, default=learner.DEFAULT_OUT, help="where the learner's edition lives")
    parser.add_argument("--ip", default=os.environ.get("LAB_IP", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    if args.answer_key:
        folder = REPO / "notebooks"
        print("Opening the answer key (notebooks/): every exercise is solved here, and what you change is "
              "saved into the book's own files.")
    else:
        folder = args.folder.resolve()
        chapters = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if chapters:
            report = learner.build(chapters, folder, init=True)
            added = [n for n, r in report.items() if isinstance(r, int)]
            if added:
                print(f"{folder.name}/: wrote {len(added)} chapter(s) of the learner's edition")
        print(f"Opening the learner's edition ({folder.name}/): exercises blank, your work saved there. "
              "`make learner` brings in updated chapters and keeps the ones you have worked in.")
    if not (folder / START).exists():
        print(f"{folder / START} is missing", file=sys.stderr)
        return 1
    port = args.port or free_port(args.ip)
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(16)
    host = "127.0.0.1" if args.ip in ("127.0.0.1", "localhost", "0.0.0.0", "", "*") else args.ip
    url = f"http://{host}:{port}/lab/tree/{START}?token={token}"
    cmd = command(folder, port=port, token=token, ip=args.ip, open_browser=not args.no_browser)
    print(f"\n    The book is served at: {url}\n    (open it in your browser; Ctrl-C here stops it)\n", flush=True)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    os.chdir(folder)
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
