"""Chapter 8's context-length explorer: it shows what the math computes, refuses bad sizes politely, and steps."""
import numpy as np

from selfattn.explore import cost
from selfattn.widgets.cost import N_CHOICES, ROW_NS, ContextExplorer


def test_explorer_shows_the_context_report():
    w = ContextExplorer(n=8192, shape=cost.GQA, margin=4.0)
    rep = cost.context_report(8192, cost.MODEL_SHAPES[cost.GQA], margin=4.0)
    nums = w.values()
    for key in ("attention_flops", "score_matrix_bytes", "kv_cache_bytes", "kv_bytes_per_token",
                "step_flops_cached", "step_flops_recompute"):
        assert nums[key] == rep[key]
    assert nums["needle_weight"] == round(rep["needle_weight"], 3)
    assert cost.human_bytes(rep["kv_cache_bytes"]) in w.table.value
    assert w.memory_chart.value.startswith("<svg") and w.focus_chart.value.startswith("<svg")
    assert "n = 8,192" in w.summary.value and not w.refused


def test_explorer_controls_redraw():
    w = ContextExplorer(n=1024, shape=cost.MHA)
    before = w.values()
    w.n.value = 2048
    after = w.values()
    assert after["attention_flops"] == 4 * before["attention_flops"]
    assert after["kv_cache_bytes"] == 2 * before["kv_cache_bytes"]
    w.shape.value = cost.MQA
    assert w.values()["kv_cache_bytes"] * 32 == after["kv_cache_bytes"]
    chart = w.focus_chart.value
    w.margin.value = 9.0
    assert w.values()["needle_weight"] > after["needle_weight"]
    assert w.focus_chart.value != chart


def test_heatmap_shows_short_rows_with_missing_keys_blocked():
    w = ContextExplorer(margin=2.0)
    rows = cost.needle_rows(ROW_NS, margin=2.0)
    width = max(ROW_NS)
    assert len(w.heatmap.values) == len(ROW_NS) and len(w.heatmap.values[0]) == width
    assert w.heatmap.blocked[0] == [False] + [True] * (width - 1)
    assert np.allclose([r[0] for r in w.heatmap.values], rows[:, 0], atol=1e-6)
    assert w.values()["short_context_weights"] == [round(float(x), 3) for x in rows[:, 0]]
    w.margin.value = 6.0
    assert w.heatmap.values[-1][0] > rows[-1, 0]


def test_demo_and_step():
    w = ContextExplorer.demo()
    assert w.values()["n"] == N_CHOICES[-1]
    first = w.values()
    for i in range(3):
        w.step(i)
    assert w.values() != first and w.values()["n"] == N_CHOICES[2]
    assert repr(w).startswith("ContextExplorer: context-length explorer")


def test_explorer_refuses_bad_settings_with_a_message():
    for kwargs in ({"n": 100}, {"n": 2 ** 30}, {"n": True}, {"shape": "llama"}):
        w = ContextExplorer(**kwargs)
        assert w.refused and "Cannot show this" in w.message.value
        assert w.values()["n"] == 4096 and w.values()["attention"] == cost.GQA   # the default is drawn instead
