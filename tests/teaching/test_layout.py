"""A slide's layout on the screen it is shown on (attnviz.teaching.layout): pure arithmetic, checked without a browser.

The browser side (that the planned slide really ends above the screen's bottom edge) is tests/browser/test_legibility.py.
"""

from __future__ import annotations

import pytest

from attnviz.i18n import translate
from attnviz.teaching import layout
from attnviz.teaching.layout import Screen, plan_slide, text_lines, title_px
from attnviz.teaching.lessons import load_lesson, shipped_lessons


@pytest.mark.parametrize(
    "reported, expected",
    [
        (None, (1280, 720)),
        ("1920x1080", (1280, 720)),
        ({"width": "wide", "height": 720}, (1280, 720)),
        ({"width": 1920}, (1280, 720)),
        ({"width": float("nan"), "height": 720}, (1280, 720)),
        ({"width": 10**30, "height": -5}, (7680, 360)),
        ({"width": 1920.7, "height": 1080}, (1920, 1080)),
        ({"width": 1366, "height": 768}, (1366, 768)),
    ],
)
def test_a_reported_window_is_hostile_input(reported, expected):
    screen = Screen.reported(reported)
    assert (screen.width, screen.height) == expected


def test_type_grows_with_the_screen_and_never_below_the_projector():
    small, projector, large = Screen(1024, 600), Screen(1280, 720), Screen(1920, 1080)
    assert small.scale == projector.scale == 1.0 and large.scale == 1.5
    plans = [plan_slide(screen, 1, "A short text.") for screen in (small, projector, large)]
    assert [p.tick_px for p in plans] == [14, 14, 21]
    assert plans[2].body_px > plans[1].body_px and plans[2].figure[1] > plans[1].figure[1]


def slides():
    for name, path in shipped_lessons().items():
        for slide in load_lesson(path).slides:
            yield name, slide


FIGURES = {
    "head": 1,
    "steps": 2,
    "layer": 1,
    "overview": 1,
    "compare": 1,
    "flash": 2,
    "blocks": 2,
    "sinks": 1,
    "order": 3,
    "positions": 2,
    "image": 2,  # the head over the image, the class bars
    "image_grid": 1,
    "image_positions": 1,
}


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_shipped_slide_is_planned_to_fit(size, lang):
    screen = Screen(*size)
    for name, slide in slides():
        n = FIGURES.get(slide.view, 2) + (slide.view == "head" and bool(slide.text2.strip()))
        # the notices these slides show: a character model's windows and (DCFormer) what composed weights mean;
        # a masked encoder slide's "intervention" warning
        # (info notices are lines of small type on a slide, warnings keep their box)
        captions = ["Mask: causal"]
        if slide.view == "dcmha" or slide.model:
            captions.append(translate("msg.decoder_note", lang, model="dcformer-tiny", windows="64, ∞, 64, ∞"))
        if slide.view == "dcmha" or slide.model == "dcformer-tiny":  # only a DCFormer's weights are composed
            captions.append(translate("msg.composed_weights", lang, model="dcformer-tiny"))
        masked = slide.causal or slide.window or slide.chunk or slide.window_2d or slide.blocks_2d
        notices = ["x" * 160] if masked else []
        plan = plan_slide(screen, n, slide.explanation[lang], captions=captions, notices=notices)
        assert plan.fits, (name, slide.number)
        width, height = plan.figure
        used = (plan.text_width + layout.GAP if plan.text_beside else 0) + n * width + (n - 1) * layout.GAP
        assert used <= screen.width - 2 * layout.PAD_SIDE and height >= 1.5 * layout.FIGURE_MIN_SIDE
        assert 0 < plan.text_share < 1 and plan.body_px >= layout.BODY_MIN_PX


def test_a_text_too_long_for_the_screen_is_said_not_to_fit():
    plan = plan_slide(Screen(1280, 720), 1, "word " * 2000)
    assert not plan.fits and plan.body_px == layout.BODY_MIN_PX
    short = plan_slide(Screen(1280, 720), 1, "A short text.")
    boxed = plan_slide(Screen(1280, 720), 1, "A short text.", notices=["a notice of some length " * 12])
    assert boxed.body_px <= short.body_px and (boxed.text_beside or boxed.figure[1] < short.figure[1])


def test_the_text_goes_above_a_row_of_wide_figures_and_beside_one_square_map():
    text = "Two heads side by side and their difference."
    assert plan_slide(Screen(), 1, text, aspect=1.0).text_beside
    assert not plan_slide(Screen(), 3, text, aspect=1.0).text_beside
    assert not plan_slide(Screen(), 1, text, aspect=2.6).text_beside


def test_chinese_text_takes_a_full_em_per_character():
    assert text_lines("注意力" * 20, 300, 20) == 5  # 60 em × 20 px = 1,200 px in lines of 276 px: 4.3 lines
    assert text_lines("a" * 60, 300, 20) == 3  # 60 characters at half an em: 600 px, 2.2 lines
    assert text_lines("a line\nand another", 300, 20) == 2  # each paragraph starts a line


def test_a_long_title_gets_smaller_type_but_never_below_the_minimum():
    screen = Screen()
    assert title_px(screen, "Masks") == layout.TITLE_PX
    long = title_px(screen, "The same softmax, one block of keys at a time (FlashAttention)")
    assert layout.TITLE_MIN_PX <= long < layout.TITLE_PX
    assert title_px(screen, "x" * 500) == layout.TITLE_MIN_PX
