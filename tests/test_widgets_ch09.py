"""Chapter 9's widgets: they show what the math computes, refuse big sizes politely, and step."""
import torch

from selfattn.explore import efficient as E
from selfattn.widgets.efficient import MAX_TOKENS, RandomFeatureExplorer, SparsePatternExplorer


def test_sparse_explorer_shows_the_report_of_its_settings():
    w = SparsePatternExplorer(n=10, window=3, n_global=1, n_random=0, locality=1.0)
    q, k, v = E.demo_inputs(10, locality=1.0)
    rep = E.pattern_report(q, k, v, E.local_global_random_mask(10, 3, n_global=1))
    nums = w.numbers()
    assert nums["computed"] == rep.n_computed and nums["max_error"] == round(rep.max_error, 3)
    assert len(w.heatmap.values) == 10
    blocked = torch.tensor(w.heatmap.blocked)
    assert torch.equal(blocked, ~rep.mask)
    assert "computes" in w.message.value


def test_sparse_explorer_sliders_redraw():
    w = SparsePatternExplorer(n=12, window=2, n_global=0)
    before = w.numbers()["computed"]
    w.window.value = 6
    assert w.numbers()["computed"] > before
    w.n_global.value = 2
    w.n_random.value = 2
    assert w.numbers()["n_global"] == 2 and w.numbers()["n_random"] == 2
    w.window.value = 12
    assert w.numbers()["max_error"] == 0.0 and w.numbers()["fraction"] == 1.0


def test_demo_and_step():
    for cls in (SparsePatternExplorer, RandomFeatureExplorer):
        w = cls.demo()
        assert w.numbers()["n"] == MAX_TOKENS
        first = w.numbers()
        for i in range(3):
            w.step(i)
        assert w.numbers() != first
        assert repr(w).startswith(cls.__name__)


def test_widgets_refuse_big_sizes_with_a_message():
    for cls in (SparsePatternExplorer, RandomFeatureExplorer):
        w = cls(n=MAX_TOKENS + 1)
        assert "Cannot show this" in w.message.value and str(MAX_TOKENS) in w.message.value
        assert w.numbers() == {}
        assert "Cannot show this" in cls(n=1).message.value


def test_random_feature_explorer_error_matches_the_math():
    w = RandomFeatureExplorer(n=8, n_features=64, scale=0.5)
    q, k, v = E.demo_inputs(8, scale=0.5)
    rep = E.random_feature_report(q, k, v, 64)
    assert w.numbers()["relative_error"] == round(rep.relative_error, 3)
    w.n_features.value = 1024
    assert w.numbers()["n_features"] == 1024
    assert len(w.approx.values) == 8 and len(w.exact.values) == 8
    assert RandomFeatureExplorer(n=8, n_features=100).n_features.value == 128


def test_updates_run_on_one_thread_and_restore_the_setting():
    before = torch.get_num_threads()
    w = SparsePatternExplorer(n=8)
    w.step(2)
    assert torch.get_num_threads() == before
