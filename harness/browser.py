"""What a Playwright test or benchmark does on the app's maps: find a heatmap cell on screen, drag a box, wait for
the zoom the box asked for. ``app`` is a page wrapper with ``page`` (Playwright's) and ``wait_idle()``."""

from __future__ import annotations

STEP_TIMEOUT_MS = 30_000  # one rerun after an interaction, on a busy 2-core machine

# The script has run at least once and is not running now (no 'Running…' status widget).
JS_IDLE = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || !document.querySelector('[data-testid=stMainBlockContainer] [data-testid=stElementContainer]')) return false;
  return app.getAttribute('data-test-script-state') === 'notRunning'
      && !document.querySelector('[data-testid=stStatusWidget] [data-testid=stStatusWidgetRunningIcon]');
}"""

# The pixel position of data point (x, y) of a keyed chart (a heatmap cell's centre), from Plotly's own axes.
JS_CELL_CENTRE = """([key, x, y]) => { const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return [box.left + xa.l2p(x), box.top + ya.l2p(y)]; }"""


def drag(app, start: tuple[int, int], end: tuple[int, int]) -> None:
    """Drag a box over the head's map from (key, query) ``start`` to ``end``, in token positions."""
    first, last = (
        app.page.evaluate(JS_CELL_CENTRE, ["head_heatmap", *start]),
        app.page.evaluate(JS_CELL_CENTRE, ["head_heatmap", *end]),
    )
    app.page.mouse.move(*first)
    app.page.mouse.down()
    app.page.mouse.move(*last, steps=8)
    app.page.mouse.up()


def wait_zoom(app, before: str | None) -> tuple[tuple[int, int], tuple[int, int]]:
    """The zoom the URL holds once it differs from ``before`` and the page has redrawn."""
    app.page.wait_for_function(
        "(before) => { const z = new URLSearchParams(location.search).get('zoom'); return z && z !== before; }",
        arg=before,
        timeout=STEP_TIMEOUT_MS,
    )
    app.page.wait_for_function("() => document.body.innerText.includes('Zoomed: queries')", timeout=STEP_TIMEOUT_MS)
    app.wait_idle()
    zoom = app.page.evaluate("() => new URLSearchParams(location.search).get('zoom')")
    return tuple(tuple(int(x) for x in part.split("-")) for part in zoom.split(","))
