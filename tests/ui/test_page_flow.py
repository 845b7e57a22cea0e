"""AppTest of the main page's "Where information flows" and "Queries and keys in one space" sections (ui/flow.py)."""

import pytest
import re
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures
from ui.flow import PAGE_FLOW_TOKENS

TIMEOUT = 120
ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
CJK = re.compile(r"[\u4e00-\u9fff]")
SHORT = "the cat sat on the mat"  # [CLS] + 6 words + [SEP]: attention flow in well under a second


def open_page(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({key: str(value) for key, value in params.items()})
    return at.run()


def titles(at) -> list[str]:
    return [(spec["layout"].get("title") or {}).get("text", "") for spec in figures(at)]


def graph_nodes(spec: dict) -> list[int]:
    """The token positions of the token graph's first column (its last trace holds the nodes)."""
    nodes = spec["data"][-1]
    return [int(y) for x, y in zip(array(nodes["x"]), array(nodes["y"])) if x == 0]


def test_the_sections_are_closed_by_default_and_cost_no_figure():
    at = open_page()
    assert not at.exception
    assert at.toggle(key="flow").value is False and at.toggle(key="qk").value is False
    assert len(figures(at)) == 3  # head map, overview, layer grid: nothing of the sections
    assert not at.subheader
    assert "flow" not in at.query_params and "qk" not in at.query_params


def test_toggling_on_draws_rollout_graph_and_scatter_and_the_url_keeps_them():
    at = open_page(text=SHORT)
    at.toggle(key="flow").set_value(True).run()
    assert not at.exception and not at.error
    rollout = figure_with_title(at, "Rollout after layer 5 · heads: mean · r = 50%")  # MiniLM's last layer
    assert [trace["type"] for trace in rollout["data"]] == ["heatmap"]
    z = array(rollout["data"][0]["z"])
    assert z.shape == (8, 8)
    assert rollout["layout"]["yaxis"]["title"]["text"] == "token after layer 5"  # not one head's queries
    assert rollout["layout"]["xaxis"]["title"]["text"] == "input token"
    np.testing.assert_allclose(np.nansum(z, axis=1), 1.0, atol=1e-5)  # rows of a rollout sum to 1
    graph = figure_with_title(at, "Token graph: the 3 heaviest lines into each token")
    assert len(graph["data"]) >= 3  # line buckets, their hover markers, the nodes
    assert graph["layout"]["xaxis"]["ticktext"] == ["input"] + [f"after L{layer}" for layer in range(6)]
    lines = graph["data"][-2]["customdata"]  # one hover marker per line
    assert len(lines) == 6 * 8 * 3  # top 3 lines into each of 8 tokens in each of 6 layers
    assert at.query_params["flow"] == "1"

    at.toggle(key="qk").set_value(True).run()
    assert not at.exception and not at.error
    scatter = figure_with_title(at, "Layer 0 · head 0: queries and keys (PCA)")
    assert [trace["name"] for trace in scatter["data"]] == ["queries", "keys"]
    assert all(len(array(trace["x"])) == 8 for trace in scatter["data"])  # q and k of the 8 real tokens
    captions = " ".join(c.value for c in at.caption)
    assert re.search(r"The picture's two axes hold \d+% of the variance", captions)
    assert re.search(
        r"In this picture, \d+% of queries \(\d of 8\) have their most-attended key among their 3 nearest keys",
        captions,
    )
    assert at.query_params["qk"] == "1"

    at.slider(key="flow_top_k").set_value(1).run()
    graph = figure_with_title(at, "Token graph: the 1 heaviest lines")
    assert len(graph["data"][-2]["customdata"]) == 6 * 8
    assert at.query_params["flow_top_k"] == "1"


def test_the_scatter_follows_the_pages_head_whose_q_and_k_the_view_did_not_capture():
    """The page's capture holds patterns and masks only: q and k come from a capture of the chosen layer."""
    at = open_page(text=SHORT, qk=1, layer=3, head=7)
    assert not at.exception and not at.error
    figure_with_title(at, "Layer 3 · head 7: queries and keys (PCA)")
    at.slider(key="head").set_value(2).run()
    figure_with_title(at, "Layer 3 · head 2: queries and keys (PCA)")


def test_a_link_reopens_the_section_as_it_was():
    at = open_page(
        text=SHORT, flow=1, flow_method="flow", flow_heads="max", flow_residual=30, flow_layer=2, flow_top_k=2
    )
    assert not at.exception and not at.error
    figure_with_title(at, "Attention flow after layer 2 · heads: max · r = 30%")
    figure_with_title(at, "the 2 heaviest lines")
    assert at.radio(key="flow_method").value == "flow" and at.slider(key="flow_residual").value == 30


def test_a_causal_mask_keeps_rollout_and_flow_below_the_diagonal():
    at = open_page(text=SHORT, causal=1, flow=1)
    for method, title in (("rollout", "Rollout after layer 5"), ("flow", "Attention flow after layer 5")):
        at.radio(key="flow_method").set_value(method).run()
        assert not at.exception and not at.error
        z = array(figure_with_title(at, title)["data"][0]["z"])
        assert np.isnan(z[np.triu_indices(len(z), k=1)]).all(), method  # unreachable: grey
        assert not np.isnan(z[np.tril_indices(len(z))]).any(), method
        np.testing.assert_allclose(np.nansum(z, axis=1), 1.0, atol=1e-5)


def test_a_window_widens_with_depth():
    """Window 2: one layer reaches one token back; after layer 5, six."""
    at = open_page(
        text="one two three four five six seven eight nine ten", use_window=1, window=2, flow=1, flow_layer=0
    )
    z0 = array(figure_with_title(at, "Rollout after layer 0")["data"][0]["z"])
    distance = np.abs(np.subtract.outer(np.arange(len(z0)), np.arange(len(z0))))
    assert np.array_equal(~np.isnan(z0), distance < 2)
    at.slider(key="flow_layer").set_value(5).run()
    z5 = array(figure_with_title(at, "Rollout after layer 5")["data"][0]["z"])
    assert np.array_equal(~np.isnan(z5), distance < 7)


def test_over_the_pages_flow_limit_it_says_why_and_shows_the_rollout():
    text = " ".join(f"w{i}" for i in range(70))
    at = open_page(text=text, flow=1)
    at.radio(key="flow_method").set_value("flow").run()
    assert not at.exception and not at.error
    (message,) = [i.value for i in at.info if "Attention flow" in i.value]
    assert f"up to {PAGE_FLOW_TOKENS} tokens" in message and "shorten the text" in message
    assert figure_with_title(at, "Rollout after layer 5")
    assert at.text_input(key="text").value == text  # the box stays, to shorten the text
    at.text_input(key="text").input(SHORT).run()
    assert not at.exception and not any("Attention flow is offered" in i.value for i in at.info)
    figure_with_title(at, "Attention flow after layer 5")


def test_attention_flow_is_computed_once_while_other_widgets_move(monkeypatch):
    from ui import flow

    calls = []
    monkeypatch.setattr(
        flow, "attention_flow", lambda *a, _real=flow.attention_flow, **k: calls.append(1) or _real(*a, **k)
    )
    at = open_page(text="a memo test of the flow", flow=1, flow_method="flow", flow_residual=35)
    assert not at.exception and len(calls) == 1
    at.slider(key="head").set_value(4).run()  # the page's head
    at.slider(key="flow_top_k").set_value(5).run()  # the graph only
    at.slider(key="flow_layer").set_value(1).run()  # another layer of the same stack
    at.radio(key="flow_method").set_value("rollout").run()
    at.radio(key="flow_method").set_value("flow").run()
    assert not at.exception and len(calls) == 1
    at.slider(key="flow_residual").set_value(40).run()  # a new graph: computed
    assert len(calls) == 2


def test_clearing_the_sentence_then_typing_again_keeps_the_sections_open():
    at = open_page(text=SHORT, flow=1, qk=1)
    at.text_input(key="text").input("").run()
    assert not at.exception
    assert any("empty" in i.value for i in at.info)
    assert not [title for title in titles(at) if "Rollout" in title]
    at.text_input(key="text").input("zebras eat carrots").run()
    assert not at.exception and not at.error
    rollout = figure_with_title(at, "Rollout after layer 5")
    assert rollout["layout"]["yaxis"]["ticktext"][:3] == ["[CLS]", "zebra", "‿s"]
    figure_with_title(at, "queries and keys (PCA)")
    assert at.toggle(key="flow").value is True and at.toggle(key="qk").value is True
    assert at.query_params["flow"] == "1" and at.query_params["qk"] == "1"


def test_hidden_special_tokens_and_padding_are_not_drawn():
    at = open_page(text=SHORT, text2="A much longer second sentence than the first one is", hide_special=1, flow=1)
    assert not at.exception and not at.error
    rollout = figure_with_title(at, "Rollout after layer 5")
    ticks = rollout["layout"]["yaxis"]["ticktext"]
    assert "[CLS]" not in ticks and "[SEP]" not in ticks and ticks[:2] == ["the", "cat"]
    assert any("hidden special tokens still take part" in c.value for c in at.caption)
    nodes = graph_nodes(figure_with_title(at, "Token graph"))
    assert nodes == list(range(1, 7))  # the six words: neither [CLS], [SEP] nor the [PAD] after them


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_umap_projection_with_its_honest_caption():
    at = open_page(text=SHORT, qk=1, qk_method="umap")
    assert not at.exception and not at.error
    scatter = figure_with_title(at, "Layer 0 · head 0: queries and keys (UMAP)")
    assert scatter["layout"]["xaxis"]["title"]["text"] == "UMAP 1"
    captions = " ".join(c.value for c in at.caption)
    assert "no share of variance" in captions and "In this picture" in captions


def test_chinese_labels_everywhere_in_the_sections():
    at = open_page(text=SHORT, lang="zh", flow=1, qk=1)
    assert not at.exception and not at.error
    labels = [w.label for kind in ("toggle", "radio", "slider") for w in getattr(at, kind)]
    assert len(labels) >= 2 + 3 + 5  # toggles; method, heads, projection; layer, head, residual, layer, top k
    assert all(CJK.search(label) for label in labels), labels
    options = [option for key in ("flow_method", "flow_heads", "qk_method") for option in at.radio(key=key).options]
    assert len(options) == 6 and all(CJK.search(option) for option in options), options
    for element in list(at.subheader) + list(at.caption):
        assert CJK.search(element.value), element.value
    section = [title for title in titles(at) if "注意力展开" in title or "词元图" in title or "查询和键" in title]
    assert len(section) == 3, titles(at)
    rollout = figure_with_title(at, "注意力展开")
    assert rollout["layout"]["yaxis"]["title"]["text"] == "第 5 层之后的词元"
    assert rollout["layout"]["xaxis"]["title"]["text"] == "输入词元"
    graph = figure_with_title(at, "词元图")
    assert graph["layout"]["xaxis"]["ticktext"][:2] == ["输入", "第 0 层后"]
    scatter = figure_with_title(at, "查询和键")
    assert [trace["name"] for trace in scatter["data"]] == ["查询", "键"]
    assert "主成分 1" in scatter["layout"]["xaxis"]["title"]["text"]


def test_changing_the_model_midway_keeps_both_sections_working():
    at = open_page(text="The cat sat.", flow=1, qk=1, layer=5, head=11)
    figure_with_title(at, "Rollout after layer 5")
    at.selectbox(key="model").set_value("mistral-char").run()  # a 4-layer decoder with grouped-query attention
    assert not at.exception and not at.error
    rollout = figure_with_title(at, "Rollout after layer 3")
    z = array(rollout["data"][0]["z"])
    assert np.isnan(z[np.triu_indices(len(z), k=1)]).all()  # a decoder: causal by itself
    graph = figure_with_title(at, "Token graph")
    assert len(graph["layout"]["xaxis"]["ticktext"]) == 5  # input + 4 layers
    figure_with_title(at, "Layer 3 · head 3: queries and keys (PCA)")
    assert any("reads K/V head 1" in c.value for c in at.caption)
    at.radio(key="flow_method").set_value("flow").run()
    assert not at.exception and not at.error
    figure_with_title(at, "Attention flow after layer 3")


def test_the_dcformers_signed_maps_get_no_flow_and_a_caution():
    """DCMHA's composed maps hold negative weights: max-flow needs non-negative capacities."""
    at = open_page(model="dcformer-tiny", text=SHORT, flow=1, flow_method="flow")
    assert not at.exception and not at.error
    assert any("negative weights" in i.value and "not offered" in i.value for i in at.info)
    figure_with_title(at, "Rollout after layer 3")
    figure_with_title(at, "Token graph")
