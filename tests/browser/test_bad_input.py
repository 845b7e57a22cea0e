"""Bad input in the browser: every case ends in a clear message or a correct render, never a traceback.

Each test also fails on a JS dialog (alert/confirm/prompt) and checks that markup in the text
stays text: tick labels show it literally and no element is created from it.
"""

from __future__ import annotations

import urllib.parse

import pytest

from ui.long_maps import LONG_MAP_BLOCKS

pytestmark = pytest.mark.browser

MARKUP = "<script>alert(1)</script><b>bold</b> <img src=x onerror=alert(2)>"
CONTROL = "abc\x07\x1b[31mred"

# Elements that token text could have created inside the plots if it were rendered as HTML.
# Plotly turns <b> in labels into a bold <tspan>; the app's own title is bold on purpose, so only
# tick labels and hover text are searched.
JS_INJECTED = """() => {
  const found = [];
  for (const sel of ['.st-key-head_heatmap .xtick', '.st-key-head_heatmap .ytick']) {
    for (const el of document.querySelectorAll(sel + ' *')) {
      const bold = /bold/.test((el.getAttribute('style') || '') + (el.getAttribute('font-weight') || ''));
      const tag = el.tagName.toLowerCase();
      if (!(tag === 'text' || tag === 'path' || tag === 'line' || (tag === 'tspan' && !bold))) found.push(el.outerHTML);
    }
  }
  for (const el of document.querySelectorAll('.st-key-head_heatmap .hoverlayer *')) {
    if (!['g', 'path', 'text', 'tspan', 'rect'].includes(el.tagName.toLowerCase())) found.push(el.outerHTML);
  }
  for (const img of document.querySelectorAll('img')) {
    if ((img.getAttribute('src') || '') === 'x' || img.hasAttribute('onerror')) found.push(img.outerHTML);
  }
  for (const s of document.querySelectorAll('script')) {
    if (/alert\\(/.test(s.textContent)) found.push(s.outerHTML);
  }
  return found;
}"""

# Bold pieces of the hover label: the app's template bolds exactly the two token names.
JS_HOVER_BOLD = """() => Array.from(document.querySelectorAll('.st-key-head_heatmap .hoverlayer tspan'))
  .filter(t => /bold/.test((t.getAttribute('style') || '') + (t.getAttribute('font-weight') || '')))
  .map(t => t.textContent)"""


def assert_no_crash(app):
    assert app.exception_count() == 0, "a Streamlit exception box is on the page"
    text = app.body_text()
    assert "Traceback" not in text
    assert app.dialogs == [], f"a JS dialog fired: {app.dialogs}"


def alerts_text(app) -> str:
    return " ".join(app.page.locator("[data-testid=stAlert]").all_inner_texts())


def open_with_text(app, text: str, *, expect_heatmap: bool = True) -> None:
    app.goto("?text=" + urllib.parse.quote(text, safe=""), expect_heatmap=expect_heatmap)


def assert_heatmap_consistent(app) -> list[str]:
    ticks = app.ticks("y")
    z = app.z()
    assert ticks and z, "no heatmap drawn"
    assert ticks[0] == "[CLS]" and ticks[-1] == "[SEP]"
    keys = app.ticks("x")  # every k-th key where all would touch in the map's column on a 1280 × 720 screen
    assert any(keys == ticks[::k] for k in range(1, len(ticks) + 1)), keys
    assert len(z) == len(ticks) and all(len(row) == len(ticks) for row in z)
    assert all(v is not None for row in z for v in row), "nothing is masked, so no cell may be blank"
    return ticks


@pytest.mark.parametrize("text", ["", "   \t  "], ids=["empty", "whitespace"])
def test_empty_text_gives_message(app, text):
    app.goto()
    box = app.page.locator(".st-key-text input")
    box.fill(text)
    box.press("Enter")
    app.page.wait_for_function("() => !document.querySelector('.st-key-head_heatmap')")
    app.wait_idle()
    message = alerts_text(app)
    assert "empty" in message or "spaces" in message, f"no clear message, alerts: {message!r}"
    assert app.page.locator(".st-key-head_heatmap").count() == 0
    app.shot(f"bad-{'empty' if text == '' else 'whitespace'}")
    assert_no_crash(app)


def test_whitespace_only_from_url(app):
    open_with_text(app, "  \n\t ", expect_heatmap=False)
    app.page.locator("[data-testid=stAlert]").first.wait_for()
    assert app.page.locator(".st-key-head_heatmap").count() == 0
    message = alerts_text(app)
    assert "empty" in message or "spaces" in message, f"no clear message, alerts: {message!r}"
    assert_no_crash(app)


def test_5000_words_is_cut_to_512_tokens(app):
    words = "the quick brown fox jumps over the lazy dog while students watch attention heads".split()
    text = " ".join(words[i % len(words)] for i in range(5000))
    app.goto()
    app.type_sentence(text)  # 5,000 words in the URL of a GET would be ~36 kB; typing is what a user does
    app.page.wait_for_function(
        "() => document.querySelectorAll('.st-key-head_heatmap .ytick text').length > 0"
        " && Array.from(document.querySelectorAll('[data-testid=stAlert]')).some(a => /512/.test(a.innerText))",
        timeout=90_000,
    )
    app.wait_idle(timeout=90_000)
    message = alerts_text(app)
    assert "5,002 tokens" in message and "at most 512" in message, message
    assert "A long text (512 tokens)" in app.body_text()  # drawn in exact blocks (ui.long_maps), zoomable
    z = app.z()
    assert len(z) == LONG_MAP_BLOCKS and all(len(row) == LONG_MAP_BLOCKS for row in z)
    ticks = app.ticks("y")
    assert ticks[0] == "0" and all(t.isdigit() for t in ticks)  # blocks of tokens: the axes name text positions
    app.shot("bad-5000-words")
    assert_no_crash(app)


def test_emoji(app):
    open_with_text(app, "I love 🍕 and 🚀")
    ticks = assert_heatmap_consistent(app)
    assert ticks == ["[CLS]", "i", "love", "[UNK]", "and", "[UNK]", "[SEP]"]
    assert_no_crash(app)


def test_cjk(app):
    open_with_text(app, "狗追猫。猫追狗。")
    ticks = assert_heatmap_consistent(app)
    # The model's vocabulary lacks these characters: one [UNK] per character, the full stops survive.
    assert ticks[1:-1] == ["[UNK]"] * 3 + ["。"] + ["[UNK]"] * 3 + ["。"]
    app.shot("bad-cjk")
    assert_no_crash(app)


def test_control_characters(app):
    open_with_text(app, CONTROL)
    ticks = assert_heatmap_consistent(app)
    assert ticks == ["[CLS]", "abc", "[", "31", "‿m", "‿red", "[SEP]"]
    assert not any(ord(c) < 32 for t in ticks for c in t)
    assert "Removed 2 control character" in alerts_text(app)
    assert_no_crash(app)


def test_control_characters_typed_with_fill(app):
    app.goto()
    app.type_sentence("tab\there\x07bell")
    app.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text'), t => t.textContent).includes('‿bell')"
    )
    app.wait_idle()
    # the tab becomes a space; the BEL is dropped, which glues "here" and "bell" into one word
    assert app.ticks("y") == ["[CLS]", "tab", "here", "‿bell", "[SEP]"]
    assert "Removed 1 control character" in alerts_text(app)
    assert_no_crash(app)


@pytest.mark.parametrize("how", ["url", "typed"])
def test_markup_stays_text(app, how):
    if how == "url":
        open_with_text(app, MARKUP)
    else:
        app.goto()
        app.type_sentence(MARKUP)
        app.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text'), t => t.textContent).includes('script')"
        )
        app.wait_idle()
    ticks = assert_heatmap_consistent(app)
    assert ticks[1:4] == ["<", "script", ">"]
    assert ticks.count("<") == 5 and "/" in ticks and "b" in ticks and "bold" in ticks and "=" in ticks
    # the raw DOM of a tick label holds an escaped "<", not a tag
    first_lt = app.page.evaluate(
        "() => Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text')).find(t => t.textContent === '<').innerHTML"
    )
    assert first_lt == "&lt;"
    assert app.page.evaluate(JS_INJECTED) == []
    # hover the cell query "bold" (row 15) -> key "b" (column 13): the hover label carries token text too
    n = len(ticks)
    assert ticks[15] == "bold" and ticks[13] == "b"
    drag = app.page.locator(".st-key-head_heatmap .nsewdrag").first
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    hovertext = app.page.locator(".st-key-head_heatmap .hoverlayer .hovertext")
    for attempt in range(20):  # Plotly may redraw once more after the first paint and drop the hover
        drag.hover(position={"x": box["width"] * 13.5 / n + attempt % 3, "y": box["height"] * 15.5 / n})
        if hovertext.count():
            break
        app.page.wait_for_timeout(250)
    hovertext.first.wait_for(state="attached", timeout=2_000)
    hover = hovertext.first.text_content()
    assert "query bold" in hover and "key b" in hover, hover
    assert app.page.evaluate(JS_HOVER_BOLD) == ["bold", "b"]
    assert app.page.evaluate(JS_INJECTED) == []
    app.page.wait_for_timeout(300)  # give an injected onerror/alert the chance to fire
    app.shot(f"bad-markup-{how}")
    assert_no_crash(app)
    # the text box shows the markup as the literal text the user gave
    assert app.page.locator(".st-key-text input").input_value() == MARKUP
