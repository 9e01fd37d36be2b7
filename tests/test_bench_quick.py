"""The benchmark's code path runs end to end in quick mode (tiny n); no timing is checked."""
import json
import math

from selfattn import bench


def test_quick_benchmark_writes_json_and_markdown(tmp_path, capsys):
    assert bench.main(["--quick", "--repeats", "1", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "attention_bench.json").read_text())
    assert data["quick"] is True and data["matmul_peak_gflops"] > 0
    got = {(r["method"], r["n"]) for r in data["results"]}
    assert got == {(m, n) for m in bench.METHODS for n in bench.QUICK_NS}
    for r in data["results"]:
        assert r["median_s"] > 0 and math.isfinite(r["gflops"]) and r["threads"] == bench.THREADS
        if r["method"] != "performer":                               # every other method is exact for its definition
            assert r["max_err"] < 1e-4, (r["method"], r["max_err"])
        if bench.METHODS[r["method"]].baseline:
            assert r["time_ratio"] > 0
    assert {t["target"] for t in data["targets"]} and all("met" in t for t in data["targets"])
    md = (tmp_path / "attention_bench.md").read_text()
    assert "## Machine" in md and "torch " in md and "Quick mode" in md
    assert bench.NOTES_BEGIN in md and bench.NOTES_END in md
    assert "sliding_window" in capsys.readouterr().out


def test_notes_survive_a_rewrite(tmp_path):
    md = tmp_path / "attention_bench.md"
    md.write_text(f"old table\n{bench.NOTES_BEGIN}\nWhy the target was missed.\n{bench.NOTES_END}\n")
    assert "Why the target was missed." in bench._old_notes(md)


def test_useful_flops_count_visible_pairs():
    n, d = 1000, bench.D_HEAD
    assert bench.useful_flops("sdpa_full", n) == 4 * d * n * n
    assert bench.useful_flops("sdpa_causal", n) == 4 * d * n * (n + 1) / 2
    assert bench.useful_flops("sliding_window", n) == 4 * d * sum(min(i + 1, bench.WINDOW) for i in range(n))
    from selfattn.efficient import layout_mask
    layout = bench._strided(n)
    assert bench.useful_flops("strided_sparse", n) == 4 * d * float(layout_mask(layout).sum())
