"""Lesson files: shipped ones load and every slide renders; malformed ones get precise messages."""

import pytest
import yaml

from attnviz.lessons import LessonError, load_lesson, parse_lesson, shipped_lessons
from attnviz.slides import slide_figures

GOOD_SLIDE = {
    "title": {"en": "Causal", "zh": "因果"},
    "explanation": {"en": "Only the past.", "zh": "只看过去。"},
    "view": "head",
    "text": "the cat sat",
    "layer": 1,
    "head": 2,
    "causal": True,
}


def lesson_with(**changes):
    slide = {**GOOD_SLIDE, **changes}
    slide = {k: v for k, v in slide.items() if v is not None}
    return {"title": {"en": "T", "zh": "标题"}, "slides": [GOOD_SLIDE, slide]}


def test_at_least_three_shipped_lessons_cover_the_notes():
    lessons = {name: load_lesson(path) for name, path in shipped_lessons().items()}
    assert len(lessons) >= 3 and "4_dcmha" in lessons
    views = {slide.view for lesson in lessons.values() for slide in lesson.slides}
    assert {"head", "layer", "steps", "order", "positions"} <= views
    masks = [s for s in lessons["2_masks"].slides]
    assert any(s.text2 for s in masks) and any(s.causal for s in masks) and any(s.window for s in masks) and any(s.chunk for s in masks)


@pytest.mark.parametrize("name", sorted(shipped_lessons()))
def test_every_slide_of_every_shipped_lesson_renders(minilm, name):
    from attnviz.capture import get_model

    for slide in load_lesson(shipped_lessons()[name]).slides:
        character_model = get_model(slide.model or "dcformer-tiny") if slide.view == "dcmha" else None
        figures = slide_figures(slide, minilm, character_model)
        assert figures, f"{name} slide {slide.number} drew nothing"
        if slide.view == "dcmha" and character_model.use_dcmha:
            before, after = figures[0], figures[1]  # probabilities, then the post-composed pattern
            assert "before post-compose" in before.layout.title.text and "after post-compose" in after.layout.title.text


def test_dcmha_lesson_shows_composition_and_the_twin():
    lesson = load_lesson(shipped_lessons()["4_dcmha"])
    assert lesson.slides[0].model == "mha-tiny" and any(s.window for s in lesson.slides)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"layer": "two"}, "slide 2 ('Causal'): field 'layer' must be a whole number ≥ 0, got 'two'"),
        ({"windw": 3}, "slide 2 ('Causal'): unknown field 'windw' (did you mean 'window'?)"),
        ({"view": "movie"}, "field 'view' must be one of"),
        ({"explanation": {"en": "only English"}}, "field 'explanation' is missing its zh text"),
        ({"title": "just a string"}, "field 'title' must give both languages"),
        ({"window": 0}, "field 'window' must be a whole number ≥ 1, got 0"),
        ({"causal": "yes"}, "field 'causal' must be true or false, got 'yes'"),
        ({"text": None}, "field 'text' is required for the 'head' view"),
        ({"view": None}, "missing required field 'view'"),
    ],
)
def test_malformed_slides_name_the_slide_and_field(changes, message):
    with pytest.raises(LessonError) as error:
        parse_lesson(lesson_with(**changes), "mine.yaml")
    assert message in str(error.value) and str(error.value).startswith("mine.yaml: ")


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("title: {en: a, zh: b}\nslides:\n  - view: [head\n", encoding="utf-8")
    with pytest.raises(LessonError, match=r"broken.yaml: not valid YAML at line \d+"):
        load_lesson(path)


def test_out_of_range_layer_is_reported_for_the_slide(minilm):
    lesson = parse_lesson(lesson_with(layer=9), "mine.yaml")
    with pytest.raises(LessonError, match="slide 2: field 'layer' is 9 but all-MiniLM-L6-v2 has layers 0–5"):
        slide_figures(lesson.slides[1], minilm)


def test_a_teachers_own_file_round_trips(tmp_path):
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(lesson_with(window=2), allow_unicode=True), encoding="utf-8")
    lesson = load_lesson(path)
    assert lesson.slides[1].window == 2 and lesson.slides[1].title["zh"] == "因果"
