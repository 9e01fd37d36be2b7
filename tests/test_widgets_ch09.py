"""Chapter 9's widgets: they show what the math computes, refuse sizes they cannot draw, and step."""
import torch

from selfattn.explore import efficient as E
from selfattn.limits import MAX_TOKENS
from selfattn.widgets.base import REFUSED_PREFIX, BookWidget
from selfattn.widgets.efficient import RandomFeatureExplorer, SparsePatternExplorer


def test_sparse_explorer_shows_the_report_of_its_settings():
    w = SparsePatternExplorer(n=10, window=3, n_global=1, n_random=0, locality=1.0)
    q, k, v = E.demo_inputs(10, locality=1.0)
    rep = E.pattern_report(q, k, v, E.local_global_random_mask(10, 3, n_global=1))
    values = w.values()
    assert values["computed"] == rep.n_computed and values["max_error"] == round(rep.max_error, 3)
    assert values["density"] == round(rep.n_computed / 100, 3) and values["full_attention_density"] == 0.55
    assert len(w.heatmap.values) == 10
    assert torch.equal(torch.tensor(w.heatmap.blocked), ~rep.mask)
    assert "density" in w.readout.value and not w.refused
    assert "computed: " + str(rep.n_computed) in w.report()


def test_sparse_explorer_sliders_redraw():
    w = SparsePatternExplorer(n=12, window=2, n_global=0)
    before = w.values()["computed"]
    w.window.value = 6
    assert w.values()["computed"] > before and w.values()["window"] == 6
    w.n_global.value = 2
    w.n_random.value = 2
    assert w.values()["n_global"] == 2 and w.values()["n_random"] == 2
    w.window.value = 12
    assert w.values()["max_error"] == 0.0 and w.values()["density"] == w.values()["full_attention_density"] == 0.542


def test_demo_and_step():
    for cls in (SparsePatternExplorer, RandomFeatureExplorer):
        w = cls.demo()
        assert isinstance(w, BookWidget) and w.values()["n"] == MAX_TOKENS
        first = w.values()
        for i in range(3):
            w.step(i)
        assert w.values() != first
        assert repr(w).startswith(cls.__name__) and "run this cell" in repr(w)


def test_widgets_refuse_sizes_they_cannot_draw_at_the_top():
    for cls in (SparsePatternExplorer, RandomFeatureExplorer):
        w = cls(n=MAX_TOKENS + 1)
        assert w.refused and REFUSED_PREFIX in w.message.value and str(MAX_TOKENS) in w.refusal()
        assert w.children[0] is w.message and w.values() == {}
        assert cls(n=1).refused


def test_a_value_that_cannot_be_drawn_is_refused_and_the_control_goes_back(monkeypatch):
    w = SparsePatternExplorer(n=8, window=3)
    drawn = w.values()

    def broken(*args, **kwargs):
        from selfattn import AttentionInputError
        raise AttentionInputError("window too odd")
    monkeypatch.setattr(E, "pattern_report", broken)
    w.window.value = 5
    assert w.refused and "window too odd" in w.refusal()
    assert w.window.value == 3 and w.values() == drawn                # the slider agrees with the picture
    monkeypatch.undo()
    w.window.value = 4
    assert not w.refused and w.values()["window"] == 4


def test_random_feature_explorer_error_matches_the_math():
    w = RandomFeatureExplorer(n=8, n_features=64, scale=0.5)
    q, k, v = E.demo_inputs(8, scale=0.5)
    rep = E.random_feature_report(q, k, v, 64)
    assert w.values()["relative_error"] == round(rep.relative_error, 3)
    w.n_features.value = 1024
    assert w.values()["n_features"] == 1024
    assert len(w.approx.values) == 8 and len(w.exact.values) == 8
    assert RandomFeatureExplorer(n=8, n_features=100).n_features.value == 128


def test_updates_run_on_one_thread_and_restore_the_setting():
    before = torch.get_num_threads()
    w = SparsePatternExplorer(n=8)
    w.step(2)
    assert torch.get_num_threads() == before
