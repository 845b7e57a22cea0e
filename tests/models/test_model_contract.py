"""The model contract (attnviz/models/base.py), checked the same way for every model family.

Families: the shipped MiniLM (BERT adapter), the shipped character models (DCFormer, its MHA twin, and the
Mistral-architecture one in the Hugging Face format), and
tiny random GPT-2, Llama (grouped-query), Qwen2 and Mistral (sliding windows), Gemma 2 (softcapping, alternating
windows) and gpt-oss (attention sinks) decoders built at test time, and twelve families found by discovery: Phi-3,
Qwen3 and OLMo 2 (QK-norm), Gemma 3, Falcon (new decoder architecture), GPT-NeoX and Cohere (parallel blocks),
StableLM, Granite, StarCoder2, SmolLM3 and Mixtral (a mixture of experts); and tiny ViT, DeiT and DINOv2 (with and
without registers) vision transformers, an image in place of the text. T5 and BART: tests/test_hf_encdec.py. For each:
the same hook names (from ``hook_name``) and shapes, K/V at their own head count, softmax rows summing to 1 over
the allowed keys, masked cells exactly 0, no information from masked keys in any layer, and the softmax equal
to an independent NumPy softmax of the captured scores under the captured mask.
"""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.capture import get_model, run_capture
from attnviz.masks import MaskSpec
from attnviz.models.base import AttentionModel, hook_name
from mask_reference import reference_allowed
from tiny_models import NAMED_FAMILIES
from tiny_vision import FAMILIES as VISION_FAMILIES, build_vision, picture


SHIPPED = ["minilm", "mha-tiny", "dcformer-tiny", "mistral-char"]
FAMILIES = [*SHIPPED, *NAMED_FAMILIES]  # the tiny ones built at test time (tests/support/tiny_models.py)
TEXT = "the cat sat on the mat and the dog sat on the log"
LATER = "the cat sat on the mat and the owl ran to the sea"  # the same first 8 words, then different


@pytest.fixture
def model(request, build):  # noqa: F811
    name = request.param
    if name == "minilm":
        return get_model("all-MiniLM-L6-v2")
    if name in ("mha-tiny", "dcformer-tiny", "mistral-char"):
        return get_model(name)
    return build(name).adapter


def capture(model, text, spec):
    (cap,) = run_capture(model, [text], spec)
    return cap


def softmax_weights(cap, layer):
    """What the softmax produced: DCFormer's hook_probs (before post-compose), else the pattern."""
    probs = hook_name("probs", layer)
    return cap[probs] if probs in cap else cap[hook_name("pattern", layer)]


def pre_softmax_scores(cap, layer):
    composed = hook_name("scores_composed", layer)  # DCFormer: after pre-compose
    return cap[composed] if composed in cap else cap[hook_name("scores", layer)]


SPECS = [MaskSpec(causal=True), MaskSpec(causal=True, window=3), MaskSpec(causal=True, chunk=4)]


@pytest.mark.parametrize("model", FAMILIES, indirect=True)
def test_names_shapes_and_kv_heads(model):
    cap = capture(model, TEXT, MaskSpec(causal=True))
    n = len(cap.tokens)
    H, Hkv, d = model.n_heads, model.n_kv_heads, model.d_head
    for layer in range(model.n_layers):
        assert cap[hook_name("q", layer)].shape == (H, n, d)
        assert cap[hook_name("k", layer)].shape == (Hkv, n, d)
        assert cap[hook_name("v", layer)].shape == (Hkv, n, d)
        assert cap[hook_name("scores", layer)].shape == (H, n, n)
        assert cap[hook_name("pattern", layer)].shape == (H, n, n)
        assert cap[hook_name("mask", layer)].shape == (n, n) and cap[hook_name("mask", layer)].dtype == bool
        assert cap[hook_name("z", layer)].shape == (H, n, d)
    assert [model.kv_head_of(h) for h in range(H)] == sorted(model.kv_head_of(h) for h in range(H))
    assert set(model.kv_head_of(h) for h in range(H)) == set(range(Hkv))
    assert model.kind in ("encoder", "decoder", "encoder-decoder") and model.max_tokens > 0
    assert isinstance(model.special_tokens, frozenset)


@pytest.mark.parametrize(
    "model, spec",
    [
        pytest.param(family, spec, id=f"{family}-{name}")
        for family in FAMILIES
        for spec, name in zip(SPECS, ["causal", "window3", "chunk4"])
    ],
    indirect=["model"],
)
def test_masks_softmax_and_rows(model, spec):
    cap = capture(model, TEXT, spec)
    n = len(cap.tokens)
    i, j = np.indices((n, n))
    allowed_by_spec = j <= i
    if spec.window is not None:
        allowed_by_spec &= np.abs(i - j) < spec.window
    if spec.chunk is not None:
        allowed_by_spec &= i // spec.chunk == j // spec.chunk
    for layer in range(model.n_layers):
        mask = cap[hook_name("mask", layer)]
        assert not (mask & ~allowed_by_spec).any(), f"layer {layer}: the mask lets a query see a key the spec forbids"
        assert mask.diagonal().all()
        weights = softmax_weights(cap, layer)
        sink = cap.get(hook_name("sink", layer))  # gpt-oss: a share of each row goes to the head's sink logit
        np.testing.assert_allclose(weights.sum(-1) + (0 if sink is None else sink), 1.0, atol=1e-5)
        assert (weights[:, ~mask] == 0).all() and (cap[hook_name("pattern", layer)][:, ~mask] == 0).all()
        # an independent softmax of the captured scores under the captured mask
        scores = np.where(mask, pre_softmax_scores(cap, layer).astype(np.float64), -np.inf)
        expected = np.exp(scores - scores.max(-1, keepdims=True))
        expected /= expected.sum(-1, keepdims=True)
        if sink is not None:  # the sink takes its share first; the keys share the rest in the same proportions
            expected *= 1.0 - sink[..., None]
        np.testing.assert_allclose(weights, expected, atol=2e-5)


@pytest.mark.parametrize("model", FAMILIES, indirect=True)
def test_no_information_from_masked_keys_in_any_layer(model):
    """Under the causal mask, rows before the first changed token are identical in every layer."""
    a, b = capture(model, TEXT, MaskSpec(causal=True)), capture(model, LATER, MaskSpec(causal=True))
    same = 0
    while (
        same < min(len(a.tokens), len(b.tokens))
        and a.tokens[same] == b.tokens[same]
        and a["token_ids"][same] == b["token_ids"][same]
    ):
        same += 1
    assert same >= 5
    for layer in range(model.n_layers):
        for name in ("pattern", "z"):
            np.testing.assert_allclose(
                a[hook_name(name, layer)][:, :same, :same]
                if name == "pattern"
                else a[hook_name(name, layer)][:, :same],
                b[hook_name(name, layer)][:, :same, :same]
                if name == "pattern"
                else b[hook_name(name, layer)][:, :same],
                atol=1e-5,
                err_msg=f"layer {layer} {name}: a later token leaked into earlier rows",
            )


@pytest.mark.parametrize(
    "model",
    FAMILIES,
    indirect=True,
)
def test_every_model_keeps_the_written_contract(model):
    assert isinstance(model, AttentionModel)
    assert model.hook(hook_name("pattern", 0)).name == "blocks.0.attn.hook_pattern"


@pytest.mark.parametrize("model", FAMILIES, indirect=True)
def test_every_model_says_what_a_page_must_tell(model):
    """notices(text, spec): an encoder's mask is an intervention; a decoder states its own windows and whether the
    user's window or chunk changes them; the character models also name unknown characters and untrained positions."""
    every = lambda spec, text=TEXT: [n.key for n in model.notices(text, spec)]  # noqa: E731
    # a model that composes its heads (DCMHA) says once what its weights outside [0, 1] mean
    assert ("msg.composed_weights" in every(MaskSpec(causal=True))) == model.use_dcmha
    keys = lambda spec, text=TEXT: [k for k in every(spec, text) if k != "msg.composed_weights"]  # noqa: E731
    if model.kind == "encoder":
        assert keys(MaskSpec()) == [] and keys(MaskSpec(causal=True)) == ["msg.intervention"]
        return
    global_layer = None in model.layer_windows(None)  # "∞" is explained only where a layer sees every earlier token
    assert keys(MaskSpec(causal=True)) == ["msg.decoder_note" if global_layer else "msg.decoder_note_windowed"]
    assert keys(MaskSpec(causal=True, chunk=4))[-1] == "msg.decoder_intervention"
    wide = MaskSpec(causal=True, window=10_000)
    assert keys(wide)[-1] == (
        "msg.window_changes_nothing" if all(model.layer_windows(None)) else "msg.decoder_intervention"
    )
    if hasattr(model, "unknown_characters"):
        notices = model.notices("cat \u2603" + "a" * model.context, MaskSpec(causal=True))
        assert [n.key for n in notices][:2] == ["msg.unknown_chars", "msg.beyond_context"]
        assert notices[0].values["chars"] == "\u2603" and notices[1].values["context"] == model.context


# --- vision transformers: the same contract, an image in place of the text ----------------------------------------
VISION = list(VISION_FAMILIES)


@pytest.fixture(scope="module")
def vision_model(request, tmp_path_factory):
    from attnviz.models import load_model

    folder = tmp_path_factory.mktemp(request.param)
    build_vision(folder, request.param)
    return load_model(str(folder))


def image_specs(model):
    grid = model.patch_grid
    return [MaskSpec(), MaskSpec(grid=grid, window_2d=1), MaskSpec(grid=grid, blocks_2d=2), MaskSpec(causal=True)]


@pytest.mark.parametrize("vision_model", VISION, indirect=True)
def test_a_vision_model_keeps_the_contract_names_shapes_masks_and_rows(vision_model):
    model = vision_model
    assert isinstance(model, AttentionModel) and model.kind == "vision"
    n, H, d = model.max_tokens, model.n_heads, model.d_head
    for spec in image_specs(model):
        (cap,) = run_capture(model, [picture(7)], spec)
        allowed_by_spec = np.array([[reference_allowed(i, j, spec) for j in range(n)] for i in range(n)])
        for layer in range(model.n_layers):
            for name, shape in (("q", (H, n, d)), ("k", (H, n, d)), ("scores", (H, n, n)), ("z", (H, n, d))):
                assert cap[hook_name(name, layer)].shape == shape
            mask = cap[hook_name("mask", layer)]
            assert np.array_equal(mask, allowed_by_spec), f"layer {layer} under {spec.describe()}"
            weights = cap[hook_name("pattern", layer)]
            np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
            assert (weights[:, ~mask] == 0).all()
            scores = np.where(mask, cap[hook_name("scores", layer)].astype(np.float64), -np.inf)
            expected = np.exp(scores - scores.max(-1, keepdims=True))
            np.testing.assert_allclose(weights, expected / expected.sum(-1, keepdims=True), atol=2e-5)
        keys = [notice.key for notice in model.notices("", spec)]
        assert keys == (["msg.intervention"] if spec.is_intervention else [])


@pytest.mark.parametrize("vision_model", VISION, indirect=True)
def test_no_information_from_masked_patches_in_any_layer(vision_model):
    """Raster-order causal: two images that differ only in their last row of pixels give the same rows for every
    token before that row's patches, in every layer; without the mask they do not."""
    model = vision_model
    a = np.asarray(picture(8), dtype=np.uint8).copy()
    b = a.copy()
    b[-model.image_size // 4 :] = 255 - b[-model.image_size // 4 :]  # the last row of patches (the processor's scale)
    first, _, side = model.patch_grid
    same = first + side * (side - 1)
    causal = MaskSpec(causal=True)
    (cap_a,) = run_capture(model, [a], causal)
    (cap_b,) = run_capture(model, [b], causal)
    for layer in range(model.n_layers):
        for name in ("pattern", "z"):
            left, right = cap_a[hook_name(name, layer)][:, :same], cap_b[hook_name(name, layer)][:, :same]
            if name == "pattern":
                left, right = left[..., :same], right[..., :same]
            np.testing.assert_allclose(left, right, atol=1e-5, err_msg=f"layer {layer} {name}: a later patch leaked")
    (open_a,) = run_capture(model, [a], MaskSpec())
    (open_b,) = run_capture(model, [b], MaskSpec())
    assert np.abs(open_a[hook_name("z", 1)][:, :same] - open_b[hook_name("z", 1)][:, :same]).max() > 1e-4
