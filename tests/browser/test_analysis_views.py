"""End-to-end: the views over every head at once (Compare heads: similarity and effective rank; the DCMHA page's
redundancy tab), in both languages, in headless Chromium."""

from __future__ import annotations

import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, JS_CELL_CENTRE, JS_DRAWN, STEP_TIMEOUT_MS

pytestmark = pytest.mark.browser


def open_compare(app, query: str = "") -> None:
    app.page.set_viewport_size({"width": 1400, "height": 3600})  # Streamlit scrolls inside its own container
    app.page.goto(app.base_url + "Compare_heads" + query)
    app.page.wait_for_function(JS_DRAWN, arg="similarity", timeout=FIRST_LOAD_TIMEOUT_MS)
    app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)


def assert_clean(app):
    assert app.exception_count() == 0 and "Traceback" not in app.body_text()


def test_a_click_on_the_similarity_matrix_compares_those_two_heads(app):
    open_compare(app)
    assert app.page.evaluate(JS_DRAWN, "rank_bars")
    before = [app.slider_value(k) for k in ("a_layer", "a_head", "b_layer", "b_head")]
    order = app.page.evaluate(
        """() => Array.from(document.querySelectorAll('.st-key-similarity .xtick text'), t => t.textContent)"""
    )
    assert order and all(label.startswith("L") for label in order)
    x, y = app.page.evaluate(JS_CELL_CENTRE, ["similarity", 5, 40])
    app.page.mouse.move(x, y)
    app.page.mouse.click(x, y)
    app.page.wait_for_function(
        "(before) => ['a_layer','a_head','b_layer','b_head'].some((k, i) => { const s = document.querySelector('.st-key-' + k + ' input[type=range]'); return s && Number(s.value) !== before[i]; })",
        arg=before,
        timeout=STEP_TIMEOUT_MS,
    )
    app.wait_idle()
    after = [app.slider_value(k) for k in ("a_layer", "a_head", "b_layer", "b_head")]
    # the clicked row's head is A, the column's head B: their labels are the matrix's own tick labels
    y_labels = app.page.evaluate(
        """() => Array.from(document.querySelectorAll('.st-key-similarity .ytick text'), t => t.textContent)"""
    )
    if len(y_labels) == 72:  # every label drawn: check it exactly
        assert f"L{after[0]} H{after[1]}" == y_labels[40] and f"L{after[2]} H{after[3]}" == order[5]
    assert after != before
    app.shot("compare-similarity-clicked")
    assert_clean(app)


def test_the_views_speak_chinese(app):
    open_compare(app, "?lang=zh&similarity_metric=cosine")
    text = app.body_text()
    assert "哪些头在重复彼此" in text and "有效秩" in text
    assert "头（层 · 头）" in app.page.locator(".st-key-similarity").inner_text()
    app.shot("compare-similarity-zh")
    assert_clean(app)


def test_the_dcmha_redundancy_tab_in_both_languages(app):
    for lang, verdict in (("en", "Alike:"), ("zh", "相似度：")):
        app.page.set_viewport_size({"width": 1400, "height": 2600})
        app.page.goto(app.base_url + f"DCMHA?lang={lang}")
        app.page.wait_for_function(JS_DRAWN, arg="compose_pre", timeout=FIRST_LOAD_TIMEOUT_MS)
        app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)
        app.page.get_by_role("tab").nth(4).click()
        app.page.wait_for_function(JS_DRAWN, arg="similarity_dc_map", timeout=STEP_TIMEOUT_MS)
        for key in ("similarity_by_layer", "rank_by_layer", "similarity_mha_map"):
            assert app.page.evaluate(JS_DRAWN, key), key
        assert verdict in app.body_text() and "**" not in app.body_text()  # the bold rendered, not shown as asterisks
        app.shot(f"dcmha-redundancy-{lang}")
        assert_clean(app)
