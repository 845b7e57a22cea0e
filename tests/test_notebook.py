"""attnviz in a notebook: ``show()`` outside one, and the tutorial run in a real kernel, then drawn offline in Chromium.

The kernel is this interpreter (the venv that ``make install`` fills from ``.[dev]``): a kernel spec pointing at
``sys.executable`` is written to a temporary directory named by ``JUPYTER_PATH``, which Jupyter searches before
the user's own kernels, and every directory Jupyter or IPython would write to is a temporary one too, so the test
touches nothing in the home directory and runs the same on a developer's machine and in CI.
"""

from __future__ import annotations

import base64
import html
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

import attnviz
from attnviz import notebook
from attnviz.capture import Capture
from attnviz.figures import capture_views
from attnviz.i18n import translate
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name

REPO = Path(__file__).resolve().parent.parent
TUTORIAL = REPO / "examples" / "tutorial.ipynb"
sys.path.insert(0, str(REPO / "benchmarks"))

from _app_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SENTENCE = "The animal didn't cross the street because it was too tired."
HOSTILE = "<img src=x onerror=alert(1)>"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def cap():
    return attnviz.capture(SENTENCE)


def synthetic_capture(tokens: list[str], n_layers: int = 2, n_heads: int = 3) -> Capture:
    """A causal capture of random patterns over ``tokens``, without a model: labels under test, not numbers."""
    rng = np.random.default_rng(0)
    n = len(tokens)
    allowed = np.tril(np.ones((n, n), dtype=bool))
    arrays = {"tokens": np.array(tokens, dtype=str), "token_ids": np.arange(n)}
    for layer in range(n_layers):
        scores = rng.normal(size=(n_heads, n, n)).astype(np.float32)
        weights = np.where(allowed, np.exp(scores), 0.0)
        arrays[hook_name("scores", layer)] = scores
        arrays[hook_name("mask", layer)] = allowed
        arrays[hook_name("pattern", layer)] = (weights / weights.sum(-1, keepdims=True)).astype(np.float32)
    return Capture(arrays, model_name="synthetic", n_layers=n_layers, n_heads=n_heads, spec=MaskSpec(causal=True),
                   special=np.zeros(n, bool), truncated=False, full_length=n, notices=[f"a notice about {HOSTILE}"])


def decoded(spec: dict) -> np.ndarray:
    """A Plotly base64 typed-array spec ({dtype, bdata, shape}) as a NumPy array."""
    values = np.frombuffer(base64.b64decode(spec["bdata"]), dtype={"f4": np.float32, "f8": np.float64}[spec["dtype"]])
    return values.reshape([int(n) for n in str(spec.get("shape", len(values))).split(",")])


# --- show() outside a notebook -------------------------------------------------------------------------------


def test_outside_a_notebook_show_returns_the_figures(cap):
    assert not notebook.in_notebook()
    figures = attnviz.show(cap, layer=1, head=2)
    assert list(figures) == list(notebook.DEFAULT_VIEWS)
    assert all(isinstance(fig, go.Figure) for fig in figures.values())
    head, grid = figures["head"], figures["grid"]
    assert head.layout.title.text == "Layer 1 · head 2"
    (heads,) = head.layout.sliders
    assert [step.label for step in heads.steps] == [str(h) for h in range(cap.n_heads)] and heads.active == 2
    (layers,) = grid.layout.sliders
    assert [step.label for step in layers.steps] == [str(l) for l in range(cap.n_layers)] and layers.active == 1
    panels = [annotation.text for annotation in figures["compare"].layout.annotations]
    assert panels[:2] == ["A: layer 1 · head 2", "B: layer 1 · head 3"]  # the chosen head and the next one


def test_a_slider_step_shows_exactly_what_the_builder_draws_for_that_head(cap):
    fig = capture_views.head_heatmap_slider(cap, layer=3, head=0)
    restyle, relayout = fig.layout.sliders[0].steps[7].args
    alone = capture_views.head_heatmap(cap, layer=3, head=7)
    np.testing.assert_array_equal(decoded(restyle["z"][0]), np.asarray(alone.data[0].z, dtype=np.float32))
    assert relayout["title"]["text"] == "Layer 3 · head 7"
    assert np.asarray(restyle["customdata"][0], dtype=object)[2, 4, 1] == cap.tokens[4]


def test_a_long_text_keeps_the_slider_to_the_heads_nearest_the_chosen_one(cap):
    one_map = len(capture_views.head_heatmap(cap, layer=0, head=11).to_json())
    fig = capture_views.head_heatmap_slider(cap, layer=0, head=11, budget_bytes=3 * one_map + 1)
    (slider,) = fig.layout.sliders
    assert [step.label for step in slider.steps] == ["9", "10", "11"] and slider.active == 2
    alone = capture_views.head_heatmap_slider(cap, layer=0, head=4, budget_bytes=1)
    assert [step.label for step in alone.layout.sliders[0].steps] == ["4"]


def test_show_captures_a_text_with_the_mask_asked_for():
    figures = attnviz.show("The cat sat on the mat.", causal=True, window=2, views="head")
    z = np.asarray(figures["head"].data[0].z, dtype=float)
    n = z.shape[0]
    rows, cols = np.indices((n, n))
    assert np.isnan(z[cols > rows]).all() and np.isnan(z[rows - cols >= 2]).all()  # grey: after, or 2+ back
    assert not np.isnan(z[(cols <= rows) & (rows - cols < 2)]).any()


def test_mask_arguments_with_a_capture_unknown_views_and_bad_heads_are_refused(cap):
    with pytest.raises(ValueError, match="own"):
        attnviz.show(cap, causal=True)
    with pytest.raises(ValueError, match="unknown view"):
        attnviz.show(cap, views=("head", "sankey"))
    with pytest.raises(ValueError, match="head must be 0 to 11"):
        attnviz.show(cap, head=12, views="head")
    with pytest.raises(TypeError):
        attnviz.show(42)


def test_chinese_translates_axis_titles_and_slider_labels(cap):
    figures = attnviz.show(cap, layer=0, head=1, lang="zh", views=("head", "grid", "compare", "similarity"))
    head = figures["head"]
    assert head.layout.xaxis.title.text == translate("plot.key_axis", "zh") == "键（被关注）"
    assert head.layout.yaxis.title.text == translate("plot.query_axis", "zh")
    assert head.layout.title.text == "第 0 层 · 第 1 个头"
    assert head.layout.sliders[0].currentvalue.prefix.startswith("头")
    assert figures["grid"].layout.sliders[0].currentvalue.prefix.startswith("层")
    assert figures["compare"].layout.annotations[2].text == translate("plot.difference", "zh")
    assert figures["similarity"].layout.xaxis.title.text == translate("analysis.head_axis", "zh")


def test_hostile_token_text_stays_escaped_in_every_output():
    tokens = ["[CLS]", HOSTILE, "</script><script>alert(2)</script>", "&amp;", "[SEP]"]
    capture = synthetic_capture(tokens)
    figures = attnviz.show(capture, views=("head", "grid", "overview", "compare"))
    # The labels are escaped by the builders, as on the app's pages...
    assert "&lt;img src=x onerror=alert(1)&gt;" in figures["head"].layout.yaxis.ticktext
    for fig in figures.values():
        bundle = notebook.figure_bundle(fig)
        page = bundle["text/html"]
        # ...and nothing of a token can close the script or open a tag in the notebook's HTML.
        assert "<img" not in page and "alert(2)</script>" not in page and page.count("</script>") == 1
        assert "&lt;" not in page.split("<script", 1)[1]  # inside the script, every < & > is a \u escape
        json.dumps(bundle[PLOTLY_MIME])  # the frontends' copy is plain JSON
    caption = notebook.caption_html(capture)
    assert "<img" not in caption and "&lt;img src=x onerror=alert(1)&gt;" in caption


def test_plotlyjs_goes_into_the_notebook_once_and_again_only_when_its_cell_reruns(monkeypatch):
    shown: list[dict] = []
    request = {"cell": "cell-a", "id": "run-1"}
    monkeypatch.setattr(notebook, "_display_raw", shown.append)
    monkeypatch.setattr(notebook, "_current_request", lambda: (request["cell"], request["id"]))
    monkeypatch.setattr(notebook, "_plotlyjs", notebook._PlotlyJsState())
    fig = capture_views.compare(synthetic_capture(["a", "b", "c"]), (0, 0), (1, 2))

    def plotlyjs_count() -> int:
        return sum(notebook.PLOTLYJS_MARKER in bundle["text/html"] for bundle in shown)

    notebook.show_figure(fig)
    notebook.show_figure(fig)  # the same cell, the same run
    assert plotlyjs_count() == 1 and sum(PLOTLY_MIME in bundle for bundle in shown) == 2
    request.update(cell="cell-b", id="run-2")  # a later cell: the page has it already
    notebook.show_figure(fig)
    assert plotlyjs_count() == 1
    request.update(cell="cell-a", id="run-3")  # the cell that held it runs again, so its output is replaced
    notebook.show_figure(fig)
    assert plotlyjs_count() == 2


def test_import_attnviz_does_not_import_ipython_or_the_figures():
    code = "import sys, attnviz; print(sorted(m for m in ('IPython', 'attnviz.figures', 'plotly.io') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_tutorial_is_saved_without_outputs():
    nb = json.loads(TUTORIAL.read_text(encoding="utf-8"))
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


# --- the tutorial in a real kernel ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def executed_tutorial(tmp_path_factory):
    """The tutorial run top to bottom by nbclient on this interpreter; (notebook, seconds)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")
    home = tmp_path_factory.mktemp("jupyter")
    kernelspec.write_kernel_spec(home / "data" / "kernels" / "attnviz-test", overrides={"display_name": "attnviz tests"})
    nb = nbformat.read(TUTORIAL, as_version=4)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(home / "data"))  # searched before the user's kernels
        env.setenv("JUPYTER_DATA_DIR", str(home / "data"))
        env.setenv("JUPYTER_CONFIG_DIR", str(home / "config"))  # no user configuration changes the run
        env.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))  # connection files
        env.setenv("IPYTHONDIR", str(home / "ipython"))  # the kernel's history database
        env.setenv("HF_HUB_OFFLINE", "1")
        client = nbclient.NotebookClient(nb, kernel_name="attnviz-test", timeout=180, startup_timeout=120,
                                         resources={"metadata": {"path": str(TUTORIAL.parent)}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    return nb, seconds


def outputs(nb) -> list[dict]:
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]


def test_the_tutorial_runs_top_to_bottom_without_errors_and_fast(executed_tutorial):
    nb, seconds = executed_tutorial
    pytest.importorskip("nbformat").validate(nb)  # the outputs are valid notebook JSON (no NaN), so it saves
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs(nb) if o.output_type == "error"]
    assert not errors
    # transformers imports tqdm.auto, which warns in any kernel without ipywidgets; nothing else may reach stderr
    warnings = [line for o in outputs(nb) if o.output_type == "stream" and o.name == "stderr"
                for line in o.text.splitlines() if line.strip() and "tqdm" not in line and "IProgress" not in line]
    assert not warnings
    figures = [o for o in outputs(nb) if PLOTLY_MIME in o.get("data", {})]
    assert len(figures) == 8  # show()'s 4 views, one figure, the masked head, the comparison, the similarity
    printed = "".join(o.text for o in outputs(nb) if o.output_type == "stream")
    assert "(12, 16, 16)" in printed  # cap["blocks.0.attn.hook_pattern"].shape
    assert seconds < 60, f"the tutorial took {seconds:.1f} s"


def outputs_page(nb) -> str:
    """The executed notebook as one HTML page, as an export shows it: each output's richest representation a
    browser can show without Jupyter (HTML, else an image, else text); notebook text escaped."""
    parts = ['<!DOCTYPE html><html><head><meta charset="utf-8"><title>attnviz tutorial</title></head><body style="max-width: 1100px">']
    for cell in nb.cells:
        parts.append(f'<pre class="{cell.cell_type}">{html.escape(cell.source)}</pre>')
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.output_type == "stream":
                parts.append(f"<pre>{html.escape(output.text)}</pre>")
            elif output.output_type == "error":
                parts.append(f'<pre class="error">{html.escape(output.evalue)}</pre>')
            elif "text/html" in data:
                parts.append(data["text/html"])
            elif "image/png" in data:
                parts.append(f'<img src="data:image/png;base64,{data["image/png"]}">')
            elif "text/plain" in data:
                parts.append(f"<pre>{html.escape(data['text/plain'])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("ATTNVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and ATTNVIZ_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


# Every drawn figure: its number of heatmap traces, of heatmap images (each a PNG data URL Plotly painted from
# the numbers) and whether its SVG is there.
JS_DRAWN = """() => Array.from(document.querySelectorAll('.js-plotly-plot'), gd => ({
  svg: !!gd.querySelector('svg.main-svg'),
  heatmaps: (gd._fullData || []).filter(t => t.type === 'heatmap' && t.visible !== false).length,
  images: Array.from(gd.querySelectorAll('g.hm image'), im => (im.getAttribute('href') || '').length),
  title: gd._fullLayout && gd._fullLayout.title ? gd._fullLayout.title.text : null,
}))"""


@pytest.fixture(scope="module")
def chromium(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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


@pytest.mark.browser
def test_the_saved_tutorial_draws_every_figure_offline_in_chromium(executed_tutorial, chromium, tmp_path):
    nb, _ = executed_tutorial
    n_figures = sum(PLOTLY_MIME in o.get("data", {}) for o in outputs(nb))
    source = outputs_page(nb)
    assert source.count(notebook.PLOTLYJS_MARKER) == 1
    assert source.count("* plotly.js v") == 1  # the library's banner: its code is in the page once
    offline = OfflinePage(chromium)
    page = offline.open(tmp_path / "tutorial.html", source)
    page.wait_for_function(
        "(n) => { const gds = document.querySelectorAll('.js-plotly-plot');"
        " return gds.length === n && Array.from(gds).every(gd => gd.querySelector('g.hm image')); }",
        arg=n_figures, timeout=60_000)
    drawn = page.evaluate(JS_DRAWN)
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
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')._fullLayout.title.text === 'Layer 2 · head 7'",
                           timeout=10_000)
    page.screenshot(path=str(tmp_path / "tutorial.png"), full_page=True)
    assert offline.external == [] and offline.errors == []


@pytest.mark.browser
def test_a_figure_above_plotlyjs_still_draws_and_one_without_it_says_why(chromium, tmp_path):
    """Cells run out of order put Plotly.js below a figure; a cleared output can take it away altogether."""
    fig = capture_views.compare(synthetic_capture(["a", "b", "c"]), (0, 0), (1, 2))
    offline = OfflinePage(chromium)
    page = offline.open(tmp_path / "above.html", notebook.figure_html(fig) + notebook.plotlyjs_html())
    page.wait_for_function("() => { const gd = document.querySelector('.js-plotly-plot'); return gd && gd.querySelector('g.hm image'); }",
                           timeout=30_000)
    page = offline.open(tmp_path / "without.html", notebook.figure_html(fig))
    assert "Plotly.js is not on this page" in page.locator(f".{notebook.FIGURE_CLASS}").inner_text()
    assert offline.external == [] and offline.errors == []
