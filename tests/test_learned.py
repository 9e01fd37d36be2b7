"""selfattn.explore.learned: the toy tasks, the tiny transformer, its training loop and the tools that look inside."""
import pytest
import torch

from selfattn import AttentionInputError
from selfattn.explore import learned as tiny
from selfattn.exercises.ch07 import _induction_solution, referent
from selfattn.limits import MAX_TOKENS


# --- the vocabulary and the tasks -------------------------------------------------------------

def test_vocab_round_trip_and_pad_first():
    assert tiny.VOCAB.words[0] == tiny.PAD
    words = ["the", "cat", "chased", "bank", "k"]
    assert tiny.VOCAB.decode(tiny.VOCAB.encode(words)) == words
    assert len(set(tiny.VOCAB.words)) == len(tiny.VOCAB)


def test_vocab_refuses_unknown_words_by_name():
    with pytest.raises(AttentionInputError, match="'zebra', 'mat'"):
        tiny.VOCAB.encode(["the", "zebra", "sat", "mat"][:2] + ["mat"])


@pytest.mark.parametrize("task", tiny.TASKS)
def test_examples_are_deterministic(task):
    a = tiny.make_examples(task, 50, seed=3)
    b = tiny.make_examples(task, 50, seed=3)
    c = tiny.make_examples(task, 50, seed=4)
    assert a == b
    assert [e.text for e in a] != [e.text for e in c]


def test_test_sets_are_fixed_distinct_and_left_out_of_training():
    t1, t2 = tiny.make_test_sets(), tiny.make_test_sets()
    assert {k: [e.text for e in v] for k, v in t1.items()} == {k: [e.text for e in v] for k, v in t2.items()}
    for task, exs in t1.items():
        assert len(exs) == 100 and len({e.text for e in exs}) == 100
    train = tiny.make_train_set(300, 0, t1)
    held_out = {e.text for exs in t1.values() for e in exs}
    assert len(train) == 4 * 300
    assert not any(e.text in held_out for e in train)


def test_pronoun_examples_follow_the_toy_rules():
    for ex in tiny.make_examples("pronoun", 300, seed=0):
        (pos, word), = ex.targets
        assert pos == 6 and ex.tokens[6] in ("he", "she", "it")
        assert word == referent(ex.text)
        assert word == ex.tokens[1 if ex.meta("role") == "subject" else 4]


def test_roles_target_the_agent_at_the_verb():
    for ex in tiny.make_examples("roles", 200, seed=0):
        (pos, word), = ex.targets
        assert ex.tokens[pos] in tiny.PEOPLE_VERBS + tiny.ANIMAL_VERBS
        agent = ex.tokens[1] if ex.meta("voice") == "active" else ex.tokens[-1]
        assert word == agent


def test_sense_examples_have_one_cue_of_the_right_kind():
    for ex in tiny.make_examples("sense", 200, seed=0):
        (pos, word), = ex.targets
        assert ex.tokens[pos] == "bank" and word == ex.meta("sense")
        river = [t for t in ex.tokens if t in tiny.RIVER_VERBS + tiny.RIVER_NOUNS]
        money = [t for t in ex.tokens if t in tiny.MONEY_VERBS + tiny.MONEY_NOUNS]
        assert (river, money) == (([ex.meta("cue")], []) if word == "river" else ([], [ex.meta("cue")]))


def test_induction_targets_are_what_the_induction_rule_says():
    for ex in tiny.make_examples("induction", 200, seed=0):
        assert ex.causal and ex.targets
        for pos, word in ex.targets:
            assert word == _induction_solution(list(ex.tokens[:pos + 1]))
        assert len(ex.tokens) <= MAX_TOKENS


def test_generators_refuse_bad_options():
    import random
    rng = random.Random(0)
    with pytest.raises(AttentionInputError, match="cue"):
        tiny.pronoun_example(rng, "colour")
    with pytest.raises(AttentionInputError, match="voice"):
        tiny.roles_example(rng, "middle")
    with pytest.raises(AttentionInputError, match="sense"):
        tiny.sense_example(rng, "bench")
    with pytest.raises(AttentionInputError, match="length"):
        tiny.induction_example(rng, 12)
    with pytest.raises(AttentionInputError, match="task"):
        tiny.make_examples("translation", 3, 0)


# --- batches and the model --------------------------------------------------------------------

def small_batch():
    sets = tiny.make_test_sets(8)
    return tiny.encode_batch(sets["pronoun"][:3] + sets["induction"][:3] + sets["roles"][:2])


def test_encode_batch_pads_and_masks():
    b = small_batch()
    batch, n = b.ids.shape
    assert (batch, n) == (8, max(b.lengths.tolist()))
    assert b.mask.shape == (8, n, n) and b.targets.shape == (8, n)
    for i in range(batch):
        length = int(b.lengths[i])
        assert (b.ids[i, length:] == 0).all()
        assert not b.mask[i, :, length:].any()                       # padding is never attended to
    assert not b.mask[3, 0, 1] and b.mask[3, 1, 0]                   # induction rows are causal
    assert b.mask[0, 0, 1]                                           # sentences are not
    assert ((b.targets != tiny.IGNORE).sum(1) >= 1).all()


def test_model_shapes_and_rows_sum_to_one():
    cfg = tiny.TinyConfig()
    model = tiny.TinyTransformer(cfg)
    b = small_batch()
    out = model(b.ids, b.mask)
    batch, n = b.ids.shape
    assert out.logits.shape == (batch, n, cfg.vocab_size)
    assert len(out.weights) == cfg.n_layers and len(out.hidden) == cfg.n_layers + 1
    for w in out.weights:
        assert w.shape == (batch, cfg.n_heads, n, n)
        torch.testing.assert_close(w.sum(-1), torch.ones(batch, cfg.n_heads, n, dtype=w.dtype))
        assert (w[3, :, 0, 1:] == 0).all()                            # causal row 0 sees only itself
    assert all(h.shape == (batch, n, cfg.d_model) for h in out.hidden)
    assert model.n_parameters() > 10_000


def test_model_is_deterministic_from_its_seed_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b = tiny.TinyTransformer(tiny.TinyConfig(), seed=5), tiny.TinyTransformer(tiny.TinyConfig(), seed=5)
    c = tiny.TinyTransformer(tiny.TinyConfig(), seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)          # building a model draws nothing globally
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.tok_emb.weight, c.tok_emb.weight)


def test_init_follows_pytorch_defaults():
    model = tiny.TinyTransformer(tiny.TinyConfig(), seed=0)
    assert model.tok_emb.weight.std().item() == pytest.approx(1.0, abs=0.05)          # N(0, 1) embeddings
    bound = 1 / 32 ** 0.5                                                              # ±1/√fan_in, fan_in = d_model
    w = model.blocks[0].attn.w_q.weight
    assert w.abs().max().item() <= bound and w.abs().max().item() > 0.9 * bound
    assert torch.equal(model.ln_f.weight, torch.ones(32, dtype=torch.float64))


def test_model_refuses_bad_ids_and_config():
    model = tiny.TinyTransformer(tiny.TinyConfig())
    with pytest.raises(AttentionInputError, match="at most|1..16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(AttentionInputError, match="torch.long"):
        model(torch.zeros(1, 4))
    with pytest.raises(AttentionInputError, match="divisible"):
        tiny.TinyConfig(d_model=30, n_heads=4)
    with pytest.raises(AttentionInputError, match="steps"):
        tiny.TrainSettings(steps=0)
    with pytest.raises(AttentionInputError, match="lr"):
        tiny.TrainSettings(lr=-1.0)
    with pytest.raises(AttentionInputError, match="dtype"):
        tiny.TinyConfig(dtype="float16")


# --- training ---------------------------------------------------------------------------------

def test_training_is_deterministic_and_restores_global_settings():
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    settings = tiny.TrainSettings(steps=15, count_per_task=200)
    _, h1 = tiny.train(tiny.TinyConfig(), settings, tasks=("roles", "sense"), eval_every=5)
    _, h2 = tiny.train(tiny.TinyConfig(), settings, tasks=("roles", "sense"), eval_every=5)
    _, h3 = tiny.train(tiny.TinyConfig(), tiny.TrainSettings(seed=2, steps=15, count_per_task=200),
                       tasks=("roles", "sense"), eval_every=5)
    assert h1.loss == h2.loss and h1.accuracy == h2.accuracy
    assert h1.loss != h3.loss                                          # the seed matters
    assert h1.loss_bits()[0] == pytest.approx(h1.loss[0] / 0.6931471805599453)
    assert h1.eval_steps == [5, 10, 15] and len(h1.loss) == 15
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == det


def test_short_training_learns_word_sense():
    model, hist = tiny.train(tiny.TinyConfig(), tiny.TrainSettings(steps=150, count_per_task=1000),
                             tasks=("sense",), eval_every=50)
    assert hist.final_accuracy()["sense"] >= 0.95
    assert hist.loss[-1] < hist.loss[0] / 5
    assert not model.training


def test_train_refuses_unknown_tasks():
    with pytest.raises(AttentionInputError, match="tasks"):
        tiny.train(tiny.TinyConfig(), tiny.TrainSettings(steps=1), tasks=("poetry",))


# --- looking inside ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model():
    return tiny.TinyTransformer(tiny.TinyConfig(), seed=1)


def test_inspect_shapes_and_causal_choice(model):
    ins = tiny.inspect(model, "the cat chased the dog because it was hungry")
    assert not ins.causal and ins.weights.shape == (2, 2, 9, 9) and ins.hidden.shape == (3, 9, 32)
    assert ins.probs.shape == (9, len(tiny.VOCAB))
    torch.testing.assert_close(ins.probs.sum(-1), torch.ones(9, dtype=ins.probs.dtype))
    word, p = ins.prediction(6)
    assert word == tiny.VOCAB.words[int(ins.probs[6].argmax())] and p == float(ins.probs[6].max())
    (w1, p1), (w2, p2) = ins.top_predictions(6, 2)
    assert (w1, p1) == (word, p) and w2 != w1 and p2 <= p1
    assert ins.blocked() is None
    top = ins.top_keys(1, 0, 6, k=3)
    assert [j for j, _ in top] == torch.argsort(ins.weights[1, 0, 6], descending=True, stable=True)[:3].tolist()
    letters = tiny.inspect(model, "b c d b")
    assert letters.causal and (letters.weights[:, :, 0, 1:] == 0).all()
    assert letters.blocked().tolist() == [[j > i for j in range(4)] for i in range(4)]


def test_default_query_and_is_question():
    assert tiny.default_query("the cat chased the dog because it was hungry".split()) == 6
    assert tiny.default_query("she fished near the bank".split()) == 4
    assert tiny.default_query("the dog was chased by the cat".split()) == 3
    assert tiny.default_query(list("kdsk")) == 3
    assert tiny.is_question(list("kdsk"), 3) and not tiny.is_question(list("kdsk"), 2)
    assert tiny.is_question("the dog chased the cat".split(), 2)
    assert not tiny.is_question("the dog chased the cat".split(), 1)


def test_relation_pairs_point_at_the_right_words():
    sets = tiny.make_test_sets(20)
    for ex in sets["pronoun"]:
        (q, k), = tiny.relation_pairs(ex, "referent")
        assert ex.tokens[k] == dict(ex.targets)[q]
    for ex in sets["roles"]:
        (q, k), = tiny.relation_pairs(ex, "agent")
        assert ex.tokens[k] == dict(ex.targets)[q]
    for ex in sets["sense"]:
        (q, k), = tiny.relation_pairs(ex, "cue")
        assert ex.tokens[q] == "bank" and ex.tokens[k] == ex.meta("cue")
    for ex in sets["induction"]:
        for q, k in tiny.relation_pairs(ex, "induction"):
            assert ex.tokens[k] == dict(ex.targets)[q]
    with pytest.raises(AttentionInputError, match="belongs to the pronoun task"):
        tiny.relation_pairs(sets["sense"][0], "referent")


def test_mean_attention_matches_a_direct_computation(model):
    exs = tiny.make_test_sets(10)["roles"]
    table = tiny.mean_attention(model, exs, "agent")
    assert table.shape == (2, 2)
    manual = torch.zeros(2, 2, dtype=torch.float64)
    for ex in exs:
        ins = tiny.inspect(model, list(ex.tokens))
        (q, k), = tiny.relation_pairs(ex, "agent")
        manual += ins.weights[:, :, q, k].double()
    torch.testing.assert_close(table, manual / len(exs))


def test_attention_on_word_baseline_is_uniform_share():
    model = tiny.TinyTransformer(tiny.TinyConfig())
    with torch.no_grad():                                 # make every head uniform: zero query weights
        for block in model.blocks:
            block.attn.w_q.weight.zero_()
            block.attn.w_q.bias.zero_()
    exs = tiny.make_test_sets(10)["sense"]
    per_head, baseline = tiny.attention_on_word(model, exs, "the")
    torch.testing.assert_close(per_head, torch.full((2, 2), baseline, dtype=torch.float64))


def test_attention_onto_matches_a_direct_computation(model):
    exs = tiny.make_test_sets(10)["pronoun"]
    onto = tiny.attention_onto(model, exs, 8)
    assert onto.shape == (2, 2, 9)
    manual = sum(tiny.inspect(model, list(ex.tokens)).weights[..., 8].double() for ex in exs) / len(exs)
    torch.testing.assert_close(onto, manual)
    with pytest.raises(AttentionInputError, match="same length"):
        tiny.attention_onto(model, tiny.make_test_sets(10)["roles"], 1)    # active (5) and passive (7) sentences
    with pytest.raises(AttentionInputError, match="key"):
        tiny.attention_onto(model, exs, 9)


def test_missed_lists_exactly_the_wrong_answers(model):
    exs = tiny.make_test_sets(20)["induction"]
    wrong = tiny.missed(model, exs)                       # an untrained model misses most answers
    n_targets = sum(len(ex.targets) for ex in exs)
    assert len(wrong) == round((1 - tiny.accuracy(model, exs)) * n_targets) > 0
    for ex, pos, said, right in wrong:
        assert dict(ex.targets)[pos] == right != said
        assert tiny.inspect(model, list(ex.tokens)).prediction(pos)[0] == said


def test_ablated_switches_a_head_off_and_restores_it(model):
    before = [p.clone() for p in model.parameters()]
    ids = tiny.VOCAB.encode("the cat chased the dog".split())
    with tiny.ablated(model, 1, 0):
        cols = model.blocks[1].attn.w_o.weight[:, :model.cfg.d_head]
        assert (cols == 0).all()
        changed = model(ids).logits
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not torch.allclose(changed, model(ids).logits)
    with pytest.raises(AttentionInputError, match="layer"):
        with tiny.ablated(model, 5, 0):
            pass


def test_ablation_table_keys(model):
    table = tiny.ablation_table(model, tiny.make_test_sets(5))
    assert list(table) == ["none", "layer 0 head 0", "layer 0 head 1", "layer 1 head 0", "layer 1 head 1"]
    assert set(table["none"]) == set(tiny.TASKS)


def test_cosine_and_cosine_matrix():
    u, v = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])
    assert tiny.cosine(u, v) == pytest.approx(2 ** -0.5)
    assert tiny.cosine(u, -3 * u) == pytest.approx(-1.0)
    x = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    m = tiny.cosine_matrix(x)
    for i in range(5):
        for j in range(5):
            assert float(m[i, j]) == pytest.approx(tiny.cosine(x[i], x[j]))
    with pytest.raises(AttentionInputError, match="zero vector"):
        tiny.cosine(torch.zeros(3), torch.ones(3))
    with pytest.raises(AttentionInputError, match="same length"):
        tiny.cosine(torch.ones(3), torch.ones(4))


def test_word_vectors_same_input_different_context(model):
    sents = ["we walked to the bank with the boat", "we walked to the bank with the cash"]
    v0 = tiny.word_vectors(model, sents, "bank", 0)
    v2 = tiny.word_vectors(model, sents, "bank", 2)
    assert v0.shape == v2.shape == (2, 32)
    torch.testing.assert_close(v0[0], v0[1])                         # same word, same position: same input
    assert not torch.allclose(v2[0], v2[1])                          # different context: different output
    with pytest.raises(AttentionInputError, match="does not contain"):
        tiny.word_vectors(model, ["the dog chased the cat"], "bank", 1)
    with pytest.raises(AttentionInputError, match="layer"):
        tiny.word_vectors(model, sents, "bank", 3)


def test_pca_2d_keeps_the_main_direction():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g, dtype=torch.float64) * torch.tensor([10.0, 1, 1, 1, 1, 0.1])
    p = tiny.pca_2d(x)
    assert p.shape == (40, 2)
    assert p[:, 0].var() > 20 * p[:, 1].var()
    centred = x - x.mean(0)
    top2 = torch.linalg.eigvalsh(centred.T @ centred / 39).flip(0)[:2]   # the two largest variances
    torch.testing.assert_close(p.var(0), top2)
    shifted = tiny.pca_2d(x + 5.0)                                       # a shift changes nothing
    torch.testing.assert_close(shifted, p)


def test_head_columns_are_the_heads_slice_of_w_o():
    assert tiny.head_columns(1, 16) == slice(16, 32)
    assert tiny.head_columns(0, 8) == slice(0, 8)
