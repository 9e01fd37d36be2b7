"""The attention benchmark (benchmarks/attention_bench.py) runs end to end in quick mode; no timing is checked."""
import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import attention_bench as bench  # noqa: E402
import machine  # noqa: E402


def test_quick_benchmark_writes_json_and_markdown(tmp_path, capsys):
    assert bench.main(["--quick", "--repeats", "1", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "attention_bench.json").read_text())
    assert data["quick"] is True and len(data["runs"]) == 1 and data["runs"][0]["matmul_peak_gflops"] > 0
    assert {(r["method"], r["n"]) for r in data["results"]} == {(m.name, n) for m in bench.METHODS for n in bench.QUICK_NS}
    for r in data["results"]:
        assert r["median_s"] > 0 and math.isfinite(r["gflops"]) and r["threads"] == bench.THREADS and r["run"] == 0
        if r["method"] != "performer":                               # every other method is exact for its definition
            assert r["max_err"] < 1e-4, (r["method"], r["max_err"])
        if r["reference"] == "kernel":                               # linear attention is a different model
            assert r["max_err_vs_softmax"] > 0.1
        if bench.BY_NAME[r["method"]].baseline:
            assert r["baseline"] == bench.BY_NAME[r["method"]].baseline and r["time_ratio"] > 0
    md = (tmp_path / "attention_bench.md").read_text()
    assert "## Machine and load" in md and "torch " in md and "Quick mode" in md and "load average" in md
    assert bench.NOTES_BEGIN in md and bench.NOTES_END in md
    assert "| sliding_window |" in capsys.readouterr().out


def test_merge_keeps_other_n_and_takes_ratios_within_a_run():
    def row(method, n, t):
        return {"method": method, "n": n, "median_s": t, "peak_mib": 1.0}
    old = {"runs": [{"date": "old"}], "results": [{**row("sdpa_causal", 64, 2.0), "run": 0},
                                                  {**row("sliding_window", 64, 1.0), "run": 0},
                                                  {**row("sdpa_causal", 128, 9.0), "run": 0}]}
    new = {"run": {"date": "new", "quick": False}, "results": [row("sdpa_causal", 128, 4.0), row("sliding_window", 128, 1.0)]}
    data = bench.combine(new, old)
    assert [run["date"] for run in data["runs"]] == ["old", "new"]
    got = {(r["method"], r["n"]): (r["run"], r.get("time_ratio")) for r in data["results"]}
    assert got == {("sdpa_causal", 64): (0, None), ("sliding_window", 64): (0, 0.5),
                   ("sdpa_causal", 128): (1, None), ("sliding_window", 128): (1, 0.25)}


def test_interleaved_rows_time_every_method_at_one_n_in_turns():
    methods = bench.select(["sliding_window", "linear_chunked"])
    data = bench.combine(bench.run(methods, (96,), 1, quick=False, interleave_rounds=3, progress=lambda _: None), None)
    assert data["runs"][0]["interleaved"] is True
    rows = {r["method"]: r for r in data["results"]}
    assert set(rows) == {"sdpa_full", "sdpa_causal", "sliding_window", "linear_chunked"}
    for r in rows.values():
        assert r["interleaved"] and len(r["times_s"]) == 3 and r["peak_mib"] is None and r["max_err"] < 1e-4
    assert rows["sliding_window"]["time_ratio"] == rows["sliding_window"]["median_s"] / rows["sdpa_causal"]["median_s"]
    assert "| sliding_window |" in bench.markdown(data, "")


def test_the_default_run_measures_long_then_short_sequences_into_two_folders(monkeypatch, tmp_path):
    calls = []

    def fake_run(methods, ns, repeats, **kw):
        calls.append((ns, kw["interleave_rounds"], kw["threads"]))
        return {"run": {"quick": False, "wall_s": 0.0, "interleaved": bool(kw["interleave_rounds"])},
                "results": [{"method": "sdpa_full", "n": n, "median_s": 1.0, "peak_mib": 1.0, "gflops": 1.0,
                             "reference": "softmax"} for n in ns]}
    monkeypatch.setattr(bench, "run", fake_run)
    assert bench.main(["--out", str(tmp_path)]) == 0
    assert calls == [(bench.FULL_NS, 0, bench.THREADS), (bench.SHORT_NS, 30, 1)]
    assert (tmp_path / "attention_bench.json").exists() and (tmp_path / "small_n" / "attention_bench.json").exists()
    assert "--short" in (tmp_path / "small_n" / "attention_bench.md").read_text()


def test_notes_survive_a_rewrite(tmp_path):
    md = tmp_path / "attention_bench.md"
    md.write_text(f"old table\n{bench.NOTES_BEGIN}\nWhy the window wins.\n{bench.NOTES_END}\n")
    assert "Why the window wins." in bench.old_notes(md)


def test_useful_flops_count_visible_pairs():
    n, d = 1000, bench.D_HEAD
    assert bench.BY_NAME["sdpa_full"].flops(n) == 4 * d * n * n
    assert bench.BY_NAME["sdpa_causal"].flops(n) == 4 * d * n * (n + 1) / 2
    assert bench.BY_NAME["sliding_window"].flops(n) == 4 * d * sum(min(i + 1, bench.WINDOW) for i in range(n))
    from selfattn.efficient import layout_mask
    assert bench.BY_NAME["strided_sparse"].flops(n) == 4 * d * float(layout_mask(bench._strided(n)).sum())
    assert bench.BY_NAME["bigbird_sparse"].flops(n) == 4 * d * float(layout_mask(bench._bigbird(n)).sum())


def test_reference_is_the_definition_each_method_implements():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 1, 300, bench.D_HEAD, generator=g) for _ in range(3))   # (batch, n_heads, n, d_head)
    rows = bench.error_rows(300)
    for name in ("sliding_window", "strided_sparse", "linear_chunked", "tiled_causal"):
        method = bench.BY_NAME[name]
        got = method.make(300)(q, k, v)[0, 0].double()                # (n, d_head)
        assert (got - bench.exact_reference(method, q, k, v, rows)).abs().max() < 1e-4, name
    window = bench.BY_NAME["sliding_window"]
    assert (window.make(300)(q, k, v)[0, 0].double() - bench.exact_reference(bench.BY_NAME["sdpa_causal"], q, k, v, rows)).abs().max() > 1e-3
    assert len(bench.error_rows(10_000)) == bench.ERROR_ROWS and bench.error_rows(10_000)[-1] == 9_999


def test_machine_description_names_cpu_memory_and_load():
    info = machine.describe(threads_used=2)
    assert info["cores"] >= 1 and info["threads_used"] == 2 and info["torch"] == torch.__version__
    assert isinstance(info["cpu"], str) and info["cpu"]
    if Path("/proc/meminfo").exists():
        assert info["memory_gib"] > 0 and machine.status_kib("VmRSS") > 0
        busy = machine.cpu_busy(0.05)
        assert 0.0 <= busy <= 1.0
