"""No page makes a request that leaves the machine: a classroom's network (or none) sees nothing of a lesson.

A page's navigation icon becomes the browser tab's icon; a ``:material/...:`` one was fetched from
fonts.gstatic.com on every page a student opened (offline, a console error). The app's icons are emoji, drawn in the
page itself, and every font, script and style comes from the app's own server."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
PAGES = ["", "Compare_heads", "DCMHA", "Step_by_step", "Word_order", "Encoder_decoder", "Presenter", "Generation"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_page_requests_anything_from_outside_the_machine(app, lang):
    outside: list[str] = []
    app.page.on("request", lambda request: None if request.url.startswith(LOCAL) else outside.append(request.url))
    for path in [*PAGES, "Head_importance"]:
        app.page.goto(f"{app.base_url}{path}?lang={lang}")
        app.wait_idle(timeout=120_000)
        app.page.wait_for_timeout(500)  # a favicon or a late font is requested after the run
    assert outside == [], sorted(set(outside))
