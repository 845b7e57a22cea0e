"""The class password in a real browser, on a server started with one (as `make class` starts it).

A link to a page other than the main one showed "Page not found" over the password form, and after the password
the page and the link's settings were lost. Now the form shows at every page's path, and the same link opens its
page with its settings once the password is typed, while another student is already in.
"""

from __future__ import annotations

import pytest

from harness.app_server import AppServer

pytestmark = pytest.mark.browser

PASSWORD = "otters-2026"
LINK = "Word_order?order_a=the+owl+sees+the+cat&order_b=the+cat+sees+the+owl"


@pytest.fixture(scope="module")
def gated_server(chromium_path):
    mp = pytest.MonkeyPatch()
    mp.setenv("ATTNVIZ_PASSWORD", PASSWORD)
    try:
        with AppServer(extra_args=["--server.maxUploadSize", "1"]) as server:
            yield server
    finally:
        mp.undo()


def type_password(page) -> None:
    page.wait_for_selector("input[type=password]", timeout=120_000)
    page.fill("input[type=password]", PASSWORD)
    page.keyboard.press("Enter")


def test_a_link_to_another_page_survives_the_password(browser, gated_server):
    first = browser.new_context().new_page()  # a student already in
    first.goto(gated_server.url)
    type_password(first)
    first.wait_for_selector(".js-plotly-plot", timeout=120_000)

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(gated_server.url + LINK)
    page.wait_for_selector("input[type=password]", timeout=120_000)
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator(".js-plotly-plot").count() == 0  # nothing of the app before the password
    type_password(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('input[type=text]')].some(e => e.value === 'the owl sees the cat')",
        timeout=120_000,
    )
    values = page.eval_on_selector_all("input[type=text]", "els => els.map(e => e.value)")
    assert "the cat sees the owl" in values and page.url.endswith(LINK)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)  # Word order draws its maps
    page.context.close()
    first.context.close()
