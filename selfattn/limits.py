"""Sizes the book's live views accept, stated once for the math, the widgets and the ES module.

A widget draws an n×n grid with a number in every cell; past 16 tokens the numbers no longer
fit a notebook column and an update stops feeling instant, so every interactive view refuses
longer input with a message instead of slowing down.
"""
MAX_TOKENS = 16          # the longest sentence (or sequence) any live view accepts
