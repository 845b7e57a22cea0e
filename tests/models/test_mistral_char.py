"""The Mistral-architecture character LM: its training module, and the shipped folder assets/mistral-char.

(a) a few training steps on a synthetic corpus (attnviz.training.mistral_char.smoke_train) lower the loss and write a
    Hugging Face folder that loads through attnviz.models.load_model as a decoder with grouped-query attention and
    its own sliding window; its tokenizer reloads through AutoTokenizer identically;
(b) the shipped model loads from the registry, its captured patterns equal transformers' eager
    ``output_attentions`` for the same checkpoint, its masks are causal with the 64-token window, its tokenizer
    round-trips English and Chinese one character per token, and its weights are small safetensors;
(c) train_log.json names the command and the seed.
Nothing is downloaded; no timing is asserted.
"""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
import torch

import attnviz
from attnviz.paths import MISTRAL_CHAR_DIR
from attnviz.text import clean_text
from attnviz.training.mistral_char import build_tokenizer, encode_text, smoke_train

SHIPPED_WINDOW = 64
# Longer than the window, so the band shows; English, Chinese, spaces and a newline.
TEXT = (
    "Q: Why did the chicken cross the road?\nA: To get to the other side, of course. "
    "人生如梦，一尊还酹江月。 The best things in life are free. A fool and his money are soon parted."
)


def expected_mask(n: int, window: int) -> np.ndarray:
    """(n, n) causal AND i - j < window, built here from the definition."""
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    return (j <= i) & (i - j < window)


# ------------------------------------------------------------------------------------------- (a) training
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return smoke_train(tmp_path_factory.mktemp("mistral-char-smoke"), steps=12, seed=0)


def test_a_few_steps_lower_the_loss(smoke):
    _, losses = smoke
    assert len(losses) == 12
    assert np.mean(losses[-3:]) < losses[0] - 0.5, losses


def test_the_saved_folder_loads_as_a_gqa_decoder_with_its_window(smoke):
    from attnviz.models import kind_of, load_model

    folder, _ = smoke
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
    assert kind_of(str(folder)) == "decoder"
    model = load_model(str(folder), device="cpu")
    assert model.kind == "decoder"
    assert model.n_kv_heads < model.n_heads and (model.n_heads, model.n_kv_heads) == (4, 2)
    assert [model.kv_head_of(h) for h in range(4)] == [0, 0, 1, 1]
    assert model.windows == [8, 8]
    text = "the cat sat on the mat.\n猫坐在垫子上。"
    cap = attnviz.capture(text, model)
    assert cap.tokens == ["<s>", *clean_text(text).text]  # the app reads a newline as a space
    n = len(cap.tokens)
    for layer in range(model.n_layers):
        assert np.array_equal(cap.mask(layer), expected_mask(n, 8))
        assert np.all(cap.pattern(layer)[:, ~expected_mask(n, 8)] == 0)
        assert cap[f"blocks.{layer}.attn.hook_k"].shape == (2, n, 8)  # K at its own head count


def test_the_tokenizer_reloads_identically(tmp_path):
    from transformers import AutoTokenizer

    corpus = "Hello  world\n\n猫坐在垫子上。\tok " * 3
    tokenizer = build_tokenizer(corpus, min_count=1)
    tokenizer.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"tokenizer.json", "tokenizer_config.json"}
    again = AutoTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    assert again.get_vocab() == tokenizer.get_vocab()
    assert again.all_special_tokens == tokenizer.all_special_tokens
    for text in (corpus, "猫 ok\n", "unseen: ü"):
        ids = tokenizer(text)["input_ids"]
        assert again(text)["input_ids"] == ids
        assert ids[0] == tokenizer.bos_token_id and len(ids) == len(text) + 1  # <s>, then one id per character
        assert ids[1:] == encode_text(tokenizer, text).tolist()  # the training data's lookup agrees
    assert again.decode(again(corpus)["input_ids"], skip_special_tokens=True) == corpus


# ------------------------------------------------------------------------------------------- (b) the shipped model
@pytest.fixture(scope="module")
def shipped():
    from attnviz.capture import get_model
    from attnviz.models import REGISTRY

    assert (MISTRAL_CHAR_DIR / "config.json").exists(), "assets/mistral-char is shipped"
    assert REGISTRY["mistral-char"].kind == "decoder"
    return get_model("mistral-char")


@pytest.fixture(scope="module")
def reference():
    from transformers import MistralForCausalLM

    return MistralForCausalLM.from_pretrained(
        str(MISTRAL_CHAR_DIR), attn_implementation="eager", local_files_only=True, dtype=torch.float32
    ).eval()


def test_shipped_model_is_a_gqa_mistral_with_a_native_window(shipped):
    from attnviz.models.hf import HFAttentionModel

    assert isinstance(shipped, HFAttentionModel) and shipped.family.model_class == "MistralForCausalLM"
    assert shipped.n_layers == 4 and (shipped.n_heads, shipped.n_kv_heads) == (4, 2)
    assert shipped.windows == [SHIPPED_WINDOW] * 4
    assert shipped.max_tokens >= 8192  # RoPE positions: runs past its training context


def test_shipped_patterns_equal_eager_and_hold_the_window(shipped, reference):
    cap = attnviz.capture(TEXT, "mistral-char")
    assert cap.tokens == ["<s>", *clean_text(TEXT).text]  # the app reads a newline as a space
    n = len(cap.tokens)
    assert n > 2 * SHIPPED_WINDOW
    assert cap.layer_windows == [SHIPPED_WINDOW] * 4
    ids = torch.tensor(cap["token_ids"])[None]
    with torch.inference_mode():
        out = reference(input_ids=ids, output_attentions=True, use_cache=False)
    allowed = expected_mask(n, SHIPPED_WINDOW)
    for layer in range(4):
        want = out.attentions[layer][0].numpy()  # (heads, n, n)
        got = cap.pattern(layer)
        assert got.shape == want.shape == (4, n, n)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
        assert np.array_equal(cap.mask(layer), allowed)
        assert np.all(got[:, ~allowed] == 0)
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


def test_shipped_tokenizer_round_trips_chinese_and_english_by_character():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(MISTRAL_CHAR_DIR), local_files_only=True)
    for text in ("The cat sat on the mat.\n  Twice, with two spaces.", "人生如梦，一尊还酹江月。", TEXT):
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.convert_ids_to_tokens(ids) == ["<s>", *text]
        assert tokenizer.unk_token_id not in ids
        assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_shipped_weights_are_small_safetensors():
    weights = MISTRAL_CHAR_DIR / "model.safetensors"
    assert weights.is_file() and weights.stat().st_size < 10 * 1024 * 1024
    assert not [p for p in MISTRAL_CHAR_DIR.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl")]
    assert {"config.json", "tokenizer.json", "tokenizer_config.json"} <= {p.name for p in MISTRAL_CHAR_DIR.iterdir()}


# ------------------------------------------------------------------------------------------- (c) the train log
def test_train_log_names_the_command_and_seed():
    log = json.loads((MISTRAL_CHAR_DIR / "train_log.json").read_text(encoding="utf-8"))
    argv = shlex.split(log["command"])
    assert argv[:2] == ["python", "scripts/train_mistral_char.py"]
    assert isinstance(log["seed"], int) and log["seed"] == log["settings"]["seed"]
    if "--seed" in argv:
        assert int(argv[argv.index("--seed") + 1]) == log["seed"]
    assert log["threads"] == 1 and log["steps"] == log["settings"]["steps"] > 0
    assert log["heldout_loss"] < log["unigram_baseline_loss"]
    assert log["params"] > 0 and log["train_seconds"] > 0


def test_positions_beyond_the_training_length_are_flagged():
    from attnviz.capture import get_model
    from attnviz.masks import MaskSpec

    model = get_model("mistral-char")
    assert model.context == 1024 and model.max_tokens >= 8192
    assert "msg.beyond_context" not in [n.key for n in model.notices("a short text", MaskSpec(causal=True))]
    notice = model.notices("x" * 3000, MaskSpec(causal=True))[0]
    assert notice.key == "msg.beyond_context" and notice.values["context"] == 1024 and notice.values["last"] >= 3000
