"""attnviz in a notebook: ``show()`` outside one, and the tutorial run in a real kernel (tests/support/notebooks.py);
its offline drawing in Chromium is tests/browser/test_notebook_offline.py."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest

import attnviz
from attnviz import notebook
from attnviz.figures import capture_views
from attnviz.i18n import translate

from notebooks import HOSTILE, PLOTLY_MIME, TUTORIAL, outputs, synthetic_capture

SENTENCE = "The animal didn't cross the street because it was too tired."


@pytest.fixture(scope="module")
def cap():
    return attnviz.capture(SENTENCE)


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
    assert "&lt;img␣src=x␣onerror=alert(1)&gt;" in figures["head"].layout.yaxis.ticktext  # spaces drawn as ␣
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


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_import_attnviz_does_not_import_ipython_or_the_figures():
    code = (
        "import sys, attnviz; print(sorted(m for m in ('IPython', 'attnviz.figures', 'plotly.io') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_tutorial_is_saved_without_outputs():
    nb = json.loads(TUTORIAL.read_text(encoding="utf-8"))
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


# --- the tutorial in a real kernel ----------------------------------------------------------------------------


@pytest.mark.slow  # executes the tutorial notebook in a kernel
def test_the_tutorial_runs_top_to_bottom_without_errors_and_fast(executed_tutorial):
    nb, seconds = executed_tutorial
    pytest.importorskip("nbformat").validate(nb)  # the outputs are valid notebook JSON (no NaN), so it saves
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs(nb) if o.output_type == "error"]
    assert not errors
    # transformers imports tqdm.auto, which warns in any kernel without ipywidgets; nothing else may reach stderr
    warnings = [
        line
        for o in outputs(nb)
        if o.output_type == "stream" and o.name == "stderr"
        for line in o.text.splitlines()
        if line.strip() and "tqdm" not in line and "IProgress" not in line
    ]
    assert not warnings
    figures = [o for o in outputs(nb) if PLOTLY_MIME in o.get("data", {})]
    assert len(figures) == 8  # show()'s 4 views, one figure, the masked head, the comparison, the similarity
    printed = "".join(o.text for o in outputs(nb) if o.output_type == "stream")
    assert "(12, 16, 16)" in printed  # cap["blocks.0.attn.hook_pattern"].shape
    assert seconds < 60, f"the tutorial took {seconds:.1f} s"
