"""Every mask kind: which cells are masked, rows still sum to 1, and later layers feel it."""

import numpy as np
import pytest
import torch

import attnviz
from dataclasses import replace

from mask_reference import reference_alibi_slopes, reference_allowed, reference_scores
from attnviz.masks import (
    MaskSpec,
    alibi_slopes,
    attention_mask,
    key_span,
    masked_softmax,
    modify_scores,
    position_mask,
    score_mod,
    structural_mask,
)

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
        MaskSpec(prefix=4),
        MaskSpec(window=3, sinks=2),
        MaskSpec(dilation=2),
        MaskSpec(prefix=5, window=4, dilation=2, sinks=1),
    ],
    ids=lambda s: s.describe(),
)
def test_mask_in_the_forward_pass(minilm, hf_reference, spec):
    plain = attnviz.capture(TEXT, minilm)
    rules = dict(causal=spec.causal, window=spec.window, chunk=spec.chunk, prefix=spec.prefix, sinks=spec.sinks)
    cap = attnviz.capture(TEXT, minilm, dilation=spec.dilation, **rules)
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


# ----------------------------------------------------------------------------------- score modifications
@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 8, 12, 16, 20, 64])
def test_alibi_slopes_are_the_papers(n):
    np.testing.assert_allclose(alibi_slopes(n), reference_alibi_slopes(n), rtol=1e-12)
    if n == 8:
        assert alibi_slopes(8).tolist() == [2.0**-k for k in range(1, 9)]


def test_score_mod_is_the_same_on_numpy_and_torch_cell_by_cell_and_on_a_block():
    spec = MaskSpec(alibi=True, softcap=3.0)
    scores = np.random.default_rng(0).normal(0, 4, (6, 5, 7))
    q_pos, k_pos = np.arange(2, 7), np.arange(7)
    block = modify_scores(scores, q_pos, k_pos, spec, 6)
    expected = reference_scores(np.pad(scores, ((0, 0), (2, 0), (0, 0))), spec)[:, 2:]  # rows 2..6 of a 7 × 7 map
    np.testing.assert_allclose(block, expected, rtol=1e-12)
    in_torch = modify_scores(torch.from_numpy(scores), torch.from_numpy(q_pos), torch.from_numpy(k_pos), spec, 6)
    np.testing.assert_allclose(in_torch.numpy(), expected, rtol=1e-12)
    heads = [1, 4]  # a subset of the heads: their own slopes
    np.testing.assert_allclose(modify_scores(scores[heads], q_pos, k_pos, spec, 6, heads), expected[heads], rtol=1e-12)
    cell = score_mod(scores[4, 1, 5], 4, 3, 5, spec, 6)  # head 4, query position 3, key position 5
    assert cell == pytest.approx(expected[4, 1, 5], rel=1e-12)
    assert modify_scores(scores, q_pos, k_pos, MaskSpec(window=2), 6) is scores  # no modification: untouched


@pytest.mark.parametrize(
    "spec",
    [MaskSpec(alibi=True), MaskSpec(softcap=2.0), MaskSpec(alibi=True, softcap=4.0, window=3, sinks=1)],
    ids=lambda s: s.describe(),
)
def test_score_modifications_in_the_forward_pass(minilm, hf_reference, spec):
    """Layer 0 reads the same q and k with and without them: its recorded scores are the plain ones modified by the
    formulas. In every layer the pattern is the softmax of the recorded scores over the allowed keys, later layers
    change, and transformers' BertModel given ALiBi as a per-head bias in its 4-D additive mask agrees."""
    plain = attnviz.capture(TEXT, minilm)
    cap = attnviz.capture(TEXT, minilm, window=spec.window, sinks=spec.sinks, alibi=spec.alibi, softcap=spec.softcap)
    np.testing.assert_allclose(cap.scores(0), reference_scores(plain.scores(0), spec), atol=1e-5)
    allowed = structural_mask(len(cap.tokens), spec).numpy()
    for layer in range(6):
        scores = np.where(allowed, cap.scores(layer).astype(np.float64), -np.inf)
        expected = np.exp(scores - scores.max(-1, keepdims=True))
        np.testing.assert_allclose(cap.pattern(layer), expected / expected.sum(-1, keepdims=True), atol=1e-6)
    assert not np.allclose(cap.pattern(5), plain.pattern(5), atol=1e-3)
    if spec.softcap is None:
        model, tokenizer = hf_reference
        ids = tokenizer([TEXT], return_tensors="pt")["input_ids"]
        bias = reference_scores(np.zeros((12, len(cap.tokens), len(cap.tokens))), spec)  # -slope_h · |i - j|
        additive = torch.from_numpy(np.where(allowed, bias, torch.finfo(torch.float32).min)).float()[None]
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=additive, output_attentions=True)
        for layer in range(6):
            np.testing.assert_allclose(cap.pattern(layer), out.attentions[layer][0].numpy(), atol=1e-5)


def test_score_modifications_are_refused_when_meaningless():
    with pytest.raises(ValueError, match="softcap"):
        MaskSpec(softcap=0)
    with pytest.raises(ValueError, match="softcap"):
        MaskSpec(softcap=float("inf"))
    assert MaskSpec(alibi=True).is_intervention and not MaskSpec(alibi=True).takes_keys
    assert (
        MaskSpec(softcap=30).describe("en") == "soft-cap 30" and MaskSpec(alibi=True).describe("zh") == "ALiBi 距离惩罚"
    )


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


# --- the modern rules, each against its own definition written here cell by cell -------------------------------------
# (attention-gym's mask_mods read as plain Python: causal q >= kv; prefix-LM "kv < P and q < P, or causal"; a sliding
# window |q - kv| < w; dilation (q - kv) % D == 0; sinks kv < S seen through the local rules; documents doc(q) == doc(kv))


MODERN = [
    MaskSpec(prefix=3),
    MaskSpec(causal=True, prefix=3),
    MaskSpec(sinks=2),
    MaskSpec(window=3, sinks=2),
    MaskSpec(causal=True, window=3, sinks=2),
    MaskSpec(dilation=2),
    MaskSpec(window=5, dilation=2),
    MaskSpec(causal=True, window=4, dilation=3, sinks=1),
    MaskSpec(documents=(4, 9)),
    MaskSpec(causal=True, documents=(5,)),
    MaskSpec(prefix=3, window=4, dilation=2, sinks=2, documents=(7,)),
    MaskSpec(chunk=4, sinks=1, prefix=2),
]


@pytest.mark.parametrize("spec", MODERN, ids=lambda spec: spec.describe())
def test_each_modern_rule_and_their_combinations_equal_their_definitions(spec):
    n = 12
    expected = np.array([[reference_allowed(i, j, spec) for j in range(n)] for i in range(n)])
    assert np.array_equal(structural_mask(n, spec).numpy(), expected)  # torch
    assert np.array_equal(position_mask(np.arange(n), np.arange(n), spec), expected)  # NumPy (a long text's tiles)
    # a KV-cached step: new queries at absolute positions against every key
    assert np.array_equal(position_mask(torch.arange(8, 12), torch.arange(12), spec).numpy(), expected[8:])


def test_the_modern_rules_mean_what_their_names_say():
    prefix = structural_mask(6, MaskSpec(prefix=3)).numpy()
    assert prefix[0, :3].all() and not prefix[0, 3:].any()  # a prefix token sees the whole prefix, nothing after
    assert prefix[4].tolist() == [True] * 5 + [False]  # after the prefix: causal
    sinks = structural_mask(8, MaskSpec(causal=True, window=2, sinks=2)).numpy()
    assert sinks[7].tolist() == [True, True, False, False, False, False, True, True]  # the sinks, then the window
    dilated = structural_mask(9, MaskSpec(causal=True, window=7, dilation=3)).numpy()
    assert np.flatnonzero(dilated[8]).tolist() == [2, 5, 8]
    documents = structural_mask(7, MaskSpec(documents=(3, 5))).numpy()
    assert np.flatnonzero(documents[4]).tolist() == [3, 4] and np.flatnonzero(documents[6]).tolist() == [5, 6]


def test_the_modern_rules_only_narrow_a_models_own_mask_and_every_real_token_keeps_itself():
    """AND with a decoder's causal mask: the prefix rule never lets a decoder look ahead; no rule empties a row."""
    n = 10
    causal = structural_mask(n, MaskSpec(causal=True)).numpy()
    for spec in MODERN:
        mask = structural_mask(n, spec).numpy()
        assert np.diagonal(mask).all(), spec
        assert not (structural_mask(n, replace(spec, causal=True)).numpy() & ~causal).any(), spec


def test_the_new_sizes_are_refused_below_one_and_documents_must_increase():
    for name in ("prefix", "sinks", "dilation"):
        with pytest.raises(ValueError, match=name):
            MaskSpec(**{name: 0})
    for starts in ((0,), (5, 5), (6, 2)):
        with pytest.raises(ValueError, match="documents"):
            MaskSpec(documents=starts)
    assert MaskSpec(documents=[3, 7]).documents == (3, 7) and hash(MaskSpec(documents=(3,)))


def test_the_key_span_of_the_modern_rules_holds_every_key_a_block_may_attend_to():
    n = 23
    for spec in (*MODERN, MaskSpec(causal=True, window=3, sinks=4), MaskSpec(causal=True, prefix=8)):
        for start, stop in ((0, 1), (0, n), (7, 12), (19, 23), (5, 6)):
            columns = np.flatnonzero(position_mask(np.arange(start, stop), np.arange(n), spec).any(0))
            lo, hi = key_span(start, stop, n, spec)
            assert lo <= columns[0] and columns[-1] < hi, (spec, start, stop)
            if spec.dilation is None:  # exact but for a dilation's gaps
                assert (lo, hi) == (columns[0], columns[-1] + 1), (spec, start, stop)


def test_the_description_names_each_rule_in_both_languages():
    spec = MaskSpec(causal=True, prefix=3, window=4, dilation=2, sinks=2, documents=(5, 9))
    assert spec.describe("en") == "causal, prefix-LM over the first 3, window 4, dilation 2, 2 sink tokens, 3 documents"
    assert "膨胀 2" in spec.describe("zh") and "3 个文档" in spec.describe("zh")
    assert MaskSpec(sinks=2).describe("en") == "no mask" and not MaskSpec(sinks=2).is_intervention
    assert MaskSpec(prefix=2).is_intervention and MaskSpec(documents=(4,)).is_intervention


# --- the 2-D rules on an image's patch grid, against the definition in tests/support/mask_reference.py ------------
GRID = (1, 4, 5)  # [CLS], then 4 rows of 5 patches: 21 tokens
GRID_2D = [
    MaskSpec(grid=GRID, window_2d=1),
    MaskSpec(grid=GRID, window_2d=2),
    MaskSpec(grid=GRID, blocks_2d=2),
    MaskSpec(grid=GRID, blocks_2d=3),
    MaskSpec(grid=GRID, window_2d=1, blocks_2d=2),
    MaskSpec(grid=GRID, causal=True, window_2d=1),
    MaskSpec(grid=(5, 3, 3), blocks_2d=2),  # DINOv2 with registers: [CLS] and 4 registers before the grid
]


@pytest.mark.parametrize("spec", GRID_2D, ids=lambda spec: f"{spec.grid}-{spec.describe()}")
def test_each_2d_rule_equals_its_definition(spec):
    n = spec.grid[0] + spec.grid[1] * spec.grid[2]
    expected = np.array([[reference_allowed(i, j, spec) for j in range(n)] for i in range(n)])
    assert np.array_equal(structural_mask(n, spec).numpy(), expected)  # torch
    assert np.array_equal(position_mask(np.arange(n), np.arange(n), spec), expected)  # NumPy
    assert np.diagonal(expected).all()
    lo, hi = key_span(3, 9, n, spec)  # a superset of what the rows may see
    columns = np.flatnonzero(expected[3:9].any(0))
    assert lo <= columns[0] and columns[-1] < hi


def test_the_2d_rules_mean_what_their_names_say():
    """Patch (1, 2) is position 1 + 1·5 + 2 = 8. A 2-D window of 1 shows it the 3 × 3 patches around it and [CLS];
    2 × 2 blocks show it the tile of rows 0–1, columns 2–3; [CLS] sees all and is seen by all."""
    window = structural_mask(21, MaskSpec(grid=GRID, window_2d=1)).numpy()
    around = [1 + row * 5 + col for row in (0, 1, 2) for col in (1, 2, 3)]
    assert np.flatnonzero(window[8]).tolist() == [0, *around]
    assert window[0].all() and window[:, 0].all()
    blocks = structural_mask(21, MaskSpec(grid=GRID, blocks_2d=2)).numpy()
    assert np.flatnonzero(blocks[8]).tolist() == [0, 3, 4, 8, 9]
    corner = 1 + 3 * 5 + 4  # the last patch: row 3, column 4, alone in its column of a 2 × 2 tiling of 5 columns
    assert np.flatnonzero(blocks[corner]).tolist() == [0, corner - 5, corner]
    raster = structural_mask(21, MaskSpec(grid=GRID, causal=True)).numpy()
    assert np.array_equal(raster, np.tril(np.ones((21, 21), bool)))


def test_a_2d_rule_needs_a_grid_and_is_named_in_both_languages():
    with pytest.raises(ValueError, match="grid"):
        MaskSpec(window_2d=2)
    with pytest.raises(ValueError, match="window_2d"):
        MaskSpec(grid=GRID, window_2d=0)
    with pytest.raises(ValueError, match="grid"):
        MaskSpec(grid=(0, 0, 3))
    spec = MaskSpec(grid=GRID, window_2d=2, blocks_2d=3)
    assert spec.describe("en") == "2-D window 2, 3 × 3 patch blocks" and spec.is_intervention
    assert "二维窗口 2" in spec.describe("zh")
    assert not MaskSpec(grid=GRID).is_intervention and MaskSpec(grid=[1, 4, 5]).grid == GRID
