"""End-to-end: the Head importance page in headless Chromium, in English and Chinese: the effect of the heads in the
link is drawn, the ranking runs from its button, and a click on the ranking's map adds that head (the URL changes)."""

from __future__ import annotations

import time

import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, JS_CELL_CENTRE, JS_DRAWN, STEP_TIMEOUT_MS

pytestmark = pytest.mark.browser

JS_TICKS = """([key, axis]) => Array.from(document.querySelectorAll('.st-key-' + key + ' .' + axis + 'tick text'), t => t.textContent)"""


def open_importance(app, query: str = "") -> None:
    app.page.set_viewport_size({"width": 1400, "height": 2400})  # Streamlit scrolls inside its own container
    app.page.goto(app.base_url + "Head_importance" + query)
    for key in ("importance_tokens", "importance_change"):
        app.page.wait_for_function(JS_DRAWN, arg=key, timeout=FIRST_LOAD_TIMEOUT_MS)
    app.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)


def assert_clean(app) -> None:
    text = app.body_text()
    assert app.exception_count() == 0 and "Traceback" not in text
    assert "**" not in text  # every bold rendered, none shown as asterisks
    assert not app.page_errors, app.page_errors


def rank(app) -> float:
    """Click the ranking's button; wait for its map and table. Seconds from the click to the drawn map."""
    start = time.perf_counter()
    app.page.locator(".st-key-rank_button button").click()
    app.page.wait_for_function(JS_DRAWN, arg="importance_effect_map", timeout=STEP_TIMEOUT_MS)
    app.page.locator(".st-key-importance_rank_table [data-testid=stDataFrame]").wait_for(timeout=STEP_TIMEOUT_MS)
    seconds = time.perf_counter() - start
    app.wait_idle()
    return seconds


def click_cell(app, layer: int, head: int) -> None:
    app.page.locator(".st-key-importance_effect_map").scroll_into_view_if_needed()
    x, y = app.page.evaluate(JS_CELL_CENTRE, ["importance_effect_map", head, layer])
    app.page.mouse.move(x, y)
    app.page.mouse.click(x, y)


def test_rank_then_click_a_head_in_english(app):
    open_importance(app, "?ablate=2.5")
    text = app.body_text()
    assert "What changes" in text and "Sentence embedding: cosine to the original" in text
    assert "L2 H5" in app.page.locator(".st-key-ablate_heads").inner_text()
    ticks = app.page.evaluate(JS_TICKS, ["importance_tokens", "x"])
    assert ticks[:3] == ["[CLS]", "the", "animal"]
    assert_clean(app)
    app.shot("importance-en")

    seconds = rank(app)
    caption = app.page.get_by_text("72 heads ranked with").inner_text()
    print(f"\nranking MiniLM on the example, click to drawn map: {seconds:.2f} s; the page says: {caption}")
    app.shot("importance-ranked-en")

    click_cell(app, 4, 7)  # layer 4, head 7 joins the ablated heads
    app.wait_query("ablate", "2.5,4.7")
    app.wait_idle()
    app.page.wait_for_function(
        "() => document.querySelector('.st-key-ablate_heads').innerText.includes('L4 H7')", timeout=STEP_TIMEOUT_MS
    )
    assert "L4 H7" in app.page.locator(".st-key-ablate_heads").inner_text()
    app.page.wait_for_function(JS_DRAWN, arg="importance_effect_map", timeout=STEP_TIMEOUT_MS)
    assert_clean(app)
    app.shot("importance-clicked-en")


def test_a_language_model_in_chinese(app):
    open_importance(app, "?lang=zh&model=mistral-char&ablate=1.1&ablate_how=mean")
    text = app.body_text()
    assert "有什么变化" in text and "消融后平均损失" in text and "最可能的五个下一词元" in text
    assert "被预测的词元" in app.page.locator(".st-key-importance_tokens").inner_text()
    assert "␣" in app.page.evaluate(JS_TICKS, ["importance_tokens", "x"])  # a character model's spaces, visible
    assert_clean(app)
    app.shot("importance-zh-lm")

    rank(app)
    assert "单独消融每个头的影响" in app.page.locator(".st-key-importance_effect_map").inner_text()
    click_cell(app, 3, 0)
    app.wait_query("ablate", "1.1,3.0")
    app.wait_idle()
    assert_clean(app)
    app.shot("importance-zh-ranked")


def test_minilm_in_chinese_with_a_causal_mask(app):
    open_importance(app, "?lang=zh&ablate=1.3,3.7&causal=1")
    text = app.body_text()
    assert "句向量与原来的余弦相似度" in text and "因果" in text
    assert "每个头注意力权重的平均变化" in app.page.locator(".st-key-importance_change").inner_text()
    assert_clean(app)
    app.shot("importance-zh-causal")
