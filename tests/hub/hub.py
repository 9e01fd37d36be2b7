"""A real JupyterHub on 127.0.0.1 for the workshop test (tests/hub/test_workshop.py).

The hub is the `jupyterhub` package with JupyterHub's own proxy, `configurable-http-proxy` from
npm (installed by the project's setup: `npm ci --prefix node`, see node/package.json), the dummy
authenticator (any password) with a fixed list of learners, and SimpleLocalProcessSpawner: each
learner's single-user JupyterLab runs as a local process in its own home folder under a temporary
directory, with that folder as its root. Everything (database, cookie secret, proxy, homes) lives
in that temporary directory and is gone when the context exits.

    with Hub(tmp_path, users=("ada", "grace")) as hub:
        hub.url             # http://127.0.0.1:PORT
        hub.home("ada")     # that learner's home folder
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from browser.jlab import wait_until_serving  # tests/ is on sys.path (tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]
PROXY_NAME = "configurable-http-proxy"
SETUP_HINT = ("install Node.js 20+ and npm, then `npm ci --prefix node` (make setup does it; node/package.json "
              "pins configurable-http-proxy)")


def proxy_command() -> str | None:
    """configurable-http-proxy as installed by node/package.json, else one on PATH."""
    local = REPO / "node" / "node_modules" / ".bin" / PROXY_NAME
    if local.exists() and shutil.which("node"):
        return str(local)
    return shutil.which(PROXY_NAME)


def node_major() -> int | None:
    try:
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=20).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def missing() -> str | None:
    """Why the hub cannot start here, or None."""
    if not shutil.which("node"):
        return "node is not installed: " + SETUP_HINT
    major = node_major()
    if major is not None and major < 20:
        return f"node {major} is too old for configurable-http-proxy 5 (it needs node 20+): " + SETUP_HINT
    if proxy_command() is None:
        return f"{PROXY_NAME} is not installed: " + SETUP_HINT
    return None


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


CONFIG = """\
import os
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{base}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{base}/jupyterhub_cookie_secret"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = "{base}/proxy.pid"
c.ConfigurableHTTPProxy.debug = False

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = False
c.Authenticator.allowed_users = set({users!r})

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{base}/homes/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.default_url = "/lab"
c.Spawner.args = {args!r}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {{"JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                          "OMP_NUM_THREADS": "1", "GIT_TERMINAL_PROMPT": "0"}}
"""


class Hub:
    """A JupyterHub for one test: started on enter, stopped (with every learner's server) on exit."""

    def __init__(self, base: Path, users=("ada", "grace"), startup_timeout: float = 60):
        self.base = Path(base).resolve()
        self.users = tuple(users)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def home(self, user: str) -> Path:
        return self.base / "homes" / user

    def __enter__(self) -> "Hub":
        proxy = proxy_command()
        if proxy is None:
            raise RuntimeError(missing())
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "homes").mkdir(exist_ok=True)
        settings = self.base / "lab-settings"
        settings.mkdir(exist_ok=True)
        (settings / "overrides.json").write_text(json.dumps({
            "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
            "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
        }))
        args = ["--LabApp.expose_app_in_browser=True", f"--LabApp.app_settings_dir={settings}",
                "--ServerApp.terminals_enabled=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        singleuser = str(Path(sys.executable).parent / "jupyterhub-singleuser")
        self.port, hub_port, proxy_api_port = _free_ports(3)
        config = self.base / "jupyterhub_config.py"
        config.write_text(CONFIG.format(port=self.port, hub_port=hub_port, proxy_api_port=proxy_api_port,
                                        base=self.base, proxy=proxy, users=self.users, singleuser=singleuser,
                                        args=args))
        self.log_path = self.base / "hub.log"
        log = open(self.log_path, "ab")
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.base,
                                     env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if wait_until_serving(f"{self.url}/hub/api/", self.proc, self.startup_timeout):
            return self
        log_text = self.log_text()
        self.__exit__(None, None, None)
        raise RuntimeError(f"JupyterHub did not start; its log:\n{log_text[-4000:]}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()  # the hub stops the learners' servers and its proxy (cleanup_*)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.proc = None
