"""Drive the book in a real browser: a private JupyterLab server and headless Chromium.

Shared by the browser tests (tests/browser/) and the widget latency benchmark
(benchmarks/widget_latency.py). Nothing here is needed to read the book; it needs Python
Playwright (in requirements.txt) and Debian's `chromium` (`apt-get install chromium`;
Playwright's own browser download is not used).

    with LabServer(root_dir) as lab, browser_session() as browser:
        nb = LabNotebook(browser.new_page(), lab, "notebooks/03_x.ipynb")
        nb.open(); nb.run_all()
        assert not nb.errors()

The server gets fresh config, data, runtime, settings and workspace folders, listens on
127.0.0.1 only, has no token, never autosaves, and never fetches news or update checks.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[2]

# Flags that let Debian's chromium run headless as root in a container without a GPU, and that
# stop it from phoning home (background networking, component updates, sync).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
ENABLE_HINT = ("install Debian's chromium to run them: `apt-get update && apt-get install -y chromium` "
               "(or point SELFATTN_CHROMIUM at a Chromium binary)")

# JupyterLab settings for a quiet, deterministic session: no news pop-up, no update check, no
# extension manager (it queries PyPI), no autosave (the tests must never write the notebooks).
LAB_OVERRIDES: dict[str, Any] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BAD_WIDGET_TEXT = ("Loading widget...", "Error displaying widget", "Error rendering widget", "Failed to load model class")


def chromium_path() -> str | None:
    """The Chromium binary to drive: $SELFATTN_CHROMIUM, else `chromium` or `chromium-browser` on PATH."""
    env = os.environ.get("SELFATTN_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_required() -> bool:
    """CI sets SELFATTN_REQUIRE_BROWSER=1: a missing browser is then a failure, not a skip."""
    return os.environ.get("SELFATTN_REQUIRE_BROWSER", "") not in ("", "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def wait_until_serving(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Poll url until it answers 200 (True), the server process exits, or timeout seconds pass (False).

    Shared by the JupyterLab server here and the JupyterHub of tests/hub/hub.py.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False

class LabServer:
    """A private JupyterLab on 127.0.0.1 serving `root_dir`, for one test session or benchmark."""

    def __init__(self, root_dir: Path | str, *, python: str = sys.executable, startup_timeout: float = 90):
        self.root_dir = Path(root_dir).resolve()
        self.python = python
        self.startup_timeout = startup_timeout
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LabServer":
        self._tmp = tempfile.TemporaryDirectory(prefix="selfattn-lab-")
        base = Path(self._tmp.name)
        dirs = {name: base / name for name in ("config", "data", "runtime", "app-settings", "user-settings", "workspaces")}
        for d in dirs.values():
            d.mkdir()
        (dirs["app-settings"] / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2))
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
                   JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["user-settings"]),
                   JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), JUPYTER_PLATFORM_DIRS="1",
                   PYDEVD_DISABLE_FILE_VALIDATION="1")
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_CONFIG_PATH", None)
        self.log_path = base / "lab.log"
        for _attempt in range(3):
            self.port = free_port()
            cmd = [self.python, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                   f"--ServerApp.root_dir={self.root_dir}", "--LabApp.expose_app_in_browser=True",
                   f"--LabApp.app_settings_dir={dirs['app-settings']}",
                   f"--LabApp.user_settings_dir={dirs['user-settings']}",
                   f"--LabApp.workspaces_dir={dirs['workspaces']}",
                   "--ServerApp.terminals_enabled=False"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            self._stop_proc()
        self.__exit__(None, None, None)
        raise RuntimeError(f"JupyterLab did not start; its log:\n{self.log_text()[-4000:]}")

    def _wait_ready(self) -> bool:
        return wait_until_serving(f"{self.url}/api/status", self.proc, self.startup_timeout)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _stop_proc(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __exit__(self, *exc) -> None:
        self._stop_proc()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


@contextlib.contextmanager
def browser_session() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright (sync API). Raises RuntimeError if none is installed."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("no chromium found: " + ENABLE_HINT)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --- JavaScript run inside JupyterLab (window.jupyterapp is exposed by expose_app_in_browser) ---

_JS_PANEL = """
const app = window.jupyterapp;
const panel = app && app.shell.currentWidget;
"""

JS_NOTEBOOK_READY = "() => {" + _JS_PANEL + """
  if (!panel || !panel.content || !panel.context || !panel.context.isReady) return false;
  const s = panel.sessionContext && panel.sessionContext.session;
  const k = s && s.kernel;
  return !!(k && k.connectionStatus === 'connected' && k.status === 'idle');
}"""

JS_CELLS = "() => {" + _JS_PANEL + """
  return panel.content.widgets.map((cell, i) => {
    cell.node.dataset.saIndex = String(i);
    const m = cell.model;
    const outs = m.type === 'code' ? m.outputs.toJSON() : [];
    return {
      index: i, type: m.type,
      count: m.type === 'code' ? m.executionCount : null,
      tags: (m.getMetadata && m.getMetadata('tags')) || [],
      source: m.sharedModel.getSource(),
      errors: outs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
      widgets: outs.filter(o => o.data && o.data['%s']).map(o => o.data['%s'].model_id),
      n_outputs: outs.length,
      text: outs.map(o => [].concat(o.text || (o.data && o.data['text/plain']) || '').join('')).join(''),
      images: outs.filter(o => o.data && o.data['image/png']).length,
    };
  });
}""" % (WIDGET_VIEW, WIDGET_VIEW)

JS_RUN_ALL = "async () => {" + _JS_PANEL + """
  await app.commands.execute('notebook:run-all-cells');
  return true;
}"""

JS_KERNEL_IDLE = "() => {" + _JS_PANEL + """
  const k = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

JS_SCROLL_TO = "async (i) => {" + _JS_PANEL + """
  const cell = panel.content.widgets[i];
  if (panel.content.scrollToCell) { await panel.content.scrollToCell(cell, 'start'); }
  cell.node.scrollIntoView({block: 'start'});
  cell.node.dataset.saIndex = String(i);
  return true;
}"""

# Run Python in the notebook's kernel (not as a cell: nothing shows in the notebook) and return
# what it printed to stdout. Used to read a widget's Python state next to what the page shows.
JS_KERNEL_EXEC = "async (code) => {" + _JS_PANEL + """
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false, stop_on_error: false});
  let text = '', err = null;
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream' && msg.content.name === 'stdout') text += msg.content.text;
    if (t === 'error') err = msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  if (err) throw new Error(err);
  return text;
}"""

# Every widget output of a cell, rendered or not: the tests need none still loading or failed.
JS_WIDGET_PROBLEMS = """(root) => {
  const bad = %s;
  const problems = [];
  const outs = root.querySelectorAll('.jp-OutputArea-output');
  for (const o of outs) {
    const t = o.innerText || '';
    for (const b of bad) if (t.includes(b)) problems.push(b + ' :: ' + t.slice(0, 200));
  }
  return problems;
}""" % json.dumps(list(BAD_WIDGET_TEXT))

JS_WIDGET_VIEWS = """(root) => root.querySelectorAll('.jp-OutputArea-output .jupyter-widgets, .jp-OutputArea-output .widget-box, .jp-OutputArea-output .selfattn-heatmap').length"""

# Where the cells of a selfattn Heatmap canvas are: from the data-left/top/cell attributes that
# heatmap.js publishes, or else found from its pixels: cells are filled
# squares of (cell - 1) px separated by 1-px transparent gaps, so the gap spacing along the last
# row and column gives the cell size and the grid's left/top edges, whatever the labels' widths.
JS_HEATMAP_GEOMETRY = """(root) => {
  const canvas = root.querySelector('canvas');
  const vals = JSON.parse(root.dataset.values || '[]');
  const n_q = vals.length, n_k = n_q ? vals[0].length : 0;
  if (!canvas || !n_q || !n_k) return null;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const W = canvas.width, H = canvas.height;
  const gaps = (line) => {  // indices (from the far edge inward) of transparent pixels between filled runs
    const out = [];
    for (let x = line.length - 5; x >= 0; x--) { if (line[x] === 0 && line[x + 1] > 0) out.push(x); }
    return out;
  };
  const rowAlpha = (y) => { const d = ctx.getImageData(0, y, W, 1).data; const a = []; for (let x = 0; x < W; x++) a.push(d[4 * x + 3]); return a; };
  const colAlpha = (x) => { const d = ctx.getImageData(x, 0, 1, H).data; const a = []; for (let y = 0; y < H; y++) a.push(d[4 * y + 3]); return a; };
  // Label widths are fractional, so the grid's left/top edge lies in [W - 4 - n_k*cell, +1): the
  // 1-px gaps are partly covered (antialiased) while the middle of every cell is opaque. The red
  // outline of a selected row covers two gaps of a column, so two misses per line are forgiven.
  const isGap = (a, g) => Math.min(a[g], a[g + 1] === undefined ? 0 : a[g + 1]) < 200;
  const lineFits = (a, start, n, cell) => {
    let hits = 0;
    for (let j = 0; j < n; j++) {
      if (a[start + j * cell + Math.floor(cell / 2)] !== 255) return false;
      if (isGap(a, start + j * cell + cell - 1)) hits++;
    }
    return hits >= (n >= 4 ? n - 2 : (n === 3 ? 2 : n));
  };
  let geo = null;
  if (root.dataset.cell) {  // heatmap.js publishes its layout; the pixel scan below is the fallback
    geo = {left: Number(root.dataset.left), top: Number(root.dataset.top), cell: Number(root.dataset.cell)};
  }
  for (let cell = 4; cell <= 200 && !geo; cell++) {
    const left = W - 4 - n_k * cell, top = H - 4 - n_q * cell;
    if (left < 0 || top < 0) break;
    const rowsOk = [0, n_q - 1].some(i => lineFits(rowAlpha(Math.floor(top + i * cell + cell / 2)), left, n_k, cell));
    const colsOk = [0, n_k - 1].some(j => lineFits(colAlpha(Math.floor(left + j * cell + cell / 2)), top, n_q, cell));
    if (rowsOk && colsOk) geo = {left: left + 0.5, top: top + 0.5, cell};
  }
  if (!geo) return null;
  const r = canvas.getBoundingClientRect();
  return {...geo, n_q, n_k, width: W, height: H, sx: r.width / W, sy: r.height / H, x0: r.left, y0: r.top};
}"""

JS_HEATMAP_STATE = """(root) => ({
  values: JSON.parse(root.dataset.values || '[]'),
  blocked: JSON.parse(root.dataset.blocked || '[]'),
  readout: (root.querySelector('.sa-readout') || {}).textContent || '',
  title: (root.querySelector('.sa-title') || {}).textContent || '',
})"""


class LabNotebook:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page, server: LabServer, rel_path: str):
        self.page = page
        self.server = server
        self.rel_path = rel_path
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))

    def open(self, timeout: float = 120) -> None:
        self.page.goto(f"{self.server.url}/lab/tree/{self.rel_path}?reset", wait_until="domcontentloaded")
        self.page.wait_for_function(JS_NOTEBOOK_READY, timeout=timeout * 1000, polling=250)

    def cells(self) -> list[dict]:
        return self.page.evaluate(JS_CELLS)

    def run_all(self, timeout: float = 240) -> float:
        """Run every cell (as Run > Run All Cells) and wait until the kernel is idle; returns seconds."""
        start = time.monotonic()
        self.page.evaluate(JS_RUN_ALL)
        deadline = start + timeout
        idle_since = None
        while time.monotonic() < deadline:
            if self.page.evaluate(JS_KERNEL_IDLE):
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 0.5:
                    return time.monotonic() - start
            else:
                idle_since = None
            time.sleep(0.1)
        raise TimeoutError(f"{self.rel_path}: kernel still busy after {timeout} s")

    def errors(self) -> list[str]:
        """Error outputs (tracebacks), and code cells that never ran, as 'cell N: ...' lines."""
        problems = []
        for c in self.cells():
            if c["type"] != "code":
                continue
            problems += [f"cell {c['index']}: {e}" for e in c["errors"]]
            if c["count"] is None and c["source"].strip():
                problems.append(f"cell {c['index']}: did not run")
        return problems

    def cell(self, index: int):
        """A Playwright locator for cell `index`, scrolled into view (long notebooks render lazily)."""
        self.page.evaluate(JS_SCROLL_TO, index)
        loc = self.page.locator(f'[data-sa-index="{index}"]')
        loc.scroll_into_view_if_needed()
        return loc

    def widget_problems(self, timeout: float = 20) -> list[str]:
        """Scroll to every cell with a widget output; wait until each rendered; list what did not."""
        problems = []
        for c in self.cells():
            if not c["widgets"]:
                continue
            loc = self.cell(c["index"])
            deadline = time.monotonic() + timeout
            while True:
                bad = loc.evaluate(JS_WIDGET_PROBLEMS)
                views = loc.evaluate(JS_WIDGET_VIEWS)
                if not bad and views >= len(c["widgets"]):
                    break
                if time.monotonic() > deadline:
                    detail = "; ".join(bad) if bad else f"{views} widget views rendered for {len(c['widgets'])} widget outputs"
                    problems.append(f"cell {c['index']}: {detail}")
                    break
                time.sleep(0.2)
        return problems

    def kernel_exec(self, code: str) -> str:
        """Run Python in this notebook's kernel, invisibly; return its stdout."""
        return self.page.evaluate(JS_KERNEL_EXEC, code)

    def kernel_json(self, code: str) -> Any:
        """Run Python that prints one JSON document; return it parsed."""
        return json.loads(self.kernel_exec(code).strip().splitlines()[-1])

    def shutdown(self) -> None:
        """Shut this notebook's kernel down (quietly: after a failure the page may be gone)."""
        try:
            self.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        except Exception:
            pass

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("() => { const p = window.jupyterapp.shell.currentWidget; p.content.node.scrollTop = 0; }")
        self.page.screenshot(path=str(path), full_page=False)


@contextlib.contextmanager
def scratch_notebook(page, server: LabServer, folder: str, name: str, sources: list[str]) -> Iterator[LabNotebook]:
    """A throwaway notebook of code cells `sources`, written as folder/name under the server's root,
    opened and run (no cell may fail); afterwards its kernel is shut down and the file removed."""
    import nbformat
    path = server.root_dir / folder / name
    book = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})
    book.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(book, path)
    nb = LabNotebook(page, server, f"{folder}/{name}")
    try:
        nb.open()
        nb.run_all()
        assert not nb.errors(), nb.errors()
        yield nb
    finally:
        nb.shutdown()
        path.unlink(missing_ok=True)


# --- Python run in the kernel to read widget state -------------------------------------------

PY_WIDGET_TREE = r'''
import json as _json
from ipywidgets.widgets.widget import _instances as _sa_inst
def _sa_walk(w):
    d = {"id": w.model_id, "cls": type(w).__module__ + "." + type(w).__name__}
    for k in ("value", "min", "max", "step", "base", "options", "index", "description", "readout_format", "disabled"):
        if hasattr(w, k):
            v = getattr(w, k)
            try:
                _json.dumps(v); d[k] = v
            except TypeError:
                d[k] = repr(v)
    if hasattr(w, "values") and hasattr(w, "blocked"):
        d["values"] = w.values; d["blocked"] = w.blocked; d["signed"] = bool(getattr(w, "signed", False))
        d["clickable"] = len(getattr(w, "_click_handlers", []))
        d["selected"] = list(getattr(w, "selected", [-1, -1]))
    kids = getattr(w, "children", None)
    if kids:
        d["children"] = [_sa_walk(c) for c in kids]
    return d
print(_json.dumps([_sa_walk(_sa_inst[m]) if m in _sa_inst else None for m in %s]))
'''


def widget_trees(nb: LabNotebook, model_ids: list[str]) -> list[dict | None]:
    """The Python side of the widgets with these model ids, children included (for assertions)."""
    return nb.kernel_json(PY_WIDGET_TREE % json.dumps(model_ids))


def walk(tree: dict | None) -> Iterator[dict]:
    if not tree:
        return
    yield tree
    for child in tree.get("children", []):
        yield from walk(child)


# --- operating widgets as a reader does ---------------------------------------------------------

# Controls in a cell's outputs, in page order, each tagged data-sa-control="kind:k" for locators.
JS_CONTROLS = """(root) => {
  const area = root.querySelector('.jp-Cell-outputWrapper') || root;
  const found = [];
  const kinds = [
    ['slider', '.widget-slider'],
    ['heatmap', '.selfattn-heatmap'],
    ['dropdown', '.widget-dropdown'],
    ['toggle_buttons', '.widget-toggle-buttons'],
  ];
  for (const [kind, sel] of kinds) {
    area.querySelectorAll(sel).forEach((el, k) => { el.dataset.saControl = kind + ':' + k; found.push({kind, k}); });
  }
  return found;
}"""

# A digest of everything a cell's outputs show (text, heatmap data, images, canvas pixels).
JS_SNAPSHOT = """(root) => {
  const area = root.querySelector('.jp-Cell-outputWrapper') || root;
  const h = (s) => { let x = 2166136261; for (let i = 0; i < s.length; i++) { x ^= s.charCodeAt(i); x = Math.imul(x, 16777619); } return (x >>> 0).toString(16); };
  const parts = {text: area.innerText, heatmaps: [], images: [], canvases: []};
  area.querySelectorAll('.selfattn-heatmap').forEach(e => parts.heatmaps.push((e.dataset.values || '') + '|' + (e.dataset.blocked || '')));
  area.querySelectorAll('img').forEach(e => parts.images.push(h(e.src)));
  area.querySelectorAll('canvas').forEach(e => { try { parts.canvases.push(h(e.toDataURL())); } catch (err) { parts.canvases.push('tainted'); } });
  return parts;
}"""

SLIDER_CLASSES = ("IntSlider", "FloatSlider", "FloatLogSlider", "SelectionSlider")  # one handle each


def widgets_of(trees: list[dict | None], kind: str) -> list[dict]:
    """Python widgets (from widget_trees) that render as a control of `kind`, in page order."""
    def is_kind(node: dict) -> bool:
        name = node["cls"].rsplit(".", 1)[-1]
        if kind == "slider":
            return name in SLIDER_CLASSES
        if kind == "heatmap":
            return "values" in node and "blocked" in node
        if kind == "dropdown":
            return name == "Dropdown"
        if kind == "toggle_buttons":
            return name == "ToggleButtons"
        return False
    return [node for tree in trees for node in walk(tree) if is_kind(node)]


def heatmap_click_point(heatmap_locator, row: int, col: int) -> tuple[float, float]:
    """Page coordinates of the centre of cell (row, col) of a selfattn Heatmap canvas."""
    heatmap_locator.scroll_into_view_if_needed()
    geo = heatmap_locator.evaluate(JS_HEATMAP_GEOMETRY)
    if geo is None:
        raise AssertionError("could not locate the heatmap's cells on its canvas")
    x = geo["x0"] + (geo["left"] + col * geo["cell"] + geo["cell"] / 2) * geo["sx"]
    y = geo["y0"] + (geo["top"] + row * geo["cell"] + geo["cell"] / 2) * geo["sy"]
    return x, y


def expected_slider_value(node: dict, direction: int):
    """The value a slider takes after one arrow-key step in `direction` (+1 right, -1 left)."""
    name = node["cls"].rsplit(".", 1)[-1]
    if name == "SelectionSlider":
        return node["options"][node["index"] + direction]
    if name == "FloatLogSlider":
        import math
        base = float(node.get("base", 10.0))
        return base ** (math.log(node["value"], base) + direction * node["step"])
    value = node["value"] + direction * node["step"]
    return round(value, 10) if isinstance(value, float) else value


def slider_direction(node: dict) -> int:
    """+1 if one more step right stays in range, else -1."""
    name = node["cls"].rsplit(".", 1)[-1]
    if name == "SelectionSlider":
        return 1 if node["index"] + 1 < len(node["options"]) else -1
    if name == "FloatLogSlider":
        import math
        return 1 if math.log(node["value"], float(node.get("base", 10.0))) + node["step"] <= node["max"] + 1e-9 else -1
    return 1 if node["value"] + node["step"] <= node["max"] + 1e-9 else -1


def close_enough(a, b, tol: float = 1e-6) -> bool:
    """Nested lists / numbers / strings equal up to `tol` (None matches None)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close_enough(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
    return a == b


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; return it or raise AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def chromium_or_skip() -> str:
    """For tests: the chromium path, or skip (fail when SELFATTN_REQUIRE_BROWSER is set)."""
    import pytest

    path = chromium_path()
    if path is None:
        message = "browser tests need chromium: " + ENABLE_HINT
        if browser_required():
            pytest.fail(message + " (SELFATTN_REQUIRE_BROWSER is set, so this is a failure, not a skip)")
        pytest.skip(message)
    return path
