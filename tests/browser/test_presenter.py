"""End-to-end: a teacher steps through a shipped lesson in the presenter and switches language."""

from __future__ import annotations

import re

import pytest

from conftest import FIRST_LOAD_TIMEOUT_MS, STEP_TIMEOUT_MS

from attnviz.teaching.lessons import load_lesson, shipped_lessons

pytestmark = pytest.mark.browser

JS_H1 = "() => { const h = document.querySelector('[data-testid=stMainBlockContainer] h1'); return h ? h.textContent.trim() : null; }"
JS_PLOTS = "() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd => gd._fullData && gd._fullData.length).length"


def wait_title(app, title: str, timeout: float = STEP_TIMEOUT_MS) -> None:
    """The h1 reads ``title`` (an invisible non-joiner that keeps ":material/…:" from becoming an icon aside)."""
    app.page.wait_for_function(
        f"(want) => (({JS_H1})() || '').replaceAll('\\u200c', '') === want", arg=title, timeout=timeout
    )
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

    app.page.locator(
        "[data-testid=stSidebarCollapsedControl] button, [data-testid=stExpandSidebarButton]"
    ).first.click()
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


# --- a teacher's own file: titles and explanations are text, a bomb is refused ----------------

EVIL_TITLE = "[log in again](http://evil) ![x](http://img/x.png) **bold** :material/home:"
EVIL_LESSON_TITLE = "Lesson [home](http://evil/home) <b>b</b>"
EVIL_EXPLANATION = "First line.\n\n[click](http://evil2) ![i](http://img2/x.png)"  # a blank line ends an HTML block

# what the file planted, if it was read as Markdown/HTML (st.title's own "#slug" heading anchor is not)
JS_PLANTED = """() => ({
  links: Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href')).filter(h => h.includes('://evil')),
  images: Array.from(document.querySelectorAll('img[src]'), i => i.getAttribute('src')).filter(s => s.includes('://img')),
  bold: Array.from(document.querySelectorAll('[data-testid=stMainBlockContainer] b'), b => b.textContent).filter(t => t === 'b'),
  icons: document.querySelectorAll('[data-testid=stMainBlockContainer] h1 [data-testid=stIconMaterial]').length,
})"""


def lesson_file(name: str, text: str) -> dict:
    return {"name": name, "mimeType": "application/x-yaml", "buffer": text.encode("utf-8")}


def upload(app, payload: dict) -> None:
    app.page.locator("[data-testid=stSidebar] input[type=file]").set_input_files(payload)


def test_an_uploaded_lesson_shows_markdown_as_text_and_a_bomb_is_refused(app):
    import json

    q = json.dumps  # YAML double-quoted strings are JSON strings
    own = (
        f"title: {{en: {q(EVIL_LESSON_TITLE)}, zh: 我的课程}}\n"
        "slides:\n"
        f"  - title: {{en: {q(EVIL_TITLE)}, zh: 标题}}\n"
        f"    explanation: {{en: {q(EVIL_EXPLANATION)}, zh: 看每一行。}}\n"
        "    view: head\n"
        "    text: the cat sat\n"
    )
    first = load_lesson(shipped_lessons()["2_masks"]).slides[0]
    app.page.goto(app.base_url + "Presenter?lesson=2_masks&lang=en")
    wait_title(app, first.title["en"], timeout=FIRST_LOAD_TIMEOUT_MS)

    upload(app, lesson_file("mine.yaml", own))
    wait_title(app, EVIL_TITLE)  # the h1's text is the characters typed, brackets and all
    body = app.body_text()
    assert EVIL_LESSON_TITLE in body and "[click](http://evil2) ![i](http://img2/x.png)" in body
    planted = app.page.evaluate(JS_PLANTED)
    assert planted == {"links": [], "images": [], "bold": [], "icons": 0}, planted
    assert app.exception_count() == 0
    app.shot("presenter-own-lesson", full_page=False)

    lines = [
        "title: {en: T, zh: 标题}",
        "slides:",
        "  - title: {en: a, zh: b}",
        "    explanation: {en: a, zh: b}",
        "    view:",
    ]
    lines.append('      - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]')  # line 6
    lines += [f"      - &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]" for i in range(9)]
    upload(app, lesson_file("bomb.yaml", "\n".join(lines) + "\n"))
    alert = app.page.locator("[data-testid=stAlert]").filter(has_text="anchors and aliases")
    alert.wait_for(timeout=STEP_TIMEOUT_MS)
    message = alert.inner_text()
    assert (
        "bomb.yaml: line 6: anchors and aliases (&name, *name) are not allowed in a lesson" in message
        and len(message) < 300
    )
    app.wait_idle()
    assert app.exception_count() == 0 and not app.dialogs and not app.page_errors

    upload(app, {"name": "huge.yaml", "mimeType": "application/x-yaml", "buffer": b"#" * (1024 * 1024 + 1)})
    app.page.get_by_text(re.compile(r"1(\.0)? ?MB")).first.wait_for(timeout=STEP_TIMEOUT_MS)  # the uploader's own limit
