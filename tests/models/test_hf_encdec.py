"""T5 and BART through the generic adapter: every attention of the model's own generation, step by step.

Tiny random models are built at test time and saved to a temporary folder (nothing is downloaded). Each step's
encoder self-attention, decoder masked self-attention and cross-attention equal transformers' eager
``output_attentions`` for the same prefix, and the greedy answer equals transformers' own ``generate``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.decoding import greedy_decode
from attnviz.capture import Capture, run_capture
from attnviz.masks import MaskSpec
from attnviz.models import ModelNotFound, load_model
from attnviz.models.base import AttentionModel, hook_name
from attnviz.models.hf_encdec import HFEncoderDecoder

from tiny_tokenizer import byte_level_tokenizer

TEXT = "the cat sat on the mat"


@pytest.fixture(scope="module", params=["t5", "bart"])
def built(request, tmp_path_factory):
    import transformers

    family = request.param
    tokenizer = byte_level_tokenizer(
        ["the cat sat on the mat", "the dog sat on the log", "a b c d e f"], bos_prefix=False
    )
    ids = dict(
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    if family == "t5":
        config = transformers.T5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            initializer_factor=3.0,
            **ids,
        )
        model = transformers.T5ForConditionalGeneration(config)
    else:
        config = transformers.BartConfig(
            vocab_size=len(tokenizer),
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=64,
            init_std=0.3,
            bos_token_id=tokenizer.bos_token_id,
            forced_eos_token_id=None,
            **ids,
        )
        model = transformers.BartForConditionalGeneration(config)
    torch.manual_seed(7)
    path = tmp_path_factory.mktemp(family)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    reference = type(model).from_pretrained(path, attn_implementation="eager").eval()
    return family, path, reference, load_model(str(path), device="cpu")


def test_loads_through_the_registry_and_keeps_the_contract(built):
    family, path, reference, model = built
    assert isinstance(model, HFEncoderDecoder) and isinstance(model, AttentionModel) and model.kind == "encoder-decoder"
    assert model.hook(hook_name("pattern", 1, "decoder_cross")).name == "decoder.blocks.1.cross_attn.hook_pattern"
    (cap,) = run_capture(model, [TEXT], MaskSpec())
    encoding = model.encode([TEXT])
    with torch.no_grad():
        expected = reference.get_encoder()(input_ids=encoding.input_ids, output_attentions=True).attentions
    for layer, attentions in enumerate(expected):
        np.testing.assert_allclose(cap[hook_name("pattern", layer, "encoder")], attentions[0].numpy(), atol=1e-5)
    with pytest.raises(ValueError):
        run_capture(model, [TEXT], MaskSpec(causal=True))


def test_every_step_of_the_generation_equals_transformers_eager_attention(built):
    family, path, reference, model = built
    decoding = greedy_decode(model, TEXT, max_new=6)
    assert isinstance(decoding.encoder, Capture) and len(decoding.steps) >= 1
    encoding = model.encode([TEXT])
    start = reference.config.decoder_start_token_id
    ids = [start] + [s.output_id for s in decoding.steps]
    with torch.no_grad():
        generated = reference.generate(
            encoding.input_ids,
            attention_mask=encoding.key_is_real.long(),
            max_new_tokens=6,
            do_sample=False,
            num_beams=1,
        )[0].tolist()
    assert generated[: len(ids)] == ids[: len(generated)]  # the same greedy answer
    for k, step in enumerate(decoding.steps, start=1):
        with torch.no_grad():
            out = reference(
                input_ids=encoding.input_ids, decoder_input_ids=torch.tensor([ids[:k]]), output_attentions=True
            )
        assert step.input_tokens == model._labels(ids[:k])
        assert step.output_id == int(out.logits[0, -1].argmax())
        for layer in range(model.n_decoder_layers):
            np.testing.assert_allclose(
                step.capture[hook_name("pattern", layer, "decoder_self")],
                out.decoder_attentions[layer][0].numpy(),
                atol=1e-5,
            )
            np.testing.assert_allclose(
                step.capture[hook_name("pattern", layer, "decoder_cross")],
                out.cross_attentions[layer][0].numpy(),
                atol=1e-5,
            )
            mask = step.capture[hook_name("mask", layer, "decoder_self")]
            assert np.array_equal(mask, np.tril(np.ones((k, k), dtype=bool)))
    last = decoding.steps[-1].capture
    assert last[hook_name("q", 0, "decoder_cross")].shape[1] == len(decoding.steps)
    assert last[hook_name("k", 0, "decoder_cross")].shape[1] == len(decoding.source_tokens)


def test_a_folder_without_safetensors_is_refused(tmp_path, built):
    family, path, reference, model = built
    folder = tmp_path / "no-weights"
    folder.mkdir()
    (folder / "config.json").write_text((path / "config.json").read_text())
    with pytest.raises(ModelNotFound, match="safetensors"):
        load_model(str(folder))


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_the_encoder_decoder_page_runs_an_offered_folder_then_the_date_model_again(built, monkeypatch):
    """Offered at start-up, a T5/BART folder is in the Encoder-decoder page's menu (not the attention pages'): the
    page shows the model's own answer and every attention of the chosen step, then the date model works again."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from apptest_utils import array, figure_with_title

    family, path, reference, model = built
    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("ATTNVIZ_MODELS", str(path))
    at = AppTest.from_file(str(root / "pages" / "5_Encoder_decoder.py"), default_timeout=120)
    at.query_params.update({"ed_model": str(path), "ed_text": TEXT, "ed_step": "2"})
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="ed_model").value == str(path)
    decoding = greedy_decode(model, TEXT, max_new=24)
    shown = array(figure_with_title(at, "Encoder self-attention")["data"][0]["z"])
    np.testing.assert_allclose(shown, decoding.encoder[hook_name("pattern", 0, "encoder")][0], atol=1e-6)
    if len(decoding.steps) >= 2:
        cross = array(figure_with_title(at, "Cross-attention")["data"][0]["z"])
        np.testing.assert_allclose(
            cross, decoding.steps[1].capture[hook_name("pattern", 0, "decoder_cross")][0], atol=1e-6
        )
    main = AppTest.from_file(str(root / "app.py"), default_timeout=120).run()
    assert str(path) not in main.selectbox(key="model").options  # its attention is on its own page
    at.selectbox(key="ed_model").select("date-seq2seq").run()
    assert not at.exception and not at.error
    assert any("2026-11-25" in m.value for m in at.markdown)
