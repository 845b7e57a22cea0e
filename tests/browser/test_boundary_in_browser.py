"""The error boundary in a real browser: an injected failure is a message in words, the box stays, typing works.

Runs its own server on ``tests/browser/fault_app.py`` (the app with a failure injected whenever the sentence
contains FAIL-NOW, and ``?crash=1`` failing outside every boundary).
"""

from __future__ import annotations

import pytest

from harness.app_server import AppServer
from conftest import AppPage, FIRST_LOAD_TIMEOUT_MS, STEP_TIMEOUT_MS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fault_server(chromium_path):
    server = AppServer(script="tests/browser/fault_app.py")
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(f"could not start the app: {error}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def fault_app(browser, fault_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    yield AppPage(page, fault_server.url, [], [])
    context.close()


def test_injected_failure_is_a_message_and_the_next_edit_works(fault_app):
    app = fault_app
    app.goto()
    app.type_sentence("FAIL-NOW please")
    app.page.locator("[data-testid=stAlert]", has_text="Something went wrong").wait_for(timeout=STEP_TIMEOUT_MS)
    app.wait_idle()
    text = app.body_text()
    assert "injected-failure" not in text and "/srv/secret" not in text and "Traceback" not in text
    assert app.exception_count() == 0
    box = app.page.locator(".st-key-text input")
    assert box.count() == 1 and box.input_value() == "FAIL-NOW please"  # the input stays, as typed
    app.shot("error-boundary-message")
    app.type_sentence("Otters hold hands")
    app.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text')).some(t => t.textContent === 'otter')"
    )
    app.wait_idle()
    assert "Something went wrong" not in app.body_text()


def test_a_failure_outside_every_boundary_shows_no_details(fault_app):
    """client.showErrorDetails = "none": Streamlit's own box says nothing of the exception."""
    app = fault_app
    app.page.goto(app.base_url + "?crash=1")
    app.page.wait_for_function("() => document.body.innerText.length > 0", timeout=FIRST_LOAD_TIMEOUT_MS)
    app.page.locator("[data-testid=stException], [data-testid=stAlert]").first.wait_for(timeout=FIRST_LOAD_TIMEOUT_MS)
    text = app.body_text()
    app.shot("error-outside-boundary")
    assert "injected-failure" not in text and "/srv/secret" not in text
    assert "Traceback" not in text and "RuntimeError" not in text and "fault_app.py" not in text
