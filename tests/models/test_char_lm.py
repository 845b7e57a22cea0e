"""The character-level DCFormer behind the registry interface: capture names, windows, chunks, CLI."""

import numpy as np
import pytest
import torch

import attnviz
from mask_reference import reference_mask, reference_scores
from attnviz.capture import all_but_maps, run_capture
from attnviz.masks import MaskSpec
from attnviz.models.char_lm import CharLanguageModel
from attnviz.models.dcformer import DCFormer, DCFormerConfig
from attnviz.models.vocab import CharTokenizer
from attnviz.models.dcformer_checkpoint import save_dcformer

DYNAMIC = [f"hook_{stage}_{part}" for stage in ("pre", "post") for part in ("qw1", "qw2", "kw1", "kw2", "qdd", "kdd")]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny")
    tokenizer = CharTokenizer.from_text("the cat sat on a mat 狗追猫")
    torch.manual_seed(0)
    config = DCFormerConfig(
        vocab_size=len(tokenizer), dim=32, n_layer=2, n_head=4, window_size=3, window_type="LG", q_chunk_size=8
    )
    save_dcformer(DCFormer(config), str(directory))
    tokenizer.save(str(directory / "vocab.json"))
    return directory


def test_capture_has_every_dcmha_hook(tiny_dir):
    model = CharLanguageModel(tiny_dir)
    cap = attnviz.capture("the cat 狗追猫", model)
    seq = len("the cat 狗追猫")
    assert cap.tokens == list("the cat 狗追猫")
    for layer in range(2):
        p = f"blocks.{layer}.attn."
        for name in ("hook_q", "hook_k", "hook_v", "hook_z"):
            assert cap[p + name].shape == (4, seq, 8)
        for name in ("hook_scores", "hook_scores_composed", "hook_probs", "hook_pattern"):
            assert cap[p + name].shape == (4, seq, seq)
        for name in DYNAMIC:
            assert cap[p + name].shape == ((seq, 2, 4) if name[-1] in "12" else (seq, 4))
    # layer 0 is local with a window of 3 keys, layer 1 global; both causal
    assert cap.mask(0)[5].tolist() == [j in (3, 4, 5) for j in range(seq)]
    assert np.array_equal(cap.mask(1), np.tril(np.ones((seq, seq), dtype=bool)))


def test_window_narrows_every_layer_as_on_any_decoder_and_chunk_is_a_mask(tiny_dir):
    """One meaning of window on every model: the model's own layout (layer 0 local, 3 keys; layer 1 global),
    narrowed by the user's window; a wider window changes nothing in the local layer."""
    model = CharLanguageModel(tiny_dir)
    text = "the cat sat on a mat"
    base = attnviz.capture(text, model)
    wide = attnviz.capture(text, model, window=6)
    narrow = attnviz.capture(text, model, window=2)
    chunked = attnviz.capture(text, model, chunk=5)
    assert base.mask(0)[10].sum() == 3 and base.mask(1)[10].sum() == 11
    assert wide.mask(0)[10].sum() == 3 and wide.mask(1)[10].sum() == 6
    assert narrow.mask(0)[10].sum() == 2 and narrow.mask(1)[10].sum() == 2
    assert base.layer_windows == [3, None] and wide.layer_windows == [3, 6] and narrow.layer_windows == [2, 2]
    np.testing.assert_array_equal(wide.pattern(0), base.pattern(0))
    assert not np.allclose(wide.pattern(1), base.pattern(1))
    assert chunked.mask(1)[7].tolist() == [5 <= j <= 7 for j in range(len(text))]
    np.testing.assert_allclose(chunked.pattern(1)[:, ~chunked.mask(1)], 0, atol=0)


def test_dilation_narrows_each_layers_own_window_and_sinks_see_through_the_users_window_only(tiny_dir):
    """A dilation of 2 inside layer 0's own window of 3 keeps keys i and i-2; in the global layer every other key.
    Sinks see through the user's window (the global layer) but never widen a window the model applies itself; the
    tiles of a linear capture rebuild the same maps from q, k and the rules."""
    model = CharLanguageModel(tiny_dir)
    text = "the cat sat on a mat"
    (dilated,) = run_capture(model, [text], MaskSpec(causal=True, dilation=2))
    assert np.flatnonzero(dilated.mask(0)[10]).tolist() == [8, 10]
    assert np.flatnonzero(dilated.mask(1)[10]).tolist() == [0, 2, 4, 6, 8, 10]
    np.testing.assert_allclose(dilated.pattern(1)[:, ~dilated.mask(1)], 0, atol=0)
    (documents,) = run_capture(model, [text], MaskSpec(causal=True, documents=(8,)))
    assert np.flatnonzero(documents.mask(1)[10]).tolist() == [8, 9, 10]
    spec = MaskSpec(causal=True, window=4, sinks=2)
    (sinks,) = run_capture(model, [text], spec)
    assert np.flatnonzero(sinks.mask(0)[10]).tolist() == [8, 9, 10]  # the own window of 3: no sink
    assert np.flatnonzero(sinks.mask(1)[10]).tolist() == [0, 1, 7, 8, 9, 10]  # the user's window of 4 and 2 sinks
    np.testing.assert_allclose(sinks["blocks.1.attn.hook_probs"].sum(-1), 1, atol=1e-5)  # the softmax, before compose
    np.testing.assert_allclose(sinks.pattern(1)[:, ~sinks.mask(1)], 0, atol=0)
    (linear,) = run_capture(model, [text], spec, all_but_maps(model))
    for layer in range(model.n_layers):
        np.testing.assert_array_equal(linear.mask(layer), sinks.mask(layer))
        np.testing.assert_allclose(linear.pattern(layer), sinks.pattern(layer), atol=1e-6)


def test_local_window_resizes_the_trained_local_layers_only(tiny_dir):
    """The DCMHA page's lesson: the local layers' own size changed (global layers stay global), or every layer global."""
    model = CharLanguageModel(tiny_dir)
    text = "the cat sat on a mat"
    (resized,) = run_capture(model, [text], MaskSpec(causal=True), local_window=6)
    (all_global,) = run_capture(model, [text], MaskSpec(causal=True), local_window=None)
    assert resized.layer_windows == [6, None] and resized.mask(0)[10].sum() == 6 and resized.mask(1)[10].sum() == 11
    assert all_global.layer_windows == [None, None] and all_global.mask(0)[10].sum() == 11
    (two_sided,) = run_capture(model, [text], MaskSpec(), causal=False)
    assert two_sided.causal is False and two_sided.mask(0)[10].tolist() == [8 <= j <= 12 for j in range(len(text))]


def test_hook_filter_and_unknown_characters(tiny_dir):
    model = CharLanguageModel(tiny_dir)
    (cap,) = run_capture(model, ["cat!"], MaskSpec(), hooks=["blocks.*.attn.hook_pattern"])
    assert sorted(k for k in cap if k.startswith("blocks")) == [
        "blocks.0.attn.hook_pattern",
        "blocks.1.attn.hook_pattern",
    ]
    assert model.unknown_characters("cat!") == ["!"]
    with pytest.raises(ValueError, match="BERT-family"):
        model.encode(["a", "b"])


def test_cli_captures_a_character_model_directory(tiny_dir, tmp_path):
    from attnviz.cli import main

    out = tmp_path / "c.npz"
    assert main(["capture", "--model", str(tiny_dir), "--text", "the cat", "--out", str(out)]) == 0
    data = np.load(out)
    assert "blocks.1.attn.hook_post_kdd" in data and data["tokens"].tolist() == list("the cat")


@pytest.mark.parametrize(
    "spec",
    [
        MaskSpec(causal=True, alibi=True),
        MaskSpec(causal=True, softcap=0.01),  # the tiny random model scores about ±0.02
        MaskSpec(causal=True, alibi=True, softcap=1.0, window=4, sinks=2),
    ],
    ids=lambda spec: spec.describe(),
)
def test_score_modifications_change_the_scores_before_compose_and_tiles_rebuild_them(tiny_dir, spec):
    """The DCFormer's recorded scores (before DCMHA's compose) are the plain ones modified by the formulas in layer 0;
    its softmax reads the composed scores; a linear capture's tiles rebuild every map of the full one."""
    model = CharLanguageModel(tiny_dir)
    text = "the cat sat on a mat"
    (plain,) = run_capture(model, [text], MaskSpec(causal=True))
    (cap,) = run_capture(model, [text], spec)
    np.testing.assert_allclose(cap.scores(0), reference_scores(plain.scores(0), spec), atol=1e-5)
    for layer in range(model.n_layers):
        composed = np.where(
            cap.mask(layer), cap[f"blocks.{layer}.attn.hook_scores_composed"].astype(np.float64), -np.inf
        )
        expected = np.exp(composed - composed.max(-1, keepdims=True))
        np.testing.assert_allclose(
            cap[f"blocks.{layer}.attn.hook_probs"], expected / expected.sum(-1, keepdims=True), atol=1e-6
        )
    assert not np.allclose(cap.pattern(1), plain.pattern(1), atol=1e-4)
    (linear,) = run_capture(model, [text], spec, all_but_maps(model))
    for layer in range(model.n_layers):
        np.testing.assert_allclose(linear.scores(layer), cap.scores(layer), atol=1e-5)
        np.testing.assert_allclose(linear.pattern(layer), cap.pattern(layer), atol=1e-6)


@pytest.mark.parametrize(
    "spec",
    [
        MaskSpec(causal=True, prefix=4, dilation=2),
        MaskSpec(causal=True, window=5, sinks=2),
        MaskSpec(causal=True, chunk=6, documents=(9,)),
    ],
    ids=lambda spec: spec.describe(),
)
def test_the_rules_path_equals_the_dcformer_given_the_combined_mask_explicitly(tiny_dir, spec):
    """The model's forward with its rules equals the DCFormer's own forward given its own windows and the rule, built
    cell by cell in mask_reference, as an explicit extra mask: what a 4-D mask is to the Hugging Face families. Each
    layer's mask is its own causal window AND the rule (sinks never widen a layer's own window)."""
    model = CharLanguageModel(tiny_dir)
    text = "the cat sat on a mat"
    (cap,) = run_capture(model, [text], spec)
    n = len(text)
    ids = model.encode([text]).input_ids
    own = model.layer_windows(None)
    rule = torch.from_numpy(reference_mask(n, spec))
    for layer in range(model.n_layers):
        window = own[layer]
        i, j = np.arange(n)[:, None], np.arange(n)[None, :]
        trained = (j <= i) & ((i - j < window) if window is not None else True)
        np.testing.assert_array_equal(cap.mask(layer), trained & rule.numpy())
    # the DCFormer's own forward: each layer's own window, and the rule as an explicit extra mask ANDed in every layer
    logits, explicit = model.lm.run_with_cache(ids, layer_windows=own, attn_mask=rule)
    for layer in range(model.n_layers):
        np.testing.assert_allclose(explicit[f"blocks.{layer}.attn.hook_pattern"], cap.pattern(layer), atol=1e-6)
    with torch.inference_mode():
        np.testing.assert_allclose(model(model.encode([text]), spec)[0].numpy(), logits[0].numpy(), atol=1e-5)
