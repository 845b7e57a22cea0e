"""Any local Hugging Face decoder of a supported family, through the registry, the CLI, the Python API and the app.

Tiny random models are built at test time (``test_hf_models.build``) and saved to a temporary folder; nothing is
downloaded. The adapter's own numbers are checked against transformers' eager attention in test_hf_models.py;
here the question is whether every entry point takes such a folder as a user would give it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

import attnviz
from attnviz.models import ModelNotFound, load_model
from attnviz.models.hf import HFAttentionModel

from apptest_utils import array, figure_with_title

ROOT = Path(__file__).resolve().parents[2]
TEXT = "the cat sat on the mat and the dog sat on the log"


@pytest.mark.parametrize("family", ["gpt2", "llama", "mistral"])
def test_a_local_folder_loads_through_the_registry_and_captures(build, family):  # noqa: F811
    built = build(family)
    model = load_model(str(built.path))
    assert isinstance(model, HFAttentionModel) and model.kind == "decoder"
    cap = attnviz.capture(TEXT, model)
    n = len(cap.tokens)
    for layer in range(model.n_layers):
        assert cap.pattern(layer).shape == (model.n_heads, n, n)
        assert cap[f"blocks.{layer}.attn.hook_k"].shape[0] == model.n_kv_heads
    encoding = model.encode([TEXT])
    with torch.no_grad():
        reference = built.reference(encoding.input_ids, output_attentions=True).attentions
    for layer, attentions in enumerate(reference):
        np.testing.assert_allclose(cap.pattern(layer), attentions[0].numpy(), atol=1e-5)


def test_unsupported_families_are_refused_in_one_line(tmp_path):
    """A family of the installed transformers whose code routes around the attention interface (found by reading
    that code, so no release's facts are written here) is refused through the registry in one line naming it."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    from attnviz.models.hf_families import uses_attention_interface

    bypassing = next((t for t in CONFIG_MAPPING_NAMES if uses_attention_interface(t) is False), None)
    if bypassing is None:
        pytest.skip("every family of this transformers calls the attention interface")
    folder = tmp_path / "a-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": bypassing}))
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelNotFound) as error:
        load_model(str(folder))
    message = str(error.value)
    assert message.startswith(f"{bypassing}: this model family does not use transformers' attention interface")
    assert "\n" not in message


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_the_cli_captures_a_local_llama(build, tmp_path):  # noqa: F811
    built = build("llama")
    out = tmp_path / "x.npz"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "attnviz",
            "capture",
            "--model",
            str(built.path),
            "--text",
            TEXT,
            "--causal",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    arrays = np.load(out)
    assert arrays["blocks.0.attn.hook_k"].shape[0] == built.adapter.n_kv_heads < arrays["blocks.0.attn.hook_q"].shape[0]


def test_the_main_page_draws_an_offered_mistral_with_its_own_window(build, monkeypatch):  # noqa: F811
    built = build("mistral")
    monkeypatch.setenv("ATTNVIZ_MODELS", str(built.path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = str(built.path)
    at.query_params["text"] = TEXT
    at.run()
    assert not at.exception and not at.error
    assert any("causal language model" in i.value for i in at.info)
    spec = figure_with_title(at, "Layer 0")
    z = array(spec["data"][0]["z"])
    n = z.shape[0]
    distance = np.subtract.outer(np.arange(n), np.arange(n))
    window = built.windows[0]
    allowed = (distance >= 0) & (distance < window)  # the model's own sliding window, drawn as it is
    assert np.array_equal(~np.isnan(z), allowed)
    assert not at.warning  # the model's own causal mask and window: no intervention
    outline = [shape for shape in spec["layout"].get("shapes", []) if shape.get("name") == "own window"]
    assert len(outline) == 1 and outline[0]["type"] == "path"  # the layer's own band, outlined
    at.checkbox(key="use_window").check().run()
    at.slider(key="window").set_value(window + 3).run()  # wider than the model's own: changes nothing, and says so
    assert any("changes nothing" in i.value for i in at.info) and not at.warning
    assert np.array_equal(~np.isnan(array(figure_with_title(at, "Layer 0")["data"][0]["z"])), allowed)
    at.slider(key="window").set_value(2).run()  # the user's window narrows the model's, never widens it
    z2 = array(figure_with_title(at, "Layer 0")["data"][0]["z"])
    assert np.array_equal(~np.isnan(z2), (distance >= 0) & (distance < 2))
    assert any("Intervention" in w.value for w in at.warning)


def test_the_sidebar_says_how_query_heads_share_kv_heads(build, monkeypatch):  # noqa: F811
    built = build("llama")
    monkeypatch.setenv("ATTNVIZ_MODELS", str(built.path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = str(built.path)
    at.run()
    model = built.adapter
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert f"{model.n_heads} query heads · {model.n_kv_heads} K/V heads" in captions
    assert f"each K/V head serves {model.n_heads // model.n_kv_heads} query heads" in captions
    at.selectbox(key="model").select("all-MiniLM-L6-v2").run()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "6 layers · 12 heads · d_head 32" in captions and "K/V" not in captions


def test_compare_page_ranks_decoder_heads_by_first_token_and_induction(build, monkeypatch):  # noqa: F811
    built = build("gpt2")
    monkeypatch.setenv("ATTNVIZ_MODELS", str(built.path))
    at = AppTest.from_file(str(ROOT / "pages" / "1_Compare_heads.py"), default_timeout=120)
    at.query_params["model"] = str(built.path)
    at.query_params["text"] = "the cat sat on the mat the cat sat on the mat"
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert {"first", "induction"} <= set(table.columns) and "cls" not in table.columns and "sep" not in table.columns
    assert len(table) == built.adapter.n_layers * built.adapter.n_heads
    assert table["induction"].notna().all()  # the text repeats, so every head has an induction share
    assert "cls" not in at.selectbox(key="rank_by").options


def test_step_by_step_shows_a_grouped_rotary_decoder_and_the_shipped_dcformer(build, monkeypatch):  # noqa: F811
    """Step by step runs on decoders through the contract: norm(x) before the projections, the K/V head a query head
    shares, q and k before and after RoPE (their lengths kept), and for the DCFormer its pre- and post-compose."""
    from attnviz.analysis.steps import steps as step_panels

    built = build("llama")
    monkeypatch.setenv("ATTNVIZ_MODELS", str(built.path))
    at = AppTest.from_file(str(ROOT / "pages" / "3_Step_by_step.py"), default_timeout=120)
    at.query_params.update({"model": str(built.path), "text": TEXT, "layer": "1", "head": "3", "query": "5"})
    at.run()
    assert not at.exception and not at.error
    model = built.adapter
    assert any(f"reads K/V head {model.kv_head_of(3)}" in i.value for i in at.info)
    assert any("Positions rotate q and k" in h.value for h in at.header)
    assert any("norm(x)" in m.value for m in at.markdown)
    rope = figure_with_title(at, "2b · Positions rotate q and k (RoPE)")
    (cap,) = attnviz.run_capture(model, [TEXT], attnviz.masks.MaskSpec())
    s = step_panels(model, cap, 1, 3, 5)
    shown = [array(trace["z"]) for trace in rope["data"] if "z" in trace]
    np.testing.assert_allclose(
        np.concatenate([t.ravel() for t in shown])[: model.d_head], s.q_before[: model.d_head], atol=1e-5
    )
    at.selectbox(key="model").select("dcformer-tiny").run()
    assert not at.exception and not at.error
    assert any("pre-compose" in c.value for c in at.caption) and any("post-compose" in c.value for c in at.caption)


# ------------------------------------------------------------------- families found by discovery, on every page
PAGES = [
    "pages/0_Attention.py",
    "pages/3_Step_by_step.py",
    "pages/4_Word_order.py",
    "pages/7_Generation.py",
    "pages/8_Head_importance.py",
]


@pytest.mark.parametrize("family", ["qwen3", "falcon", "mixtral"])  # QK-norm; a parallel block of K/V groups; experts
def test_a_discovered_family_works_on_every_attention_page_in_one_session(build, monkeypatch, family):  # noqa: F811
    """A user opens a folder of a family no one wrote an entry for, and walks the pages with it: the main map, Step
    by step, Word order, Generation and Head importance, then back to the main page with a new sentence."""
    built = build(family)
    model = built.adapter
    monkeypatch.setenv("ATTNVIZ_MODELS", str(built.path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update(
        {
            "model": str(built.path),
            "gen_model": str(built.path),
            "text": TEXT,
            "order_a": "the dog chases the cat",
            "order_b": "the cat chases the dog",
            "gen_new": "3",
        }
    )
    at.run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.exception] or [e.value for e in at.error])
        assert at.get("plotly_chart"), f"{page} drew nothing for {family}"
    at.switch_page("pages/0_Attention.py").run()
    at.text_input(key="text").set_value("a dog ran in the park").run()  # type again after the walk
    assert not at.exception and not at.error
    spec = figure_with_title(at, "Layer 0")
    z = array(spec["data"][0]["z"])
    (cap,) = attnviz.run_capture(model, ["a dog ran in the park"], attnviz.masks.MaskSpec(causal=True))
    n = len(cap.tokens)
    assert z.shape == (n, n)
    shown_head = cap.pattern(0)[0]
    np.testing.assert_allclose(np.nan_to_num(z), shown_head, atol=1e-5)  # the real forward's numbers, head 0
