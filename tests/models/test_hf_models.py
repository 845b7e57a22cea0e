"""The Hugging Face adapter (attnviz.models.hf) against transformers' own eager models.

Every family is a tiny random model built here and saved to a temporary directory together with a byte-level BPE
tokenizer trained in-process: nothing is downloaded.  The reference is the same checkpoint loaded by transformers
with ``attn_implementation="eager"`` and run with ``output_attentions=True``.  Expected masks are computed here
from the configs (causal, the configured sliding window on the layers the config names, padding), never taken
from the adapter.  Comparisons use the real (non-padding) query rows: a padded query whose window holds no real
key is a row with no key at all, which attnviz draws as zero weight and transformers' eager code as a uniform row.
"""

from __future__ import annotations

import dataclasses
import json
import threading

import numpy as np
import pytest
import torch

from attnviz.capture import run_capture
from attnviz.hooks import recording
from attnviz.masks import MaskSpec, structural_mask
from attnviz.models.base import Encoding
from mask_reference import reference_scores
from tiny_models import WINDOW, Built
from attnviz.models.hf import ATTN_NAME, HFAttentionModel, UnsupportedModel, family_of, load_hf_model

TEXTS = [
    "The cat sat on the mat. A dog ran in the park while time flies like an arrow!",
    "Fruit flies like a banana.",
]
SPECS = [
    MaskSpec(window=2),
    MaskSpec(window=7),
    MaskSpec(chunk=3),
    MaskSpec(causal=True, window=3, chunk=5),
    MaskSpec(window=2, sinks=2),  # StreamingLLM: the first keys seen through the window
    MaskSpec(dilation=2),
    MaskSpec(documents=(4,)),  # two packed documents
    MaskSpec(prefix=4, window=3, dilation=2, sinks=1),  # a decoder is causal already: the prefix adds nothing
]
FAMILIES = ["gpt2", "llama", "qwen2", "mistral", "gemma2", "gpt_oss"]


# --------------------------------------------------------------------------------------------- helpers
def capture(adapter, encoding, spec=MaskSpec()):
    with torch.inference_mode(), recording() as recorder:
        logits = adapter(encoding, spec)
    return recorder.tensors, logits


def reference_run(built: Built, encoding: Encoding, spec: MaskSpec | None = None):
    """transformers' eager model; with a spec, given the combined mask explicitly as 4-D additive masks."""
    ids = encoding.input_ids
    if spec is None:
        mask = encoding.key_is_real.long()
    else:

        def additive(window):
            allowed = expected_mask(encoding, window, spec)[:, None]  # (batch, 1, seq, seq)
            if spec.alibi:  # ALiBi as a per-head bias in the additive mask: (batch, heads, seq, seq)
                seq = allowed.shape[-1]
                bias = torch.from_numpy(reference_scores(np.zeros((built.adapter.n_heads, seq, seq)), spec)).float()
                return bias[None].masked_fill(~allowed, torch.finfo(torch.float32).min)
            return torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)

        layer_types = getattr(built.config, "layer_types", None)
        if built.family == "mistral" or not layer_types:
            mask = additive(built.windows[0])
        else:
            mask = {
                "full_attention": additive(None),
                "sliding_attention": additive(built.config.sliding_window),
            }
    with torch.inference_mode():
        return built.reference(input_ids=ids, attention_mask=mask, output_attentions=True, output_hidden_states=True)


def expected_mask(encoding: Encoding, window: int | None, spec: MaskSpec = MaskSpec()) -> torch.Tensor:
    """(batch, seq, seq): causal, the layer's own sliding window, padding, and the user's spec, built here."""
    seq = encoding.input_ids.shape[1]
    i = torch.arange(seq)[:, None]
    j = torch.arange(seq)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (i - j < window)
    allowed = allowed & structural_mask(seq, spec)
    return allowed[None] & encoding.key_is_real[:, None, :]


def real_rows(encoding: Encoding, b: int) -> int:
    return int(encoding.key_is_real[b].sum())


def assert_equals_eager(built: Built, encoding: Encoding, spec: MaskSpec, tensors: dict, logits: torch.Tensor) -> None:
    """Every layer's pattern and the logits (real query rows) equal transformers' eager model given ``spec`` as its
    4-D additive mask (:func:`reference_run`)."""
    out = reference_run(built, encoding, spec)
    for b in range(len(encoding.tokens)):
        n = real_rows(encoding, b)
        for layer in range(built.adapter.n_layers):
            ours = tensors[f"blocks.{layer}.attn.hook_pattern"][b, :, :n]
            torch.testing.assert_close(ours, out.attentions[layer][b, :, :n], atol=1e-5, rtol=0)
        torch.testing.assert_close(logits[b, :n], out.logits[b, :n], atol=1e-4, rtol=0)


# --------------------------------------------------------------------------------- equality with eager
@pytest.mark.parametrize("family", FAMILIES)
def test_pattern_logits_and_residuals_equal_eager(build, family):
    built = build(family)
    adapter = built.adapter
    encoding = adapter.encode(TEXTS)
    assert encoding.key_is_real[1].sum() < encoding.key_is_real[0].sum()  # a padded batch
    tensors, logits = capture(adapter, encoding)
    out = reference_run(built, encoding)
    assert len(out.attentions) == adapter.n_layers
    for b in range(2):
        n = real_rows(encoding, b)
        for layer in range(adapter.n_layers):
            ours = tensors[f"blocks.{layer}.attn.hook_pattern"][b, :, :n]
            torch.testing.assert_close(ours, out.attentions[layer][b, :, :n], atol=1e-5, rtol=0)
            if layer < adapter.n_layers - 1:  # the last hidden state transformers returns is after the final norm
                resid = tensors[f"blocks.{layer}.hook_resid_post"][b, :n]
                torch.testing.assert_close(resid, out.hidden_states[layer + 1][b, :n], atol=1e-5, rtol=0)
        torch.testing.assert_close(tensors["hook_embed"][b, :n], out.hidden_states[0][b, :n], atol=1e-6, rtol=0)
        torch.testing.assert_close(logits[b, :n], out.logits[b, :n], atol=1e-4, rtol=0)
    # the patterns are not near-uniform, so equality above means something
    assert float(tensors["blocks.0.attn.hook_pattern"][0, :, -1].max()) > 0.3


@pytest.mark.parametrize("family", FAMILIES)
def test_every_hook_with_its_shape(build, family):
    adapter = build(family).adapter
    encoding = adapter.encode(TEXTS)
    tensors, _ = capture(adapter, encoding)
    batch, seq = encoding.input_ids.shape
    h, kv, d = adapter.n_heads, adapter.n_kv_heads, adapter.d_head
    assert tensors["hook_embed"].shape == (batch, seq, adapter.d_model)
    for layer in range(adapter.n_layers):
        p = f"blocks.{layer}.attn."
        assert tensors[p + "hook_q"].shape == (batch, h, seq, d)
        assert tensors[p + "hook_k"].shape == tensors[p + "hook_v"].shape == (batch, kv, seq, d)
        assert tensors[p + "hook_scores"].shape == tensors[p + "hook_pattern"].shape == (batch, h, seq, seq)
        assert tensors[p + "hook_mask"].shape == (batch, seq, seq) and tensors[p + "hook_mask"].dtype == torch.bool
        assert tensors[p + "hook_z"].shape == (batch, h, seq, d)
        assert tensors[p + "hook_result"].shape == (batch, seq, adapter.d_model)
        assert tensors[f"blocks.{layer}.hook_resid_post"].shape == (batch, seq, adapter.d_model)
    assert adapter.kind == "decoder"
    assert adapter.hook("blocks.0.attn.hook_pattern").name == "blocks.0.attn.hook_pattern"


# ----------------------------------------------------------------------------------------------- heads
@pytest.mark.parametrize("family", FAMILIES)
def test_kv_heads_and_the_query_to_kv_head_map(build, family):
    built = build(family)
    adapter = built.adapter
    expected_kv = getattr(built.config, "num_key_value_heads", None) or built.config.num_attention_heads
    assert adapter.n_kv_heads == expected_kv
    if family != "gpt2":
        assert adapter.n_kv_heads == 2 < adapter.n_heads == 4  # grouped-query attention
    group = adapter.n_heads // adapter.n_kv_heads
    assert [adapter.kv_head_of(h) for h in range(adapter.n_heads)] == [h // group for h in range(adapter.n_heads)]
    encoding = adapter.encode(TEXTS[:1])
    tensors, _ = capture(adapter, encoding)
    attn = built.reference.model.layers[0].self_attn if family != "gpt2" else built.reference.transformer.h[0].attn
    scaling = attn.scaling
    softcap = getattr(built.config, "attn_logit_softcapping", None)
    for layer in range(adapter.n_layers):
        p = f"blocks.{layer}.attn."
        q, k, v = (tensors[p + n][0].double() for n in ("hook_q", "hook_k", "hook_v"))
        pattern, z, scores = (tensors[p + n][0].double() for n in ("hook_pattern", "hook_z", "hook_scores"))
        for h in range(adapter.n_heads):
            g = adapter.kv_head_of(h)
            raw = q[h] @ k[g].T * scaling
            expected = softcap * torch.tanh(raw / softcap) if softcap else raw
            torch.testing.assert_close(scores[h], expected, atol=1e-5, rtol=0)
            torch.testing.assert_close(z[h], pattern[h] @ v[g], atol=1e-5, rtol=0)


# ----------------------------------------------------------------------------------------------- masks
@pytest.mark.parametrize("family", FAMILIES)
def test_model_mask_without_user_mask(build, family):
    """Causal everywhere, each layer's own window exactly where the config puts it, padding keys masked."""
    built = build(family)
    adapter = built.adapter
    encoding = adapter.encode(TEXTS)
    tensors, _ = capture(adapter, encoding)
    for layer, window in enumerate(built.windows):
        mask = tensors[f"blocks.{layer}.attn.hook_mask"]
        assert torch.equal(mask, expected_mask(encoding, window)), f"layer {layer}"
        assert not torch.triu(mask[0], diagonal=1).any()  # causal
    if family == "mistral":
        assert built.windows == [WINDOW, WINDOW]
    if family == "gemma2":
        assert built.windows == [WINDOW, None, WINDOW]  # alternating sliding / global
        full = tensors["blocks.1.attn.hook_mask"][0]
        sliding = tensors["blocks.0.attn.hook_mask"][0]
        assert full[-1].sum() == real_rows(encoding, 0) and sliding[-1].sum() == WINDOW
    if family == "qwen2":
        assert built.windows == [None, WINDOW, WINDOW]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("spec", [MaskSpec()] + SPECS, ids=str)
def test_rows_sum_to_one_and_masked_cells_are_zero(build, family, spec):
    adapter = build(family).adapter
    encoding = adapter.encode(TEXTS)
    tensors, _ = capture(adapter, encoding, spec)
    for layer in range(adapter.n_layers):
        p = f"blocks.{layer}.attn."
        mask, pattern = tensors[p + "hook_mask"], tensors[p + "hook_pattern"]
        assert torch.all(pattern.masked_fill(mask[:, None], 0.0) == 0)  # exactly zero where masked
        has_key = mask.any(-1)[:, None].expand(-1, adapter.n_heads, -1)
        sums = pattern.sum(-1)
        if family == "gpt_oss":  # the sink takes the rest of every row
            torch.testing.assert_close(sums + tensors[p + "hook_sink"], torch.ones_like(sums), atol=1e-5, rtol=0)
            assert float(tensors[p + "hook_sink"].min()) > 0
        else:
            torch.testing.assert_close(sums[has_key], torch.ones_like(sums[has_key]), atol=1e-5, rtol=0)
        assert torch.all(sums[~has_key] == 0)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_user_mask_restricts_and_never_widens(build, family, spec):
    """mask = the model's own mask AND the user's; transformers' eager model given that mask agrees."""
    built = build(family)
    adapter = built.adapter
    encoding = adapter.encode(TEXTS)
    plain, _ = capture(adapter, encoding)
    tensors, logits = capture(adapter, encoding, spec)
    for layer, window in enumerate(built.windows):
        mask = tensors[f"blocks.{layer}.attn.hook_mask"]
        model_mask = plain[f"blocks.{layer}.attn.hook_mask"]
        assert torch.equal(mask, expected_mask(encoding, window, spec)), f"layer {layer}"
        assert not (mask & ~model_mask).any()  # never widens the model's own mask
        assert torch.equal(mask, model_mask & structural_mask(mask.shape[-1], spec)[None])
    if spec.window == 7 and WINDOW in built.windows:  # wider than the model's window: its window stays
        layer = built.windows.index(WINDOW)
        assert int(tensors[f"blocks.{layer}.attn.hook_mask"][0, -1].sum()) == WINDOW
    assert_equals_eager(built, encoding, spec, tensors, logits)
    # the intervention runs inside the forward: where it masks anything, the logits move; where not, nothing does
    _, plain_logits = capture(adapter, encoding)
    changed = any(not torch.equal(tensors[n], plain[n]) for n in tensors if n.endswith("hook_mask"))
    assert changed == (not torch.allclose(logits[0], plain_logits[0], atol=1e-4))
    assert changed or (spec.window == 7 and family == "mistral")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("spec", [MaskSpec()] + SPECS, ids=str)
def test_no_leak_from_later_tokens(build, family, spec):
    adapter = build(family).adapter
    encoding = adapter.encode(TEXTS[:1])
    seq = encoding.input_ids.shape[1]
    cut = seq // 2
    changed_ids = encoding.input_ids.clone()
    generator = torch.Generator().manual_seed(0)
    changed_ids[0, cut + 1 :] = torch.randint(4, len(adapter.tokenizer), (seq - cut - 1,), generator=generator)
    assert not torch.equal(changed_ids, encoding.input_ids)
    changed = dataclasses.replace(encoding, input_ids=changed_ids)
    before, logits_before = capture(adapter, encoding, spec)
    after, logits_after = capture(adapter, changed, spec)
    for layer in range(adapter.n_layers):
        name = f"blocks.{layer}.attn.hook_pattern"
        torch.testing.assert_close(before[name][0, :, : cut + 1], after[name][0, :, : cut + 1], atol=1e-6, rtol=0)
    torch.testing.assert_close(logits_before[0, : cut + 1], logits_after[0, : cut + 1], atol=1e-5, rtol=0)
    assert not torch.allclose(logits_before[0, -1], logits_after[0, -1])  # the change itself is visible


# ---------------------------------------------------------------------------------- softcapping, sinks
SCORE_SPECS = [
    MaskSpec(alibi=True),
    MaskSpec(softcap=3.0),
    MaskSpec(alibi=True, window=3, sinks=1),
    MaskSpec(alibi=True, softcap=2.0, dilation=2),
]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("spec", SCORE_SPECS, ids=str)
def test_score_modifications_change_the_scores_as_the_formulas_say(build, family, spec):
    """Layer 0 reads the same q and k with and without them: its scores are the plain ones modified by the formulas
    (after the model's own scaling and soft-capping). Every layer's pattern is the softmax of its recorded scores
    over its allowed keys (gpt-oss: with its sink's logit), later layers change, and where the spec is expressible
    as an additive mask (ALiBi as a per-head bias), transformers' eager model given it agrees."""
    built = build(family)
    adapter = built.adapter
    encoding = adapter.encode(TEXTS)
    plain, plain_logits = capture(adapter, encoding)
    tensors, logits = capture(adapter, encoding, spec)
    for b in range(2):
        n = real_rows(encoding, b)
        base = plain["blocks.0.attn.hook_scores"][b, :, :n, :n].numpy()
        torch.testing.assert_close(
            tensors["blocks.0.attn.hook_scores"][b, :, :n, :n].double(),
            torch.from_numpy(reference_scores(base, spec)),
            atol=1e-5,
            rtol=0,
        )
        for layer in range(adapter.n_layers):
            p = f"blocks.{layer}.attn."
            allowed = tensors[p + "hook_mask"][b, :n, :n]
            logit = tensors[p + "hook_scores"][b, :, :n, :n].double().masked_fill(~allowed, -torch.inf)
            if family == "gpt_oss":  # the sink's share is the rest of each row
                expected = torch.exp(logit - tensors[p + "hook_lse"][b, :, :n, None].double())
                torch.testing.assert_close(
                    expected.sum(-1) + tensors[p + "hook_sink"][b, :, :n].double(),
                    torch.ones(expected.shape[:2]).double(),
                    atol=1e-5,
                    rtol=0,
                )
            else:
                expected = torch.softmax(logit, dim=-1)
            torch.testing.assert_close(tensors[p + "hook_pattern"][b, :, :n, :n].double(), expected, atol=1e-6, rtol=0)
    last = f"blocks.{adapter.n_layers - 1}.attn.hook_pattern"
    assert not torch.allclose(tensors[last], plain[last], atol=1e-4)
    assert not torch.allclose(logits, plain_logits, atol=1e-4)
    if spec.softcap is None:  # ALiBi is a per-head additive bias: eager takes it in its 4-D mask
        assert_equals_eager(built, encoding, spec, tensors, logits)


def test_gemma2_scores_are_softcapped(build):
    built = build("gemma2")
    adapter = built.adapter
    cap = built.config.attn_logit_softcapping
    scaling = built.config.query_pre_attn_scalar**-0.5
    encoding = adapter.encode(TEXTS[:1])
    tensors, _ = capture(adapter, encoding)
    saturated = False
    for layer in range(adapter.n_layers):
        p = f"blocks.{layer}.attn."
        scores = tensors[p + "hook_scores"][0]
        assert float(scores.abs().max()) <= cap  # tanh saturates to exactly ±cap in float32
        q, k = tensors[p + "hook_q"][0], tensors[p + "hook_k"][0]
        raw = torch.stack([q[h] @ k[adapter.kv_head_of(h)].T * scaling for h in range(adapter.n_heads)])
        saturated |= float(raw.abs().max()) > 1.5 * cap  # the cap really bites somewhere
        torch.testing.assert_close(scores, cap * torch.tanh(raw / cap), atol=1e-5, rtol=0)
    assert saturated


def test_gpt_oss_sinks_take_a_share(build):
    built = build("gpt_oss")
    encoding = built.adapter.encode(TEXTS[:1])
    tensors, _ = capture(built.adapter, encoding)
    sink = tensors["blocks.0.attn.hook_sink"][0]  # (heads, seq)
    sums = tensors["blocks.0.attn.hook_pattern"][0].sum(-1)
    assert float(sums.min()) < 0.9 and float(sink.max()) > 0.1
    torch.testing.assert_close(sink + sums, torch.ones_like(sums), atol=1e-6, rtol=0)


# --------------------------------------------------------------------------------------------- threads
@pytest.mark.parametrize("family", ["llama", "gemma2"])
def test_two_threads_do_not_mix(build, family):
    adapter = build(family).adapter
    jobs = [(TEXTS[0], MaskSpec(window=2)), (TEXTS[1], MaskSpec())]
    expected = [run_capture(adapter, [text], spec)[0] for text, spec in jobs]
    barrier = threading.Barrier(2)
    results: dict[int, list] = {0: [], 1: []}
    errors = []

    def work(index):
        text, spec = jobs[index]
        try:
            for _ in range(15):
                barrier.wait(timeout=30)
                results[index].append(run_capture(adapter, [text], spec)[0])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for index in range(2):
        assert len(results[index]) == 15
        for got in results[index]:
            assert got.tokens == expected[index].tokens
            assert set(got) == set(expected[index])
            for name in got:
                if name in ("tokens", "token_pieces"):
                    assert got[name].tolist() == expected[index][name].tolist()
                else:
                    np.testing.assert_allclose(got[name], expected[index][name], atol=1e-6, err_msg=name)


# ------------------------------------------------------------------------------------------ tokenizing
def test_encode_pads_right_flags_specials_and_truncates(build):
    adapter = build("llama").adapter
    tokenizer = adapter.tokenizer
    encoding = adapter.encode(TEXTS)
    n = real_rows(encoding, 1)
    assert encoding.key_is_real[1, :n].all() and not encoding.key_is_real[1, n:].any()  # right padding
    specials = set(tokenizer.all_special_ids)
    for b in range(2):
        assert encoding.special[b] == [int(i) in specials for i in encoding.input_ids[b]]
        assert encoding.tokens[b][0] == "<s>" and encoding.special[b][0]
    assert encoding.tokens[1][n:] == ["<pad>"] * (len(encoding.tokens[1]) - n)
    assert encoding.truncated == [False, False]
    assert encoding.full_lengths == [real_rows(encoding, 0), n]
    long_text = " ".join(["banana arrow"] * 60)
    long = adapter.encode([long_text])
    assert adapter.max_tokens == 64
    assert long.input_ids.shape[1] == 64 and long.truncated == [True] and long.full_lengths[0] > 64
    tensors, logits = capture(adapter, long)
    assert logits.shape[:2] == (1, 64)


# --------------------------------------------------------------------------------------------- loading
def test_load_is_silent_float32_and_restores_logging(build, tmp_path, capfd):
    from transformers.utils import logging as hf_logging

    built = build("mistral")
    path = tmp_path / "bf16"
    built.reference.save_pretrained(path)
    built.adapter.tokenizer.save_pretrained(path)
    config = json.loads((path / "config.json").read_text())
    config["dtype"] = "bfloat16"  # the checkpoint says bfloat16: attnviz still runs float32 on the CPU
    (path / "config.json").write_text(json.dumps(config))
    hf_logging.set_verbosity_warning()
    capfd.readouterr()
    model = load_hf_model(path)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert hf_logging.get_verbosity() == hf_logging.WARNING
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.hf.config._attn_implementation == ATTN_NAME
    sizes = (model.n_layers, model.n_heads, model.n_kv_heads, model.d_model, model.d_head)
    assert model.name == "bf16" and sizes == (2, 4, 2, 32, 8)


def _write_config(path, **config):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config))
    return path


def _families_of_installed_transformers() -> dict[str, bool]:
    """Every model family the installed transformers ships, and whether its modeling code dispatches through the
    attention interface, found by importing that code and reading it (so no release's facts are written here)."""
    import importlib
    import inspect

    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES, model_type_to_module_name

    families = {}
    for model_type in CONFIG_MAPPING_NAMES:
        module = model_type_to_module_name(model_type)
        try:
            code = inspect.getsource(importlib.import_module(f"transformers.models.{module}.modeling_{module}"))
        except (ImportError, OSError, TypeError):  # no modeling file of that name (tokenizer-only, vision-only, ...)
            continue
        families[model_type] = "ALL_ATTENTION_FUNCTIONS" in code
    return families


def _refused(tmp_path, model_type):
    path = _write_config(tmp_path / "m", model_type=model_type, auto_map={"AutoModel": "modeling_x.Model"})
    (path / "model.safetensors").write_bytes(b"")
    with pytest.raises(UnsupportedModel) as info:
        load_hf_model(path)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path) not in message
    return message


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_refuses_families_that_bypass_the_interface_in_one_line(tmp_path):
    """Whatever the installed release routes around the interface is refused with that reason, and only that."""
    bypassing = sorted(t for t, uses in _families_of_installed_transformers().items() if not uses)
    if not bypassing:
        pytest.skip("every family of this transformers calls the attention interface")
    for model_type in bypassing[:8]:
        message = _refused(tmp_path / model_type, model_type)
        assert message == (
            f"{model_type}: this model family does not use transformers' attention interface; attnviz cannot record it"
        )


def test_refuses_a_family_transformers_does_not_know_without_running_its_code(tmp_path):
    message = _refused(tmp_path, "my_remote_model")
    assert message.startswith("my_remote_model: not a model family this version of transformers knows")
    assert "never runs a model's own code" in message


def test_refuses_pickled_weights_and_missing_files(tmp_path, build):
    built = build("llama")
    path = tmp_path / "bin-only"
    built.reference.save_pretrained(path)
    for file in path.glob("*.safetensors"):
        file.unlink()
    (path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(UnsupportedModel, match="safetensors only"):
        load_hf_model(path)
    with pytest.raises(UnsupportedModel, match="no config.json"):
        load_hf_model(tmp_path / "nothing-here")
    with pytest.raises(UnsupportedModel, match="names no model_type"):
        load_hf_model(_write_config(tmp_path / "untyped", hidden_size=4))


def test_refuses_a_checkpoint_with_missing_weights(tmp_path, build):
    from safetensors.torch import load_file, save_file

    built = build("llama")
    path = tmp_path / "partial"
    built.reference.save_pretrained(path)
    built.adapter.tokenizer.save_pretrained(path)
    (weights,) = path.glob("*.safetensors")
    tensors = load_file(weights)
    del tensors["model.layers.1.self_attn.q_proj.weight"]
    save_file(tensors, weights, metadata={"format": "pt"})
    with pytest.raises(UnsupportedModel, match="lacks 1 weights"):
        load_hf_model(path)


def test_registration_touches_no_other_model(build):
    """The adapter's name is its own; transformers' built-in functions and an eager model are unchanged."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask, sdpa_mask
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    built = build("llama")
    assert ALL_ATTENTION_FUNCTIONS["sdpa"] is sdpa_attention_forward
    assert ALL_MASK_ATTENTION_FUNCTIONS["sdpa"] is sdpa_mask and ALL_MASK_ATTENTION_FUNCTIONS["eager"] is eager_mask
    assert built.reference.config._attn_implementation == "eager"
    # While one adapter runs with a user mask, another model in the same thread keeps its own masks: an sdpa model,
    # and a second model loaded under attnviz's own implementation name but called directly (no run of its own).
    import transformers

    sdpa = transformers.LlamaForCausalLM.from_pretrained(built.path, attn_implementation="sdpa").eval()
    other = load_hf_model(built.path, name="other")
    encoding = built.adapter.encode(TEXTS[:1])
    spy = []

    def nested(module, args, output):
        if not spy:
            spy.append(sdpa(input_ids=encoding.input_ids).logits)
            spy.append(other.hf(input_ids=encoding.input_ids).logits)

    hook = built.adapter.hook("blocks.0.attn.hook_mask").register_forward_hook(nested)
    try:
        with torch.inference_mode():
            built.adapter(encoding, MaskSpec(window=2))
    finally:
        hook.remove()
    with torch.inference_mode():
        expected = built.reference(input_ids=encoding.input_ids).logits
    assert len(spy) == 2
    for logits in spy:
        torch.testing.assert_close(logits, expected, atol=1e-4, rtol=0)


def test_wraps_an_already_loaded_model(build):
    """HFAttentionModel switches a loaded model to its own implementation name and records the same patterns."""
    import transformers

    built = build("gemma2")
    hf = transformers.Gemma2ForCausalLM.from_pretrained(built.path, attn_implementation="eager").eval()
    adapter = HFAttentionModel(hf, built.adapter.tokenizer, "wrapped")
    assert hf.config._attn_implementation == ATTN_NAME
    encoding = adapter.encode(TEXTS[:1])
    ours, _ = capture(adapter, encoding)
    reference, _ = capture(built.adapter, encoding)
    for layer in range(adapter.n_layers):
        name = f"blocks.{layer}.attn.hook_pattern"
        torch.testing.assert_close(ours[name], reference[name], atol=1e-6, rtol=0)


def test_a_half_precision_forward_is_captured_in_float32(build):
    """The CUDA path runs the checkpoint's own dtype (load_dtype: "auto" on CUDA, float32 elsewhere); emulated here in
    bf16 on the CPU: the recorded pattern is the float32 softmax, close to the float32 model's."""
    import copy

    from attnviz.models.hf_attention import load_dtype

    assert load_dtype("cuda") == "auto" and load_dtype("cpu") == torch.float32 and load_dtype(None) == torch.float32
    built = build("llama")
    half = HFAttentionModel(
        copy.deepcopy(built.adapter.hf).to(torch.bfloat16), built.adapter.tokenizer, "bf16", family_of("llama")
    )
    encoding = built.adapter.encode(["the cat sat on the mat"])
    tensors, _ = capture(half, encoding)
    reference, _ = capture(built.adapter, encoding)
    pattern = tensors["blocks.0.attn.hook_pattern"]
    assert pattern.dtype == torch.float32 and tensors["blocks.0.attn.hook_q"].dtype == torch.bfloat16
    torch.testing.assert_close(pattern.sum(-1), torch.ones_like(pattern.sum(-1)))
    torch.testing.assert_close(pattern, reference["blocks.0.attn.hook_pattern"], atol=3e-2, rtol=0)
