"""End-to-end: a long text on the main page in headless Chromium. Its maps are drawn at block resolution from the
linear capture; a box dragged over the head's map zooms to that region exactly; the zoom lives in the URL."""

from __future__ import annotations


import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, STEP_TIMEOUT_MS
from harness.browser import drag, wait_zoom
from ui.long_maps import LONG_MAP_BLOCKS

pytestmark = pytest.mark.browser

LONG = ("The quick brown fox jumps over the lazy dog while the cat sleeps by the warm fire. " * 100)[:8000]
# null while Streamlit swaps the chart (a rerun): polled until it names the statistic
JS_COLOUR = """() => { const gd = document.querySelector('.st-key-head_heatmap .js-plotly-plot');
  return gd && gd._fullData && gd._fullData.length ? gd._fullData[0].colorbar.title.text : null; }"""
JS_SHAPE = """() => { const gd = document.querySelector('.st-key-head_heatmap .js-plotly-plot');
  const z = gd._fullData[0].z; return [z.length, z[0].length, gd._fullData[0].x[0], gd._fullData[0].y[0]]; }"""


def test_a_long_text_draws_in_blocks_and_a_dragged_box_zooms_exactly(app):
    app.page.set_viewport_size({"width": 1400, "height": 1800})
    frames = []
    app.page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(len(payload))))
    app.goto("?model=mistral-char")
    frames.clear()
    app.type_sentence(LONG)
    app.page.wait_for_function(
        "() => document.body.innerText.includes('A long text (8001 tokens)')", timeout=FIRST_LOAD_TIMEOUT_MS
    )
    app.wait_heatmap(timeout=FIRST_LOAD_TIMEOUT_MS)
    app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)
    rows, cols, _, _ = app.page.evaluate(JS_SHAPE)
    assert (rows, cols) == (LONG_MAP_BLOCKS, LONG_MAP_BLOCKS)
    assert sum(frames) <= 2 * 2**20, f"{sum(frames):,} bytes sent for one long text"  # the payload bar
    app.shot("long-text-blocks")
    assert app.page.evaluate(JS_COLOUR) == "block mean"
    app.page.locator(".st-key-blocks").get_by_text("its strongest cell").click()  # a diagonal a block's mean dilutes
    app.page.wait_for_function(f"() => ({JS_COLOUR})() === 'block max'", timeout=STEP_TIMEOUT_MS)
    app.wait_idle()
    assert "blocks=max" in app.page.url

    # a box over a sixth of the map: still blocks, of that region; then a box inside it: the region cell by cell
    drag(app, (1900, 2000), (3500, 3500))
    (a, b), (c, d) = wait_zoom(app, None)
    assert abs(a - 2000) <= 60 and abs(b - 3500) <= 60 and abs(c - 1900) <= 60 and abs(d - 3500) <= 60, (a, b, c, d)
    rows, cols, first_key, first_query = app.page.evaluate(JS_SHAPE)
    assert (rows, cols) == (LONG_MAP_BLOCKS, LONG_MAP_BLOCKS) and first_query == a and first_key == c
    drag(app, (2480, 2500), (2640, 2640))
    (a, b), (c, d) = wait_zoom(app, f"{a}-{b},{c}-{d}")
    assert b - a <= 256 and d - c <= 256 and abs(a - 2500) <= 10 and abs(c - 2480) <= 10, (a, b, c, d)
    rows, cols, first_key, first_query = app.page.evaluate(JS_SHAPE)
    assert (rows, cols, first_key, first_query) == (b - a, d - c, c, a)  # cell by cell, at the text's positions
    ticks = app.ticks("x")
    assert ticks and all(len(t) <= 4 for t in ticks)  # the characters themselves label the columns
    app.shot("long-text-zoomed")

    app.page.get_by_role("button", name="Whole map").click()
    app.page.wait_for_function("() => !new URLSearchParams(location.search).has('zoom')", timeout=STEP_TIMEOUT_MS)
    app.page.wait_for_function(
        "() => document.body.innerText.includes('A long text (8001 tokens)')", timeout=STEP_TIMEOUT_MS
    )
    assert app.page.evaluate(JS_COLOUR) == "block max"  # the choice outlived the zoom
    assert app.exception_count() == 0 and "Traceback" not in app.body_text()


def test_a_text_file_opens_as_the_text_and_a_binary_one_is_refused(app, tmp_path):
    app.page.set_viewport_size({"width": 1400, "height": 1800})
    app.goto("?model=mistral-char")
    app.page.get_by_text("A long text: paste a passage or open a file").click()
    binary = tmp_path / "picture.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    app.page.locator(".st-key-long_file input[type=file]").set_input_files(str(binary))
    app.page.wait_for_function("() => document.body.innerText.includes('is not text')", timeout=STEP_TIMEOUT_MS)
    essay = tmp_path / "essay.txt"
    essay.write_text("It was the best of times, it was the worst of times. " * 60, encoding="utf-8")
    app.page.locator(".st-key-long_file input[type=file]").set_input_files(str(essay))
    app.page.wait_for_function("() => document.body.innerText.includes('A long text (')", timeout=FIRST_LOAD_TIMEOUT_MS)
    app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)
    assert "is not text" not in app.body_text()
    assert app.exception_count() == 0 and "Traceback" not in app.body_text()
    app.shot("long-text-file")
