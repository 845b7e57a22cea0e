"""Streamlit AppTest of every page: renders without exception, and widgets change what is shown."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures, title_of
from attnviz.text import escape_markdown

TIMEOUT = 120
ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
COMPARE = str(ROOT / "pages" / "1_Compare_heads.py")


@pytest.fixture
def main_page():
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def test_main_page_renders_the_example(main_page):
    at = main_page
    assert not at.exception
    spec = figure_with_title(at, "Layer 0 · head 0")
    assert spec["layout"]["yaxis"]["ticktext"][:3] == ["[CLS]", "the", "animal"]
    assert len(figures(at)) == 3  # head map, overview, layer grid
    assert not at.warning  # no mask, no intervention notice


def test_typing_a_sentence_redraws_with_its_tokens(main_page):
    at = main_page
    at.text_input(key="text").input("Zebras eat purple carrots").run()
    assert not at.exception
    ticks = figure_with_title(at, "Layer 0").get("layout")["yaxis"]["ticktext"]
    assert ticks[:5] == ["[CLS]", "zebra", "‿s", "eat", "purple"]  # WordPiece's "##s" drawn as a continuation
    assert at.query_params["text"] == "Zebras eat purple carrots"


def test_causal_toggle_empties_the_upper_triangle_and_warns(main_page):
    at = main_page
    at.checkbox(key="causal").check().run()
    z = array(figure_with_title(at, "Layer 0")["data"][0]["z"])
    upper = np.triu_indices(z.shape[0], k=1)
    assert np.isnan(z[upper]).all() and not np.isnan(z[np.tril_indices(z.shape[0])]).any()
    assert any("Intervention" in w.value for w in at.warning)
    assert at.query_params["causal"] == "1"


def test_window_slider_changes_the_forward(main_page):
    at = main_page
    at.checkbox(key="use_window").check().run()
    at.slider(key="window").set_value(2).run()
    z2 = array(figure_with_title(at, "Layer 0")["data"][0]["z"])
    at.slider(key="window").set_value(4).run()
    z4 = array(figure_with_title(at, "Layer 0")["data"][0]["z"])
    n = z2.shape[0]
    distance = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    assert np.array_equal(~np.isnan(z2), distance < 2)
    assert np.array_equal(~np.isnan(z4), distance < 4)


def test_layer_and_head_sliders_pick_the_map(main_page):
    at = main_page
    at.slider(key="layer").set_value(3).run()
    at.slider(key="head").set_value(7).run()
    figure_with_title(at, "Layer 3 · head 7")
    assert at.query_params["layer"] == "3" and at.query_params["head"] == "7"


def test_url_reopens_the_same_view():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"text": "a b c", "layer": "2", "head": "5", "causal": "1", "hide_special": "1"})
    at.run()
    assert not at.exception
    spec = figure_with_title(at, "Layer 2 · head 5")
    assert spec["layout"]["yaxis"]["ticktext"] == ["a", "b", "c"]
    assert at.checkbox(key="causal").value is True


def test_padding_comparison_shows_both_sentences(main_page):
    at = main_page
    at.text_input(key="text2").input("Short.").run()
    spec = figure_with_title(at, "Sentence 2")
    ticks = spec["layout"]["xaxis"]["ticktext"]
    assert ticks[-1] == "[PAD]"
    z = array(spec["data"][0]["z"])
    n_pad = ticks.count("[PAD]")
    assert np.isnan(z[:, -n_pad:]).all()


@pytest.mark.parametrize(
    "text, message",
    [("", "empty"), ("   ", "empty"), ("\x07\x08", "control characters")],
)
def test_bad_text_gives_a_message_not_a_traceback(main_page, text, message):
    at = main_page
    at.text_input(key="text").input(text).run()
    assert not at.exception
    assert any(message in m.value for m in at.info)


def test_long_text_is_cut_with_a_notice(main_page):
    at = main_page
    at.text_input(key="text").input("word " * 5000).run()
    assert not at.exception
    assert any("512" in w.value for w in at.warning)


@pytest.mark.parametrize(
    "name",
    [
        "/no/such/model",
        "/etc",
        str(ROOT / "assets" / "mha-tiny"),
        "bert-base-uncased",
        "all-MiniLM-L6-v2//",
        "[log in again](http://evil.example/login) ![x](http://evil.example/x.png)",
    ],
)
def test_a_link_cannot_load_a_model_the_server_does_not_offer(name, monkeypatch):
    """Paths (even to a real model folder), hub ids and markup in ?model= are refused without being echoed."""
    loaded = []
    from ui import offered

    monkeypatch.setattr(offered, "load_model", lambda n, _real=offered.load_model: loaded.append(n) or _real(n))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["model"] = name
    at.run()
    assert not at.exception
    assert set(loaded) <= {"all-MiniLM-L6-v2"}  # nothing but the offered default was loaded
    assert at.selectbox(key="model").value == "all-MiniLM-L6-v2"
    shown = " ".join(
        element.value
        for kind in ("warning", "error", "info", "markdown", "caption")
        for element in getattr(at, kind)
        if isinstance(element.value, str)
    )
    assert "evil" not in shown and "/etc" not in shown and "no/such" not in shown
    assert figure_with_title(at, "Layer 0")["layout"]["yaxis"]["ticktext"][0] == "[CLS]"
    if name != "all-MiniLM-L6-v2//":  # another spelling of an offered model is simply that model
        assert any("does not offer" in w.value for w in at.sidebar.warning)


def test_the_encoder_decoder_model_is_sent_to_its_own_page():
    """The date model is offered (the Encoder-decoder page loads it from the one cache) but not in the attention
    pages' menu: a link naming it says where it is shown and draws the default model."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["model"] = "date-seq2seq"
    at.run()
    assert not at.exception
    assert "date-seq2seq" not in at.selectbox(key="model").options
    assert at.selectbox(key="model").value == "all-MiniLM-L6-v2"
    assert any("Encoder-decoder page" in w.value for w in at.sidebar.warning)


def test_an_offered_folder_that_cannot_load_is_an_error_message(tmp_path, monkeypatch):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    monkeypatch.setenv("ATTNVIZ_MODELS", str(broken))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["model"] = str(broken) + "/"
    at.run()
    assert not at.exception
    assert any("Could not load" in e.value for e in at.error)
    assert at.text_input(key="text").value  # the sentence box stays


def test_compare_page_renders_and_ranks_heads():
    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT).run()
    assert not at.exception
    spec = figures(at)[0]  # A, B and their difference (then the similarity matrix and the ranks)
    assert len(spec["data"]) == 3
    at.slider(key="b_layer").set_value(4).run()
    spec = figures(at)[0]
    assert "layer 4" in spec["layout"]["annotations"][1]["text"]
    table = at.dataframe[0].value
    assert len(table) == 72 and list(table["entropy"]) == sorted(table["entropy"])
    at.selectbox(key="rank_by").set_value("previous").run()
    table = at.dataframe[0].value
    assert list(table["previous"]) == sorted(table["previous"], reverse=True)


def test_step_by_step_page_shows_the_real_numbers(minilm):
    import attnviz
    from attnviz.analysis.steps import steps

    at = AppTest.from_file(str(ROOT / "pages" / "3_Step_by_step.py"), default_timeout=TIMEOUT)
    at.query_params.update({"text": "the dog chases the cat", "layer": "1", "head": "4", "query": "2", "causal": "1"})
    at.run()
    assert not at.exception
    expected = steps(minilm, attnviz.capture("the dog chases the cat", minilm, causal=True), 1, 4, 2)
    by_title = {spec["layout"]["title"]["text"]: spec for spec in figures(at)}
    probs = next(spec for title, spec in by_title.items() if title.startswith("attention weights of “dog”"))
    np.testing.assert_allclose(array(probs["data"][0]["y"]), expected.probs, atol=1e-6)
    assert probs["data"][0]["text"][3] == "−∞ (masked)"  # causal: "the" (3) is after "dog" (2)
    q = next(spec for title, spec in by_title.items() if title.startswith("query vector q"))
    np.testing.assert_allclose(array(q["data"][0]["z"])[0], expected.q[:8], atol=1e-6)
    at.selectbox(key="query").set_value(4).run()
    titles = [title_of(spec) for spec in figures(at)]
    assert any(t.startswith("attention weights of “the”") for t in titles)


def test_step_by_step_walks_the_row_the_flashattention_way():
    at = AppTest.from_file(str(ROOT / "pages" / "3_Step_by_step.py"), default_timeout=TIMEOUT)
    at.query_params.update(
        {"text": "the cat sat on the mat", "layer": "1", "head": "4", "query": "3", "flash_block": "3"}
    )
    at.run()
    assert not at.exception and not at.error
    assert any("FlashAttention" in h.value for h in at.header)
    table = next(d.value for d in at.dataframe if "running max m" in d.value.columns)
    assert len(table) == 3  # 8 tokens ([CLS] … [SEP]) in blocks of 3
    assert list(table["running max m"]) == sorted(table["running max m"])
    assert any("equals the ordinary softmax" in c.value for c in at.caption)
    at.slider(key="flash_block").set_value(1).run()
    assert len(next(d.value for d in at.dataframe if "running max m" in d.value.columns)) == 8


def test_word_order_page_shows_both_orders_and_the_difference():
    at = AppTest.from_file(str(ROOT / "pages" / "4_Word_order.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    titles = [title_of(spec) for spec in figures(at)]
    assert titles[:3] == ["A", "B", "A − B, with B's rows and columns put in A's word order"]
    assert any("learned position embeddings" in t for t in titles)
    at.text_input(key="order_b").input("狗追猫").run()
    assert not at.exception
    assert any("[UNK]" in w.value for w in at.warning)
    assert any("not a reordering" in i.value for i in at.info)


def test_word_order_page_on_a_rotary_decoder_shows_the_rotations_then_back_to_learned_positions():
    """The same page for the character DCFormer (RoPE, no position vectors), then MiniLM again: each its own panels,
    the rotary similarity constant along its diagonals."""
    at = AppTest.from_file(str(ROOT / "pages" / "4_Word_order.py"), default_timeout=TIMEOUT)
    at.query_params["model"] = "dcformer-tiny"
    at.run()
    assert not at.exception and not at.error
    titles = [title_of(spec) for spec in figures(at)]
    assert titles[:2] == ["A", "B"] and any("RoPE, cos of each pair's angle" in t for t in titles)
    assert not any("learned position embeddings" in t for t in titles)
    sim = array(figure_with_title(at, "RoPE: cos between rotated copies")["data"][0]["z"])
    np.testing.assert_allclose(np.diagonal(sim, 3), np.diagonal(sim, 3)[0], atol=1e-6)
    at.selectbox(key="model").select("all-MiniLM-L6-v2").run()
    assert not at.exception
    titles = [title_of(spec) for spec in figures(at)]
    assert any("learned position embeddings" in t for t in titles) and not any("RoPE" in t for t in titles)


def presenter(params: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "6_Presenter.py"), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


@pytest.mark.parametrize("lesson", ["1_multihead", "2_masks", "3_positions", "4_dcmha", "6_images"])
def test_presenter_steps_through_every_slide_of_each_lesson(lesson):
    from attnviz.teaching.lessons import load_lesson, shipped_lessons

    slides = load_lesson(shipped_lessons()[lesson]).slides
    at = presenter({"lesson": lesson, "lang": "en"})
    for slide in slides:
        assert not at.exception and not at.error, (lesson, slide.number)
        assert at.title[0].value == escape_markdown(slide.title["en"])  # shown as plain text
        assert figures(at), (lesson, slide.number)
        assert slide.number == 1 or at.query_params["slide"] == str(slide.number)
        if slide.number < len(slides):
            at.button[1].click().run()  # Next


def test_presenter_speaks_chinese_and_keeps_the_slide_in_the_url():
    at = presenter({"lesson": "2_masks", "slide": "3", "lang": "zh"})
    assert at.title[0].value == "因果掩码（subsequent mask）"
    assert at.button[0].label == "◀ 上一页"
    at.button[0].click().run()
    assert at.query_params["slide"] == "2" and at.query_params["lang"] == "zh"


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    "page",
    ["app.py", "pages/1_Compare_heads.py", "pages/3_Step_by_step.py", "pages/4_Word_order.py", "pages/6_Presenter.py"],
)
def test_chinese_interface_has_no_english_labels(page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception
    labels = [w.label for kind in ("slider", "checkbox", "selectbox", "text_input") for w in getattr(at, kind)]
    labels = [label for label in labels if label != "Language / 语言"]
    assert labels or page.endswith("Presenter.py")
    assert all(CJK.search(label) for label in labels), labels
    for element in list(at.title) + list(at.header) + list(at.caption):
        assert CJK.search(element.value), element.value
    for spec in figures(at):
        axis_titles = [(spec["layout"].get(axis) or {}).get("title", {}).get("text", "") for axis in ("xaxis", "yaxis")]
        for title in axis_titles:
            assert not re.search(r"\b(query|key|weight|dimension|position)\b", title), (page, title)


def test_a_long_text_is_not_put_into_the_link(main_page):
    at = main_page
    long_text = "the quick brown fox " * 150  # 3,000 characters
    at.text_input(key="text").input(long_text).run()
    assert not at.exception
    assert "text" not in at.query_params  # the link stays short
    assert any("does not carry it" in c.value for c in at.caption)
    at.text_input(key="text").input("A short one").run()
    assert at.query_params["text"] == "A short one"
    assert not any("does not carry it" in c.value for c in at.caption)


def test_class_password_gates_every_page(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_PASSWORD", "otters-2026")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert not at.get("plotly_chart") and not at.sidebar.selectbox  # nothing of the app before the password
    box = at.text_input[0]
    box.input("wrong guess")
    at.button[0].click().run()
    assert any("not the class password" in e.value for e in at.error)
    assert not at.get("plotly_chart")
    at.text_input[0].input("otters-2026")
    at.button[0].click().run()
    assert not at.exception
    assert figure_with_title(at, "Layer 0")  # in: the main page, and it stays for the session
    at.text_input(key="text").input("Zebras eat purple carrots").run()
    assert figure_with_title(at, "Layer 0")["layout"]["yaxis"]["ticktext"][1] == "zebra"


def test_no_password_no_gate(monkeypatch):
    monkeypatch.delenv("ATTNVIZ_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert figure_with_title(at, "Layer 0")


def test_word_order_refuses_maps_past_the_whole_map_bound_and_computes_through_the_shared_cache(monkeypatch):
    """Word order on the character model with two 4,000-character texts captured every layer's whole maps on every
    click (+2.5 GB for one session). Now only the chosen layer is captured, through the shared cache and heavy
    slots (captures_for), and a text whose one layer would pass the whole-map bound is refused with a message."""
    import ui.session

    calls = []
    real = ui.session.captures_for
    monkeypatch.setattr(ui.session, "captures_for", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    at = AppTest.from_file(str(ROOT / "pages" / "4_Word_order.py"), default_timeout=TIMEOUT)
    at.query_params.update({"model": "mistral-char", "layer": "2"})
    at.run()
    assert not at.exception and calls
    assert all(args[3] == ("blocks.2.attn.hook_pattern",) for args, _ in calls)  # the chosen layer only
    maps = len(at.get("plotly_chart"))
    calls.clear()
    at.text_input(key="order_a").set_value(("the dog chases the cat " * 200)[:4000]).run()
    assert not at.exception and not at.error and not calls
    assert any("too long to compare whole maps" in i.value and "Text A" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == maps - 3  # A, B and their difference are not drawn; positions stay
    at.text_input(key="order_a").set_value("the cat chases the dog").run()  # a sentence again: the maps come back
    assert len(at.get("plotly_chart")) == maps and calls


def test_generation_refuses_a_prompt_whose_maps_would_pass_the_bound_and_keeps_the_box(monkeypatch):
    """Two 5,000-character prompts peaked at +4.1 GB, recomputed on every click (their maps were larger than the
    cache). Such a prompt is refused in words before any forward pass; a short one generates as before."""
    import attnviz.analysis.generation as generation

    runs = []
    real = generation.generate_with_cache
    monkeypatch.setattr(generation, "generate_with_cache", lambda *a, **k: runs.append(a[1]) or real(*a, **k))
    at = AppTest.from_file(str(ROOT / "pages" / "7_Generation.py"), default_timeout=TIMEOUT)
    at.query_params.update({"gen_model": "mistral-char", "gen_new": "2"})
    at.run()
    assert not at.exception and runs and at.get("plotly_chart")
    runs.clear()
    long_prompt = ("once upon a time there was a cat " * 200)[:5000]
    at.text_input(key="gen_text").set_value(long_prompt).run()
    assert not at.exception and not at.error and runs == []
    assert any("too long to follow generation" in i.value for i in at.info)
    assert at.text_input(key="gen_text").value == long_prompt  # the input stays on screen
    at.text_input(key="gen_text").set_value("once upon a time").run()
    assert runs == ["once upon a time"] and at.get("plotly_chart")


def test_step_by_step_titles_show_a_markup_token_as_text():
    """A token like "<b>" in a figure title was rendered by Plotly as markup (bold, or a swallowed tag)."""
    at = AppTest.from_file(str(ROOT / "pages" / "3_Step_by_step.py"), default_timeout=TIMEOUT)
    at.query_params.update({"text": "<b> bold </b>", "query": "1"})
    at.run()
    assert not at.exception
    titles = [
        (spec["layout"].get("title") or {}).get("text", "")
        for spec in (json.loads(chart.proto.spec) for chart in at.get("plotly_chart"))
    ]
    quoted = [t for t in titles if "“" in t]  # the titles that quote the query token ("<" here)
    assert len(quoted) >= 4 and all("“&lt;”" in t for t in quoted), quoted
