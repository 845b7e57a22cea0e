"""DistilBERT: an encoder through the same registered attention function as the decoders (one registry entry)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.capture import run_capture
from attnviz.masks import MaskSpec
from attnviz.models.base import AttentionModel, hook_name
from attnviz.analysis.steps import steps

TEXTS = ["the cat sat on the mat", "a dog"]


@pytest.fixture(scope="module")
def built(distilbert):
    return distilbert


def test_distilbert_loads_as_an_encoder_and_equals_eager_attention(built):
    path, reference, model = built
    assert model.kind == "encoder" and isinstance(model, AttentionModel)
    captures = run_capture(model, TEXTS, MaskSpec())
    encoding = model.encode(TEXTS)
    with torch.no_grad():
        expected = reference(
            input_ids=encoding.input_ids, attention_mask=encoding.key_is_real.long(), output_attentions=True
        ).attentions
    for b, cap in enumerate(captures):
        real = cap.key_is_real
        for layer, attentions in enumerate(expected):
            np.testing.assert_allclose(
                cap.pattern(layer)[:, real][:, :, real], attentions[b].numpy()[:, real][:, :, real], atol=1e-5
            )
            assert (cap.pattern(layer)[:, :, ~real] == 0).all()  # padding keys
    assert [n.key for n in model.notices(TEXTS[0], MaskSpec(causal=True))] == ["msg.intervention"]
    (causal,) = run_capture(model, TEXTS[:1], MaskSpec(causal=True))
    assert not np.triu(causal.mask(0), 1).any()  # the user's mask reaches every layer of an encoder too


def test_step_by_step_on_distilbert(built):
    path, reference, model = built
    (cap,) = run_capture(model, TEXTS[:1], MaskSpec())
    s = steps(model, cap, 1, 2, 3)
    np.testing.assert_allclose(s.q, s.q_before, atol=1e-5)  # no rotation
    np.testing.assert_allclose(
        s.attn_result, s.concat @ model.attention_weights(1).w_o + model.attention_weights(1).b_o, atol=1e-4
    )
    first = steps(model, cap, 0, 0, 1)
    assert set(first.embeddings) >= {"word", "position", "sum", "input"}
    assert cap[hook_name("resid_mid", 1)].shape == (len(cap.tokens), model.d_model)
