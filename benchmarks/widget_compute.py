"""Kernel-side cost of one widget update, for every live widget in the book.

For each widget class in selfattn.widgets that offers `demo()` (built at its largest allowed size)
and `step(i)` (one representative update, as a slider move or a click), time step() and report the
median. Target (issue 3): under 20 ms per update for up to 16 tokens. This measures the Python work
only; benchmarks/widget_latency.py measures input-to-pixels in a real browser.

    python benchmarks/widget_compute.py [--steps 30] [--json benchmarks/results/widget_compute.json]
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import statistics
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

import machine  # noqa: E402

import selfattn.widgets as widgets_pkg  # noqa: E402
from selfattn.threads import torch_threads  # noqa: E402

TARGET_MS = 20.0


def widget_classes():
    """(module name, class) for every widget class with demo() and step()."""
    found = []
    for info in sorted(pkgutil.iter_modules(widgets_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"selfattn.widgets.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hasattr(cls, "demo") and hasattr(cls, "step"):
                found.append((module.__name__, cls))
    return found


def measure(cls, steps: int) -> dict:
    widget = cls.demo()
    for i in range(3):  # warm-up
        widget.step(i)
    times = []
    for i in range(steps):
        start = time.perf_counter()
        widget.step(i + 3)
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(times), "max_ms": max(times), "steps": steps}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    with torch_threads(1):  # as in the notebooks (selfattn.book.setup)
        for module, cls in widget_classes():
            r = measure(cls, args.steps)
            rows.append({"widget": f"{module}.{cls.__name__}", **r, "meets_target": r["median_ms"] < TARGET_MS})
    width = max(len(r["widget"]) for r in rows)
    print(f"{'widget':<{width}}  median ms  max ms  < {TARGET_MS:.0f} ms")
    for r in rows:
        print(f"{r['widget']:<{width}}  {r['median_ms']:9.2f}  {r['max_ms']:6.1f}  {'yes' if r['meets_target'] else 'NO'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = machine.describe(threads=1)
        args.json.write_text(json.dumps({"meta": meta, "target_ms": TARGET_MS, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
