"""Every family the installed transformers routes through its attention interface, held to its eager attentions.

The families are not written here: they are what :func:`attnviz.models.hf_families.family_of` finds in the
installed transformers (its modeling code calls the interface, it is a causal LM or a text encoder), so the same
tests hold on the locked release and after ``make lock``. Each is a tiny random model built from the family's own
config class (:mod:`attnviz.models.tiny`) and saved to a temporary folder; the reference is the same folder
loaded by transformers with ``attn_implementation="eager"`` and run with ``output_attentions=True``.

:data:`NAMED` (tests/support/tiny_models.NAMED_FAMILIES) are the families students read about this year: each of them
must build and record, whatever the release. Any other discovered family may instead be refused at load in one
line that says why (a hybrid of attention and recurrent layers, attention nested in a wrapper), or be skipped
when its config cannot be made tiny (the skip names the family's own error): both show in the run's summary.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.capture import run_capture
from attnviz.hooks import recording
from attnviz.masks import MaskSpec
from attnviz.models.hf import UnsupportedModel
from attnviz.models.hf_families import default_config, family_of, uses_attention_interface
from tiny_models import NAMED_FAMILIES

NAMED = NAMED_FAMILIES
TEXTS = ["The cat sat on the mat. A dog ran in the park while time flies like an arrow!", "Fruit flies like a banana."]


def discovered_families() -> list[str]:
    """Every family of the installed transformers that attnviz would load through the attention interface."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    found = []
    for model_type in CONFIG_MAPPING_NAMES:
        try:
            family_of(model_type)
        except UnsupportedModel:
            continue
        found.append(model_type)
    return found


DISCOVERED = discovered_families()


def built_or_skipped(build, family):
    """The tiny model, or a skip naming why the family's config cannot be made tiny (never for a NAMED family)."""
    try:
        return build(family)
    except UnsupportedModel:
        raise
    except Exception as error:  # noqa: BLE001 - the family's own config checks or forward at the tiny size
        if family in NAMED:
            raise
        pytest.skip(f"{family}: no tiny config here ({type(error).__name__}: {str(error).splitlines()[0][:120]})")


def eager_reference(built, encoding):
    with torch.inference_mode():
        kwargs = dict(
            input_ids=encoding.input_ids,
            attention_mask=encoding.key_is_real.long(),
            output_attentions=True,
            output_hidden_states=True,
        )
        return built.reference(**kwargs)


def test_the_named_families_are_discovered():
    """Nothing is hand-listed to make them load: the installed transformers' code is what qualifies each one."""
    assert set(NAMED) <= set(DISCOVERED), sorted(set(NAMED) - set(DISCOVERED))
    assert all(uses_attention_interface(family) for family in NAMED)


@pytest.mark.slow  # every family transformers ships: about a minute
@pytest.mark.parametrize("family", sorted(set(DISCOVERED) | set(NAMED)))
def test_every_interface_family_records_exactly_or_says_why_not(build, family):
    try:
        built = built_or_skipped(build, family)
    except UnsupportedModel as refusal:  # refused at load: one line, naming the family's class and the reason
        assert family not in NAMED, f"{family} must record: {refusal}"
        message = str(refusal)
        assert "\n" not in message and "/" not in message.split(":")[0], message
        reasons = ("hybrid", "wrapper", "layer_idx", "no list of", "cannot find", "different heads", "latent attention")
        assert any(reason in message for reason in reasons), message
        return
    adapter, config = built.adapter, built.config
    encoding = adapter.encode(TEXTS)
    assert encoding.key_is_real[1].sum() < encoding.key_is_real[0].sum()  # a padded batch
    with torch.inference_mode(), recording() as recorder:
        logits = adapter(encoding, MaskSpec())
    tensors = recorder.tensors
    out = eager_reference(built, encoding)
    assert adapter.n_layers == config.num_hidden_layers
    if family in NAMED:  # their configs' head counts mean what they say (other families name theirs in other ways)
        n_kv = getattr(config, "num_key_value_heads", None) or getattr(config, "num_kv_heads", None) or adapter.n_heads
        assert (adapter.n_heads, adapter.n_kv_heads) == (config.num_attention_heads, n_kv), family
    n_kv = adapter.n_kv_heads
    for b in range(2):
        n = int(encoding.key_is_real[b].sum())
        for layer in range(adapter.n_layers):
            ours = tensors[f"blocks.{layer}.attn.hook_pattern"][b, :, :n]
            theirs = out.attentions[layer][b, :, :n]
            assert tensors[f"blocks.{layer}.attn.hook_k"].shape[1] == n_kv  # K at the model's own K/V head count
            sink = tensors.get(f"blocks.{layer}.attn.hook_sink")
            if sink is not None and not torch.allclose(ours, theirs, atol=1e-5, rtol=0):
                # A family whose eager code returns its weights renormalised over the keys, the sink applied to the
                # output (Granite SWA): attnviz shows the sink's share too; the keys' proportions are the same.
                ours = ours / ours.sum(-1, keepdim=True)
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0, msg=lambda m: f"{family} layer {layer}: {m}")
        if adapter.kind == "decoder":
            torch.testing.assert_close(logits[b, :n], out.logits[b, :n], atol=1e-4, rtol=0)
        else:
            torch.testing.assert_close(logits[b, :n], out.last_hidden_state[b, :n], atol=1e-4, rtol=0)
        if out.hidden_states is not None and adapter.n_layers > 1:  # the first block's output, before any final norm
            torch.testing.assert_close(
                tensors["blocks.0.hook_resid_post"][b, :n], out.hidden_states[1][b, :n], atol=1e-5, rtol=0
            )
    # not near-uniform, so equality means something: some query gives one key 1.5 times its even share
    patterns = [tensors[f"blocks.{layer}.attn.hook_pattern"][0] for layer in range(adapter.n_layers)]
    assert max(float((p.amax(-1) * (p > 0).sum(-1)).max()) for p in patterns) > 1.5


@pytest.mark.parametrize("family", ["gpt_neox", "cohere", "falcon"])
def test_a_parallel_block_reads_both_branches_from_one_input(build, family):
    """Attention and feed-forward read the same input and are added together: resid_mid is that input plus the
    attention's output, and resid_post minus resid_mid is the feed-forward's share alone."""
    built = build(family)
    adapter = built.adapter
    assert adapter.mid_layer.child is None
    encoding = adapter.encode(TEXTS[:1])
    with torch.inference_mode(), recording() as recorder:
        adapter(encoding, MaskSpec())
    t = recorder.tensors
    for layer in range(adapter.n_layers):
        expected = t[f"blocks.{layer}.hook_resid_pre"] + t[f"blocks.{layer}.attn.hook_result"]
        torch.testing.assert_close(t[f"blocks.{layer}.hook_resid_mid"], expected, atol=1e-6, rtol=0)


def test_olmo2_and_gemma3_resid_mid_is_the_stream_after_the_attention_is_added(build):
    """Where a family norms the attention's output before adding it (OLMo 2) or norms around the feed-forward
    (Gemma 3), resid_mid is the residual stream itself: resid_post = resid_mid + the feed-forward's output."""
    for family in ("olmo2", "gemma3_text", "llama"):
        adapter = build(family).adapter
        encoding = adapter.encode(TEXTS[:1])
        layers = dict(adapter.hf.named_modules())[adapter.layers_path]
        mlp_out = {}
        handle = layers[0].mlp.register_forward_hook(lambda m, a, o: mlp_out.setdefault("out", o))
        try:
            with torch.inference_mode(), recording() as recorder:
                adapter(encoding, MaskSpec())
        finally:
            handle.remove()
        t = recorder.tensors
        post_norm = getattr(layers[0], "post_feedforward_layernorm", None) or (lambda x: x)
        with torch.inference_mode():
            added = post_norm(mlp_out["out"])
        torch.testing.assert_close(
            t["blocks.0.hook_resid_post"], t["blocks.0.hook_resid_mid"] + added, atol=1e-5, rtol=0
        )


def test_a_mixture_of_experts_records_attention_as_any_block(build):
    """Mixtral: the router and its experts sit in the feed-forward; attention hooks and the residual are the same."""
    adapter = build("mixtral").adapter
    layers = dict(adapter.hf.named_modules())[adapter.layers_path]
    assert any("expert" in name.lower() for name, _ in layers[0].named_modules())
    (cap,) = run_capture(adapter, [TEXTS[0]], MaskSpec(causal=True))
    assert cap["blocks.1.attn.hook_pattern"].shape[0] == adapter.n_heads


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_the_weights_of_every_named_family_reproduce_its_values_and_output(build):
    """attention_weights() finds each family's projections, whatever their layout (separate, q|k|v side by side,
    per head, per K/V group): v from the recorded attention input and W_V equals the recorded v (v is never
    rotated or normed), and the recorded z through W_O equals the attention's recorded output. It says when q and
    k are normed per head (Qwen3, OLMo 2, Gemma 3)."""
    for family in NAMED:
        adapter = build(family).adapter
        (cap,) = run_capture(adapter, [TEXTS[1]], MaskSpec(causal=adapter.kind == "decoder"))
        weights = adapter.attention_weights(0)
        assert weights.w_q.shape == (adapter.n_heads, adapter.d_model, adapter.d_head)
        assert weights.w_k.shape == weights.w_v.shape == (adapter.n_kv_heads, adapter.d_model, adapter.d_head)
        x = cap["blocks.0.hook_attn_in"]  # (seq, d_model)
        v = np.einsum("sd,hde->hse", x, weights.w_v) + weights.b_v[:, None]
        np.testing.assert_allclose(v, cap["blocks.0.attn.hook_v"], atol=1e-4, err_msg=family)
        z = cap["blocks.0.attn.hook_z"]  # (heads, seq, d_head)
        result = z.transpose(1, 0, 2).reshape(z.shape[1], -1) @ weights.w_o + weights.b_o
        np.testing.assert_allclose(result, cap["blocks.0.attn.hook_result"], atol=1e-4, err_msg=family)
        attention = getattr(dict(adapter.hf.named_modules())[adapter.layers_path][0], adapter.attention_name)
        assert weights.qk_norm == hasattr(attention, "q_norm"), family
    assert build("qwen3").adapter.attention_weights(0).qk_norm


# ------------------------------------------------------------------------------------------ refusals
def _families_where(predicate) -> list[str]:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return [t for t in CONFIG_MAPPING_NAMES if uses_attention_interface(t) and predicate(t)]


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_multimodal_wrapper_is_refused_naming_its_text_model():
    wrappers = _families_where(lambda t: "text_config" in (getattr(type(default_config(t)), "sub_configs", None) or {}))
    if not wrappers:
        pytest.skip("this transformers has no multimodal wrapper whose code calls the interface")
    for model_type in wrappers[:5]:
        with pytest.raises(UnsupportedModel) as info:
            family_of(model_type)
        assert str(info.value).startswith(f"{model_type}: a multimodal model; attnviz records text models")
        text = getattr(default_config(model_type).text_config, "model_type", None)
        if text and text != model_type:
            assert repr(text) in str(info.value)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_an_encoder_decoder_outside_the_encoder_decoder_page_is_refused():
    from attnviz.models.hf_families import ENCODER_DECODER

    others = _families_where(
        lambda t: (
            t not in ENCODER_DECODER
            and getattr(default_config(t), "is_encoder_decoder", False)
            and not getattr(type(default_config(t)), "sub_configs", None)
        )
    )
    if not others:
        pytest.skip("this transformers has no other encoder-decoder family that calls the interface")
    for model_type in others[:5]:
        with pytest.raises(UnsupportedModel) as info:
            family_of(model_type)
        assert str(info.value).startswith(f"{model_type}: an encoder-decoder model")


@pytest.mark.parametrize("family", NAMED[7:])
def test_the_cli_writes_a_tiny_model_whose_capture_equals_eager(tmp_path, family, capsys):
    """`attnviz tiny FAMILY DIR` then `attnviz capture --model DIR`: every layer's pattern in the .npz equals
    transformers' eager attentions of that folder, and K is at the model's own K/V head count."""
    import transformers

    from attnviz.cli import main

    folder = tmp_path / family
    assert main(["tiny", family, str(folder)]) == 0
    assert "equal transformers' eager attentions" in capsys.readouterr().out
    out = tmp_path / "capture.npz"
    assert main(["capture", "--model", str(folder), "--text", TEXTS[0], "--out", str(out)]) == 0
    arrays = np.load(out)
    reference = getattr(transformers, family_of(family).model_class).from_pretrained(
        folder, attn_implementation="eager"
    )
    config = reference.config
    with torch.inference_mode():
        attentions = reference(input_ids=torch.tensor(arrays["token_ids"])[None], output_attentions=True).attentions
    n_kv = (
        getattr(config, "num_key_value_heads", None)
        or getattr(config, "num_kv_heads", None)
        or config.num_attention_heads
    )
    for layer in range(config.num_hidden_layers):
        np.testing.assert_allclose(arrays[f"blocks.{layer}.attn.hook_pattern"], attentions[layer][0].numpy(), atol=1e-5)
        assert arrays[f"blocks.{layer}.attn.hook_k"].shape[0] == n_kv


def test_the_cli_refuses_a_family_in_one_line(tmp_path, capsys):
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    from attnviz.cli import main

    bypassing = next((t for t in CONFIG_MAPPING_NAMES if uses_attention_interface(t) is False), None)
    if bypassing is None:
        pytest.skip("every family of this transformers calls the attention interface")
    assert main(["tiny", bypassing, str(tmp_path / "x")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "does not use transformers' attention interface" in error
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a").write_text("x")
    assert main(["tiny", "qwen3", str(tmp_path / "full")]) == 1  # never writes into a folder that has files
    assert "not an empty folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model_type", "kind"),
    [("distilbert", "encoder"), ("modernbert", "encoder"), ("qwen3", "decoder"), ("t5", "encoder-decoder")],
)
def test_a_folders_kind_is_its_familys_without_loading_it(tmp_path, model_type, kind):
    """The model menus ask a folder's kind before loading it: DistilBERT and ModernBERT were called decoders (any
    family but BERT's was), so they showed up in Generation's menu of decoders."""
    import json

    from attnviz.models import kind_of

    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    assert kind_of(str(tmp_path)) == kind
