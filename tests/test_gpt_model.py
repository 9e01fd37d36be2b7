"""Chapter 10's GPT: its block against torch's own encoder layer, its parameter count, its cache."""
import pytest
import torch
from torch import nn

from selfattn.errors import AttentionInputError
from selfattn.explore.gpt import GPT, Block, GPTConfig, parameter_counts, parameter_formula
from selfattn.explore.gpt.model import Residual


def copy_into_block(ref: nn.TransformerEncoderLayer, block: Block) -> None:
    """Copy torch's encoder-layer weights into our block (same function afterwards)."""
    d = ref.self_attn.embed_dim
    mha = block.attn.sublayer.attn
    with torch.no_grad():
        for lin, w, b in zip((mha.w_q, mha.w_k, mha.w_v), ref.self_attn.in_proj_weight.split(d),
                             ref.self_attn.in_proj_bias.split(d)):
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        mha.w_o.weight.copy_(ref.self_attn.out_proj.weight)
        mha.w_o.bias.copy_(ref.self_attn.out_proj.bias)
        for mine, theirs in ((block.attn.norm, ref.norm1), (block.mlp.norm, ref.norm2)):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
        block.mlp.sublayer.up.weight.copy_(ref.linear1.weight)
        block.mlp.sublayer.up.bias.copy_(ref.linear1.bias)
        block.mlp.sublayer.down.weight.copy_(ref.linear2.weight)
        block.mlp.sublayer.down.bias.copy_(ref.linear2.bias)


@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("train", [True, False])
def test_block_matches_torch_encoder_layer_with_causal_mask(norm, train):
    torch.manual_seed(0)
    d_model, n_heads, hidden, n = 32, 4, 80, 11
    ref = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=hidden, dropout=0.0, activation="gelu",
                                     batch_first=True, norm_first=(norm == "pre"))
    # torch's LayerNorms start at weight 1, bias 0: perturb them so the copy is really tested
    with torch.no_grad():
        for p in list(ref.norm1.parameters()) + list(ref.norm2.parameters()):
            p.add_(0.1 * torch.randn_like(p))
    block = Block(d_model, n_heads, hidden, dropout=0.0, causal=True, norm=norm)
    copy_into_block(ref, block)
    ref.train(train)
    block.train(train)
    x = torch.randn(3, n, d_model)                                        # (batch, n, d_model)
    causal = nn.Transformer.generate_square_subsequent_mask(n)            # (n, n), -inf above the diagonal
    expected = ref(x, src_mask=causal, is_causal=True)                    # (batch, n, d_model)
    got, weights = block(x)                                               # (batch, n, d_model)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert weights.shape == (3, n_heads, n, n)
    assert torch.all(weights.triu(1) == 0)


def test_bidirectional_block_matches_torch_without_mask():
    torch.manual_seed(1)
    ref = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, activation="gelu",
                                     batch_first=True, norm_first=True).eval()
    block = Block(16, 2, 32, causal=False).eval()
    copy_into_block(ref, block)
    x = torch.randn(2, 7, 16)                                             # (batch, n, d_model)
    torch.testing.assert_close(block(x)[0], ref(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("tied,positions,norm", [(True, "learned", "pre"), (False, "learned", "pre"),
                                                 (True, "rotary", "pre"), (False, "rotary", "post")])
def test_parameter_count_matches_formula(tied, positions, norm):
    cfg = GPTConfig(vocab_size=37, context=24, d_model=24, n_heads=3, n_layers=2, d_mlp=40, tied=tied,
                    positions=positions, norm=norm)
    counted, formula = parameter_counts(GPT(cfg)), parameter_formula(cfg)
    assert counted == formula
    assert counted["total"] == sum(p.numel() for p in GPT(cfg).parameters())


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_cached_logits_equal_full_forward(positions):
    cfg = GPTConfig(vocab_size=20, context=16, d_model=16, n_heads=2, n_layers=2, positions=positions)
    model = GPT(cfg, seed=3).eval()
    ids = torch.randint(0, 20, (2, 12), generator=torch.Generator().manual_seed(0))   # (batch, n)
    with torch.no_grad():
        full = model(ids)                                                 # (batch, n, vocab_size)
        caches = model.new_caches(2)
        first = model(ids[:, :5], caches=caches)                          # prefill 5 tokens
        rest = [model(ids[:, t:t + 1], caches=caches) for t in range(5, 12)]
    torch.testing.assert_close(torch.cat([first, *rest], dim=1), full, atol=1e-5, rtol=1e-5)


def test_rotary_model_depends_on_order_and_is_causal():
    cfg = GPTConfig(vocab_size=10, context=8, d_model=8, n_heads=2, n_layers=1, positions="rotary")
    model = GPT(cfg).eval()
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        a = model(ids)
        b = model(torch.tensor([[1, 2, 3, 4, 5, 9]]))
        c = model(torch.tensor([[2, 1, 3, 4, 5, 6]]))
    torch.testing.assert_close(a[:, :5], b[:, :5])                       # the future does not leak back
    assert not torch.allclose(a[:, 2:], c[:, 2:])                        # swapping two tokens changes later logits


def test_tied_head_shares_the_embedding():
    model = GPT(GPTConfig(vocab_size=11, context=8, d_model=8, n_heads=2, n_layers=1, tied=True))
    assert model.head.weight is model.tok.weight


def test_dropout_is_on_in_training_and_off_in_eval():
    cfg = GPTConfig(vocab_size=11, context=8, d_model=16, n_heads=2, n_layers=2, dropout=0.5)
    model = GPT(cfg)
    ids = torch.tensor([[1, 2, 3, 4]])
    model.train()
    assert not torch.equal(model(ids), model(ids))
    model.eval()
    assert torch.equal(model(ids), model(ids))


def test_residual_wraps_any_sublayer():
    r = Residual(nn.Linear(4, 4), 4)
    x = torch.randn(2, 3, 4)
    out, extra = r(x)
    assert out.shape == x.shape and extra is None


def test_cross_attention_block_needs_memory():
    block = Block(8, 2, 16, causal=True, cross=True)
    x, memory = torch.randn(1, 3, 8), torch.randn(1, 5, 8)
    out, _ = block(x, memory=memory)
    assert out.shape == (1, 3, 8)
    with pytest.raises(AttentionInputError, match="memory"):
        block(x)


@pytest.mark.parametrize("bad", [dict(d_model=10, n_heads=3), dict(positions="sinusoid"), dict(norm="sandwich"),
                                 dict(dropout=1.5), dict(context=0)])
def test_bad_config_raises(bad):
    with pytest.raises(AttentionInputError):
        GPTConfig(vocab_size=5, **bad)


def test_ids_outside_vocab_or_context_raise():
    model = GPT(GPTConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1))
    with pytest.raises(AttentionInputError, match="vocab_size"):
        model(torch.tensor([[5]]))
    with pytest.raises(AttentionInputError, match="context window"):
        model(torch.zeros(1, 5, dtype=torch.long))
