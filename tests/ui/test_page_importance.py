"""Head importance page (pages/8_Head_importance.py): ablate heads in the real forward and see what changes.

The page's numbers are checked against independent calls of attnviz.analysis.importance on the same text, mask
and heads; the rest is what a class does with it: pick heads, switch model, clear the text, open a link (a hostile
one too), switch the language, rank every head and click its map."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures
from attnviz.analysis.importance import ablation_effect, rank_heads
from attnviz.capture import get_model
from attnviz.masks import MaskSpec
from ui.controls import EXAMPLE
from ui.importance import cosine_text, format_heads, parse_heads

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "8_Head_importance.py")
TIMEOUT = 120
CHANGE = "Mean change of each head"
LOSS = "Loss of each next-token prediction"
COSINE = "last hidden state:<br>cosine"
EFFECT = "Effect of ablating each head alone"


def open_page(**params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def metric(at, fragment: str) -> str:
    return next(m.value for m in at.metric if fragment in m.label)


def texts(at) -> str:
    return " ".join(
        e.value
        for kind in ("info", "warning", "error", "caption", "markdown", "subheader", "title")
        for e in getattr(at, kind)
        if isinstance(e.value, str)
    )


def picked(at) -> list[str]:
    return list(at.multiselect(key="ablate_heads").value)


def frame(at, column: str):
    """The table with that column (AppTest's dataframes carry no key)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def change_map(at) -> np.ndarray:
    return array(figure_with_title(at, CHANGE)["data"][0]["z"]).astype(float)


def assert_clean(at) -> None:
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


# ------------------------------------------------------------------------------------------------ parsing
def test_the_head_list_of_a_link_keeps_only_in_range_integers():
    assert parse_heads("0.3,2.5", 6, 12) == ([(0, 3), (2, 5)], 0)
    assert parse_heads(" 2.5 ,0.3,2.5,", 6, 12) == ([(0, 3), (2, 5)], 0)  # sorted, no repeats
    assert parse_heads("99.99,abc,-1.0,1.2e0,0x1.1,٣.٣", 6, 12) == ([], 6)  # digits only, in this model's range
    heads, rejected = parse_heads(",".join(["5.11"] * 5000), 6, 12)
    assert heads == [(5, 11)] and rejected == 0  # bounded: only the first entries are read
    assert format_heads([(2, 5), (0, 3), (2, 5)]) == "0.3,2.5"


# ------------------------------------------------------------------------------------------------ an encoder
def test_a_cosine_within_rounding_of_one_reads_as_one():
    """Rounding noise of two float32 forwards (1 − cosine ~1e-16) is no finding; a real gap keeps its digits."""
    assert cosine_text(1.0 - 2.2e-16) == cosine_text(1.0) == "1.0000"
    assert cosine_text(1.0 - 3e-6) == "0.99999700" and cosine_text(0.75) == "0.7500"


def test_the_page_renders_with_nothing_ablated():
    at = open_page()
    assert_clean(at)
    assert picked(at) == []
    assert "No head is ablated" in texts(at)
    assert metric(at, "Sentence embedding") == "1.0000" and metric(at, "Heads ablated") == "0"
    assert (change_map(at) == 0).all()
    token_cosine = array(figure_with_title(at, COSINE)["data"][1]["y"])
    np.testing.assert_allclose(token_cosine, 1.0, atol=1e-12)
    assert "No map can move" in texts(at)
    assert at.button(key="rank_button")  # the ranking waits for a click
    assert figure_with_title_or_none(at, EFFECT) is None


def figure_with_title_or_none(at, fragment):
    try:
        return figure_with_title(at, fragment)
    except AssertionError:
        return None


def test_ablating_a_minilm_head_matches_the_library(minilm):
    at = open_page()
    at.multiselect(key="ablate_heads").set_value(["L2 H5"]).run()
    assert_clean(at)
    expected = ablation_effect(minilm, EXAMPLE, MaskSpec(), {2: [5]}, "zero")
    cosine = metric(at, "Sentence embedding")
    assert float(cosine) < 1 and cosine == cosine_text(expected.cosine)
    change = change_map(at)
    assert (change[:3] == 0).all()  # the ablated layer's maps come before its output; earlier layers untouched
    assert (change[3:] > 0).all()
    np.testing.assert_allclose(change, expected.pattern_change_mean, rtol=1e-6, atol=0)
    np.testing.assert_allclose(array(figure_with_title(at, COSINE)["data"][1]["y"]), expected.token_cosine, rtol=1e-9)
    assert at.query_params["ablate"] == "2.5" and "ablate_how" not in at.query_params  # zero is the default
    at.radio(key="ablate_how").set_value("mean").run()
    assert_clean(at)
    mean = ablation_effect(minilm, EXAMPLE, MaskSpec(), {2: [5]}, "mean")
    assert metric(at, "Sentence embedding") == cosine_text(mean.cosine)
    assert at.query_params["ablate_how"] == "mean"


def test_a_causal_mask_changes_the_effect(minilm):
    at = open_page(ablate="1.3,3.7")
    without = (metric(at, "Sentence embedding"), change_map(at))
    at.checkbox(key="causal").check().run()
    assert_clean(at)
    expected = ablation_effect(minilm, EXAMPLE, MaskSpec(causal=True), {1: [3], 3: [7]}, "zero")
    assert metric(at, "Sentence embedding") == cosine_text(expected.cosine) != without[0]
    np.testing.assert_allclose(change_map(at), expected.pattern_change_mean, rtol=1e-6, atol=0)
    assert not np.allclose(change_map(at), without[1])
    assert "causal" in texts(at)  # the effect says under which mask it was measured


# ------------------------------------------------------------------------------------------------ a language model
def test_a_character_language_model_shows_losses_and_top_predictions():
    model = get_model("mistral-char")
    at = open_page(model="mistral-char", ablate="1.1")
    assert_clean(at)
    expected = ablation_effect(model, EXAMPLE, MaskSpec(), {1: [1]}, "zero")
    assert metric(at, "Mean loss after") == f"{expected.mean_loss_ablated:.3f}"
    assert metric(at, "Mean loss before") == f"{expected.mean_loss_clean:.3f}"
    spec = figure_with_title(at, LOSS)
    np.testing.assert_array_equal(array(spec["data"][0]["y"]), expected.loss_clean)
    np.testing.assert_array_equal(array(spec["data"][1]["y"]), expected.loss_ablated)
    assert "␣" in spec["layout"]["xaxis"]["ticktext"]  # the spaces of a character model can be seen
    table = frame(at, "p_before")
    assert len(table) == 5 and list(table.columns) == ["before", "p_before", "after", "p_after"]
    assert list(table.index) == [1, 2, 3, 4, 5]  # the rank
    position = at.slider(key="imp_position").value
    row = int(np.flatnonzero(expected.positions == position)[0])
    np.testing.assert_allclose(table["p_after"], expected.top_ablated.probs[row], rtol=1e-6)
    at.slider(key="imp_position").set_value(4).run()  # "<s>The " predicts "a": the top tokens are characters
    table = frame(at, "p_before")
    assert " " not in "".join(table["before"]) + "".join(table["after"])  # spaces shown as ␣
    np.testing.assert_allclose(table["p_before"], expected.top_clean.probs[4], rtol=1e-6)
    assert "actual next token" in texts(at)
    text = at.text_input(key="text").value
    at.text_input(key="text").set_value("").run()  # the slider is gone with the text...
    at.text_input(key="text").set_value(text).run()
    assert not at.exception and at.slider(key="imp_position").value == 4  # ...and comes back where the user left it


def test_a_one_token_text_for_a_language_model_is_told_in_words():
    at = open_page(model="dcformer-tiny", text="a")
    assert_clean(at)
    assert "at least two tokens" in texts(at)
    assert at.text_input(key="text").value == "a" and at.multiselect(key="ablate_heads")  # the inputs stay
    at.text_input(key="text").set_value("ab").run()
    assert_clean(at)
    figure_with_title(at, LOSS)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_long_text_skips_the_map_changes_and_the_ranking_waits_for_a_click():
    """Two runs' maps of every later layer would cost gigabytes on a long character text: not computed, said so;
    and a ranking that has followed short sentences waits for a click before ranking a long one."""
    at = open_page(model="mistral-char", ablate="0.1")
    at.button(key="rank_button").click().run()
    assert len(frame(at, "effect")) == 16
    long_text = ("The animal didn't cross the street because it was too tired. " * 10)[:600]
    at.text_input(key="text").set_value(long_text).run()
    assert_clean(at)
    assert "computed for texts of up to 512 tokens (this one has 601)" in texts(at)
    assert figure_with_title_or_none(at, CHANGE) is None
    assert len(array(figure_with_title(at, LOSS)["data"][0]["y"])) == 600
    assert "click to rank again" in texts(at) and figure_with_title_or_none(at, EFFECT) is None
    at.button(key="rank_button").click().run()
    assert_clean(at)
    assert len(frame(at, "effect")) == 16 and "click to rank again" not in texts(at)


# ------------------------------------------------------------------------------------------------ the ranking
def test_ranking_every_head_fills_the_table_and_a_click_adds_a_head(minilm):
    at = open_page()
    at.button(key="rank_button").click().run()
    assert_clean(at)
    progress = at.get("progress")[0].proto
    assert progress.value == 100 and "72 / 72" in progress.text
    table = frame(at, "effect")
    assert len(table) == minilm.n_layers * minilm.n_heads
    assert list(table.columns) == ["layer", "head", "effect", "cosine"]
    assert (np.diff(table["effect"].to_numpy()) <= 0).all()  # top first
    expected = rank_heads(minilm, EXAMPLE, MaskSpec(), "zero")
    np.testing.assert_allclose(table["effect"], expected["effect"], rtol=1e-6, atol=1e-12)
    effects = array(figure_with_title(at, EFFECT)["data"][0]["z"]).astype(float)
    assert effects.shape == (6, 12) and effects[int(table["layer"][0]), int(table["head"][0])] == table["effect"].max()
    assert "72 heads ranked with 3 forward calls" in texts(at)

    # another widget: the ranking is remembered, not run again (no progress bar this time)
    at.multiselect(key="ablate_heads").set_value(["L0 H0"]).run()
    assert_clean(at)
    assert not at.get("progress") and len(frame(at, "effect")) == 72

    # a click on the map adds that head (the callback is checked below; the browser test clicks for real)
    at.session_state["ablate"] = format_heads([(0, 0), (int(table["layer"][0]), int(table["head"][0]))])
    at.run()
    assert_clean(at)
    assert picked(at) == ["L0 H0", f"L{int(table['layer'][0])} H{int(table['head'][0])}"]


def test_a_click_on_the_effect_map_adds_that_head(monkeypatch):
    """The selection callback: the clicked square's customdata starts with (layer, head); anything else is ignored."""
    import ui.importance as page_glue

    def clicked(points, ablate="0.0"):
        state = {"ablate": ablate, "importance_effect_map": {"selection": {"points": points}}}
        monkeypatch.setattr(page_glue.st, "session_state", state)
        page_glue.add_clicked_head("importance_effect_map")
        return state["ablate"]

    assert clicked([{"customdata": [5, 11, "L5 H11", 0.07]}]) == "0.0,5.11"
    assert clicked([{"customdata": [1, 2]}], ablate="") == "1.2"
    for hostile in ([], [{}], [{"customdata": ["x", 1]}], [{"customdata": [1]}], [{"customdata": None}], None):
        assert clicked(hostile) == "0.0"


def test_a_slow_ranking_is_announced_and_waits_for_a_click(monkeypatch):
    """A model with more heads than SLOW_ABLATIONS (none of the shipped ones: the threshold is lowered here) says so
    with the estimate before running, and each new sentence waits for a click."""
    monkeypatch.setattr("attnviz.analysis.importance.SLOW_ABLATIONS", 10)
    at = open_page()
    assert "This model has 72 heads: ranking them runs 73 copies of the sentence" in " ".join(
        w.value for w in at.warning
    )
    assert figure_with_title_or_none(at, EFFECT) is None
    at.button(key="rank_button").click().run()
    assert_clean(at)
    assert len(frame(at, "effect")) == 72
    at.text_input(key="text").set_value("Dogs chase cats.").run()
    assert_clean(at)
    assert "click to rank again" in texts(at) and figure_with_title_or_none(at, EFFECT) is None
    at.button(key="rank_button").click().run()
    assert len(frame(at, "effect")) == 72 and "click to rank again" not in texts(at)


def test_ranking_a_language_model_sorts_by_loss_increase():
    at = open_page(model="mistral-char", ablate_how="mean")
    at.button(key="rank_button").click().run()
    assert_clean(at)
    table = frame(at, "effect")
    assert len(table) == 16 and list(table.columns) == ["layer", "head", "effect", "loss"]
    expected = rank_heads(get_model("mistral-char"), EXAMPLE, MaskSpec(), "mean")
    np.testing.assert_allclose(table["loss"], expected["loss"], rtol=1e-6)
    assert "increase of the mean next-token loss" in texts(at)


# ------------------------------------------------------------------------------------------------ links
def test_a_link_reopens_the_same_ablation():
    at = open_page(ablate="0.3,2.5", ablate_how="mean")
    assert_clean(at)
    assert picked(at) == ["L0 H3", "L2 H5"] and at.radio(key="ablate_how").value == "mean"
    assert at.query_params["ablate"] == "0.3,2.5" and at.query_params["ablate_how"] == "mean"


@pytest.mark.parametrize(
    "params",
    [
        {"ablate": "99.99,abc,-1.0"},
        {"ablate": "1.1," * 2500},
        {"ablate": "x" * 10_000, "ablate_how": "<script>"},
        {"ablate": "2.5,2.5;DROP", "ablate_how": "mean" * 100},
    ],
)
def test_a_hostile_link_gives_a_clean_page(params):
    at = open_page(**params)
    assert_clean(at)
    assert at.radio(key="ablate_how").value == "zero"
    shown = texts(at)
    assert "abc" not in shown and "<script>" not in shown and "DROP" not in shown
    heads = picked(at)
    assert heads in ([], ["L1 H1"], ["L2 H5"])
    if params["ablate"].startswith("99"):
        assert "Left out 3 head(s)" in shown and picked(at) == []
    assert len(at.query_params.get("ablate", "")) < 100  # the link now carries the clean list


# ------------------------------------------------------------------------------------------------ sequences
def test_clearing_the_sentence_then_typing_again():
    at = open_page(ablate="2.5")
    at.text_input(key="text").set_value("").run()
    assert_clean(at)
    assert not figures(at) and at.info  # the usual message, no traceback
    assert picked(at) == ["L2 H5"]  # the heads stay chosen
    at.text_input(key="text").set_value("Dogs chase cats and cats chase mice.").run()
    assert_clean(at)
    assert float(metric(at, "Sentence embedding")) < 1
    assert figure_with_title(at, COSINE)["layout"]["xaxis"]["ticktext"][:3] == ["[CLS]", "dogs", "chase"]


def test_changing_the_model_with_heads_chosen():
    at = open_page(ablate="1.2,5.11")
    assert picked(at) == ["L1 H2", "L5 H11"]
    at.selectbox(key="model").set_value("mistral-char").run()
    assert_clean(at)
    assert picked(at) == ["L1 H2"] and "Left out 1 head(s)" in texts(at)  # mistral-char: 4 layers x 4 heads
    figure_with_title(at, LOSS)
    assert at.query_params["ablate"] == "1.2"
    at.selectbox(key="model").set_value("all-MiniLM-L6-v2").run()
    assert_clean(at)
    assert picked(at) == ["L1 H2"] and "Left out" not in texts(at)
    assert float(metric(at, "Sentence embedding")) < 1


def test_switching_the_language():
    at = open_page(ablate="2.5")
    at.radio(key="lang").set_value("zh").run()
    assert_clean(at)
    assert any("注意力头的重要性" in t.value for t in at.title)
    assert any("句向量" in m.label for m in at.metric)
    change = figure_with_title(at, "注意力权重的平均变化")
    assert change["layout"]["xaxis"]["title"]["text"] == "头" and change["layout"]["yaxis"]["title"]["text"] == "层"
    assert picked(at) == ["L2 H5"]
    at.button(key="rank_button").click().run()
    assert_clean(at)
    assert "用 3 次前向调用" in texts(at)
    figure_with_title(at, "单独消融每个头的影响")
