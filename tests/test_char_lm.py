"""The character-level DCFormer behind the registry interface: capture names, windows, chunks, CLI."""

import numpy as np
import pytest
import torch

import attnviz
from attnviz.capture import run_capture
from attnviz.masks import MaskSpec
from attnviz.models.char_lm import CharLanguageModel
from attnviz.models.dcformer import CharTokenizer, DCFormer, DCFormerConfig, save_dcformer

DYNAMIC = [f"hook_{stage}_{part}" for stage in ("pre", "post") for part in ("qw1", "qw2", "kw1", "kw2", "qdd", "kdd")]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny")
    tokenizer = CharTokenizer.from_text("the cat sat on a mat 狗追猫")
    torch.manual_seed(0)
    config = DCFormerConfig(vocab_size=len(tokenizer), dim=32, n_layer=2, n_head=4, window_size=3, window_type="LG", q_chunk_size=8)
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


def test_window_and_chunk_change_the_real_forward(tiny_dir):
    model = CharLanguageModel(tiny_dir)
    text = "the cat sat on a mat"
    base = attnviz.capture(text, model)
    wide = attnviz.capture(text, model, window=6)
    chunked = attnviz.capture(text, model, chunk=5)
    assert wide.mask(0)[10].sum() == 6 and base.mask(0)[10].sum() == 3
    assert not np.allclose(wide["blocks.1.attn.hook_pattern"], base["blocks.1.attn.hook_pattern"])
    assert chunked.mask(1)[7].tolist() == [5 <= j <= 7 for j in range(len(text))]
    np.testing.assert_allclose(chunked.pattern(1)[:, ~chunked.mask(1)], 0, atol=0)


def test_hook_filter_and_unknown_characters(tiny_dir):
    model = CharLanguageModel(tiny_dir)
    (cap,) = run_capture(model, ["cat!"], MaskSpec(), hooks=["blocks.*.attn.hook_pattern"])
    assert sorted(k for k in cap if k.startswith("blocks")) == ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]
    assert model.unknown_characters("cat!") == ["!"]
    with pytest.raises(ValueError, match="BERT-family"):
        model.encode(["a", "b"])


def test_cli_captures_a_character_model_directory(tiny_dir, tmp_path):
    from attnviz.cli import main

    out = tmp_path / "c.npz"
    assert main(["capture", "--model", str(tiny_dir), "--text", "the cat", "--out", str(out)]) == 0
    data = np.load(out)
    assert "blocks.1.attn.hook_post_kdd" in data and data["tokens"].tolist() == list("the cat")
