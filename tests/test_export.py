"""Exports hold exactly the figure the page shows: same data, same colours."""

import io
import json
import os
import re
import zipfile

import numpy as np
import pytest

import attnviz
from attnviz import plots
from attnviz.export import capture_npz, figure_html, figure_image
from apptest_utils import array

needs_chromium = pytest.mark.skipif(
    not os.path.exists("/usr/bin/chromium") and os.environ.get("ATTNVIZ_REQUIRE_BROWSER") != "1",
    reason="kaleido renders with Chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def causal_figure(minilm):
    cap = attnviz.capture("the cat sat", minilm, causal=True)
    fig = plots.head_heatmap(cap.pattern(0)[0], cap.tokens, scores=cap.scores(0)[0], allowed=cap.mask(0), title="L0 H0")
    return cap, fig


def test_html_export_embeds_the_same_figure(causal_figure):
    cap, fig = causal_figure
    html = figure_html(fig)
    assert "<html" in html and "plotly" in html.lower()
    page_spec = json.loads(fig.to_json())  # what st.plotly_chart sends to the browser
    data_json = re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S).group(1)
    exported = json.loads(data_json)[0]
    np.testing.assert_array_equal(array(exported["z"]), array(page_spec["data"][0]["z"]))
    z = array(exported["z"])
    assert np.isnan(z[0, 1]) and np.isclose(z[0, 0], 1.0)


def test_npz_export_round_trips(causal_figure):
    cap, _ = causal_figure
    data = np.load(io.BytesIO(capture_npz(cap)))
    assert set(data.files) == set(cap)
    np.testing.assert_array_equal(data["blocks.3.attn.hook_pattern"], cap.pattern(3))
    assert zipfile.is_zipfile(io.BytesIO(capture_npz({"a": np.zeros(2)})))


@needs_chromium
def test_png_and_svg_show_the_masked_and_attended_cells(causal_figure):
    from PIL import Image

    _, fig = causal_figure
    svg = figure_image(fig, "svg").decode()
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:500]
    png = figure_image(fig, "png", scale=1)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    # locate the plot area from the rendered figure's own layout
    full = fig.full_figure_for_development(warn=False)
    x0, x1 = full.layout.xaxis.domain
    y0, y1 = full.layout.yaxis.domain
    margin, width, height = full.layout.margin, image.width, image.height
    plot_w = width - margin.l - margin.r
    plot_h = height - margin.t - margin.b
    n = 5  # [CLS] the cat sat [SEP]

    def cell_colour(row, col):
        x = margin.l + plot_w * (x0 + (x1 - x0) * (col + 0.5) / n)
        y = margin.t + plot_h * (1 - y1 + (y1 - y0) * (row + 0.5) / n)
        return np.array(image.getpixel((int(x), int(y))))

    grey = np.array([0xD0, 0xD0, 0xD0])
    assert np.abs(cell_colour(0, 4) - grey).max() < 8  # above the diagonal: masked, drawn grey
    assert cell_colour(0, 0)[2] > 80 and cell_colour(0, 0)[0] < 60  # [CLS] -> [CLS] weight 1: dark blue
