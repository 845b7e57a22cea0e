"""Image slides (views image, image_grid, image_positions) on a tiny random ViT with the committed gallery, against
captures computed here; and the refusals a teacher's file can meet."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.analysis import patches
from attnviz.capture import run_capture
from attnviz.gallery import gallery
from attnviz.masks import MaskSpec
from attnviz.models import load_model
from attnviz.teaching.lessons import LessonError, parse_lesson, parse_lesson_bytes
from attnviz.teaching.slides import slide_image, slide_view
from attnviz.images import read_image
from tiny_vision import build_vision

IMAGE = "t10k-00000-ankle-boot.png"


@pytest.fixture(scope="module")
def vit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vit")
    build_vision(folder, "vit")
    return load_model(str(folder))


def lesson_with(**slide):
    base = {"title": {"en": "t", "zh": "t"}, "explanation": {"en": "e", "zh": "e"}}
    return parse_lesson({"title": {"en": "L", "zh": "L"}, "slides": [{**base, **slide}]}, "x.yaml").slides[0]


def test_an_image_slide_draws_the_heads_attention_and_what_the_mask_cost(vit):
    assert IMAGE in gallery()
    slide = lesson_with(view="image", image=IMAGE, layer=1, head=2, query=6, window_2d=1)
    view = slide_view(slide, vit)
    overlay, bars = view.figures
    picture = read_image(gallery()[IMAGE].path)
    spec = MaskSpec(grid=vit.patch_grid, window_2d=1)
    (cap,) = run_capture(vit, [picture], spec, keep_output=True)
    np.testing.assert_allclose(np.asarray(overlay.data[1].z), patches.query_weights(cap, 1, 6)[2], atol=1e-6)
    hidden = [shape for shape in overlay.layout.shapes if shape.fillcolor]
    assert len(hidden) == 16 - 9  # patch (1, 1) of a 4 x 4 grid sees a 3 x 3 neighbourhood
    assert len(bars.data) == 2  # with the mask, and without it in grey


def test_an_image_slide_starts_from_cls_and_the_grid_and_positions_views_draw(vit):
    slide = lesson_with(view="image", image=IMAGE)
    assert slide.query == 0  # [CLS], not the text views' default
    assert "[CLS]" in slide_view(slide, vit).figures[0].layout.title.text
    grid = slide_view(lesson_with(view="image_grid", image=IMAGE, layer=1, head=3), vit).figures
    assert len(grid) == 1 and len(grid[0].data[1].customdata) == 2 * 4
    positions = slide_view(lesson_with(view="image_positions"), vit).figures
    assert np.asarray(positions[0].data[0].z).shape == (4 * 5 - 1, 4 * 5 - 1)


def test_image_slides_refuse_what_they_cannot_show(vit, minilm):
    with pytest.raises(LessonError) as error:
        slide_image(lesson_with(view="image", image="../../etc/passwd"))
    assert error.value.key == "presenter.lesson_unknown_image" and "t10k-" in str(error.value)
    with pytest.raises(LessonError) as error:
        slide_view(lesson_with(view="image", image=IMAGE), minilm)
    assert error.value.key == "presenter.lesson_needs_vision"
    with pytest.raises(LessonError) as error:
        lesson_with(view="image")
    assert error.value.key == "presenter.lesson_needs_image"
    with pytest.raises(LessonError) as error:
        slide_view(lesson_with(view="image", image=IMAGE, layer=7), vit)
    assert error.value.key == "presenter.lesson_layer_range"
    raw = b"title: {en: L, zh: L}\nslides:\n  - {title: {en: t, zh: t}, explanation: {en: e, zh: e}, view: image, image: x.png, window_2d: 0}\n"
    with pytest.raises(LessonError):
        parse_lesson_bytes(raw, "bad.yaml")
