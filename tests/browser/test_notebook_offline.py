"""The executed tutorial notebook, saved as HTML and opened in Chromium with every request off the machine refused:
every figure draws, Plotly.js is in the page once, and a slider works with no kernel behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnviz import notebook
from attnviz.figures import capture_views
from notebooks import PLOTLY_MIME, outputs, outputs_page, synthetic_capture

pytestmark = pytest.mark.browser

# Every drawn figure: its number of heatmap traces, of heatmap images (each a PNG data URL Plotly painted from
# the numbers) and whether its SVG is there.
JS_EVERY_FIGURE = """() => Array.from(document.querySelectorAll('.js-plotly-plot'), gd => ({
  svg: !!gd.querySelector('svg.main-svg'),
  heatmaps: (gd._fullData || []).filter(t => t.type === 'heatmap' && t.visible !== false).length,
  images: Array.from(gd.querySelectorAll('g.hm image'), im => (im.getAttribute('href') || '').length),
  title: gd._fullLayout && gd._fullLayout.title ? gd._fullLayout.title.text : null,
}))"""


class OfflinePage:
    """A Chromium page that lets only file: and data: URLs through, recording every other request, and every
    script error."""

    def __init__(self, browser):
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.route("**/*", self._offline)

    def _offline(self, route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:  # nothing may leave the machine: record it and refuse it
            self.external.append(route.request.url)
            route.abort()

    def open(self, path: Path, text: str):
        path.write_text(text, encoding="utf-8")
        self.page.goto(path.as_uri())
        return self.page


def test_the_saved_tutorial_draws_every_figure_offline_in_chromium(executed_tutorial, browser, tmp_path):
    nb, _ = executed_tutorial
    n_figures = sum(PLOTLY_MIME in o.get("data", {}) for o in outputs(nb))
    source = outputs_page(nb)
    assert source.count(notebook.PLOTLYJS_MARKER) == 1
    assert source.count("* plotly.js v") == 1  # the library's banner: its code is in the page once
    offline = OfflinePage(browser)
    page = offline.open(tmp_path / "tutorial.html", source)
    page.wait_for_function(
        "(n) => { const gds = document.querySelectorAll('.js-plotly-plot');"
        " return gds.length === n && Array.from(gds).every(gd => gd.querySelector('g.hm image')); }",
        arg=n_figures,
        timeout=60_000,
    )
    drawn = page.evaluate(JS_EVERY_FIGURE)
    assert len(drawn) == n_figures == page.locator(f".{notebook.FIGURE_CLASS}").count()
    for figure in drawn:
        assert figure["svg"] and figure["heatmaps"] >= 1, figure
        assert len(figure["images"]) == figure["heatmaps"] and min(figure["images"]) > 200, figure

    # The head view's slider works with no kernel behind it: click head 7 on its rail.
    head_view = page.locator(".js-plotly-plot").nth(0)
    assert drawn[0]["title"] == "Layer 2 · head 3"
    head_view.locator(".slider-container").scroll_into_view_if_needed()  # a mouse click lands in the viewport
    label = head_view.locator(".slider-labels text", has_text="7").first.bounding_box()
    rail = head_view.locator(".slider-rail-touch-rect").first.bounding_box()
    page.mouse.click(label["x"] + label["width"] / 2, rail["y"] + rail["height"] / 2)
    page.wait_for_function(
        "() => document.querySelector('.js-plotly-plot')._fullLayout.title.text === 'Layer 2 · head 7'", timeout=10_000
    )
    page.screenshot(path=str(tmp_path / "tutorial.png"), full_page=True)
    assert offline.external == [] and offline.errors == []


def test_a_figure_above_plotlyjs_still_draws_and_one_without_it_says_why(browser, tmp_path):
    """Cells run out of order put Plotly.js below a figure; a cleared output can take it away altogether."""
    fig = capture_views.compare(synthetic_capture(["a", "b", "c"]), (0, 0), (1, 2))
    offline = OfflinePage(browser)
    page = offline.open(tmp_path / "above.html", notebook.figure_html(fig) + notebook.plotlyjs_html())
    page.wait_for_function(
        "() => { const gd = document.querySelector('.js-plotly-plot'); return gd && gd.querySelector('g.hm image'); }",
        timeout=30_000,
    )
    page = offline.open(tmp_path / "without.html", notebook.figure_html(fig))
    assert "Plotly.js is not on this page" in page.locator(f".{notebook.FIGURE_CLASS}").inner_text()
    assert offline.external == [] and offline.errors == []
