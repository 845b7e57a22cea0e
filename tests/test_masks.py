"""Every mask kind: which cells are masked, rows still sum to 1, and later layers feel it."""

import numpy as np
import pytest
import torch

import attnviz
from attnviz.masks import MaskSpec, attention_mask, masked_softmax, structural_mask

TEXT = "one two three four five six seven eight nine ten"  # 12 tokens with [CLS] and [SEP]


def test_causal_is_lower_triangular():
    m = structural_mask(5, MaskSpec(causal=True)).numpy()
    assert np.array_equal(m, np.tril(np.ones((5, 5), dtype=bool)))


def test_two_sided_window_counts_distance():
    m = structural_mask(6, MaskSpec(window=2)).numpy()
    expected = np.array([[abs(i - j) <= 1 for j in range(6)] for i in range(6)])
    assert np.array_equal(m, expected)
    assert m.sum(axis=1).tolist() == [2, 3, 3, 3, 3, 2]


def test_causal_window_holds_w_keys_including_self():
    m = structural_mask(6, MaskSpec(causal=True, window=3)).numpy()
    assert m[5].tolist() == [False, False, False, True, True, True]
    assert m[1].tolist() == [True, True, False, False, False, False]


def test_chunks_are_blocks():
    m = structural_mask(7, MaskSpec(chunk=3)).numpy()
    blocks = [0, 0, 0, 1, 1, 1, 2]
    assert np.array_equal(m, np.array([[blocks[i] == blocks[j] for j in range(7)] for i in range(7)]))


def test_padding_masks_keys_and_empty_rows_are_zero():
    real = torch.tensor([[True, True, False, False]])
    allowed = attention_mask(real, MaskSpec(chunk=2))  # (1, 4, 4)
    assert allowed[0, :, 2:].sum() == 0
    probs = masked_softmax(torch.randn(1, 4, 4), allowed)
    assert torch.allclose(probs[0, :2].sum(-1), torch.ones(2))
    assert torch.all(probs[0, 2:] == 0)  # padded queries whose chunk holds only padding


@pytest.mark.parametrize(
    "spec",
    [
        MaskSpec(causal=True),
        MaskSpec(window=2),
        MaskSpec(causal=True, window=3),
        MaskSpec(chunk=4),
        MaskSpec(causal=True, chunk=5),
    ],
    ids=lambda s: s.describe(),
)
def test_mask_in_the_forward_pass(minilm, hf_reference, spec):
    plain = attnviz.capture(TEXT, minilm)
    cap = attnviz.capture(TEXT, minilm, causal=spec.causal, window=spec.window, chunk=spec.chunk)
    seq = len(cap.tokens)
    expected = structural_mask(seq, spec).numpy()
    for layer in range(6):
        assert np.array_equal(cap.mask(layer), expected)
        pattern = cap.pattern(layer)
        assert np.all(pattern[:, ~expected] == 0)
        np.testing.assert_allclose(pattern.sum(-1), 1.0, atol=1e-5)
    # masks act inside the model: the final hidden states change, and so do layer 1's allowed cells
    assert not np.allclose(cap["blocks.5.hook_resid_post"], plain["blocks.5.hook_resid_post"], atol=1e-3)
    assert not np.allclose(cap.scores(1)[:, expected], plain.scores(1)[:, expected], atol=1e-3)
    # independent reference: Hugging Face's BertModel with the same mask as a 4-D additive mask
    model, tokenizer = hf_reference
    ids = tokenizer([TEXT], return_tensors="pt")["input_ids"]
    additive = torch.zeros(1, 1, seq, seq)
    additive[0, 0][~torch.from_numpy(expected)] = torch.finfo(torch.float32).min
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=additive, output_attentions=True)
    for layer in range(6):
        np.testing.assert_allclose(cap.pattern(layer), out.attentions[layer][0].numpy(), atol=1e-5)


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError, match="window"):
        MaskSpec(window=0)
    with pytest.raises(ValueError, match="chunk"):
        MaskSpec(chunk=-2)


def test_key_span_holds_exactly_the_keys_a_block_of_queries_may_attend_to():
    """The span from the rule equals the columns position_mask allows for any row of the block, for every rule."""
    import numpy as np

    from attnviz.masks import MaskSpec, key_span, position_mask

    n = 23
    for spec in (
        MaskSpec(),
        MaskSpec(causal=True),
        MaskSpec(window=4),
        MaskSpec(causal=True, window=4),
        MaskSpec(chunk=5),
        MaskSpec(causal=True, window=3, chunk=6),
    ):
        for start, stop in ((0, 1), (0, n), (7, 12), (19, 23), (5, 6)):
            allowed = position_mask(np.arange(start, stop), np.arange(n), spec).any(0)
            columns = np.flatnonzero(allowed)
            assert key_span(start, stop, n, spec) == (columns[0], columns[-1] + 1), (spec, start, stop)
