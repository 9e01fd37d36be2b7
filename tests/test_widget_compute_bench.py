"""The widget-update benchmark runs (in a quick mode), and every widget offers demo() and step()."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import widget_compute  # noqa: E402


def test_every_widget_module_has_a_benchmarkable_widget():
    modules = {m for m, _ in widget_compute.widget_classes()}
    assert "selfattn.widgets.paths" in modules and "selfattn.widgets.intro" in modules
    for module, cls in widget_compute.widget_classes():
        w = cls.demo()
        w.step(0)
        w.step(1)


def test_benchmark_quick_run_prints_a_table(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks/widget_compute.py"), "--steps", "2",
                          "--json", str(tmp_path / "w.json")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "median ms" in out.stdout and "PathExplorer" in out.stdout
    assert (tmp_path / "w.json").read_text().count('"median_ms"') >= 2
