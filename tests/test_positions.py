"""Positional encodings and the word-order demo."""

import numpy as np

import attnviz
from attnviz.positions import alignment, learned_positions, reorder, sinusoidal


def test_sinusoidal_matches_the_formula():
    pe = sinusoidal(50, 16)
    pos, i = 7, 3  # dimension 2i = 6 and 2i+1 = 7
    angle = pos / 10000 ** (2 * i / 16)
    assert np.isclose(pe[pos, 2 * i], np.sin(angle)) and np.isclose(pe[pos, 2 * i + 1], np.cos(angle))
    assert np.allclose(pe[0, 0::2], 0) and np.allclose(pe[0, 1::2], 1)


def test_learned_positions_are_the_models_table(minilm):
    table = minilm.hf.embeddings.position_embeddings.weight.detach().numpy()
    assert np.array_equal(learned_positions(minilm, 10), table[:10])


def test_alignment_matches_repeated_words_in_order():
    a = ["[CLS]", "the", "dog", "chases", "the", "cat", "[SEP]"]
    b = ["[CLS]", "the", "cat", "chases", "the", "dog", "[SEP]"]
    perm = alignment(a, b)
    assert [b[j] for j in perm] == a
    assert alignment(a, ["[CLS]", "x", "[SEP]"]) is None


def test_order_changes_attention_only_through_positions(minilm):
    """With position embeddings made identical, swapping words just permutes the attention map."""
    a = attnviz.capture("the dog chases the cat", minilm, hooks=["blocks.*.attn.hook_pattern"])
    b = attnviz.capture("the cat chases the dog", minilm, hooks=["blocks.*.attn.hook_pattern"])
    perm = alignment(a.tokens, b.tokens)
    assert not np.allclose(a.pattern(0), reorder(b.pattern(0), perm), atol=1e-3)  # real model: order matters
    emb = minilm.hf.embeddings.position_embeddings.weight
    saved = emb.detach().clone()
    try:
        with __import__("torch").no_grad():
            emb[:] = saved[0]  # every position gets the same vector
        a0 = attnviz.capture("the dog chases the cat", minilm, hooks=["blocks.*.attn.hook_pattern"])
        b0 = attnviz.capture("the cat chases the dog", minilm, hooks=["blocks.*.attn.hook_pattern"])
    finally:
        with __import__("torch").no_grad():
            emb[:] = saved
    for layer in range(6):
        np.testing.assert_allclose(a0.pattern(layer), reorder(b0.pattern(layer), perm), atol=1e-5)
