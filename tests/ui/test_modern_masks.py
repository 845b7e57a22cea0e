"""The sidebar's masks of modern models (prefix-LM, sinks, dilation, documents) and score modifications (ALiBi,
soft-capping) in the app: each changes the real forward as its definition says (tests/support/mask_reference.py),
is outlined on the map, is said in a notice, is written into the link, and survives what students do in sequence."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures, title_of
from attnviz.masks import MaskSpec
from mask_reference import reference_alibi_slopes, reference_mask

TIMEOUT = 120
ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
COMPARE = str(ROOT / "pages" / "1_Compare_heads.py")
TEXT = "one two three four five six seven eight"  # [CLS] … [SEP]: 10 tokens on MiniLM


def head_map(at) -> dict:
    return figure_with_title(at, "Layer 0 · head 0")


def drawn_mask(at) -> np.ndarray:
    """The cells the head's map draws (masked ones are NaN: grey)."""
    return ~np.isnan(array(head_map(at)["data"][0]["z"]))


def rules_outline(at) -> list[dict]:
    return [shape for shape in head_map(at)["layout"].get("shapes", []) if shape.get("name") == "mask rules"]


def notices(at) -> str:
    return " ".join(element.value for element in [*at.warning, *at.info])


@pytest.fixture
def main_page():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key="text").input(TEXT).run()
    return at


def test_each_rule_changes_the_forward_as_defined_and_is_outlined_and_linked(main_page):
    at = main_page
    assert not rules_outline(at)  # no rule: nothing outlined
    at.checkbox(key="use_prefix").check().run()
    at.slider(key="prefix").set_value(3).run()
    assert np.array_equal(drawn_mask(at), reference_mask(10, MaskSpec(prefix=3)))
    assert len(rules_outline(at)) == 1 and at.query_params["use_prefix"] == "1" and at.query_params["prefix"] == "3"
    assert "prefix-LM over the first 3" in notices(at) and "Intervention" in notices(at)
    at.checkbox(key="use_window").check().run()
    at.slider(key="window").set_value(4).run()
    at.checkbox(key="use_dilation").check().run()
    at.checkbox(key="use_sinks").check().run()
    spec = MaskSpec(prefix=3, window=4, dilation=2, sinks=2)
    assert np.array_equal(drawn_mask(at), reference_mask(10, spec))
    assert "2 sink tokens" in notices(at)
    at.checkbox(key="use_prefix").uncheck().run()
    at.checkbox(key="use_window").uncheck().run()
    at.checkbox(key="use_dilation").uncheck().run()  # sinks left alone: they change nothing, and say so
    assert drawn_mask(at).all() and "change nothing here" in notices(at)


def test_score_modifications_change_the_weights_as_the_formulas_say(main_page):
    at = main_page
    plain = array(head_map(at)["data"][0]["z"])
    at.checkbox(key="alibi").check().run()
    at.checkbox(key="use_softcap").check().run()
    at.select_slider(key="softcap").set_value(2).run()
    z = array(head_map(at)["data"][0]["z"])
    assert at.query_params["alibi"] == "1" and at.query_params["softcap"] == "2"
    assert "ALiBi, soft-cap 2" in notices(at)
    # layer 0 reads the same q and k: its weights are the softmax of the plain scores, modified by the formulas
    scores = np.log(plain.astype(np.float64))  # plain weights = softmax(scores): log recovers them up to a row shift
    distance = np.abs(np.subtract.outer(np.arange(10), np.arange(10)))
    slope = reference_alibi_slopes(12)[0]  # head 0 of MiniLM's 12 heads
    # soft-capping is not shift-invariant: compare ALiBi alone through the weights' ratios instead
    at.checkbox(key="use_softcap").uncheck().run()
    alibi = array(head_map(at)["data"][0]["z"]).astype(np.float64)
    expected = np.exp(scores - slope * distance)
    np.testing.assert_allclose(alibi, expected / expected.sum(-1, keepdims=True), atol=1e-5)
    assert not np.allclose(z, alibi, atol=1e-4)  # the cap changed the weights as well


def test_documents_split_at_a_separator_or_the_blank_lines_of_a_pasted_passage(main_page):
    at = main_page
    at.checkbox(key="documents").check().run()
    assert drawn_mask(at).all() and "one document" in notices(at)  # a one-line sentence has no blank line
    at.text_input(key="separator").input("|").run()
    at.text_input(key="text").input("one two | three four").run()
    document = np.array([0, 0, 0, 0, 1, 1, 1])  # [CLS] one two | three four [SEP]
    assert np.array_equal(drawn_mask(at), document[:, None] == document[None, :])
    assert "2 documents" in notices(at) and at.query_params["separator"] == "|"
    at.text_input(key="separator").input("").run()
    at.text_area(key="long_paste").input("one two\n\nthree four\n\nfive").run()
    at.button(key="long_use").click().run()
    assert at.text_input(key="text").value == "one two  three four  five"  # one line in the box
    document = np.array([0, 0, 0, 1, 1, 2, 2])  # [CLS] one two three four five [SEP]
    assert np.array_equal(drawn_mask(at), document[:, None] == document[None, :])
    at.text_input(key="text").input("one two three four five").run()  # edited: the passage's blank lines are gone
    assert drawn_mask(at).all() and "one document" in notices(at)


def test_the_rules_survive_clearing_switching_pages_changing_model_and_reopening_the_link(main_page):
    at = main_page
    at.checkbox(key="use_prefix").check().run()
    at.slider(key="prefix").set_value(4).run()
    at.checkbox(key="alibi").check().run()
    at.checkbox(key="use_window").check().run()
    at.checkbox(key="use_sinks").check().run()
    spec = MaskSpec(prefix=4, window=3, sinks=2)
    expected = reference_mask(10, spec)
    at.text_input(key="text").input("").run()  # cleared: a message, the controls stay
    assert not at.exception and at.checkbox(key="use_prefix").value and at.slider(key="prefix").value == 4
    at.text_input(key="text").input(TEXT).run()
    assert np.array_equal(drawn_mask(at), expected) and at.checkbox(key="alibi").value
    at.switch_page(COMPARE).run()
    assert not at.exception
    at.switch_page(str(ROOT / "pages" / "0_Attention.py")).run()
    assert np.array_equal(drawn_mask(at), expected) and at.checkbox(key="alibi").value
    at.selectbox(key="model").set_value("mistral-char").run()  # a decoder: the prefix changes nothing, and says so
    assert not at.exception and "changes nothing here" in notices(at)
    n = len(array(head_map(at)["data"][0]["z"]))
    assert np.array_equal(drawn_mask(at), reference_mask(n, MaskSpec(causal=True, prefix=4, window=3, sinks=2)))
    at.selectbox(key="model").set_value("all-MiniLM-L6-v2").run()
    assert np.array_equal(drawn_mask(at), expected)
    link = dict(at.query_params)
    reopened = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reopened.query_params.update({key: value[0] if isinstance(value, list) else value for key, value in link.items()})
    reopened.run()
    assert np.array_equal(drawn_mask(reopened), expected) and reopened.checkbox(key="alibi").value


@pytest.mark.parametrize(
    "params",
    [
        {"prefix": "999", "use_prefix": "1"},
        {"separator": "x" * 40, "documents": "1"},
        {"softcap": "7", "use_softcap": "1"},
    ],
)
def test_a_hostile_link_falls_back_to_the_defaults(params):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"text": TEXT, **params})
    at.run()
    assert not at.exception
    assert at.slider(key="prefix").value == 4 and at.text_input(key="separator").value == ""
    assert at.select_slider(key="softcap").value == 5


def test_the_block_view_counts_the_tiles_of_the_mask_shown(main_page):
    at = main_page
    at.checkbox(key="use_window").check().run()
    at.slider(key="window").set_value(2).run()
    at.toggle(key="kernel_blocks").set_value(True).run()
    at.select_slider(key="kernel_block").set_value(4).run()
    assert not at.exception and at.query_params["kernel_block"] == "4"
    mask = drawn_mask(at)  # the head map's allowed cells: the window of 2 both ways on 10 tokens
    tiles = figure_with_title(at, "Tiles of 4 × 4")
    states = array(tiles["data"][0]["z"])
    expected = [
        [0 if not t.any() else 2 if t.all() else 1 for t in (mask[a : a + 4, c : c + 4] for c in range(0, 10, 4))]
        for a in range(0, 10, 4)
    ]
    assert states.tolist() == expected
    skipped = int((states == 0).sum())
    assert any(f"{skipped} of 9 skipped" in text.value for text in at.markdown)
    at.select_slider(key="kernel_block").set_value(8).run()
    figure_with_title(at, "Tiles of 8 × 8")
    at.toggle(key="kernel_blocks").set_value(False).run()
    assert not [spec for spec in figures(at) if "Tiles of" in title_of(spec)]


def test_a_long_texts_block_view_offers_only_tiles_it_can_draw():
    """A link asking for tiles of 4 on a 2,000-character text (500 tiles a side) gets the finest size that keeps the
    figure at most 128 tiles a side, and the tiles drawn are those."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"model": "mistral-char", "text": "the cat sat on the mat. " * 84, "kernel_blocks": "1"})
    at.query_params["kernel_block"] = "4"
    at.run()
    assert not at.exception
    slider = at.select_slider(key="kernel_block")
    assert slider.value == 16 and 4 not in slider.options and "4" not in slider.options
    states = array(figure_with_title(at, "Tiles of 16 × 16")["data"][0]["z"])
    assert states.shape[0] <= 128
