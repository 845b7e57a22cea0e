"""End-to-end: a teacher steps through a shipped lesson in the presenter and switches language."""

from __future__ import annotations

import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, STEP_TIMEOUT_MS

from attnviz.lessons import load_lesson, shipped_lessons

pytestmark = pytest.mark.browser

JS_H1 = "() => { const h = document.querySelector('[data-testid=stMainBlockContainer] h1'); return h ? h.textContent.trim() : null; }"
JS_PLOTS = "() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd => gd._fullData && gd._fullData.length).length"


def wait_title(app, title: str, timeout: float = STEP_TIMEOUT_MS) -> None:
    app.page.wait_for_function(f"(want) => ({JS_H1})() === want", arg=title, timeout=timeout)
    app.page.wait_for_function(f"() => ({JS_PLOTS})() > 0", timeout=timeout)
    app.wait_idle(timeout=timeout)


def test_step_through_the_masks_lesson_and_switch_to_chinese(app):
    slides = load_lesson(shipped_lessons()["2_masks"]).slides
    app.page.set_viewport_size({"width": 1280, "height": 720})  # a projector
    app.page.goto(app.base_url + "Presenter?lesson=2_masks&lang=en")
    wait_title(app, slides[0].title["en"], timeout=FIRST_LOAD_TIMEOUT_MS)
    for slide in slides[1:]:
        app.page.get_by_role("button", name="Next ▶").click()
        wait_title(app, slide.title["en"])
        app.wait_query("slide", str(slide.number))
        assert app.exception_count() == 0
        if slide.number == 3:
            app.shot("presenter-en-causal", full_page=False)
    assert app.page.get_by_role("button", name="Next ▶").is_disabled()

    app.page.locator("[data-testid=stSidebarCollapsedControl] button, [data-testid=stExpandSidebarButton]").first.click()
    app.page.get_by_text("中文", exact=True).click()
    wait_title(app, slides[-1].title["zh"])
    app.wait_query("lang", "zh")
    assert app.page.get_by_role("button", name="◀ 上一页").is_visible()
    app.page.get_by_role("button", name="◀ 上一页").click()
    wait_title(app, slides[-2].title["zh"])
    body = app.body_text()
    assert slides[-2].explanation["zh"][:12] in body
    assert "Previous" not in body and "Next" not in body
    app.shot("presenter-zh", full_page=False)
    assert app.exception_count() == 0 and not app.dialogs
