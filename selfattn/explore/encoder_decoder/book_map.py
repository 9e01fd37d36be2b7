"""The book on one page: each chapter's key ideas and what builds on what (drawn by viz.encoder_decoder)."""
from __future__ import annotations

# column 0: the mechanism; column 1: what shapes it and what it learns; column 2: what it costs and where it goes
CHAPTERS = (
    {"number": 1, "title": "Why attention", "ideas": "one step between any\ntwo tokens; RNN, CNN paths", "column": 0, "row": 0},
    {"number": 2, "title": "Queries, keys, values", "ideas": "three projections\nof the same tokens", "column": 0, "row": 1},
    {"number": 3, "title": "Scaled dot product", "ideas": "QKᵀ/√d_k, softmax,\nweighted sum of values", "column": 0, "row": 2},
    {"number": 4, "title": "Self, cross, position", "ideas": "order-blind without\npositions; RoPE", "column": 0, "row": 3},
    {"number": 5, "title": "Masks", "ideas": "causal, padding,\nempty rows", "column": 1, "row": 0},
    {"number": 6, "title": "Multi-head", "ideas": "split, attend,\nconcatenate, project", "column": 1, "row": 1},
    {"number": 7, "title": "What it learns", "ideas": "trained heads:\ncopying, induction", "column": 1, "row": 2},
    {"number": 10, "title": "A small GPT", "ideas": "blocks, residuals,\nsampling", "column": 1, "row": 3},
    {"number": 8, "title": "The cost", "ideas": "n² time and memory;\nKV cache", "column": 2, "row": 0},
    {"number": 9, "title": "Efficient attention", "ideas": "windows, sparse, linear,\ntiled online softmax", "column": 2, "row": 1},
    {"number": 11, "title": "Encoder-decoder", "ideas": "cross-attention (ch. 4)\nthat learns to align", "column": 2, "row": 3},
)

# what builds on what (each arrow joins neighbouring boxes, so none crosses another box)
LINKS = ((1, 2), (2, 3), (3, 4), (3, 5), (5, 6), (6, 7), (7, 10), (4, 10), (5, 8), (8, 9), (8, 10), (10, 11))
