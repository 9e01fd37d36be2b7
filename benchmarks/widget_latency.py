"""Input-to-pixels latency of every live widget, in JupyterLab in headless Chromium.

For each widget class in selfattn.widgets with `demo()` (built at its largest allowed size) and
`step(i)`, the demo is displayed in a notebook in a private JupyterLab, and each kind of control
it has is operated as a reader would: an arrow key on a slider, a click on a clickable Heatmap
cell, a new choice in a dropdown or toggle buttons. One step's latency is the time from the
input event (keydown / mousedown / input, taken in the page) to the first frame painted after
the widget's output changed: a MutationObserver and hooks on canvas drawing see the change, new
images are decoded, then a requestAnimationFrame callback plus a zero timeout mark the end of
the frame that shows it. The control's own immediate feedback (the slider handle, the dropdown)
is ignored: only what Python computes and sends back counts. A screenshot diff of the widget
before and after confirms, for the first steps, that pixels really changed.

Median over 20 steps (after 3 warm-up steps). Targets (issue 5): 100 ms for widgets that show an
attention heatmap or mask, 200 ms for any widget. A reference row shows the usual alternative:
a slider that redraws a matplotlib figure in an Output widget.

    python benchmarks/widget_latency.py [--steps 20] [--only MaskEditor ...]

Writes benchmarks/results/widget_latency.json and .md. Needs chromium (apt-get install chromium).
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import io
import json
import pkgutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the browser helpers: tests/browser/jlab.py
sys.path.insert(0, str(REPO / "benchmarks"))

import machine  # noqa: E402

import selfattn.widgets as widgets_pkg  # noqa: E402
from browser import jlab  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
HEATMAP_TARGET_MS = 100.0
ANY_TARGET_MS = 200.0
WARMUP = 3
STEP_TIMEOUT_S = 3.0
KINDS = ("heatmap", "slider", "dropdown", "toggle_buttons")

REFERENCE_CODE = '''import ipywidgets as W, matplotlib.pyplot as plt, numpy as np
from selfattn import book
from selfattn.viz.heatmap import attention_heatmap
book.setup()
_rng = np.random.default_rng(0)
_scores = _rng.normal(size=(12, 12))
_slider = W.FloatSlider(value=1.0, min=0.25, max=4.0, step=0.25, description="temperature")
_out = W.Output()
def _draw(change=None):
    w = np.exp(_scores / _slider.value); w /= w.sum(axis=1, keepdims=True)
    with _out:
        _out.clear_output(wait=True)
        fig = attention_heatmap(w)
        plt.show(fig)
_slider.observe(_draw, "value")
_draw()
reference = W.VBox([_slider, _out])
reference'''

# Installed once per page; window.__saLat holds the state of the step being measured.
JS_PROBE_INSTALL = """() => {
  if (window.__saLatInstalled) return;
  window.__saLatInstalled = true;
  const st = window.__saLat = {armed: false, t0: null, tChange: null, tPaint: null, root: null, ignore: '', lastMutation: 0};
  const ignored = (node) => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    return !!(el && st.ignore && el.closest(st.ignore));
  };
  const changed = () => {
    if (!st.armed || st.t0 === null || st.tChange !== null) return;
    st.tChange = performance.now();
    const imgs = [...st.root.querySelectorAll('img')].filter(i => !i.complete || !i.naturalWidth);
    Promise.all(imgs.map(i => i.decode().catch(() => null))).then(() =>
      requestAnimationFrame(() => setTimeout(() => { st.tPaint = performance.now(); }, 0)));
  };
  st.observer = new MutationObserver((muts) => {
    for (const m of muts) {
      if (ignored(m.target)) continue;
      if (m.type === 'attributes' && m.oldValue === m.target.getAttribute(m.attributeName)) continue;
      st.lastMutation = performance.now();
      changed();
      break;
    }
  });
  const P = CanvasRenderingContext2D.prototype;
  for (const name of ['fillRect', 'drawImage', 'putImageData', 'fillText', 'stroke']) {
    const orig = P[name];
    P[name] = function (...a) {
      if (st.root && this.canvas && st.root.contains(this.canvas) && !ignored(this.canvas)) { st.lastMutation = performance.now(); changed(); }
      return orig.apply(this, a);
    };
  }
  for (const type of ['keydown', 'mousedown', 'input', 'change']) {
    document.addEventListener(type, () => { if (st.armed && st.t0 === null) st.t0 = performance.now(); }, true);
  }
}"""

JS_PROBE_ATTACH = """(root, ignore) => {
  const st = window.__saLat;
  st.observer.disconnect();
  st.root = root; st.ignore = ignore;
  st.observer.observe(root, {subtree: true, childList: true, attributes: true, attributeOldValue: true, characterData: true});
}"""

JS_ARM = "() => { const st = window.__saLat; st.armed = true; st.t0 = null; st.tChange = null; st.tPaint = null; }"
JS_RESULT = "() => { const st = window.__saLat; return {t0: st.t0, tChange: st.tChange, tPaint: st.tPaint}; }"
JS_DISARM = "() => { window.__saLat.armed = false; }"
JS_QUIET_MS = "() => performance.now() - window.__saLat.lastMutation"

# what the reader's own input changes at once, in the page, without Python: not counted
IGNORE = ".widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-readout, .widget-text, .widget-button"


def widget_classes(only: list[str] | None = None):
    found = []
    for info in sorted(pkgutil.iter_modules(widgets_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"selfattn.widgets.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and callable(getattr(cls, "demo", None)) and callable(getattr(cls, "step", None)):
                if not only or name in only:
                    found.append((module.__name__, name))
    return found


def build_notebook(path: Path, classes, reference: bool) -> list[str]:
    """One cell per widget (its demo), plus the matplotlib reference; returns the row labels."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [nbformat.v4.new_code_cell("from selfattn import book\nbook.setup()")]
    labels = []
    for module, name in classes:
        cells.append(nbformat.v4.new_code_cell(f"from {module} import {name}\nw_{name} = {name}.demo()\nw_{name}"))
        labels.append(name)
    if reference:
        cells.append(nbformat.v4.new_code_cell(REFERENCE_CODE))
        labels.append("reference: matplotlib in an Output")
    nb.cells = cells
    nbformat.write(nb, path)
    return labels


class Stepper:
    """Performs step i of one control and knows whether a step can change anything."""

    def __init__(self, nb: jlab.LabNotebook, loc, kind: str, k: int, node: dict):
        self.nb, self.page, self.loc, self.kind, self.k, self.node = nb, nb.page, loc, kind, k, node
        self.el = loc.locator(f'[data-sa-control="{kind}:{k}"]')
        if kind == "slider":
            name = node["cls"].rsplit(".", 1)[-1]
            if name == "SelectionSlider":
                self.positions, self.pos = len(node["options"]) - 1, node["index"]
            else:
                import math
                lo, hi, v, s = node["min"], node["max"], node["value"], node["step"]
                if name == "FloatLogSlider":
                    v = math.log(v, node.get("base", 10.0))
                self.positions = int(round((hi - lo) / s))
                self.pos = int(round((v - lo) / s))
            self.direction = 1 if self.pos < self.positions else -1
            self.handle = self.el.locator(".noUi-handle").first
        elif kind == "heatmap":
            # Each click lands on another row, in an open cell: a selector selects a new row every
            # time, and a mask editor blocks those cells on the first pass and opens them again on
            # the next, so every click changes what is shown either way.
            n_q, n_k = len(node["values"]), len(node["values"][0])
            first = (node.get("selected") or [-1])[0]  # start next to the selected row
            first = n_q - 1 if first < 0 else first - 1
            rows = [(first - i) % n_q for i in range(n_q)]
            def open_col(r):
                if not node["blocked"]:
                    return (3 * r) % n_k
                cols = [j for j in range(n_k) if not node["blocked"][r][j]]
                return cols[0] if cols else 0
            self.cells = [(r, open_col(r)) for r in rows]
        elif kind in ("dropdown", "toggle_buttons"):
            self.n, self.index = len(node["options"]), node["index"]

    def usable(self) -> bool:
        if self.node.get("disabled"):
            return False
        if self.kind == "slider":
            return self.positions >= 1
        if self.kind == "heatmap":
            return bool(self.node.get("clickable"))
        return getattr(self, "n", 0) >= 2

    def label(self) -> str:
        name = self.node.get("description") or ""
        name = f" '{name}'" if name else ""
        if self.kind == "slider":
            return f"arrow key on slider{name}"
        if self.kind == "heatmap":
            return "click on a heatmap cell"
        return f"new choice in {self.kind.replace('_', ' ')}{name}"

    def prepare(self, i: int) -> None:
        """Anything that must happen before the clock starts (moving the mouse, focusing)."""
        if self.kind == "slider":
            self.handle.focus()
        elif self.kind == "heatmap":
            row, col = self.cells[i % len(self.cells)]
            self._xy = jlab.heatmap_click_point(self.el, row, col)
            self.page.mouse.move(*self._xy)

    def act(self, i: int) -> None:
        if self.kind == "slider":
            if not 0 <= self.pos + self.direction <= self.positions:
                self.direction = -self.direction
            self.page.keyboard.press("ArrowRight" if self.direction > 0 else "ArrowLeft")
            self.pos += self.direction
        elif self.kind == "heatmap":
            self.page.mouse.down()
            self.page.mouse.up()
        elif self.kind == "dropdown":
            self.index = (self.index + 1) % self.n
            self.el.locator("select").select_option(index=self.index)
        elif self.kind == "toggle_buttons":
            self.index = (self.index + 1) % self.n
            self.el.locator("button").nth(self.index).click()

    def after(self) -> None:
        if self.kind == "heatmap":
            self.page.mouse.move(1, 1)


def settle(nb: jlab.LabNotebook, quiet_ms: float = 150, timeout: float = 10) -> None:
    """Wait until the kernel is idle and the widget has not changed for `quiet_ms`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if nb.page.evaluate(jlab.JS_KERNEL_IDLE) and nb.page.evaluate(JS_QUIET_MS) > quiet_ms:
            return
        time.sleep(0.03)


def measure(nb: jlab.LabNotebook, loc, stepper: Stepper, steps: int) -> dict:
    root = loc.locator(".jp-Cell-outputWrapper").first
    root.evaluate(JS_PROBE_ATTACH, IGNORE)
    latencies, misses, pixel_checks = [], 0, []
    for i in range(WARMUP + steps):
        stepper.prepare(i)
        settle(nb)
        shot_before = root.screenshot() if i < WARMUP else None
        nb.page.evaluate(JS_ARM)
        stepper.act(i)
        deadline = time.monotonic() + STEP_TIMEOUT_S
        result = nb.page.evaluate(JS_RESULT)
        while result["tPaint"] is None and time.monotonic() < deadline:
            time.sleep(0.005)
            result = nb.page.evaluate(JS_RESULT)
        nb.page.evaluate(JS_DISARM)
        if shot_before is not None:  # before the mouse leaves: the hover outline is in both shots
            settle(nb)
            pixel_checks.append(root.screenshot() != shot_before)
        stepper.after()
        settle(nb)
        if i < WARMUP:
            continue
        if result["tPaint"] is None or result["t0"] is None:
            misses += 1
        else:
            latencies.append(result["tPaint"] - result["t0"])
    row = {"input": stepper.label(), "steps": steps, "changed": len(latencies), "no_change": misses,
           "pixels_verified": f"{sum(pixel_checks)}/{len(pixel_checks)}"}
    if latencies:
        q = statistics.quantiles(latencies, n=10) if len(latencies) >= 2 else [latencies[0]] * 9
        row.update(median_ms=round(statistics.median(latencies), 1), p90_ms=round(q[8], 1),
                   min_ms=round(min(latencies), 1), max_ms=round(max(latencies), 1))
    return row


def machine_info() -> dict:
    try:
        chromium = subprocess.run([jlab.chromium_path(), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # reported as unknown rather than failing the run
        chromium = "unknown"
    from importlib.metadata import version
    return machine.describe(chromium=chromium, jupyterlab=version("jupyterlab"), ipywidgets=version("ipywidgets"),
                            anywidget=version("anywidget"))


def write_markdown(path: Path, data: dict) -> None:
    m = data["machine"]
    out = io.StringIO()
    out.write("# Widget latency: input to changed pixels, in JupyterLab\n\n")
    out.write(f"Generated by `python benchmarks/widget_latency.py` on {m['date']}. Machine: {m['cpu']}, "
              f"{m['cores']} cores (1-minute load average {m.get('load_average_1min')} when measured: "
              f"the machine is shared), Python {m['python']}, {m['chromium']} (headless), JupyterLab {m['jupyterlab']}, "
              f"ipywidgets {m['ipywidgets']}, anywidget {m['anywidget']}.\n\n")
    out.write(f"Median over {data['steps']} steps after {WARMUP} warm-up steps. Targets: {HEATMAP_TARGET_MS:.0f} ms "
              f"for widgets that show an attention heatmap or mask, {ANY_TARGET_MS:.0f} ms for any widget. "
              "'pixels' counts warm-up steps whose screenshot changed; 'steps changed' counts steps whose "
              f"output changed within {STEP_TIMEOUT_S:.0f} s (a step with no change has no latency; some "
              "steps legitimately change nothing, such as widening a window that already covers the "
              "whole sequence).\n\n")
    out.write("| widget | input | median ms | p90 ms | min ms | steps changed | pixels | target ms | meets target |\n")
    out.write("|---|---|---:|---:|---:|---:|---:|---:|---|\n")
    for r in data["results"]:
        med = r.get("median_ms")
        ok = "reference" if r.get("target_ms") is None else ("yes" if med is not None and med <= r["target_ms"] else "NO")
        out.write(f"| {r['widget']} | {r['input']} | {med if med is not None else '–'} | {r.get('p90_ms', '–')} | "
                  f"{r.get('min_ms', '–')} | {r['changed']}/{r['steps']} | {r['pixels_verified']} | "
                  f"{format(r['target_ms'], '.0f') if r.get('target_ms') else '–'} | {ok} |\n")
    if data.get("skipped"):
        out.write("\nNot measured:\n\n")
        for s in data["skipped"]:
            out.write(f"- {s}\n")
    out.write("\nMethod: see the docstring of benchmarks/widget_latency.py.\n")
    path.write_text(out.getvalue())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", nargs="*", help="widget class names to measure (default: all)")
    parser.add_argument("--no-reference", action="store_true", help="skip the matplotlib-in-Output reference row")
    parser.add_argument("--out", type=Path, default=RESULTS / "widget_latency.json")
    args = parser.parse_args(argv)
    if jlab.chromium_path() is None:
        print("widget_latency needs chromium: " + jlab.ENABLE_HINT, file=sys.stderr)
        return 2
    classes = widget_classes(args.only)
    results, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="selfattn-latency-") as tmp:
        root = Path(tmp)
        (root / "bench").mkdir()
        labels = build_notebook(root / "bench" / "latency.ipynb", classes, not args.no_reference)
        with jlab.LabServer(root) as lab, jlab.browser_session() as browser:
            page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
            nb = jlab.LabNotebook(page, lab, "bench/latency.ipynb")
            nb.open()
            nb.run_all(timeout=600)
            errors = nb.errors()
            if errors:
                print("the benchmark notebook failed:\n" + "\n".join(errors), file=sys.stderr)
                return 1
            page.evaluate(JS_PROBE_INSTALL)
            cells = [c for c in nb.cells() if c["type"] == "code"][1:]
            for label, cell in zip(labels, cells):
                loc = nb.cell(cell["index"])
                controls = loc.evaluate(jlab.JS_CONTROLS)
                trees = jlab.widget_trees(nb, cell["widgets"])
                shows_heatmap = any(jlab.widgets_of(trees, "heatmap"))
                target = None if label.startswith("reference") else (HEATMAP_TARGET_MS if shows_heatmap else ANY_TARGET_MS)
                measured_any = False
                for kind in KINDS:
                    dom = [c for c in controls if c["kind"] == kind]
                    py = jlab.widgets_of(trees, kind)
                    if not dom or len(dom) != len(py):
                        continue
                    for k, node in enumerate(py):
                        stepper = Stepper(nb, loc, kind, k, node)
                        if not stepper.usable():
                            continue
                        print(f"{label}: {stepper.label()} ...", flush=True)
                        row = measure(nb, loc, stepper, args.steps)
                        row.update(widget=label, target_ms=target)
                        print(f"  median {row.get('median_ms', '–')} ms, {row['changed']}/{row['steps']} steps changed", flush=True)
                        results.append(row)
                        measured_any = True
                        break
                if not measured_any:
                    skipped.append(f"{label}: no slider, clickable heatmap, dropdown or toggle buttons to operate")
            nb.shutdown()
    data = {"machine": machine_info(), "steps": args.steps, "warmup": WARMUP,
            "targets_ms": {"heatmap_or_mask": HEATMAP_TARGET_MS, "any": ANY_TARGET_MS},
            "results": results, "skipped": skipped}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    write_markdown(args.out.with_suffix(".md"), data)
    print(args.out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
