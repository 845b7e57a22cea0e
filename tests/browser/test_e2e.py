"""End-to-end: the real app in headless Chromium, read back from the live Plotly graph in the page."""

from __future__ import annotations

import urllib.parse

import pytest

pytestmark = pytest.mark.browser

NEW_SENTENCE = "Zebras quietly ate purple carrots"
# all-MiniLM-L6-v2 is uncased WordPiece: "Zebras" -> zebra ##s, "carrots" -> carrot ##s (drawn "‿s": a continuation).
NEW_TOKENS = ["[CLS]", "zebra", "‿s", "quietly", "ate", "purple", "carrot", "‿s", "[SEP]"]

# JS predicates on the heatmap's z (nested arrays, masked cells = null).
JS_CAUSAL = """(z) => z.length > 2 && z.every((row, i) => row.every((v, j) => j > i ? v === null : v !== null))"""
JS_FULL = """(z) => z.length > 2 && z.every(row => row.every(v => v !== null))"""
JS_BAND = (
    """(z, w) => z.length > 2 && z.every((row, i) => row.every((v, j) => (Math.abs(i - j) < w) === (v !== null)))"""
)


def nonnull(z):
    return {(i, j) for i, row in enumerate(z) for j, v in enumerate(row) if v is not None}


def assert_clean(app):
    assert app.exception_count() == 0, "a Streamlit exception box is on the page"
    assert "Traceback" not in app.body_text()
    assert app.dialogs == [], f"unexpected JS dialogs: {app.dialogs}"


def test_default_page_renders(app):
    app.goto()
    ticks = app.ticks("y")
    z = app.z()
    assert ticks[0] == "[CLS]" and ticks[-1] == "[SEP]" and "animal" in ticks
    assert app.ticks("x") == ticks
    assert len(z) == len(ticks) and all(len(row) == len(ticks) for row in z)
    # unmasked softmax rows: all numbers, each row sums to 1
    for row in z:
        assert all(v is not None for v in row)
        assert abs(sum(row) - 1.0) < 1e-3
    assert app.title() == "Layer 0 · head 0"
    app.shot("e2e-default")
    assert_clean(app)


def test_new_sentence_updates_tick_labels(app):
    app.goto()
    before = app.ticks("y")
    assert "zebra" not in before
    app.type_sentence(NEW_SENTENCE)
    app.page.wait_for_function(
        "(want) => { const t = Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text'), e => e.textContent);"
        " return JSON.stringify(t) === JSON.stringify(want); }",
        arg=NEW_TOKENS,
    )
    assert app.ticks("y") == NEW_TOKENS
    assert app.ticks("x") == NEW_TOKENS
    z = app.z()
    assert len(z) == len(NEW_TOKENS) and all(len(row) == len(NEW_TOKENS) for row in z)
    app.wait_query("text", NEW_SENTENCE)
    app.shot("e2e-new-sentence")
    assert_clean(app)


def test_causal_toggle_empties_upper_triangle(app):
    app.goto()
    z = app.z()
    assert all(v is not None for row in z for v in row), "the default view must not be masked"
    app.set_checkbox("causal", True)
    app.wait_for_z(JS_CAUSAL)
    z = app.z()
    n = len(z)
    for i in range(n):
        for j in range(n):
            if j > i:
                assert z[i][j] is None, f"cell ({i},{j}) above the diagonal should be masked"
            else:
                assert isinstance(z[i][j], float | int), f"cell ({i},{j}) on/below the diagonal should be a number"
    # row 0 can only attend to itself
    assert abs(z[0][0] - 1.0) < 1e-4
    app.wait_query("causal", "1")
    app.shot("e2e-causal")
    app.set_checkbox("causal", False)
    app.wait_for_z(JS_FULL)
    assert nonnull(app.z()) == {(i, j) for i in range(n) for j in range(n)}
    app.wait_query("causal", None)
    assert_clean(app)


def test_window_slider_changes_band(app):
    app.goto()
    app.set_checkbox("use_window", True)
    assert app.slider_value("window") == 3
    app.wait_for_z(JS_BAND, 3)
    band3 = nonnull(app.z())
    slider = app.page.locator(".st-key-window").get_by_role("slider")
    assert slider.is_enabled()
    slider.focus()
    app.page.keyboard.press("ArrowRight")
    app.page.keyboard.press("ArrowRight")
    app.page.wait_for_function("() => document.querySelector('.st-key-window input[type=range]').value === '5'")
    app.wait_for_z(JS_BAND, 5)
    z = app.z()
    n = len(z)
    band5 = nonnull(z)
    assert band5 == {(i, j) for i in range(n) for j in range(n) if abs(i - j) < 5}
    assert band5 != band3 and band3 < band5
    app.wait_query("window", "5")
    app.wait_query("use_window", "1")
    app.shot("e2e-window-5")
    app.page.keyboard.press("ArrowLeft")
    app.wait_for_z(JS_BAND, 4)
    assert app.slider_value("window") == 4
    assert_clean(app)


def test_overview_click_selects_head(app):
    app.goto()
    assert (app.slider_value("layer"), app.slider_value("head")) == (0, 0)
    target_layer, target_head = 4, 9
    overview = app.page.locator(".st-key-overview .js-plotly-plot")
    overview.scroll_into_view_if_needed()
    # pixel centre of the thumbnail's scatter point, from the live figure's axes
    point = app.page.evaluate(
        """([layer, head]) => {
             const gd = document.querySelector('.st-key-overview .js-plotly-plot');
             const trace = gd._fullData.findIndex(t => t.type === 'scatter');
             const data = gd._fullData[trace];
             const idx = Array.from(data.customdata).findIndex(c => c[0] === layer && c[1] === head);
             const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
             const box = gd.getBoundingClientRect();
             return {x: box.left + xa._offset + xa.l2p(data.x[idx]), y: box.top + ya._offset + ya.l2p(data.y[idx]), idx};
           }""",
        [target_layer, target_head],
    )
    assert point["idx"] >= 0
    app.page.mouse.move(point["x"], point["y"])
    app.page.mouse.click(point["x"], point["y"])
    app.page.wait_for_function(
        "(want) => { const t = document.querySelector('.st-key-head_heatmap .gtitle'); return t && t.textContent === want; }",
        arg=f"Layer {target_layer} · head {target_head}",
    )
    app.wait_idle()
    assert app.slider_value("layer") == target_layer
    assert app.slider_value("head") == target_head
    app.wait_query("layer", str(target_layer))
    app.wait_query("head", str(target_head))
    app.shot("e2e-overview-click")
    assert_clean(app)


def test_url_opens_layer_head_and_causal(app):
    app.goto("?layer=3&head=7&causal=1")
    app.wait_for_z(JS_CAUSAL)
    assert app.title() == "Layer 3 · head 7"
    assert app.slider_value("layer") == 3
    assert app.slider_value("head") == 7
    assert app.page.locator(".st-key-causal input[type=checkbox]").is_checked()
    query = urllib.parse.parse_qs(urllib.parse.urlparse(app.page.url).query)
    assert query.get("layer") == ["3"] and query.get("head") == ["7"] and query.get("causal") == ["1"]
    app.shot("e2e-url-layer3-head7-causal")
    assert_clean(app)


def test_export_menu_builds_its_buttons_when_opened_and_downloads(app, tmp_path):
    import numpy as np

    app.goto()
    downloads = app.page.locator("[data-testid=stDownloadButton]")
    assert downloads.count() == 0  # closed menus hold no buttons: an edit does not rebuild a dozen of them
    app.page.locator(".st-key-head_heatmap__export button").first.click()
    app.page.get_by_role("button", name="Captured arrays (NPZ)").wait_for()
    assert downloads.count() == 4  # PNG, SVG, HTML, NPZ
    with app.page.expect_download() as info:
        app.page.get_by_role("button", name="Captured arrays (NPZ)").click()
    download = info.value
    assert download.suggested_filename == "head_heatmap.npz"
    path = tmp_path / "head_heatmap.npz"
    download.save_as(path)
    with np.load(path) as arrays:
        pattern = arrays["blocks.0.attn.hook_pattern"]
        tokens = list(arrays["tokens"])
    assert pattern.shape == (len(tokens), len(tokens))
    np.testing.assert_allclose(pattern.sum(-1), 1.0, atol=1e-5)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert_clean(app)


# Every tick label's box, against the figure's own box: computed margins must leave room for them.
JS_LABELS_INSIDE = """(key) => {
  const svg = document.querySelector('.st-key-' + key + ' .main-svg');
  const frame = svg.getBoundingClientRect();
  const out = [];
  for (const t of document.querySelectorAll('.st-key-' + key + ' .xtick text, .st-key-' + key + ' .ytick text')) {
    const r = t.getBoundingClientRect();
    if (r.left < frame.left - 0.5 || r.right > frame.right + 0.5 || r.top < frame.top - 0.5 || r.bottom > frame.bottom + 0.5)
      out.push(t.textContent);
  }
  return out;
}"""


@pytest.mark.parametrize(
    "text",
    [
        "Internationalization supercalifragilisticexpialidocious antidisestablishmentarianism",
        "中文标点。日本語のテキスト、한국어 텍스트",
        "I love 🍕 <b>bold</b> & <script>x</script>",
    ],
)
def test_tick_labels_fit_inside_the_live_maps(app, text):
    app.goto("?" + urllib.parse.urlencode({"text": text}))
    for key in ("head_heatmap", "overview"):
        assert app.page.evaluate(JS_LABELS_INSIDE, key) == [], f"labels cut off at the edge of {key}"
    assert_clean(app)
