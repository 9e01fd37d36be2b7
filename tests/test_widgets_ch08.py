"""Chapter 8's context-length explorer: it shows what the math computes, refuses bad sizes politely, and steps."""
import numpy as np

from selfattn import cost
from selfattn.widgets.cost import MAX_TOKENS, N_CHOICES, ROW_NS, ContextExplorer


def test_explorer_shows_the_context_report():
    w = ContextExplorer(n=8192, shape="GQA (8 key/value heads)", margin=4.0)
    rep = cost.context_report(8192, cost.MODEL_SHAPES["GQA (8 key/value heads)"], margin=4.0)
    nums = w.numbers()
    for key in ("attention_flops", "score_matrix_bytes", "kv_cache_bytes", "kv_bytes_per_token",
                "step_flops_cached", "step_flops_recompute"):
        assert nums[key] == rep[key]
    assert nums["needle_weight"] == round(rep["needle_weight"], 3)
    assert cost.human_bytes(rep["kv_cache_bytes"]) in w.table.value
    assert w.memory_chart.value.startswith("<svg") and w.focus_chart.value.startswith("<svg")
    assert "n = 8,192" in w.message.value


def test_explorer_controls_redraw():
    w = ContextExplorer(n=1024, shape="MHA (32 key/value heads)")
    before = w.numbers()
    w.n.value = 2048
    after = w.numbers()
    assert after["attention_flops"] == 4 * before["attention_flops"]
    assert after["kv_cache_bytes"] == 2 * before["kv_cache_bytes"]
    w.shape.value = "MQA (1 key/value head)"
    assert w.numbers()["kv_cache_bytes"] * 32 == after["kv_cache_bytes"]
    chart = w.focus_chart.value
    w.margin.value = 9.0
    assert w.numbers()["needle_weight"] > after["needle_weight"]
    assert w.focus_chart.value != chart


def test_heatmap_shows_short_rows_with_missing_keys_blocked():
    w = ContextExplorer(margin=2.0)
    rows = cost.needle_rows(ROW_NS, margin=2.0)
    assert len(w.heatmap.values) == len(ROW_NS) and len(w.heatmap.values[0]) == MAX_TOKENS
    assert w.heatmap.blocked[0] == [False] + [True] * (MAX_TOKENS - 1)
    assert np.allclose([r[0] for r in w.heatmap.values], rows[:, 0], atol=1e-6)
    assert w.numbers()["short_context_weights"] == [round(float(x), 3) for x in rows[:, 0]]
    w.margin.value = 6.0
    assert w.heatmap.values[-1][0] > rows[-1, 0]


def test_demo_and_step():
    w = ContextExplorer.demo()
    assert w.numbers()["n"] == N_CHOICES[-1]
    first = w.numbers()
    for i in range(3):
        w.step(i)
    assert w.numbers() != first and w.numbers()["n"] == N_CHOICES[2]
    assert repr(w).startswith("ContextExplorer(")


def test_explorer_refuses_bad_settings_with_a_message():
    for kwargs in ({"n": 100}, {"n": 2 ** 30}, {"n": True}, {"shape": "llama"}):
        w = ContextExplorer(**kwargs)
        assert "Cannot show this" in w.message.value
        assert w.numbers() == {}
        assert repr(w) == "ContextExplorer(not shown)"
