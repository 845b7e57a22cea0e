"""FlexAttention computes the block path (no map recorded) with the mask rule as its mask_mod and the score
modifications as its score_mod: on CUDA by default, here forced on (it runs eagerly on CPU). It gives the eager
path's outputs and row normalisers, so the tiles rebuild the same maps from its linear capture."""

import numpy as np
import pytest

import attnviz.recorded_attention as kernel
from attnviz.capture import all_but_maps, run_capture
from attnviz.masks import MaskSpec

TEXTS = ["The cat sat on the mat. A dog ran in the park while time flies like an arrow!", "Fruit flies."]
SPECS = [
    MaskSpec(causal=True),
    MaskSpec(causal=True, window=3, sinks=2, alibi=True),
    MaskSpec(prefix=4, dilation=2, softcap=2.0, documents=(6,)),
]


def linear(model, spec, flex: str, monkeypatch):
    monkeypatch.setattr(kernel, "FLEX", flex)
    texts = TEXTS if model.max_batch is None or model.max_batch > 1 else TEXTS[:1]
    return run_capture(model, texts, spec, all_but_maps(model))


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.describe())
@pytest.mark.parametrize("family", ["minilm", "llama", "gemma2", "mistral"])
def test_flex_attention_gives_the_eager_paths_outputs_and_maps(family, spec, build, minilm, monkeypatch):
    model = minilm if family == "minilm" else build(family).adapter
    if model.kind == "decoder" and not spec.causal:
        spec = MaskSpec(causal=True, prefix=spec.prefix, dilation=spec.dilation, softcap=spec.softcap)
    eager = linear(model, spec, "off", monkeypatch)
    flex = linear(model, spec, "on", monkeypatch)
    monkeypatch.setattr(kernel, "FLEX", "off")
    whole = run_capture(model, TEXTS[: len(flex)], spec)
    for a, b, full in zip(eager, flex, whole):
        n = int(a.key_is_real.sum())  # padded query rows: no key, no weight, either way
        for layer in range(model.n_layers):
            for name in ("z", "lse"):
                key = f"blocks.{layer}.attn.hook_{name}"
                np.testing.assert_allclose(b[key][:, :n], a[key][:, :n], atol=2e-5, rtol=1e-5, err_msg=key)
            np.testing.assert_allclose(b.pattern(layer)[:, :n], full.pattern(layer)[:, :n], atol=2e-5)
        np.testing.assert_allclose(
            b[f"blocks.{model.n_layers - 1}.hook_resid_post"][:n],
            a[f"blocks.{model.n_layers - 1}.hook_resid_post"][:n],
            atol=1e-4,
        )


def test_a_model_with_sink_logits_keeps_the_eager_path(build, monkeypatch):
    """gpt-oss's sinks take a share of each row FlexAttention cannot report: the eager block path serves it."""
    model = build("gpt_oss").adapter
    flex = linear(model, MaskSpec(causal=True), "on", monkeypatch)
    monkeypatch.setattr(kernel, "FLEX", "off")
    (full,) = run_capture(model, TEXTS[:1], MaskSpec(causal=True))
    n = int(flex[0].key_is_real.sum())
    np.testing.assert_allclose(flex[0].pattern(1)[:, :n], full.pattern(1)[:, :n], atol=2e-5)
