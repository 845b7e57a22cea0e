"""What a class sees, measured in Chromium: every page in both languages at 1400 × 1000 and on a 1280 × 720 projector,
the states a page reaches by a step (harness.legibility.STATES) on the projector, and every slide of every shipped lesson at 1280 × 720 and 1920 × 1080, in both languages.

For each screen (harness/legibility.py): text boxes that overlap inside a figure (ticks, titles, colour bars, legends,
annotations, bar labels), text cut by its figure's edge, colour-bar or legend text lying over a plot, a traceback on
screen, requests that leave the machine; on a slide also the slide's height against the screen and the smallest tick
label (at least 14 px). Zero of each, except where ``EXCEPTIONS`` names a screen and why (the README lists them).
Screenshots of every state go to artifacts/legibility/.
"""

from __future__ import annotations

import pytest

from conftest import ARTIFACTS

from harness import legibility

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "legibility"
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")

# "<screen>: <defect>" prefixes that are accepted, each with its reason (none today).
EXCEPTIONS: dict[str, str] = {}


def accepted(defect: str) -> bool:
    return any(defect.startswith(prefix) for prefix in EXCEPTIONS)


def watch_requests(page) -> list[str]:
    """Requests that leave the machine: a classroom's network (or none) sees nothing of a lesson. (A page's
    ``:material/...:`` navigation icon was fetched from fonts.gstatic.com on every page a student opened; the app's
    icons are emoji, and every font, script and style comes from the app's own server.)"""
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(LOCAL) else outside.append(request.url))
    return outside


def test_every_slide_fits_its_projector_and_reads_from_the_back_of_the_room(app):
    outside = watch_requests(app.page)
    lessons = legibility.shipped_lesson_sizes()
    measured = list(legibility.slide_screens(app.page, app.base_url, app.wait_idle, lessons, SHOTS))
    assert len(measured) == sum(lessons.values()) * len(legibility.LANGS) * len(legibility.SLIDE_SCREENS)
    assert all(m.figures > 0 for m in measured), [m.where for m in measured if not m.figures]
    defects = [d for m in measured for d in m.defects(slide=True) if not accepted(d)]
    assert not defects, "\n".join(defects)
    assert outside == [], sorted(set(outside))


def test_every_page_draws_its_figures_without_collisions_in_both_languages(app):
    outside = watch_requests(app.page)
    measured = list(legibility.page_screens(app.page, app.base_url, app.wait_idle, SHOTS))
    assert len(measured) == len(legibility.PAGES) * len(legibility.LANGS) * len(legibility.PAGE_SCREENS)
    defects = [d for m in measured for d in m.defects(slide=False) if not accepted(d)]
    assert not defects, "\n".join(defects)
    assert outside == [], sorted(set(outside))


def test_the_states_a_page_reaches_by_a_step_draw_without_collisions(app):
    """A long text's blocks, zoom and comparison, the DCMHA page's other tabs, Head importance ranked: states the
    first look at a page never shows, where a "Redundant heads?" title was cut and a stage grid's labels piled up."""
    outside = watch_requests(app.page)
    measured = list(legibility.state_screens(app.page, app.base_url, app.wait_idle, SHOTS))
    assert len(measured) == len(legibility.STATES) * len(legibility.LANGS) * len(legibility.STATE_SCREENS)
    assert all(m.figures > 0 for m in measured), [m.where for m in measured if not m.figures]
    defects = [d for m in measured for d in m.defects(slide=False) if not accepted(d)]
    assert not defects, "\n".join(defects)
    assert outside == [], sorted(set(outside))
