"""Chapter 10's corpus, baselines and training: the split, the baselines, and a short run beating bigram."""
import math

import pytest
import torch

from selfattn.errors import AttentionInputError
from selfattn.explore.gpt import GPT, GPTConfig, TrainConfig
from selfattn.explore.gpt.baselines import baselines, bigram_probs, cross_entropy_bits, unigram_probs
from selfattn.explore.gpt.data import Vocabulary, batch, corpus, load_corpus, windows
from selfattn.explore.gpt.generate import generate
from selfattn.explore.gpt.train import (CHAPTER_TRAINING, WEIGHTS, chapter_config, evaluate_bits, learning_rate, load_weights,
                                       train)


def test_corpus_ships_and_is_split_by_position():
    text = load_corpus()
    assert 500_000 < len(text) < 2_100_000 and text.isascii()
    data = corpus()
    assert data.vocab.decode(torch.cat([data.train, data.val])) == text
    assert data.val.shape[0] == pytest.approx(0.1 * len(text), rel=0.01)


def test_vocabulary_round_trip_and_refusal():
    v = Vocabulary.from_text("hello world")
    assert v.decode(v.encode("low hold")) == "low hold"
    assert v.unknown("hello, World!") == [",", "W", "!"]
    with pytest.raises(AttentionInputError, match="not in the vocabulary"):
        v.encode("hi!")


def test_batches_are_seeded_shifted_windows():
    ids = torch.arange(100)
    x1, y1 = batch(ids, 4, 10, torch.Generator().manual_seed(0))
    x2, _ = batch(ids, 4, 10, torch.Generator().manual_seed(0))
    assert torch.equal(x1, x2) and x1.shape == (4, 10)
    assert torch.equal(y1, x1 + 1)


def test_windows_score_every_character_after_the_first_once():
    ids = torch.arange(25)
    targets = torch.cat([y[0] for _, y in windows(ids, 7)])
    assert torch.equal(targets, ids[1:])


def test_baselines_against_hand_counts():
    train, val = torch.tensor([0, 1, 0, 1, 0, 2]), torch.tensor([0, 1, 2])
    uni = unigram_probs(train, 3, alpha=1.0)
    torch.testing.assert_close(uni, torch.tensor([4, 3, 2], dtype=torch.float64) / 9)
    bi = bigram_probs(train, 3, alpha=1.0)          # pairs 01 10 01 10 02 -> row 0: [1, 3, 2]/6
    torch.testing.assert_close(bi[0], torch.tensor([1, 3, 2], dtype=torch.float64) / 6)
    b = baselines(train, val, 3)
    assert b["uniform"] == pytest.approx(math.log2(3))
    assert b["unigram"] == pytest.approx(-(math.log2(3 / 9) + math.log2(2 / 9)) / 2)
    assert b["bigram"] == pytest.approx(-(math.log2(3 / 6) + math.log2(bi[1, 2].item())) / 2)
    assert cross_entropy_bits(torch.full((3,), 1 / 3), torch.tensor([0, 2])) == pytest.approx(math.log2(3))


def test_baselines_on_the_corpus_are_ordered():
    data = corpus()
    b = baselines(data.train, data.val, data.vocab.size)
    assert b["uniform"] > b["unigram"] > b["bigram"] > 2.5


def test_learning_rate_warms_up_then_decays():
    cfg = TrainConfig(steps=100, warmup=10, lr=1e-3, min_lr=1e-4)
    assert learning_rate(0, cfg) == pytest.approx(1e-4)
    assert learning_rate(9, cfg) == pytest.approx(1e-3)
    assert learning_rate(99, cfg) == pytest.approx(1e-4)


def test_a_short_run_beats_the_bigram_baseline():
    """A reduced model trained for a few seconds already predicts better than character pairs."""
    data = corpus()
    cfg = GPTConfig(vocab_size=data.vocab.size, context=16, d_model=32, n_heads=2, n_layers=1, tied=False)
    model, history = train(cfg, TrainConfig(steps=200, batch=32, lr=1e-2, min_lr=1e-3, warmup=10, eval_every=100,
                                            eval_batches=2), data)
    val = evaluate_bits(model, data.val[:20_000])
    bigram = baselines(data.train, data.val[:20_000], data.vocab.size)["bigram"]
    assert history.train_bits[-1] < history.train_bits[0]
    assert val < bigram - 0.1, (val, bigram)


@pytest.mark.skipif(not WEIGHTS.exists(), reason="the shipped weights are written by `make gpt-weights`")
def test_shipped_weights_load_and_beat_bigram_by_their_recorded_margin():
    model, meta = load_weights()
    data = corpus()
    assert WEIGHTS.stat().st_size < 5 * 2**20
    sub = data.val[:10_000]
    assert evaluate_bits(model, sub) < baselines(data.train, sub, data.vocab.size)["bigram"] - 0.3
    assert meta["measured"]["val_bits"] < 3.0


@pytest.mark.skipif(not WEIGHTS.exists(), reason="the shipped weights are written by `make gpt-weights`")
def test_shipped_weights_were_trained_with_the_chapter_recipe():
    """`make gpt-weights` reproduces the file only if the recipe in the code is the one stored in it."""
    model, meta = load_weights()
    assert TrainConfig(**meta["train_config"]) == CHAPTER_TRAINING
    assert model.cfg == chapter_config(corpus().vocab.size)
    assert meta["measured"]["history"]["steps"][-1] == CHAPTER_TRAINING.steps


def test_cached_and_uncached_generation_write_the_same_tokens():
    model = GPT(GPTConfig(vocab_size=13, context=40, d_model=16, n_heads=2, n_layers=2), seed=1)
    prompt = torch.tensor([1, 2, 3])
    for kwargs in (dict(temperature=0.0), dict(temperature=1.0, seed=5), dict(temperature=0.8, top_k=5, top_p=0.9)):
        a = generate(model, prompt, 30, use_cache=True, **kwargs)
        b = generate(model, prompt, 30, use_cache=False, **kwargs)
        assert torch.equal(a, b) and a.shape == (33,)
    with pytest.raises(AttentionInputError, match="context window"):
        generate(model, prompt, 38)
