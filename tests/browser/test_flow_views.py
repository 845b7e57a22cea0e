"""End-to-end: the main page's "Where information flows" and "Queries and keys in one space" sections, opened
by a link, in both languages, in headless Chromium (screenshots of each section go to /tmp)."""

from __future__ import annotations

import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, JS_TRACE_Z, STEP_TIMEOUT_MS

pytestmark = pytest.mark.browser

SECTION_CHARTS = {"rollout_map": 1, "flow_graph": 3, "qk_scatter": 2}  # chart key -> at least this many traces
# Drawn: the live graph has its traces and Plotly's SVG.
JS_TRACES = """(key) => { const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  return gd && gd._fullData && gd.querySelector('svg.main-svg') ? gd._fullData.length : 0; }"""
JS_TICK_TEXT = """([key, axis]) => Array.from(document.querySelectorAll('.st-key-' + key + ' .' + axis + 'tick text'), t => t.textContent)"""
JS_SECTION_TITLE = (
    """(key) => { const t = document.querySelector('.st-key-' + key + ' .gtitle'); return t ? t.textContent : null; }"""
)
TEXTS = {
    "en": {
        "flow": "Where information flows",
        "qk": "Queries and keys in one space",
        "input": "input",
        "after": "after L0",
        "rollout": "Rollout after layer 5",
        "scatter": "queries and keys (PCA)",
        "nearby": "In this picture",
    },
    "zh": {
        "flow": "信息流向哪里",
        "qk": "查询和键在同一空间",
        "input": "输入",
        "after": "第 0 层后",
        "rollout": "注意力展开：第 5 层之后",
        "scatter": "查询和键（PCA）",
        "nearby": "在这张图中",
    },
}


def open_main(app, query: str, charts=tuple(SECTION_CHARTS)) -> None:
    app.page.set_viewport_size({"width": 1400, "height": 3600})  # Streamlit scrolls inside its own container
    app.page.goto(app.base_url + query)
    for key in charts:
        app.page.wait_for_function(JS_TRACES, arg=key, timeout=FIRST_LOAD_TIMEOUT_MS)
    app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)


def assert_clean(app):
    assert app.exception_count() == 0, "a Streamlit exception box is on the page"
    assert "Traceback" not in app.body_text()
    assert app.dialogs == [] and app.page_errors == [], (app.dialogs, app.page_errors)


def section_shot(app, key: str, name: str) -> str:
    """A screenshot of one section (its keyed container), scrolled into view first."""
    section = app.page.locator(f".st-key-{key}")
    section.scroll_into_view_if_needed()
    app.page.wait_for_timeout(500)  # let Plotly finish laying out after the scroll
    path = f"/tmp/{name}.png"
    section.screenshot(path=path)
    return path


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_link_opens_both_sections_drawn_in_each_language(app, lang):
    words = TEXTS[lang]
    open_main(app, f"?lang={lang}&flow=1&qk=1")
    for key, at_least in SECTION_CHARTS.items():
        assert app.page.evaluate(JS_TRACES, key) >= at_least, key
    assert words["rollout"] in app.page.evaluate(JS_SECTION_TITLE, "rollout_map")
    assert words["scatter"] in app.page.evaluate(JS_SECTION_TITLE, "qk_scatter")
    columns = app.page.evaluate(JS_TICK_TEXT, ["flow_graph", "x"])
    assert columns[:2] == [words["input"], words["after"]] and len(columns) == 7
    rows = app.page.evaluate(JS_TICK_TEXT, ["rollout_map", "y"])
    assert rows[0] == "[CLS]" and "animal" in rows
    flow_text = app.page.locator(".st-key-flow_section").inner_text()
    qk_text = app.page.locator(".st-key-qk_section").inner_text()
    assert words["flow"] in flow_text and "Abnar" in flow_text
    assert words["qk"] in qk_text and words["nearby"] in qk_text
    section_shot(app, "flow_section", f"flow-section-{lang}")
    section_shot(app, "qk_section", f"qk-section-{lang}")
    assert_clean(app)


def test_attention_flow_of_a_causal_model_stays_below_the_diagonal(app):
    open_main(
        app, "?text=the+cat+sat+on+the+mat&causal=1&flow=1&flow_method=flow", charts=("rollout_map", "flow_graph")
    )
    assert "Attention flow after layer 5" in app.page.evaluate(JS_SECTION_TITLE, "rollout_map")
    z = app.page.evaluate(f"(key) => ({JS_TRACE_Z})([key, 0])", "rollout_map")
    assert len(z) == 8
    for i, row in enumerate(z):
        assert all((v is None) == (j > i) for j, v in enumerate(row)), (i, row)
        assert abs(sum(v for v in row if v is not None) - 1) < 1e-4
    section_shot(app, "flow_section", "flow-section-causal-flow")
    assert_clean(app)


def test_the_toggle_opens_the_section_and_writes_the_link(app):
    app.page.set_viewport_size({"width": 1400, "height": 3600})
    app.goto()
    assert app.page.locator(".st-key-flow_section").count() == 0
    app.page.locator(".st-key-flow label").first.click()
    app.page.wait_for_function(JS_TRACES, arg="rollout_map", timeout=STEP_TIMEOUT_MS)
    app.wait_query("flow", "1")
    app.wait_idle()
    assert app.page.evaluate(JS_TRACES, "flow_graph") >= 3
    assert_clean(app)

    # a choice made in the section outlives closing it and opening it again (it used to fall back to its default)
    app.page.locator(".st-key-flow_heads").get_by_text("max", exact=False).last.click()
    app.wait_query("flow_heads", "max")
    app.wait_idle()
    for _ in range(2):  # closed, then open again
        app.page.locator(".st-key-flow label").first.click()
        app.wait_idle()
    app.page.wait_for_function(JS_TRACES, arg="rollout_map", timeout=STEP_TIMEOUT_MS)
    assert app.page.locator(".st-key-flow_heads input[type=radio]").nth(1).is_checked()
    assert "flow_heads=max" in app.page.url
    assert_clean(app)
