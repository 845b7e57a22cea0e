"""Positional encodings and the word-order demo."""

import numpy as np

import attnviz
from attnviz.analysis.positions import alignment, learned_positions, reorder, sinusoidal


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


def test_rotary_similarity_is_the_cosine_of_rope_rotated_vectors_and_depends_on_distance_only():
    """Against the DCFormer's own rotation (apply_rope with its tables): rotate one vector with equal weight in every
    pair to each position; the cosines between positions are rotary_similarity, constant along each diagonal."""
    import torch

    from attnviz.models.dcformer import apply_rope, rope_tables
    from attnviz.analysis.positions import rotary_angles, rotary_similarity

    n, d, base = 24, 16, 10000.0
    cos, sin = rope_tables(n, d, base)
    np.testing.assert_allclose(
        np.arccos(np.clip(cos.numpy(), -1, 1))[:3, :3], np.arccos(np.cos(rotary_angles(n, d, base)))[:3, :3], atol=1e-5
    )
    u = torch.ones(1, 1, n, d)  # the same vector at every position
    rotated = apply_rope(u, cos, sin)[0, 0].double().numpy()  # (n, d)
    unit = rotated / np.linalg.norm(rotated, axis=1, keepdims=True)
    sim = rotary_similarity(n, d, base)
    np.testing.assert_allclose(sim, unit @ unit.T, atol=1e-5)
    for offset in range(-5, 6):
        diagonal = np.diagonal(sim, offset)
        np.testing.assert_allclose(diagonal, diagonal[0], atol=1e-9)


def test_learned_positions_come_through_the_contract(build):  # noqa: F811
    from attnviz.capture import get_model

    gpt2, llama = build("gpt2").adapter, build("llama").adapter
    table = gpt2.hf.transformer.wpe.weight.detach().numpy()
    np.testing.assert_array_equal(learned_positions(gpt2, 7), table[:7])
    assert learned_positions(llama, 7) is None and llama.rope_base == 10000.0 and gpt2.rope_base is None
    assert learned_positions(get_model("dcformer-tiny"), 7) is None and get_model("dcformer-tiny").rope_base > 0
