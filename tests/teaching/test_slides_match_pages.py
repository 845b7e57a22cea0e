"""A slide and a page draw a head with the same builders (attnviz.figures.capture_views), so what the class sees on
the projector is what a student sees on the page: the same map, scale, mask, K/V grouping and the model's own window
outlined. Before, the Presenter rebuilt its figures and left the window band and the K/V groups out."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.capture import get_model, run_capture
from attnviz.figures import capture_views as views
from attnviz.teaching.lessons import Slide
from attnviz.teaching.slides import slide_spec, slide_view

TEXT = "the cat sat on the mat and the dog sat on the log"


def slide(view: str, **fields) -> Slide:
    return Slide(number=1, title={"en": "t"}, explanation={"en": "e"}, view=view, text=TEXT, **fields)


def same_figure(a, b) -> None:
    assert len(a.data) == len(b.data)
    for trace_a, trace_b in zip(a.data, b.data):
        assert trace_a.type == trace_b.type
        if getattr(trace_a, "z", None) is not None:
            np.testing.assert_array_equal(np.asarray(trace_a.z, float), np.asarray(trace_b.z, float))
    assert [s.name for s in a.layout.shapes] == [s.name for s in b.layout.shapes]
    assert a.layout.title.text == b.layout.title.text


@pytest.mark.parametrize("name", ["mistral-char", "all-MiniLM-L6-v2"])
def test_a_head_slide_draws_the_pages_head(name):
    model = get_model(name)
    shown = slide("head", layer=1, head=1, causal=model.kind == "decoder")
    (capture,) = run_capture(model, [TEXT], slide_spec(shown))
    (on_slide,) = slide_view(shown, model).figures
    same_figure(on_slide, views.head_heatmap(capture, 1, 1))
    outlined = "own window" in [s.name for s in on_slide.layout.shapes]
    assert outlined == (model.layer_windows(None)[1] is not None)  # mistral-char: its 64-token window; MiniLM: none


def test_layer_and_overview_slides_group_heads_by_their_kv_head_as_the_page_does():
    model = get_model("mistral-char")  # 4 query heads share 2 K/V heads
    (capture,) = run_capture(model, [TEXT], slide_spec(slide("layer", causal=True)))
    (grid,) = slide_view(slide("layer", layer=1, head=2, causal=True), model).figures
    same_figure(grid, views.layer_grid(capture, 1, head=2))
    (overview,) = slide_view(slide("overview", layer=1, head=2, causal=True), model).figures
    same_figure(overview, views.overview(capture, layer=1, head=2))
    assert capture.kv_heads == [model.kv_head_of(h) for h in range(model.n_heads)] and len(set(capture.kv_heads)) == 2


def test_an_order_slide_draws_the_word_order_pages_figures(minilm):
    shown = Slide(
        number=1, title={"en": "t"}, explanation={"en": "e"}, view="order", text="dog bites man", text2="man bites dog"
    )
    a, b = (run_capture(minilm, [t], slide_spec(shown))[0] for t in (shown.text, shown.text2))
    on_slide = slide_view(shown, minilm).figures
    page = views.word_order(a, b, 0, 0)
    assert len(on_slide) == len(page) == 3
    for x, y in zip(on_slide, page):
        same_figure(x, y)
    assert page[2].layout.xaxis.title.text and page[2].layout.yaxis.title.text  # the difference names its axes


def test_an_encoders_own_window_is_outlined_both_ways(build):
    """ModernBERT's local layers are bidirectional windows: the head view outlines them as a band around the
    diagonal, never as a decoder's staircase below it (an A/B screenshot caught the staircase)."""
    from attnviz.figures.dcmha import window_band_path

    model = build("modernbert").adapter
    (capture,) = run_capture(model, [TEXT], slide_spec(slide("head")))
    local = [layer for layer, window in enumerate(capture.own_windows) if window is not None]
    assert model.kind == "encoder" and local and not capture.causal
    n, window = len(capture.tokens), capture.own_windows[local[0]]
    (band,) = [s for s in views.head_heatmap(capture, local[0], 0).layout.shapes if s.name == "own window"]
    assert band.path == window_band_path(n, window, False) != window_band_path(n, window, True)
    global_layers = [layer for layer, window in enumerate(capture.own_windows) if window is None]
    assert all(not views.head_heatmap(capture, layer, 0).layout.shapes for layer in global_layers)


def test_one_outlying_dimension_does_not_set_the_learned_positions_scale():
    """MiniLM's learned positions: 2 of 49,152 values (128 positions) reach ±1.87 where 99 % lie within ±0.07, so a
    scale set by the largest value left the map almost white. The colours span the 99th percentile and the colour bar
    says so."""
    rng = np.random.default_rng(0)
    learned = rng.normal(scale=0.1, size=(64, 32))
    learned[:4, 3] = 1.8  # 4 of 2,048 values
    own = views.positional_encodings(64, 32, model_name="m", learned=learned)["own"]
    heatmap = own.data[0]
    assert heatmap.zmax == pytest.approx(float(np.percentile(np.abs(learned), 99))) and heatmap.zmax < 1.8
    assert heatmap.zmin == -heatmap.zmax and "99%" in heatmap.colorbar.title.text
    plain = views.positional_encodings(64, 32, model_name="m", learned=rng.normal(scale=0.1, size=(64, 32)))["own"]
    assert plain.data[0].zmax < 0.5


def test_a_dcformer_head_has_one_diverging_scale_in_every_view_and_on_its_slide():
    """The shipped DCFormer's post-composed weights leave [0, 1]: the head's map (page and slide), its layer's grid,
    the overview and a comparison all diverge around 0 on the capture's one ±limit (the grid and overview were blue
    0–4 with negatives drawn white while the map was red/blue ±1.6)."""
    model = get_model("dcformer-tiny")
    (capture,) = run_capture(model, [TEXT], slide_spec(slide("dcmha")))
    patterns = [capture.pattern(layer) for layer in range(capture.n_layers)]
    allowed = np.concatenate(
        [np.abs(p[np.broadcast_to(capture.mask(layer), p.shape)]) for layer, p in enumerate(patterns)]
    )
    limit = max(1.0, float(np.percentile(allowed, 99.9)))  # a few extreme cells saturate rather than whiten the rest
    assert min(float(np.nanmin(p)) for p in patterns) < 0 and allowed.max() > limit
    assert views.weight_limit(capture) == pytest.approx(limit)
    traces = [
        views.head_heatmap(capture, 1, 2).data[0],
        views.layer_grid(capture, 1, head=2).data[0],
        views.overview(capture, layer=1, head=2).data[0],
        views.compare(capture, (1, 2), (0, 1)).data[1],
        slide_view(slide("dcmha", layer=1, head=2), None, model).figures[1].data[0],  # "after post-compose"
    ]
    for trace in traces:
        assert trace.zmid == 0 and trace.zmin == pytest.approx(-limit) and trace.zmax == pytest.approx(limit)
    assert "msg.composed_weights" in [n.key for n in model.notices("abc", slide_spec(slide("dcmha")))]
