"""The main page on a long text: a linear capture, maps drawn from exact blocks and tiles, the zoom in the URL.

The threshold is lowered so that a text of a few hundred characters counts as long; every number drawn is then
compared with a full capture of the same text (which a really long text could not afford)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures

from attnviz.capture import get_model, run_capture
from attnviz.masks import MaskSpec
from attnviz.text import clean_text

CAPTURE = sys.modules["attnviz.capture"]  # the module (the package's attribute of that name is the function)

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "pages" / "0_Attention.py")
TIMEOUT = 180
TEXT = ("the cat sat on the mat and the dog sat on the log while the owl watched them all. " * 5)[:400]


@pytest.fixture
def long_page(monkeypatch):

    monkeypatch.setattr(CAPTURE, "WHOLE_MAPS_UP_TO_MB", 0)  # every text's maps "too big": the long path
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params["model"] = "mistral-char"
    at.run()
    at.text_input(key="text").set_value(TEXT).run()
    assert not at.exception
    return at


@pytest.fixture(scope="module")
def full():
    model = get_model("mistral-char")
    (capture,) = run_capture(model, [clean_text(TEXT).text], MaskSpec())  # as the page cleans it
    return capture


def head_map(at) -> dict:
    return figure_with_title(at, "Layer 0 · head 0")


def test_the_whole_map_is_exact_block_means_with_each_blocks_strongest_cell(long_page, full):
    at = long_page
    assert any("A long text" in c.value for c in at.caption)
    trace = head_map(at)["data"][0]
    z, rows, cols = array(trace["z"]).astype(float), np.array(trace["y"]), np.array(trace["x"])
    custom = array(trace["customdata"]).astype(float).reshape(len(rows), len(cols), 4)
    pattern, scores = full.pattern(0)[0].astype(np.float64), full.scores(0)[0]
    n = pattern.shape[0]
    row_ends, col_ends = np.append(rows[1:], n), np.append(cols[1:], n)
    for i in (0, len(rows) // 2, len(rows) - 1):
        for j in (0, i, len(cols) - 1):
            block = pattern[rows[i] : row_ends[i], cols[j] : col_ends[j]]
            if block.max() == 0:
                assert np.isnan(z[i, j])  # no allowed cell: drawn masked
                continue
            assert z[i, j] == pytest.approx(block.mean(), abs=1e-6)
            q, k, weight, score = custom[i, j]
            assert weight == pytest.approx(block.max(), abs=1e-6) and pattern[int(q), int(k)] == pytest.approx(
                weight, abs=1e-6
            )
            assert score == pytest.approx(scores[int(q), int(k)], abs=1e-3)
    assert not any(f["layout"].get("title", {}).get("text", "").startswith("Rollout") for f in figures(at))
    assert any("need every layer's whole map" in i.value for i in at.info)


def test_a_zoom_draws_that_region_cell_by_cell_and_lives_in_the_url(long_page, full):
    at = long_page
    at.session_state["zoom"] = "100-180,90-170"
    at.run()
    assert not at.exception
    trace = head_map(at)["data"][0]
    z = array(trace["z"]).astype(float)
    expected = np.where(full.mask(0)[100:180, 90:170], full.pattern(0)[0, 100:180, 90:170], np.nan)
    np.testing.assert_allclose(z, expected, atol=1e-6)
    assert list(trace["x"])[0] == 90 and list(trace["y"])[0] == 100  # the text's own positions
    assert at.query_params["zoom"] == "100-180,90-170"
    at.button(key="zoom_reset").click().run()
    assert "zoom" not in at.query_params and any("A long text" in c.value for c in at.caption)


def test_blocks_coloured_by_their_strongest_cell_through_zoom_and_reset(long_page, full):
    # A thin line of strong cells (a diagonal, one key) that a block's mean dilutes stays visible in its max.
    at = long_page
    at.radio(key="blocks").set_value("max").run()
    assert not at.exception and at.query_params["blocks"] == "max"

    def shows_block_max(at) -> bool:
        fig = head_map(at)
        trace, (col_stop, row_stop) = (
            fig["data"][0],
            (round(max(fig["layout"][a]["range"]) + 0.5) for a in ("xaxis", "yaxis")),
        )
        z, rows, cols = array(trace["z"]).astype(float), np.array(trace["y"]), np.array(trace["x"])
        pattern = full.pattern(0)[0].astype(np.float64)[rows[0] : row_stop, cols[0] : col_stop]
        block_max = np.maximum.reduceat(np.maximum.reduceat(pattern, rows - rows[0], 0), cols - cols[0], 1)[
            : len(rows), : len(cols)
        ]
        block_mean = np.add.reduceat(np.add.reduceat(pattern, rows - rows[0], 0), cols - cols[0], 1)[
            : len(rows), : len(cols)
        ]
        drawn = block_max > 0
        assert (block_max[drawn] > 2 * block_mean[drawn] / 9).any()  # blocks of ~3 x 3 whose max is not their mean
        return (
            np.allclose(z[drawn], block_max[drawn], atol=1e-6)
            and np.isnan(z[~drawn]).all()
            and trace["colorbar"]["title"]["text"] == "block max"
        )

    assert shows_block_max(at)
    at.session_state["zoom"] = "0-380,0-380"  # a region still drawn in blocks keeps the choice
    at.run()
    assert shows_block_max(at)
    at.session_state["zoom"] = "100-180,90-170"  # cell by cell: nothing to choose
    at.run()
    assert not at.exception and not any(r.key == "blocks" for r in at.radio)
    at.button(key="zoom_reset").click().run()
    assert at.radio(key="blocks").value == "max" and shows_block_max(at)
    at.radio(key="blocks").set_value("mean").run()
    assert "blocks" not in at.query_params and head_map(at)["data"][0]["colorbar"]["title"]["text"] == "block mean"


def test_a_hostile_block_statistic_in_the_link_means_block_means(monkeypatch):

    monkeypatch.setattr(CAPTURE, "WHOLE_MAPS_UP_TO_MB", 0)
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params.update(model="mistral-char", text=TEXT[:300], blocks="<img src=x onerror=alert(1)>")
    at.run()
    assert not at.exception and at.radio(key="blocks").value == "mean"
    assert head_map(at)["data"][0]["colorbar"]["title"]["text"] == "block mean"


@pytest.mark.parametrize("junk", ["abc", "5-1,0-3", "0-99999999,0-99999999", "-5-3,2-9", "1-2", "9" * 5000])
def test_a_hostile_zoom_in_the_link_shows_the_whole_map(monkeypatch, junk):

    monkeypatch.setattr(CAPTURE, "WHOLE_MAPS_UP_TO_MB", 0)
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params.update(model="mistral-char", text=TEXT[:300], zoom=junk)
    at.run()
    assert not at.exception
    assert head_map(at)


def test_long_then_short_then_long_again_with_a_cleared_box_between(long_page):
    at = long_page
    at.session_state["zoom"] = "10-60,10-60"
    at.run()
    at.text_input(key="text").set_value("").run()
    assert not at.exception and not figures(at)

    CAPTURE.WHOLE_MAPS_UP_TO_MB = 128  # back to the real threshold: a short text is drawn whole again
    at.text_input(key="text").set_value("a short one").run()
    assert not at.exception and not any("A long text" in c.value for c in at.caption)
    assert figure_with_title(at, "Layer 0 · head 0")["data"][0]["type"] == "heatmap"
    CAPTURE.WHOLE_MAPS_UP_TO_MB = 0
    at.text_input(key="text").set_value(TEXT).run()
    assert not at.exception and any("Zoomed" in c.value for c in at.caption)  # the zoom was kept for the long text


def test_compare_heads_on_a_long_text_draws_a_b_and_their_difference_in_exact_blocks(monkeypatch, full):

    monkeypatch.setattr(CAPTURE, "WHOLE_MAPS_UP_TO_MB", 0)
    at = AppTest.from_file(str(ROOT / "pages" / "1_Compare_heads.py"), default_timeout=TIMEOUT)
    at.query_params.update(model="mistral-char", text=TEXT, a_layer="1", a_head="2", b_layer="3", b_head="0")
    at.run()
    assert not at.exception
    a, b = figure_with_title(at, "A: layer 1"), figure_with_title(at, "B: layer 3")
    assert a["data"][0]["zmax"] == b["data"][0]["zmax"]  # side by side: one colour scale
    rows, cols = np.array(a["data"][0]["y"]), np.array(a["data"][0]["x"])
    n = len(full.tokens)
    row_ends, col_ends = np.append(rows[1:], n), np.append(cols[1:], n)
    pattern_a, pattern_b = full.pattern(1)[2].astype(np.float64), full.pattern(3)[0].astype(np.float64)
    difference = array(figure_with_title(at, "difference A − B")["data"][0]["z"]).astype(float)
    for i in (0, len(rows) // 2, len(rows) - 1):
        for j in (max(0, i - 1), i):
            block = (slice(rows[i], row_ends[i]), slice(cols[j], col_ends[j]))
            assert array(a["data"][0]["z"]).astype(float)[i, j] == pytest.approx(pattern_a[block].mean(), abs=1e-6)
            assert difference[i, j] == pytest.approx(pattern_a[block].mean() - pattern_b[block].mean(), abs=1e-6)
    assert any("singular value decomposition" in i.value for i in at.info)  # no ranks for a linear capture
    assert any("Which heads repeat" in s.value for s in at.subheader)  # the cosine of the maps, streamed
    from attnviz.analysis import redundancy

    shown = array(figure_with_title(at, "All 16 heads")["data"][0]["z"]).astype(float)
    expected = redundancy.head_similarity(full, "cosine")
    order = redundancy.cluster_order(expected, is_distance=False)
    np.testing.assert_allclose(shown, expected[np.ix_(order, order)], atol=1e-5)  # the same numbers, clustered alike
    # every head's statistics, streamed from the linear capture: those of the whole maps
    from attnviz.analysis.stats import stats_table

    shown = at.dataframe[0].value.sort_values(["layer", "head"]).reset_index(drop=True)
    np.testing.assert_allclose(
        shown.to_numpy(dtype=float), stats_table(full).to_numpy(dtype=float), atol=2e-5, equal_nan=True
    )


def test_step_by_step_on_a_long_text_shows_a_window_of_keys_from_linear_state(monkeypatch, full):
    """Step by step captures a long text without its maps; the query's row is computed exactly from q, k and its
    normaliser, the panels over keys show a window around the query, and FlashAttention walks the whole row."""

    monkeypatch.setattr(CAPTURE, "WHOLE_MAPS_UP_TO_MB", 0)  # every text's maps "too big": the long path
    at = AppTest.from_file(str(ROOT / "pages" / "3_Step_by_step.py"), default_timeout=TIMEOUT)
    at.query_params.update(model="mistral-char", text=TEXT, layer="1", head="2", query="300")
    at.run()
    assert not at.exception
    window = [i.value for i in at.info if "the panels over keys show positions" in i.value]
    assert window, [i.value for i in at.info]
    a, b = (int(x) for x in window[0].split("positions ")[1].split(",")[0].split("–"))
    assert b - a + 1 == 128 and a <= 300 <= b
    weights = figure_with_title(at, "attention weights of")["data"][0]
    shown = array(weights["y"]).astype(float)
    assert weights["x"][0].startswith(f"{a}: ") and len(shown) == 128  # the text's positions on the keys
    np.testing.assert_allclose(shown, full.pattern(1)[2][300, a : b + 1], atol=1e-6)
    assert figure_with_title(at, "The row of")  # the whole row in blocks of keys
    at.selectbox(key="query").set_value(10).run()  # near the start: the window moves, the text's first keys
    assert not at.exception and any("positions 0–127" in i.value for i in at.info)
    assert at.text_input(key="text").value  # the box stays


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_long_passage_can_be_pasted_or_opened_as_a_file(monkeypatch):
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params["model"] = "mistral-char"
    at.run()
    passage = "First line of a long passage.\nSecond line, with <b>markup</b> that stays text.\n" * 40
    at.text_area(key="long_paste").set_value(passage).run()
    at.button(key="long_use").click().run()
    assert not at.exception
    assert at.session_state["text"] == clean_text(passage).text  # the box holds what the maps use
    assert f"{len(clean_text(passage).text) + 1} tokens" in " ".join(
        c.value for c in at.caption
    )  # <s> + the characters


def test_an_opened_file_puts_its_cleaned_text_in_the_box_and_says_what_was_removed():
    """A file's bidi overrides and zero-width characters went into the sentence box raw while the maps used the
    cleaned text; now the box holds the cleaned text, and what was removed is said under the uploader."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params["model"] = "mistral-char"
    at.run()
    raw = "\u202eevil\u202c the cat" + "\u200b" * 17_000 + " sat on the mat"
    uploader = next(u for u in at.get("file_uploader") if u.proto.id.endswith("long_file"))
    uploader.set_value(("essay.txt", raw.encode("utf-8"), "text/plain")).run()
    assert not at.exception
    assert at.session_state["text"] == clean_text(raw).text == "evil the cat sat on the mat"
    assert any("17,002" in w.value or "17002" in w.value for w in at.warning), [w.value for w in at.warning]


def test_a_text_files_unreadable_byte_is_counted_from_1_in_the_file_as_saved():
    from attnviz.text import InputError, text_from_file

    for data, key, at in [
        (b"ab\xc3\x28", "msg.file_not_text", 3),
        (b"\xef\xbb\xbfab\xc3\x28", "msg.file_not_text", 6),
        (b"\xff\xfeh\x00\x00\xdc", "msg.file_not_utf16", 5),
    ]:
        with pytest.raises(InputError) as refused:
            text_from_file(data)
        assert (refused.value.key, refused.value.values["at"]) == (key, at)
    assert "UTF-16" in InputError("msg.file_not_utf16", at=5).message("en")  # not called "not UTF-8"


@pytest.mark.parametrize(
    "data, key",
    [
        (b"\xff\xfeh\x00i\x00", None),
        ("caf\u00e9 ok".encode(), None),
        (b"\xef\xbb\xbfhello", None),
        (b"PK\x03\x04\x00\x00binary", "msg.file_binary"),
        (b"\xc3\x28 not utf-8", "msg.file_not_text"),
        (b"a" * (512 * 1024 + 1), "msg.file_too_big"),
    ],
)
def test_an_uploaded_text_file_is_read_as_utf8_or_refused_with_a_reason(data, key):
    from attnviz.text import InputError, text_from_file

    if key is None:
        assert text_from_file(data) in ("hi", "café ok", "hello")
    else:
        with pytest.raises(InputError) as refused:
            text_from_file(data)
        assert refused.value.key == key and refused.value.message("zh")


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_text_of_a_few_hundred_tokens_keeps_its_maps_whole_but_is_drawn_in_blocks(monkeypatch, full):
    """Over BLOCKS_ABOVE tokens the head's map is exact blocks (a 400² map is more cells than pixels, and 2 MB for the
    browser) while the capture keeps every map whole: one forward pass, and everything that needs whole maps stays."""
    import ui.session

    captured, real = [], ui.session.run_capture

    def counting(model, texts, spec, hooks=None):
        captured.append(hooks)
        return real(model, texts, spec, hooks=hooks)

    monkeypatch.setattr(ui.session, "run_capture", counting)
    ui.session.shared_captures().clear()
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params.update(model="mistral-char", text=TEXT)
    at.run()
    assert not at.exception
    assert captured == [ui.session.VIEW_HOOKS + ui.session.QK_HOOKS]  # maps whole (10 MB), scores from q and k
    n = len(full.tokens)
    assert any(f"A long text ({n} tokens)" in c.value for c in at.caption)
    trace = head_map(at)["data"][0]
    z, rows, cols = array(trace["z"]).astype(float), np.array(trace["y"]), np.array(trace["x"])
    custom = array(trace["customdata"]).astype(float).reshape(len(rows), len(cols), 4)
    pattern, scores = full.pattern(0)[0].astype(np.float64), full.scores(0)[0]
    assert len(rows) == len(cols) == 128
    row_ends, col_ends = np.append(rows[1:], n), np.append(cols[1:], n)
    for i, j in ((0, 0), (64, 64), (127, 120), (127, 0)):  # on the diagonal, within the window, beyond it
        block = pattern[rows[i] : row_ends[i], cols[j] : col_ends[j]]
        if block.max() == 0:
            assert np.isnan(z[i, j])  # no allowed cell (the sliding window): drawn masked
            continue
        assert z[i, j] == pytest.approx(block.mean(), abs=1e-6)
        q, k, weight, score = custom[i, j]
        assert weight == pytest.approx(block.max(), abs=1e-6) and score == pytest.approx(
            scores[int(q), int(k)], abs=1e-4
        )
    assert not any("need every layer's whole map" in i.value for i in at.info)  # rollout and flow stay offered
    at.toggle(key="flow").set_value(True).run()
    assert not at.exception and any(
        f["layout"].get("title", {}).get("text", "").startswith("Rollout") for f in figures(at)
    )

    compare = AppTest.from_file(str(ROOT / "pages" / "1_Compare_heads.py"), default_timeout=TIMEOUT)
    compare.query_params.update(model="mistral-char", text=TEXT)
    compare.run()
    assert not compare.exception
    assert figure_with_title(compare, "difference A − B")  # in blocks
    assert any("Which heads repeat" in s.value for s in compare.subheader)  # the stats, similarity and ranks stay
    assert len(captured) == 1  # the same capture, shared: no second forward pass for the ranks


def test_hiding_special_tokens_on_a_map_in_blocks_says_that_it_keeps_them():
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params.update(text="word " * 300, hide_special="1")  # MiniLM, 302 tokens: drawn in blocks
    at.run()
    assert not at.exception
    assert any("A long text (302 tokens)" in c.value for c in at.caption)
    assert any("keep every token" in c.value for c in at.caption)
    at.session_state["zoom"] = "10-60,10-60"  # zoomed, with the box still hiding nothing: the reset stays
    at.run()
    assert not at.exception and any("keep every token" in c.value for c in at.caption)
    at.button(key="zoom_reset").click().run()
    assert not at.exception and at.session_state["zoom"] == ""
    at.checkbox(key="hide_special").uncheck().run()
    assert not any("keep every token" in c.value for c in at.caption)
