"""End-to-end: the DCMHA page in headless Chromium; picking a query token redraws the compose matrices."""

from __future__ import annotations

import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, JS_CELL_CENTRE, JS_TRACE_Z, STEP_TIMEOUT_MS

pytestmark = pytest.mark.browser

# The z of the LAST trace of a keyed chart (for the compose figures: C_ts itself), NaN -> null.
JS_LAST_Z = f"""(key) => ({JS_TRACE_Z})([key, -1])"""
JS_HAS_PLOT = "(key) => { const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot'); return !!(gd && gd._fullData && gd._fullData.length); }"


def open_page(app, query: str = "") -> None:
    # Streamlit scrolls inside its own container: a tall viewport lets one screenshot hold a whole tab.
    app.page.set_viewport_size({"width": 1400, "height": 2600})
    app.page.goto(app.base_url + "DCMHA" + query)
    app.page.wait_for_function(JS_HAS_PLOT, arg="compose_pre", timeout=FIRST_LOAD_TIMEOUT_MS)
    app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)


def pick_option(app, key: str, prefix: str) -> None:
    """Open a Streamlit selectbox (a combobox), type to filter its options, click the one starting with ``prefix``."""
    box = app.page.locator(f".st-key-{key} input[role=combobox]")
    box.click()
    box.fill(prefix)
    option = app.page.get_by_role("option").filter(has_text=prefix).first
    option.wait_for(timeout=STEP_TIMEOUT_MS)
    option.click()


def open_tab(app, index: int) -> None:
    app.page.get_by_role("tab").nth(index).click()
    app.page.wait_for_timeout(800)  # let Plotly lay out the newly visible charts


def assert_clean(app):
    assert app.exception_count() == 0, "a Streamlit exception box is on the page"
    assert "Traceback" not in app.body_text()
    assert app.dialogs == [], app.dialogs


def test_picking_a_query_token_changes_the_compose_matrices(app):
    open_page(app, "?dc_q=10&dc_k=8")
    before = {k: app.page.evaluate(JS_LAST_Z, k) for k in ("compose_pre", "compose_post")}
    assert "t=10" in app.title("compose_pre")
    assert len(before["compose_pre"]) == len(before["compose_pre"][0]) >= 2  # H x H
    app.shot("dcmha-compose")
    pick_option(app, "dc_q", "20: ")
    app.wait_query("dc_q", "20")
    app.page.wait_for_function(
        "(key) => { const t = document.querySelector('.st-key-' + key + ' .gtitle'); return t && t.textContent.includes('t=20'); }",
        arg="compose_pre",
        timeout=STEP_TIMEOUT_MS,
    )
    app.wait_idle()
    after = {k: app.page.evaluate(JS_LAST_Z, k) for k in ("compose_pre", "compose_post")}
    for key in after:
        assert after[key] != before[key], f"{key}: C_ts did not change with the query token"
    app.shot("dcmha-compose-query20")
    assert_clean(app)


def test_every_tab_renders_and_screenshots(app):
    # the sandbox opens from the URL with heads 0 and 3 swapped after softmax in MiniLM layer 2
    open_page(app, "?sb_preset=swap&sb_b=3&sb_matrix=0.0%3D0%3B0.3%3D1%3B3.0%3D1%3B3.3%3D0")
    for index, name in enumerate(["stages", "gates", "compare", "redundancy", "sandbox"], start=1):
        if name == "sandbox":
            app.page.set_viewport_size({"width": 1400, "height": 3900})
        open_tab(app, index)
        app.wait_idle()
        app.shot(f"dcmha-{name}")
    for key in (
        "similarity_by_layer",
        "rank_by_layer",
        "similarity_dc_map",
        "similarity_mha_map",
    ):  # the redundancy tab
        assert app.page.evaluate(JS_HAS_PLOT, key), key
    assert app.page.evaluate(JS_HAS_PLOT, "sb_after")
    assert app.page.evaluate(JS_HAS_PLOT, "sb_spread")
    assert "identity" not in app.page.locator("[data-testid=stAlert]").all_inner_texts().__str__()
    assert_clean(app)


def test_chinese_labels(app):
    open_page(app, "?lang=zh&dc_text=" + "猫坐在垫子上。狗在院子里跑。")
    assert "动态组合" in app.body_text()
    assert "输出头" in app.page.locator(".st-key-compose_pre").inner_text()  # axis title of the compose figure
    app.shot("dcmha-zh")
    open_tab(app, 1)
    app.shot("dcmha-zh-stages")
    assert_clean(app)


def test_window_band_and_chunks_are_drawn(app):
    text = "The quick brown fox jumps over the lazy dog; " * 4
    open_page(app, "?dc_window=12&dc_q=150&dc_k=145&dc_text=" + text.replace(" ", "%20").replace(";", "%3B"))
    open_tab(app, 1)
    app.wait_idle()
    names = app.page.evaluate(
        "() => { const gd = document.querySelector('.st-key-stages .js-plotly-plot');"
        " return gd._fullLayout.shapes.map(s => s.name); }"
    )
    assert names.count("window") == 6 and names.count("selected") == 6
    assert names.count("query block") == 6 * 3  # 180 characters, blocks of 64 queries
    app.shot("dcmha-window12-chunks")
    assert_clean(app)


def test_a_long_text_shows_its_whole_map_in_blocks_and_a_dragged_box_moves_the_region(app):
    """700 characters (beyond the 256 the DCFormer was trained on): the stages tab draws the head's whole map in exact
    blocks with the region outlined; a box dragged over it moves the region (the chosen query) there."""
    import urllib.parse

    text = ("the quick brown fox jumps over the lazy dog while the cat sleeps. " * 12)[:700].strip()
    open_page(app, "?" + urllib.parse.urlencode({"dc_text": text}))
    open_tab(app, 1)
    app.page.wait_for_function(JS_HAS_PLOT, arg="dcmha_whole", timeout=STEP_TIMEOUT_MS)
    app.wait_idle()
    assert "positions 0–255" in app.body_text()
    app.shot("dcmha-long-stages")
    first = app.page.evaluate(JS_CELL_CENTRE, ["dcmha_whole", 430, 450])
    last = app.page.evaluate(JS_CELL_CENTRE, ["dcmha_whole", 520, 560])
    app.page.mouse.move(*first)
    app.page.mouse.down()
    app.page.mouse.move(*last, steps=8)
    app.page.mouse.up()
    app.page.wait_for_function("() => !document.body.innerText.includes('positions 0–255')", timeout=STEP_TIMEOUT_MS)
    app.wait_idle()
    query = int(app.page.evaluate("() => new URLSearchParams(location.search).get('dc_q')"))
    assert 450 <= query <= 560, query  # the box's centre row
    start = max(0, min(query - 128, len(text) - 256)) // 64 * 64
    assert f"positions {start}–{start + 255}" in app.body_text()
    app.shot("dcmha-long-moved")
    assert_clean(app)
