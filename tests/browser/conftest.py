"""Fixtures for the end-to-end tests: one Streamlit server and one headless Chromium per session.

The app runs as ``streamlit run app.py`` on a free port (see ``harness/app_server.py``).
Chromium is Debian's ``/usr/bin/chromium``; when it is missing the tests skip, unless
``ATTNVIZ_REQUIRE_BROWSER=1`` asks for a hard failure.  Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"

from harness.app_server import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402
from harness.browser import JS_CELL_CENTRE, JS_IDLE, STEP_TIMEOUT_MS  # noqa: E402, F401  (the browser tests import them from here)

FIRST_LOAD_TIMEOUT_MS = 120_000  # the first page load imports torch and loads the model

# --- JavaScript run inside the page --------------------------------------------------------

# The live Plotly graph div of a keyed st.plotly_chart.
JS_GD = """(key) => document.querySelector('.st-key-' + key + ' .js-plotly-plot')"""

# The heatmap's z as nested plain arrays, NaN -> null.  Plotly 3 keeps the decoded typed arrays
# in _fullData; gd.data may still hold the {dtype, bdata, shape} form sent by Python, which we
# decode ourselves as a fallback.
JS_TRACE_Z = """(args) => {
  const [key, which] = args;  // which: trace index, negative counts from the end
  const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  if (!gd || !gd._fullData || !gd._fullData.length) return null;
  const trace = gd._fullData[which < 0 ? gd._fullData.length + which : which];
  let z = trace ? trace.z : null;
  if (!z) return null;
  if (z.bdata !== undefined) {
    const bytes = Uint8Array.from(atob(z.bdata), c => c.charCodeAt(0));
    const Ctor = {f4: Float32Array, f8: Float64Array}[z.dtype];
    const flat = new Ctor(bytes.buffer);
    const [rows, cols] = typeof z.shape === 'string' ? z.shape.split(',').map(Number) : z.shape;
    z = Array.from({length: rows}, (_, i) => flat.subarray(i * cols, (i + 1) * cols));
  }
  return Array.from(z, row => Array.from(row, v => (v === null || v === undefined || Number.isNaN(v)) ? null : Number(v)));
}"""
JS_Z = f"""(key) => ({JS_TRACE_Z})([key, 0])"""

JS_TICKS = """(args) => {
  const [key, axis] = args;
  return Array.from(document.querySelectorAll('.st-key-' + key + ' .' + axis + 'tick text'), t => t.textContent);
}"""

# A keyed chart is drawn: Plotly laid out its traces and its SVG is in the page.
JS_DRAWN = """(key) => { const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  return !!(gd && gd._fullData && gd._fullData.length && gd.querySelector('svg.main-svg')); }"""
JS_TITLE = (
    """(key) => { const t = document.querySelector('.st-key-' + key + ' .gtitle'); return t ? t.textContent : null; }"""
)


class AppPage:
    """A Playwright page on the running app, with the few reads and actions the tests need."""

    def __init__(self, page, base_url: str, dialogs: list, page_errors: list):
        self.page = page
        self.base_url = base_url
        self.dialogs = dialogs
        self.page_errors = page_errors

    # navigation -------------------------------------------------------------------------
    def goto(self, query: str = "", *, expect_heatmap: bool = True) -> None:
        self.page.goto(self.base_url + query)
        if expect_heatmap:
            self.wait_heatmap(timeout=FIRST_LOAD_TIMEOUT_MS)
        else:
            self.wait_idle(timeout=FIRST_LOAD_TIMEOUT_MS)

    def wait_heatmap(self, timeout: float = STEP_TIMEOUT_MS) -> None:
        self.page.wait_for_function(
            "(key) => { const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');"
            " return !!(gd && gd._fullData && gd._fullData.length && document.querySelector('.st-key-' + key + ' .ytick text')); }",
            arg="head_heatmap",
            timeout=timeout,
        )
        self.wait_idle(timeout=timeout)

    def wait_idle(self, timeout: float = STEP_TIMEOUT_MS) -> None:
        """The script has run at least once and is not running now (no 'Running…' status widget)."""
        self.page.wait_for_function(JS_IDLE, timeout=timeout)

    # reads ------------------------------------------------------------------------------
    def z(self, key: str = "head_heatmap") -> list[list[float | None]] | None:
        return self.page.evaluate(JS_Z, key)

    def ticks(self, axis: str = "y", key: str = "head_heatmap") -> list[str]:
        return self.page.evaluate(JS_TICKS, [key, axis])

    def title(self, key: str = "head_heatmap") -> str | None:
        return self.page.evaluate(JS_TITLE, key)

    def slider_value(self, key: str) -> int:
        return int(self.page.locator(f".st-key-{key} input[type=range]").input_value())

    def exception_count(self) -> int:
        return self.page.locator("[data-testid=stException]").count()

    def body_text(self) -> str:
        return self.page.locator("body").inner_text()

    # actions ----------------------------------------------------------------------------
    def type_sentence(self, text: str) -> None:
        box = self.page.locator(".st-key-text input")
        box.fill(text)
        box.press("Enter")

    def set_checkbox(self, key: str, checked: bool) -> None:
        box = self.page.locator(f".st-key-{key} input[type=checkbox]")
        if box.is_checked() != checked:
            self.page.locator(f".st-key-{key} label").first.click()
        self.page.wait_for_function(
            "([key, want]) => { const b = document.querySelector('.st-key-' + key + ' input[type=checkbox]'); return b && b.checked === want; }",
            arg=[key, checked],
            timeout=STEP_TIMEOUT_MS,
        )

    def wait_for_z(self, predicate_js: str, arg=None, timeout: float = STEP_TIMEOUT_MS) -> None:
        """Wait until ``predicate_js`` (a JS function of (z, arg)) holds for the heatmap's z."""
        self.page.wait_for_function(
            f"""([arg]) => {{ const z = ({JS_Z})('head_heatmap'); if (!z) return false; return ({predicate_js})(z, arg); }}""",
            arg=[arg],
            timeout=timeout,
        )

    def wait_query(self, key: str, value: str | None, timeout: float = STEP_TIMEOUT_MS) -> None:
        """Wait until the page URL's query has ``key=value`` (``value=None``: ``key`` absent).

        The app writes the URL at the end of its script run, after the plots were sent.
        """
        self.page.wait_for_function(
            "([key, value]) => new URLSearchParams(location.search).get(key) === value",
            arg=[key, value],
            timeout=timeout,
        )

    def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("ATTNVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and ATTNVIZ_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


_SERVER: AppServer | None = None


@pytest.fixture(scope="session")
def app_server(chromium_path):
    global _SERVER
    server = AppServer()
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(f"could not start the app: {error}", pytrace=False)
    _SERVER = server
    yield server
    server.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "streamlit-server.log").write_text(server.log())
    _SERVER = None


@pytest.fixture(scope="session")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app(browser, app_server, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    dialogs: list[str] = []
    page_errors: list[str] = []

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    yield AppPage(page, app_server.url, dialogs, page_errors)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
        except Exception:  # the page may be gone; the report already says why
            pass
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.failed and _SERVER is not None and "app" in getattr(item, "fixturenames", ()):
        tail = _SERVER.log()[-6000:]
        report.sections.append(("streamlit server log (tail)", tail or "(empty)"))
