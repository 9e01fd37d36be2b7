"""Chapter 10: a GPT built from the book's parts, trained on real text, sampled.

    config     GPTConfig (the model's shape) and TrainConfig (the training recipe)
    model      SelfAttention, CrossAttention, MLP, Residual, Block, GPT; parameter counts
    data       the shipped corpus, its character vocabulary, the split by position, seeded batches
    baselines  uniform, unigram and bigram bits per character
    train      the training loop and the validation loss in bits per character
    sampling   greedy, temperature, top-k and top-p (nucleus) distributions and draws
    generate   token-by-token generation with and without the key/value cache
"""
from .config import GPTConfig, TrainConfig
from .model import GPT, MLP, Block, CrossAttention, Residual, SelfAttention, parameter_counts, parameter_formula

__all__ = ["GPTConfig", "TrainConfig", "GPT", "MLP", "Block", "CrossAttention", "Residual", "SelfAttention",
           "parameter_counts", "parameter_formula"]
