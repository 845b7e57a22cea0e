"""The lesson "Masks of modern models": every slide runs its rule in the real forward, and the experiment's numbers
are the model's own, checked against a plain forward and cross-entropy written here."""

import dataclasses

import numpy as np
import pytest
import torch

from attnviz.capture import get_model
from attnviz.masks import MaskSpec
from attnviz.teaching.lessons import LessonError, load_lesson, shipped_lessons
from attnviz.teaching.slides import slide_documents, slide_spec, slide_texts, slide_view
from mask_reference import reference_mask

LESSON = "5_modern_masks"


@pytest.fixture(scope="module")
def slides():
    return {slide.view + str(slide.number): slide for slide in load_lesson(shipped_lessons()[LESSON]).slides}


def model_of(slide):
    return get_model(slide.model or "all-MiniLM-L6-v2")


def drawn(figure) -> np.ndarray:
    return ~np.isnan(np.asarray(figure.data[0].z, dtype=float))


def test_each_rule_slide_draws_its_rule_as_defined_and_says_it(slides):
    rules = [slide for slide in slides.values() if slide.view == "head"]
    assert {"prefix", "sinks", "dilation", "documents", "alibi"} <= {
        name
        for slide in rules
        for name in ("prefix", "sinks", "dilation", "documents", "alibi")
        if getattr(slide, name)
    }
    for slide in rules:
        model = model_of(slide)
        cleaned = slide_texts(slide)[0]
        spec = slide_documents(slide, model, cleaned, slide_spec(slide))
        view = slide_view(slide, model)
        n = len(view.figures[0].data[0].z)
        assert np.array_equal(drawn(view.figures[0]), reference_mask(n, spec)), slide.number
        if slide.documents:
            assert len(spec.documents) == 2  # three documents, cut at the text's two blank lines
        for lang in ("en", "zh"):
            assert spec.describe(lang) != MaskSpec().describe(lang)


def test_the_block_slide_counts_the_tiles_of_mistral_chars_own_window(slides):
    (slide,) = [slide for slide in slides.values() if slide.view == "blocks"]
    model = model_of(slide)
    view = slide_view(slide, model)
    mask = drawn(view.figures[0])  # the head's map: the model's window of 64 narrowed to 16
    n, block = len(mask), slide.block
    states = np.asarray(view.figures[1].data[0].z)
    for a in range(0, n, block):
        for c in range(0, n, block):
            tile = mask[a : a + block, c : c + block]
            assert states[a // block, c // block] == (0 if not tile.any() else 2 if tile.all() else 1)
    skipped = int((states == 0).sum())
    assert f"{skipped} of {states.size} skipped" in view.notes[0]


def test_the_sink_experiment_states_the_models_own_losses_and_attention(slides):
    (slide,) = [slide for slide in slides.values() if slide.view == "sinks"]
    model = model_of(slide)
    text = slide_texts(slide)[0].text
    encoding = model.encode([text])
    ids = encoding.input_ids[0]

    def losses(spec):  # a plain forward and cross-entropy, nothing of attnviz's loss code
        with torch.inference_mode():
            logits = model(encoding, spec)[0]
        return torch.nn.functional.cross_entropy(logits[:-1], ids[1:], reduction="none").double().numpy()

    w, s = slide.window, slide.sinks
    means = [
        losses(spec)[w:].mean()
        for spec in (MaskSpec(causal=True), MaskSpec(causal=True, window=w), MaskSpec(causal=True, window=w, sinks=s))
    ]
    view = slide_view(slide, model)
    for lang in ("en", "zh"):
        note = slide_view(slide, model, lang=lang).notes[0]
        for mean in means:
            assert f"{mean:.3f}" in note
    figure = view.figures[0]
    assert (
        len(figure.data) == 3 and [len(trace.y) for trace in figure.data] == [len(ids) - 1 - w] * 3
    )  # after the window
    assert means[1] != means[0]  # the window changed what the model predicts


def test_a_block_slide_asking_for_more_tiles_than_a_figure_holds_is_refused_in_words(slides):
    (slide,) = [slide for slide in slides.values() if slide.view == "blocks"]
    long = dataclasses.replace(slide, text="the cat sat on the mat. " * 30, block=4)  # 720 characters: 180 tiles a side
    for lang, words in (("en", "takes tiles of 8, 16"), ("zh", "块大小只能是 8, 16")):
        with pytest.raises(LessonError) as refused:
            slide_view(long, model_of(long))
        assert words in refused.value.message(lang)
