"""AppTest of the encoder-decoder page: it renders, the step controls move the framed row, bad input is a message."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures

TIMEOUT = 120
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "5_Encoder_decoder.py")


@pytest.fixture
def page():
    return AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()


def framed_row(spec: dict) -> float:
    (shape,) = spec["layout"]["shapes"]
    return (shape["y0"] + shape["y1"]) / 2


def test_default_date_renders_all_three_attentions(page):
    at = page
    assert not at.exception
    enc = figure_with_title(at, "Encoder self-attention<br>layer 0 · head 0")
    assert enc["layout"]["yaxis"]["ticktext"][:3] == ["2", "5", "␣"]  # "25 November 2026", spaces visible
    assert array(enc["data"][0]["z"]).shape == (16, 16)
    figure_with_title(at, "Masked self-attention")
    figure_with_title(at, "Cross-attention")
    figure_with_title(at, "Output probabilities")
    assert any("2026-11-25" in m.value and "✓" in m.value for m in at.markdown)
    assert len(at.dataframe[0].value) == 11  # ten characters and <eos>


def test_step_slider_moves_the_highlighted_row(page):
    at = page
    at.slider(key="ed_step").set_value(3).run()
    cross = figure_with_title(at, "Cross-attention")
    assert array(cross["data"][0]["z"]).shape == (3, 16)  # three decoder tokens so far, 16 source characters
    assert framed_row(cross) == 2
    assert cross["layout"]["yaxis"]["ticktext"] == ["&lt;sos&gt;", "2", "0"]  # escaped: Plotly labels render HTML
    at.slider(key="ed_step").set_value(7).run()
    cross = figure_with_title(at, "Cross-attention")
    masked = figure_with_title(at, "Masked self-attention")
    assert framed_row(cross) == 6 and framed_row(masked) == 6
    z = array(masked["data"][0]["z"])
    assert z.shape == (7, 7)
    assert np.isnan(z[np.triu_indices(7, k=1)]).all() and not np.isnan(z[np.tril_indices(7)]).any()
    assert at.query_params["ed_step"] == "7"


def test_buttons_walk_from_start_to_end(page):
    at = page
    assert at.button(key="ed_prev").disabled and at.button(key="ed_first").disabled
    at.button(key="ed_next").click().run()
    assert at.slider(key="ed_step").value == 2
    assert framed_row(figure_with_title(at, "Cross-attention")) == 1
    at.button(key="ed_last").click().run()
    assert at.slider(key="ed_step").value == 11 and at.button(key="ed_next").disabled
    assert any("<eos>" in m.value and "loop ends" in m.value for m in at.markdown)
    at.button(key="ed_first").click().run()
    assert at.slider(key="ed_step").value == 1
    assert not at.exception


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("25 NOVEMBER 2026", "does not know these characters"),
        ("2026-11-25 🙂", "🙂"),
        ("1" * 40, "at most 24"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(page, text, fragment):
    at = page
    at.text_input(key="ed_date").input(text).run()
    assert not at.exception
    assert any(fragment in m.value for m in at.info)
    assert not figures(at)


def test_example_picker_and_chinese_date(page):
    at = page
    at.selectbox(key="ed_example").set_value("2026年11月25日").run()
    assert not at.exception
    assert at.text_input(key="ed_date").value == "2026年11月25日"
    enc = figure_with_title(at, "Encoder self-attention")
    assert "年" in enc["layout"]["xaxis"]["ticktext"]
    assert any("2026-11-25" in m.value and "✓" in m.value for m in at.markdown)


def test_url_reopens_the_same_view():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params.update({"ed_date": "Nov 5, 1999", "ed_layer": "1", "ed_head": "2", "ed_step": "4"})
    at.run()
    assert not at.exception
    cross = figure_with_title(at, "Cross-attention<br>layer 1 · head 2 · step 4")
    assert framed_row(cross) == 3
    assert any("1999-11-05" in m.value for m in at.markdown)


def test_not_a_real_date_still_decodes_with_a_note(page):
    at = page
    at.text_input(key="ed_date").input("31 February 2026").run()
    assert not at.exception
    assert any("no reference answer" in m.value for m in at.markdown)


def test_sharpest_head_button_selects_it(page):
    at = page
    hint = next(c.value for c in at.caption if "sharpest cross-attention" in c.value)
    layer, head = (int(hint.split("layer ")[1].split(",")[0]), int(hint.split("head ")[1].split(":")[0]))
    at.button(key="ed_sharpest").click().run()
    assert (at.slider(key="ed_layer").value, at.slider(key="ed_head").value) == (layer, head)
    figure_with_title(at, f"Cross-attention<br>layer {layer} · head {head} · step 1")
    assert at.button(key="ed_sharpest").disabled


def test_chinese_interface():
    import re

    cjk = re.compile(r"[\u4e00-\u9fff]")
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params.update({"lang": "zh", "ed_step": "3"})
    at.run()
    assert not at.exception
    labels = [
        w.label
        for kind in ("slider", "selectbox", "text_input")
        for w in getattr(at, kind)
        if w.label != "Language / 语言"
    ]
    assert labels and all(cjk.search(label) for label in labels), labels
    for element in list(at.title) + list(at.header) + list(at.caption):
        assert cjk.search(element.value), element.value
    cross = figure_with_title(at, "融合注意力<br>第 0 层 · 第 0 个头 · 第 3 步")
    assert cross["layout"]["xaxis"]["title"]["text"] == "键（被关注）"
    assert any("**第 3 步 / 共 11 步**：" in m.value for m in at.markdown)
    at.text_input(key="ed_date").input("").run()
    assert any("请输入一个日期" in m.value for m in at.info)
