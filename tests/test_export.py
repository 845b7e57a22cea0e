"""Exports hold exactly the figure the page shows: same data, same colours."""

import io
import json
import os
import re
import zipfile

import numpy as np
import pytest

import attnviz
from attnviz.figures import attention as plots
from attnviz.export import capture_npz, figure_html, figure_image
from apptest_utils import array

needs_chromium = pytest.mark.skipif(
    not os.path.exists("/usr/bin/chromium") and os.environ.get("ATTNVIZ_REQUIRE_BROWSER") != "1",
    reason="kaleido renders with Chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def causal_figure(minilm):
    cap = attnviz.capture("the cat sat", minilm, causal=True)
    fig = plots.map_heatmap(cap.pattern(0)[0], cap.tokens, scores=cap.scores(0)[0], allowed=cap.mask(0), title="L0 H0")
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


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
@needs_chromium
def test_png_and_svg_show_the_masked_cells(minilm, causal_figure):
    from PIL import Image

    def grey_and_dark_pixels(fig):
        image = np.asarray(Image.open(io.BytesIO(figure_image(fig, "png", scale=1))).convert("RGB")).astype(int)
        grey = (np.abs(image - 0xD0) <= 3).all(axis=-1).sum()
        dark_blue = ((image[..., 2] > 80) & (image[..., 0] < 40)).sum()
        return grey, dark_blue

    cap, causal = causal_figure
    plain_cap = attnviz.capture("the cat sat", minilm)
    plain = plots.map_heatmap(plain_cap.pattern(0)[0], plain_cap.tokens, allowed=plain_cap.mask(0), title="L0 H0")
    causal_grey, causal_dark = grey_and_dark_pixels(causal)
    plain_grey, _ = grey_and_dark_pixels(plain)
    # 10 of the 25 cells are masked above the diagonal: a large grey area that the unmasked map lacks
    assert causal_grey > 20 * plain_grey + 5000
    assert causal_dark > 500  # [CLS] -> [CLS] holds weight 1: a dark blue cell
    svg = figure_image(causal, "svg").decode()
    assert "<svg" in svg[:500] and "rgb(208, 208, 208)" in svg.replace("#d0d0d0", "rgb(208, 208, 208)")


def test_exports_at_once_share_one_browser():
    """Four students click PNG at once: they wait in the shared renderer's line rather than each starting a
    Chromium (before: about 12 processes apiece, 42 for four)."""
    import threading

    import psutil

    def browsers() -> int:
        return sum("chrom" in child.name().lower() for child in psutil.Process().children(recursive=True))

    fig = plots.map_heatmap(np.eye(4), ["a", "b", "c", "d"], title="shared")
    assert figure_image(fig, "png", scale=1)[:4] == b"\x89PNG"
    one = browsers()
    assert one > 0
    counts, images = [], []
    done = threading.Event()

    def watch():
        while not done.is_set():
            counts.append(browsers())
            done.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    clicks = [threading.Thread(target=lambda: images.append(figure_image(fig, "png", scale=1))) for _ in range(4)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    done.set()
    watcher.join()
    assert len(images) == 4 and all(image[:4] == b"\x89PNG" for image in images)
    assert max(counts) <= one  # no browser started for the four


def test_the_export_line_takes_one_export_per_session_and_a_few_in_all():
    """A student who clicks PNG fifty times holds one place in the export line, not fifty threads of the server;
    when every place is taken the next click is refused at once (the browser says it failed), and a place frees
    as its export is done, however it ends."""
    from attnviz.export import ExportBusy, ExportLine

    line = ExportLine(places=3)
    with line.place("student-a"):
        with pytest.raises(ExportBusy, match="previous export"):
            line.run("student-a", lambda: pytest.fail("prepared twice"))
        with line.place("student-b"), line.place(None):  # a notebook's export counts, but is nobody's
            assert line.taken == 3
            with pytest.raises(ExportBusy, match="Other exports"):
                line.run("student-c", lambda: pytest.fail("prepared beyond the line"))
        assert line.run("student-c", lambda: b"png") == b"png"  # b's export is done: c gets its place
    with pytest.raises(RuntimeError):
        line.run("student-a", lambda: (_ for _ in ()).throw(RuntimeError("the renderer failed")))
    assert line.taken == 0  # a failed export gives its place back
    assert line.run("student-a", lambda: 1) == 1
