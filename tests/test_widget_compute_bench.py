"""The widget-update benchmark finds every widget, each step changes what the widget shows, and it reports medians."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import widget_compute  # noqa: E402


def test_every_widget_module_has_a_benchmarkable_widget_whose_steps_change_its_values():
    found = widget_compute.widget_classes()
    modules = {m for m, _ in found}
    assert {"selfattn.widgets.paths", "selfattn.widgets.intro", "selfattn.widgets.efficient"} <= modules
    for module, cls in found:
        w = cls.demo()
        seen = []
        for i in range(4):
            w.step(i)
            values = w.values()
            assert isinstance(values, dict) and values, f"{cls.__name__}.values() is empty after step({i})"
            assert not getattr(w, "refused", False), f"{cls.__name__} refused its own step({i})"
            seen.append(repr(values))
        assert len(set(seen)) > 1, f"{cls.__name__}: four steps left every value unchanged"


def test_measure_returns_a_median_of_the_requested_steps():
    _, cls = next((m, c) for m, c in widget_compute.widget_classes() if c.__name__ == "SparsePatternExplorer")
    r = widget_compute.measure(cls, 3)
    assert r["steps"] == 3 and 0 < r["median_ms"] <= r["max_ms"]


def test_benchmark_quick_run_prints_a_table(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks/widget_compute.py"), "--steps", "2",
                          "--json", str(tmp_path / "w.json")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "median ms" in out.stdout and "PathExplorer" in out.stdout
    data = json.loads((tmp_path / "w.json").read_text())
    assert data["meta"]["threads"] == 1 and data["meta"]["cores"] >= 1 and "load_average_1min" in data["meta"]
    names = {r["widget"] for r in data["results"]}
    assert "selfattn.widgets.efficient.SparsePatternExplorer" in names
    assert all(r["steps"] == 2 and r["median_ms"] > 0 for r in data["results"])
