"""Generation with the KV cache: each step's new row is the row a full forward over the final text computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.capture import get_model
from attnviz.analysis.generation import generate_with_cache
from attnviz.hooks import recording
from attnviz.masks import MaskSpec
from attnviz.models.base import Encoding, hook_name


PROMPT = "the cat sat on the mat and the dog"
MODELS = ["gpt2", "llama", "mistral", "gemma2", "dcformer-tiny"]


@pytest.fixture
def decoder(request, build):  # noqa: F811
    return get_model(request.param) if request.param == "dcformer-tiny" else build(request.param).adapter


def full_forward(model, ids: list[int]):
    """Every row of every layer for the whole final sequence, in one ordinary forward (no cache)."""
    tensor = torch.tensor([ids])
    encoding = Encoding(
        tensor,
        torch.ones_like(tensor, dtype=torch.bool),
        torch.zeros_like(tensor),
        [["?"] * len(ids)],
        [[False] * len(ids)],
        [False],
        [len(ids)],
    )
    with torch.inference_mode(), recording() as rec:
        logits = model(encoding, MaskSpec(causal=True))
    return rec.tensors, logits


@pytest.mark.parametrize("decoder", MODELS, indirect=True)
def test_every_cached_step_equals_the_full_forward(decoder):
    model = decoder
    generation = generate_with_cache(model, PROMPT, n_new=8)
    assert len(generation.steps) == 8 and len(generation.tokens) == generation.n_prompt + 8
    ids = [int(i) for i in model.encode([PROMPT]).input_ids[0][: generation.n_prompt]] + [
        s.token_id for s in generation.steps
    ]
    tensors, logits = full_forward(model, ids)
    for layer in range(model.n_layers):
        full = tensors[hook_name("pattern", layer)][0].numpy()  # (heads, T, T)
        for head in range(model.n_heads):
            shown = generation.map(layer, head)
            computed = ~np.isnan(shown)
            np.testing.assert_allclose(shown[computed], full[head][computed], atol=2e-5)
            assert (full[head][~computed] == 0).all() or layer_window_dropped(model, layer, generation)
    for step in generation.steps:  # greedy: each token is the full forward's most likely next one
        previous = logits[0, step.position - 1].float().clone()
        previous[list(getattr(model, "never_generated", ()))] = -np.inf
        assert int(previous.argmax()) == step.token_id
    assert (
        generation.cache_bytes(3)
        == 2 * model.n_layers * model.n_kv_heads * (generation.n_prompt + 3) * model.d_head * 4
    )


def layer_window_dropped(model, layer, generation) -> bool:
    """A sliding-window layer's cache keeps only its latest keys: what it dropped was never read, so never drawn."""
    return any(step.key_start[layer] > 0 for step in generation.steps)


def test_a_sliding_window_cache_drops_old_keys_and_the_rows_still_sit_where_they_belong(build):  # noqa: F811
    built = build("mistral")
    model = built.adapter
    generation = generate_with_cache(model, PROMPT + " and the owl", n_new=4)
    window = built.windows[0]
    last = generation.steps[-1]
    assert last.key_start[0] == last.position - window + 1  # the cache kept the window's keys only
    row = generation.map(0, 0)[last.position]
    assert np.flatnonzero(~np.isnan(row)).tolist() == list(range(last.position - window + 1, last.position + 1))
    np.testing.assert_allclose(np.nansum(row), 1.0, atol=1e-5)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_the_generation_page_steps_through_the_cache_and_switches_models(build, monkeypatch):  # noqa: F811
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from apptest_utils import array, figure_with_title

    built = build("mistral")
    monkeypatch.setenv("ATTNVIZ_MODELS", str(built.path))
    root = Path(__file__).resolve().parents[2]
    at = AppTest.from_file(str(root / "pages" / "7_Generation.py"), default_timeout=120)
    at.query_params.update(
        {"gen_text": "The cat sat on the", "gen_new": "6", "gen_step": "3", "layer": "1", "head": "2"}
    )
    at.run()
    assert not at.exception and not at.error
    model = get_model("dcformer-tiny")
    generation = generate_with_cache(model, "The cat sat on the", 6)
    shown = array(figure_with_title(at, "Layer 1 · head 2")["data"][0]["z"])
    np.testing.assert_allclose(shown, generation.map(1, 2, upto=3), atol=1e-6)
    assert any("Step 3" in m.value and "KB" in m.value for m in at.markdown)
    at.slider(key="gen_step").set_value(5).run()
    assert array(figure_with_title(at, "Layer 1 · head 2")["data"][0]["z"]).shape[0] == generation.n_prompt + 5
    at.selectbox(key="gen_model").select(str(built.path)).run()  # a grouped-query, sliding-window decoder
    assert not at.exception and not at.error
    assert "all-MiniLM-L6-v2" not in at.selectbox(key="gen_model").options  # encoders do not generate
    at.selectbox(key="gen_model").select("dcformer-tiny").run()
    assert not at.exception and not at.error
