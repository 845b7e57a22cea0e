"""Vision transformers (attnviz.models.hf_vision) against transformers' own eager models.

Each family is a tiny random model built here (16 × 16 images, 4 × 4 patches: a 4 × 4 grid) and saved to a
temporary folder with its image processor: nothing is downloaded. The reference is the same checkpoint loaded by
transformers with ``attn_implementation="eager"`` and run with ``output_attentions=True``; under a 2-D mask the
reference is given the mask as a 4-D additive mask built from tests/support/mask_reference.py's definition (which
walks the grid), never from attnviz.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.capture import run_capture
from attnviz.hooks import recording
from attnviz.masks import MaskSpec
from attnviz.models import load_model
from attnviz.models.hf_families import UnsupportedModel
from attnviz.models.hf_vision import HFVisionModel
from attnviz.text import InputError
from mask_reference import reference_allowed
from tiny_vision import FAMILIES, build_vision, picture


@pytest.fixture(scope="module", params=list(FAMILIES))
def vision(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    eager = build_vision(folder, request.param)
    return request.param, load_model(str(folder)), eager


def eager_run(eager, pixels, allowed: np.ndarray | None = None):
    mask = None
    if allowed is not None:  # (T, T) True = may attend, as an additive 4-D mask
        mask = torch.zeros(allowed.shape).masked_fill(torch.from_numpy(~allowed), float("-inf"))[None, None]
    with torch.inference_mode():
        return eager(pixel_values=pixels, attention_mask=mask, output_attentions=True, output_hidden_states=True)


def reference_allowed_grid(model, spec: MaskSpec) -> np.ndarray:
    n = model.max_tokens
    return np.array([[reference_allowed(i, j, spec) for j in range(n)] for i in range(n)])


def test_a_vision_folder_loads_as_a_vision_model_with_its_patch_grid(vision):
    family, model, _ = vision
    first = FAMILIES[family][2]
    assert isinstance(model, HFVisionModel) and model.kind == "vision"
    assert model.patch_grid == (first, 4, 4) and model.max_tokens == first + 16
    assert (model.n_layers, model.n_heads, model.n_kv_heads, model.d_head) == (2, 4, 4, 8)
    encoding = model.encode([picture()])
    assert encoding.tokens[0][:first][0] == "[CLS]" and encoding.tokens[0][first:][:5] == [
        "(0,0)",
        "(0,1)",
        "(0,2)",
        "(0,3)",
        "(1,0)",
    ]
    assert encoding.special[0] == [True] * first + [False] * 16
    if family == "deit":
        assert encoding.tokens[0][1] == "[DIST]"
    if family == "dinov2_with_registers":
        assert encoding.tokens[0][1:3] == ["[REG 0]", "[REG 1]"]


def test_every_layer_and_the_output_equal_eager(vision):
    _, model, eager = vision
    encoding = model.encode([picture(1), picture(2, size=40)])  # two sizes: the processor resizes both
    with torch.inference_mode(), recording() as recorder:
        output = model(encoding, MaskSpec())
    reference = eager_run(eager, encoding.pixel_values)
    for layer in range(model.n_layers):
        torch.testing.assert_close(
            recorder.tensors[f"blocks.{layer}.attn.hook_pattern"], reference.attentions[layer], atol=1e-5, rtol=0
        )
    torch.testing.assert_close(recorder.tensors["hook_embed"], reference.hidden_states[0], atol=1e-6, rtol=0)
    expected = reference.logits if hasattr(reference, "logits") else reference.last_hidden_state
    torch.testing.assert_close(output, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "rules",
    [dict(window_2d=1), dict(blocks_2d=2), dict(causal=True), dict(window_2d=1, blocks_2d=2)],
    ids=lambda rules: ",".join(rules),
)
def test_2d_masks_equal_eager_given_the_definition_and_leak_nothing(vision, rules):
    _, model, eager = vision
    spec = MaskSpec(grid=model.patch_grid, **rules)
    encoding = model.encode([picture(3)])
    with torch.inference_mode(), recording() as recorder:
        output = model(encoding, spec)
    with torch.inference_mode():
        plain = model(encoding, MaskSpec())
    allowed = reference_allowed_grid(model, spec)
    reference = eager_run(eager, encoding.pixel_values, allowed)
    for layer in range(model.n_layers):
        ours = recorder.tensors[f"blocks.{layer}.attn.hook_pattern"][0]
        assert float(ours[:, ~torch.from_numpy(allowed)].abs().max()) == 0.0  # no weight outside the rule
        torch.testing.assert_close(ours, reference.attentions[layer][0], atol=1e-5, rtol=0)
    expected = reference.logits if hasattr(reference, "logits") else reference.last_hidden_state
    torch.testing.assert_close(output, expected, atol=1e-4, rtol=0)
    assert (output - plain).abs().max() > 1e-4  # the mask is real: the output moves


def test_a_capture_of_an_image_has_the_text_models_hook_names(vision):
    _, model, _ = vision
    (capture,) = run_capture(model, [picture(4)], MaskSpec(grid=model.patch_grid, window_2d=1))
    n = model.max_tokens
    assert capture["blocks.1.attn.hook_pattern"].shape == (4, n, n)
    assert capture["blocks.0.hook_resid_post"].shape == (n, 32)
    assert list(capture.tokens)[0] == "[CLS]" and capture.special.sum() == model.patch_grid[0]
    np.testing.assert_allclose(capture["blocks.0.attn.hook_pattern"].sum(-1), 1.0, atol=1e-5)


def test_text_given_to_an_image_model_is_refused_in_one_line(vision):
    _, model, _ = vision
    with pytest.raises(UnsupportedModel) as error:
        model.encode(["a cat"])
    assert error.value.key == "model.needs_image"


@pytest.mark.parametrize("family", ["convnext", "levit", "swin"])
def test_vision_families_that_attnviz_cannot_record_are_refused_in_one_line(tmp_path, family):
    import transformers
    from transformers import AutoConfig

    config = AutoConfig.for_model(family)
    config.save_pretrained(tmp_path)
    transformers.ViTImageProcessor().save_pretrained(tmp_path)
    with pytest.raises(InputError) as error:
        load_model(str(tmp_path))
    assert error.value.key in ("model.no_interface", "model.not_plain_vit")
    assert "\n" not in str(error.value)


def test_the_patch_projection_and_the_position_rows_add_up_to_layer_0s_input(vision):
    """Step by step's first step on an image: each patch's pixels through the patch projection (and the model's own
    tokens' rows), plus its position row, is the embedding the forward recorded, token by token."""
    _, model, _ = vision
    encoding = model.encode([picture(9)])
    with torch.inference_mode(), recording() as recorder:
        model(encoding, MaskSpec())
    parts = model.embedding_parts_of(encoding.pixel_values)
    np.testing.assert_allclose(parts["token"] + parts["position"], recorder.tensors["hook_embed"][0].numpy(), atol=1e-6)
    # the projection is the convolution's: a patch's pixels times the kernel, plus the bias, by hand
    conv = model.hf.base_model.embeddings.patch_embeddings.projection
    first = model.patch_grid[0]
    pixels = encoding.pixel_values[0, :, 4:8, 0:4]  # patch (1, 0)
    by_hand = (conv.weight.detach() * pixels).sum((1, 2, 3)) + conv.bias.detach()
    np.testing.assert_allclose(parts["token"][first + 4], by_hand.numpy(), atol=1e-5)
