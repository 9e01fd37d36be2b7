"""Chapter 11's encoder-decoder: the task and its known alignment, the model built from chapter 10's
blocks, cached decoding against recomputation, the alignment measure, and a short real training run."""
import pytest
import torch

from selfattn.errors import AttentionInputError
from selfattn.explore.encoder_decoder import alignment as al
from selfattn.explore.encoder_decoder import task
from selfattn.explore.encoder_decoder.model import EncoderDecoder, EncoderDecoderConfig
from selfattn.explore.encoder_decoder.train import (TrainSettings, exact_match, greedy_decode, load, loss_on,
                                                    train)
from selfattn.explore.gpt import Block

SMALL = EncoderDecoderConfig(d_model=32, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, d_mlp=64)


def test_dates_are_valid_distinct_and_split_without_overlap():
    train_dates, test_dates = task.split_dates(2000, 200, seed=3)
    assert len(set(train_dates)) == 2000 and len(set(test_dates)) == 200
    assert not set(train_dates) & set(test_dates)
    for d in train_dates[:200]:
        assert task.parse_source(d.source_text()) == d                       # round trip through the text
    assert task.split_dates(50, 5, seed=3) == task.split_dates(50, 5, seed=3)


def test_tokens_and_the_known_alignment():
    d = task.Date(5, 3, 2024)
    assert d.source_tokens() == ["5", "March", "2", "0", "2", "4"]
    assert "".join(d.target_tokens()) == "2024-03-05"
    m = task.alignment_matrix(d)
    assert m.shape == (10, 6)
    assert [row.nonzero().flatten().tolist() for row in m] == [[2], [3], [4], [5], [], [1], [1], [], [0], [0]]
    src_tokens, tgt = d.source_tokens(), d.target_tokens()
    for i, j in zip(*m.nonzero(as_tuple=True)):                            # every year digit reads itself
        if i < 4:
            assert src_tokens[j] == tgt[i]


@pytest.mark.parametrize("bad", ["30 February 2001", "12 Marchy 2024", "12 March 1850", "March 2024", "x March 2024", 7])
def test_parse_source_refuses_what_the_model_cannot_read(bad):
    with pytest.raises(AttentionInputError):
        task.parse_source(bad)


def test_blocks_are_chapter_10s_and_masks_are_respected():
    model = EncoderDecoder(SMALL, seed=1)
    assert all(isinstance(b, Block) and b.cross is None and not b.attn.sublayer.causal for b in model.encoder)
    assert all(isinstance(b, Block) and b.cross is not None and b.attn.sublayer.causal for b in model.decoder)
    dates = [task.Date(5, 3, 2024), task.Date(28, 9, 1999)]             # sources of 6 and 7 tokens
    src, mask = task.encode_sources(dates)
    tgt_in, _ = task.encode_targets(dates)
    with torch.no_grad():
        out = model(src, mask, tgt_in)
    assert out.logits.shape == (2, 11, len(task.TARGET_VOCAB))
    assert float(out.cross_weights[0][0, :, :, 6].abs().max()) == 0.0     # padding never read
    torch.testing.assert_close(out.cross_weights[0].sum(-1), torch.ones(2, 2, 11))
    assert float(out.self_weights[0].triu(1).abs().max()) == 0.0           # causal decoder
    # the decoder's output at position t does not change when later target tokens change
    changed = tgt_in.clone()
    changed[:, 6:] = 4
    with torch.no_grad():
        out2 = model(src, mask, changed)
    torch.testing.assert_close(out2.logits[:, :6], out.logits[:, :6])
    assert not torch.allclose(out2.logits[:, 6:], out.logits[:, 6:])


def test_padding_does_not_change_the_encoding_of_real_tokens():
    model = EncoderDecoder(SMALL, seed=2)
    d = task.Date(5, 3, 2024)
    src, mask = task.encode_sources([d])                                 # padded to 7
    short, short_mask = src[:, :6], mask[:, :6]                          # no padding at all
    m1, _ = model.encode(src, mask)
    m2, _ = model.encode(short, short_mask)
    torch.testing.assert_close(m1[:, :6], m2, atol=1e-6, rtol=0)


def test_cached_decoding_gives_the_same_tokens_and_maps_as_recomputing():
    model = EncoderDecoder(SMALL, seed=4).eval()
    dates = task.sample_dates(16, seed=5)
    ids_a, maps_a = greedy_decode(model, dates, use_cache=True)
    ids_b, maps_b = greedy_decode(model, dates, use_cache=False)
    assert torch.equal(ids_a, ids_b)
    for a, b in zip(maps_a, maps_b):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_alignment_share_of_a_perfect_map_is_one_and_chance_is_uniform_share():
    dates = [task.Date(5, 3, 2024), task.Date(28, 9, 1999)]
    perfect = torch.zeros(2, 1, 11, 7)
    for b, d in enumerate(dates):
        m = task.alignment_matrix(d).float()                             # (10, n_src)
        rows = m / m.sum(-1, keepdim=True).clamp(min=1)
        perfect[b, 0, :10, :m.shape[1]] = rows
    assert float(al.aligned_share([perfect], dates)) == pytest.approx(1.0)
    uniform = torch.zeros(2, 1, 11, 7)
    for b, d in enumerate(dates):
        n = len(d.source_tokens())
        uniform[b, 0, :, :n] = 1.0 / n
    assert float(al.aligned_share([uniform], dates)) == pytest.approx(al.chance_share(dates))
    assert 0.1 < al.chance_share(dates) < 0.3


def test_shuffled_sources_keep_the_tokens_and_move_them():
    dates = task.sample_dates(50, seed=6)
    src, mask = task.encode_sources(dates)
    shuf, shuf_mask = al.shuffled_sources(dates, seed=0)
    assert torch.equal(mask, shuf_mask)
    assert torch.equal(src.sort(1).values, shuf.sort(1).values)
    assert (shuf != src).any(1).float().mean() > 0.9


def test_a_short_training_run_learns_the_task():
    """Seeded, a small model learns to rewrite most held-out dates in a few hundred steps."""
    # 150 steps at lr 3e-3 reached only 2.5%; 200 steps at lr 1e-2 reach 98% (about 13 s on one thread here)
    settings = TrainSettings(n_train=4000, n_test=200, steps=200, batch=64, lr=1e-2, threads=1)
    cfg = EncoderDecoderConfig(d_model=32, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, d_mlp=64)
    untrained = EncoderDecoder(cfg, seed=0)
    _, test_dates = task.split_dates(settings.n_train, settings.n_test, seed=0)
    before = float(loss_on(untrained, test_dates).detach())
    model, log = train(cfg, settings, log_every=50)
    after = float(loss_on(model, test_dates).detach())
    assert after < 0.25 * before
    assert exact_match(model, test_dates) > 0.8
    assert exact_match(model, test_dates, cross="off") < 0.05            # without the source it cannot


def test_shipped_weights_rewrite_held_out_dates_and_need_cross_attention():
    model, settings, facts = load()
    _, test_dates = task.split_dates(settings.n_train, settings.n_test, seed=settings.seed)
    sample = test_dates[:300]
    assert exact_match(model, sample) >= 0.95
    abl = al.ablation(model, sample, seed=0)
    assert abl.cross_off < 0.05 and abl.shuffled < 0.2
    _, maps = greedy_decode(model, sample)
    assert float(al.aligned_share(maps, sample).max()) > 2 * al.chance_share(sample)
