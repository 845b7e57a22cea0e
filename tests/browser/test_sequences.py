"""What users do, in sequences: clear the box and type again, switch pages and come back, change the model.

Each state alone rendered fine; the crash (clear the sentence, then type: a KeyError on the layer slider and
the sentence box gone) only happened in sequence, because the run with an empty sentence drew no sliders and
Streamlit dropped their keys before the next fragment run.
"""

from __future__ import annotations

import pytest

from test_bad_input import alerts_text, assert_no_crash

pytestmark = pytest.mark.browser


def wait_title(app, fragment: str) -> None:
    app.page.wait_for_function(
        "(want) => { const t = document.querySelector('.st-key-head_heatmap .gtitle'); return !!t && t.textContent.includes(want); }",
        arg=fragment,
    )


def clear_sentence(app, text: str = "") -> None:
    box = app.page.locator(".st-key-text input")
    box.fill(text)
    box.press("Enter")
    app.page.wait_for_function("() => !document.querySelector('.st-key-head_heatmap')")
    app.wait_idle()


def type_and_wait(app, text: str, first_word: str) -> None:
    app.type_sentence(text)
    app.page.wait_for_function(
        "(w) => Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text')).some(t => t.textContent === w)",
        arg=first_word,
    )
    app.wait_idle()


@pytest.mark.parametrize("blank", ["", "    "], ids=["empty", "spaces"])
def test_clear_then_type_again_keeps_working_and_keeps_the_head(app, blank):
    app.goto("?layer=2&head=5")
    wait_title(app, "Layer 2 · head 5")
    clear_sentence(app, blank)
    assert "empty" in alerts_text(app) or "spaces" in alerts_text(app)
    assert app.page.locator(".st-key-text input").count() == 1, "the sentence box must stay on screen"
    type_and_wait(app, "Zebras eat purple carrots", "zebra")
    assert_no_crash(app)
    assert app.page.locator(".st-key-text input").count() == 1
    wait_title(app, "Layer 2 · head 5")  # the sliders' values survived the run that did not draw them
    assert app.slider_value("layer") == 2 and app.slider_value("head") == 5
    # and again: a second clear/type cycle, then an ordinary edit
    clear_sentence(app)
    type_and_wait(app, "Lions sleep standing up", "lions")
    type_and_wait(app, "Penguins cannot fly", "penguins")
    assert_no_crash(app)
    app.shot("sequence-clear-type-again")


def test_switch_page_and_come_back_keeps_the_view(app):
    app.goto("?layer=3&head=7")
    wait_title(app, "Layer 3 · head 7")
    type_and_wait(app, "Otters hold hands while sleeping", "otter")
    app.page.get_by_role("link", name="Compare heads").click()
    app.page.locator(".st-key-comparison .js-plotly-plot").wait_for()
    app.wait_idle()
    assert_no_crash(app)
    app.page.get_by_role("link", name="Attention").click()
    app.wait_heatmap()
    wait_title(app, "Layer 3 · head 7")
    assert "otter" in app.ticks("y")
    assert_no_crash(app)
    # clear on the main page, go away and back: the message and the box are there, and typing works
    clear_sentence(app)
    app.page.get_by_role("link", name="Step by step").click()
    app.page.wait_for_function("() => location.pathname.includes('Step_by_step')")
    app.page.locator("h1", has_text="Step by step").wait_for()
    app.wait_idle()
    app.page.get_by_role("link", name="Attention").click()
    app.page.wait_for_function("() => !location.pathname.includes('Step_by_step')")
    app.page.locator(".st-key-text input").wait_for()  # the box is back, even though the text is empty
    app.wait_idle()
    assert app.page.locator(".st-key-text input").count() == 1
    type_and_wait(app, "Bees dance to give directions", "bees")
    wait_title(app, "Layer 3 · head 7")
    assert_no_crash(app)


def test_change_model_mid_way_and_back(app):
    app.goto("?layer=5&head=11")
    wait_title(app, "Layer 5 · head 11")
    select = app.page.locator(".st-key-model")
    select.click()
    app.page.get_by_role("option", name="mha-tiny").click()
    # the character model has fewer layers and heads: the choice is clamped, not an error
    app.page.wait_for_function(
        "() => { const t = document.querySelector('.st-key-head_heatmap .gtitle'); return !!t && !t.textContent.includes('head 11'); }",
        timeout=120_000,
    )
    app.wait_idle()
    assert_no_crash(app)
    clear_sentence(app)
    type_and_wait(app, "abc", "a")
    assert_no_crash(app)
    select.click()
    app.page.get_by_role("option", name="all-MiniLM-L6-v2").click()
    app.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text')).some(t => t.textContent === '[CLS]')",
        timeout=60_000,
    )
    app.wait_idle()
    assert_no_crash(app)
