"""Where a slide's text and figures go on the screen it is shown on: no scrolling on a projector.

Pure arithmetic on CSS pixels, so it is tested without a browser. The Presenter measures its window (the
browser reports it), asks :func:`plan_slide` for a layout, and draws the figures at exactly the sizes planned;
``harness/legibility.py`` then measures in Chromium that the slide ended above the screen's bottom edge.

Candidates, for ``k`` figures: the text in a column beside the figures (one row of figures), or the text across
the top and the figures in one row below it. The plan keeps the candidate whose smallest figure is largest; the
body type is the largest size (down to ``BODY_MIN_PX``) at which the text fits its place. A slide whose text
cannot fit at the smallest size is planned anyway and marked ``fits=False``: the Presenter says so instead of
letting the slide scroll.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..figures.style import ems

# The Presenter's chrome, in CSS pixels (pages/6_Presenter.py sets these paddings in its style block).
PAD_TOP = 56  # Streamlit's header (its sidebar and menu buttons) above the slide
PAD_SIDE = 24
PAD_BOTTOM = 12
HEADER_ROW = 64  # the slide's title, previous / next and the counter, in one row
GAP = 16  # between columns and between stacked blocks
CAPTION_PX = 16  # the mask line and the "every k-th token" line under the text
CAPTION_LINE = 22
NOTICE_PX, NOTICE_LINE, NOTICE_PADDING = 16, 24, 34  # Streamlit's info and warning boxes: type, line, padding
BODY_MAX_PX, BODY_MIN_PX = 26, 18
TICK_PX = 14  # the smallest text on a slide (figures.style.SLIDE_TICK_PX on a 1280 × 720 projector)
FIGURE_FONT_PX = 17
TITLE_PX = 34
LINE_HEIGHT = 1.45
TEXT_BESIDE_SHARE = 0.36  # of the width, when the text sits beside the figures
FIGURE_MIN_SIDE = 160  # a figure's plot smaller than this is not worth drawing on a projector
FIGURE_ROOM = 150  # what a map's labels, titles and colour bar take around its plot (both directions, roughly)

TITLE_SHARE = 6.0  # the title's column in the header row, against 1 for each button and 1.1 for the counter
TITLE_MIN_PX = 20

SCREEN_MIN, SCREEN_MAX = (640, 360), (7680, 4320)
PROJECTOR = (1280, 720)


@dataclass(frozen=True)
class Screen:
    """The browser window the slide is drawn in (CSS pixels)."""

    width: int = PROJECTOR[0]
    height: int = PROJECTOR[1]

    @property
    def scale(self) -> float:
        """How much larger than the 1280 × 720 projector: type grows with the screen (a 1080p projector fills the
        same wall), never below the projector's sizes."""
        return min(max(min(self.width / PROJECTOR[0], self.height / PROJECTOR[1]), 1.0), 2.0)

    @classmethod
    def reported(cls, value: object) -> Screen:
        """The size a browser reported, which is hostile input: anything but two numbers is the projector default,
        and sizes are clamped to a plausible screen."""
        if not isinstance(value, dict):
            return cls()
        try:
            width, height = int(value["width"]), int(value["height"])
        except (KeyError, TypeError, ValueError, OverflowError):
            return cls()
        return cls(
            min(max(width, SCREEN_MIN[0]), SCREEN_MAX[0]),
            min(max(height, SCREEN_MIN[1]), SCREEN_MAX[1]),
        )


@dataclass(frozen=True)
class SlideLayout:
    """How one slide is drawn: ``text_beside`` (a text column left of the figures) or the text across the top;
    ``figure`` is each figure's (width, height); ``body_px`` the explanation's type size; ``fits`` False when even
    the smallest type and figures leave the slide taller than the screen."""

    screen: Screen
    text_beside: bool
    text_width: int
    body_px: int
    figure: tuple[int, int]
    n_figures: int
    fits: bool

    @property
    def tick_px(self) -> int:
        return round(TICK_PX * self.screen.scale)

    @property
    def font_px(self) -> int:
        return round(FIGURE_FONT_PX * self.screen.scale)

    @property
    def title_px(self) -> int:
        return round(TITLE_PX * self.screen.scale)

    @property
    def text_share(self) -> float:
        """The text column's share of the row, for ``st.columns`` (when ``text_beside``)."""
        return self.text_width / (self.text_width + GAP + self.n_figures * self.figure[0] + (self.n_figures - 1) * GAP)


def text_lines(text: str, width: float, size: float) -> int:
    """Lines a paragraph-broken ``text`` takes at ``size`` px in a column ``width`` px wide: wide characters (CJK)
    are 1 em, others about 0.5 em (Source Sans), and a line breaks at a word, so it is counted 8 % short."""
    lines = 0
    for paragraph in text.splitlines() or [""]:
        lines += max(1, math.ceil(ems(paragraph, narrow=0.5) * size / (width * 0.92)))
    return lines


def text_height(
    text: str, width: float, size: float, captions: Sequence[str] = (), notices: Sequence[str] = ()
) -> float:
    """The explanation at ``size`` px, then each caption (small type) and each notice (a box of body-size text)."""
    small = sum(text_lines(caption, width, CAPTION_PX) for caption in captions) * CAPTION_LINE + len(captions) * GAP
    boxes = sum(text_lines(notice, width - NOTICE_PADDING, NOTICE_PX) * NOTICE_LINE for notice in notices)
    boxes += len(notices) * (NOTICE_PADDING + GAP)
    return text_lines(text, width, size) * size * LINE_HEIGHT + small + boxes + 8


def plan_slide(
    screen: Screen,
    n_figures: int,
    explanation: str,
    captions: Sequence[str] = (),
    notices: Sequence[str] = (),
    aspect: float = 1.0,
) -> SlideLayout:
    """The layout that gives the smallest of ``n_figures`` figures the most room on ``screen``; ``captions`` (the
    mask, a note) and the ``notices`` (their texts, each in a box) sit under the explanation; ``aspect`` is the width / height a figure's plot
    wants (1 for a square map, wider for bars or a row of panels)."""
    scale = screen.scale
    inner_width = screen.width - 2 * PAD_SIDE
    body_height = screen.height - PAD_TOP - HEADER_ROW * scale - PAD_BOTTOM
    body_max, body_min = round(BODY_MAX_PX * scale), round(BODY_MIN_PX * scale)
    n = max(1, n_figures)
    candidates = []
    for beside in (True, False):
        text_width = int(inner_width * TEXT_BESIDE_SHARE) if beside else inner_width
        # Beside the figures the text may take the whole height; across the top, at most a third of it.
        room = body_height if beside else body_height / 3
        size = next(
            (
                s
                for s in range(body_max, body_min - 1, -1)
                if text_height(explanation, text_width, s, captions, notices) <= room
            ),
            body_min,
        )
        height_of_text = text_height(explanation, text_width, size, captions, notices)
        row_width = inner_width - (text_width + GAP if beside else 0)
        figure_width = int((row_width - (n - 1) * GAP) / n)
        figure_height = int(body_height if beside else body_height - height_of_text - GAP)
        side = min(figure_width / aspect, figure_height) - FIGURE_ROOM * scale
        fits = height_of_text <= body_height and side >= FIGURE_MIN_SIDE // 2
        # Text beside the figures reads better on a slide: it wins a tie within 10 %.
        score = (fits, side * (1.1 if beside else 1.0), size)
        candidates.append(
            (score, SlideLayout(screen, beside, text_width, size, (figure_width, figure_height), n, fits))
        )
    return max(candidates, key=lambda c: c[0])[1]


def title_px(screen: Screen, title: str) -> int:
    """The slide title's type size: the projector's title size, smaller for a long title so that it stays on the
    one line the header row has (never below ``TITLE_MIN_PX``; the rest is cut with an ellipsis)."""
    column = (screen.width - 2 * PAD_SIDE) * TITLE_SHARE / (TITLE_SHARE + 3.1) - GAP
    width = ems(title, narrow=0.55) or 1.0  # bold type is a little wider than the body's
    return int(max(TITLE_MIN_PX, min(TITLE_PX * screen.scale, column / width)))
