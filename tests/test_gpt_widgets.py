"""Chapter 10's widgets and the math they call: next-character view, head maps, refusals."""
import pytest
import torch

from selfattn.errors import AttentionInputError
from selfattn.explore.gpt import GPT, GPTConfig
from selfattn.explore.gpt.data import Vocabulary
from selfattn.explore.gpt.generate import attention_maps, generate, next_token
from selfattn.widgets.gpt import NextTokenExplorer, gpt_heads

VOCAB = Vocabulary.from_text("abcdefghijklmnopqrstuvwxyz ,.")


@pytest.fixture(scope="module")
def model():
    return GPT(GPTConfig(vocab_size=VOCAB.size, context=48, d_model=16, n_heads=2, n_layers=2), seed=0).eval()


def test_next_token_distribution_and_continuation(model):
    v, pre = next_token(model, VOCAB, "the cat", temperature=0.7, top_k=5, seed=3, n_new=10)
    assert int(v.kept.sum()) == 5 and abs(float(v.probs.sum()) - 1) < 1e-9
    assert abs(float(v.raw.sum()) - 1) < 1e-9 and len(v.continuation) == 10
    again, _ = next_token(model, VOCAB, "the cat", temperature=0.7, top_k=5, seed=3, n_new=10)
    assert again.continuation == v.continuation and torch.equal(again.probs, v.probs)


def test_a_reused_prefill_writes_what_a_fresh_run_writes(model):
    """The widget keeps the prompt's caches across settings: an earlier continuation must not leak in."""
    _, pre = next_token(model, VOCAB, "the cat", temperature=1.5, seed=9, n_new=10)
    for settings in (dict(temperature=0.7, top_k=5, seed=3), dict(temperature=0.0), dict(top_p=0.8, seed=1)):
        reused, pre_again = next_token(model, VOCAB, "the cat", n_new=10, prefilled=pre, **settings)
        fresh, _ = next_token(model, VOCAB, "the cat", n_new=10, **settings)
        assert pre_again is pre and reused.continuation == fresh.continuation
        torch.testing.assert_close(reused.probs, fresh.probs)
        slow = generate(model, VOCAB.encode("the cat"), 10, use_cache=False, **settings)
        assert VOCAB.decode(slow[7:]) == fresh.continuation
    _, other = next_token(model, VOCAB, "the dog", n_new=10, prefilled=pre)
    assert other is not pre                                    # another prompt is run afresh


def test_prompts_outside_the_vocabulary_or_context_are_refused(model):
    with pytest.raises(AttentionInputError, match="not 'X!'"):
        next_token(model, VOCAB, "the X!")
    with pytest.raises(AttentionInputError, match="context window"):
        next_token(model, VOCAB, "a" * 45, n_new=10)
    with pytest.raises(AttentionInputError):
        next_token(model, VOCAB, "")


def test_attention_maps_are_causal_and_row_stochastic(model):
    maps = attention_maps(model, VOCAB, "in the beginning")
    assert maps.weights.shape == (2, 2, 16, 16)
    assert torch.all(maps.weights.triu(1) == 0)
    torch.testing.assert_close(maps.weights.sum(-1), torch.ones(2, 2, 16))
    with pytest.raises(AttentionInputError, match="at most 16"):
        attention_maps(model, VOCAB, "a" * 17)


def test_explorer_refuses_and_keeps_the_drawn_prompt(model):
    w = NextTokenExplorer(model, VOCAB, "the cat")
    assert "kept: 62" not in w.report() and not w.refused
    assert not w.set_prompt("the CAT")
    assert w.refused and "not 'CAT'" in w.refusal()
    assert w.prompt.value == "the cat" and w.values()["prompt"] == "'the cat'"
    assert w.set_prompt("the dog") and not w.refused
    w.top_k.value = 3
    assert w.values()["kept"] == 3
    w.temperature.value = 0.0
    assert w.values()["kept"] == 1


def test_explorer_step_and_head_gallery(model):
    w = NextTokenExplorer(model, VOCAB, "the cat")
    for i in range(4):
        w.step(i)
    assert w.values()["temperature"] == 0.5 and w.values()["seed"] == 3
    view = gpt_heads(model, VOCAB, "the cat sat")
    assert "the cat sat" in view.report() or "0:t" in view.report()
    assert not view.set_text("a" * 17) and view.refused


def test_training_monitor_shows_progress_and_the_curve():
    from selfattn.explore.gpt.train import History
    from selfattn.widgets.gpt import TrainingMonitor
    monitor = TrainingMonitor(10, {"bigram": 3.2})
    monitor(10, History(steps=[5, 10], train_bits=[4.0, 3.0], val_bits=[4.1, 3.1], seconds=2.0, tokens=1000))
    assert monitor.bar.value == 10 and "validation 3.100" in monitor.label.value
