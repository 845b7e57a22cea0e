"""Failure injection on every page: a failing compute becomes a message in words, the inputs stay, the next edit works.

Each case replaces the function a page computes with (where the page looks it up) by one that raises an
exception carrying a fake secret; the page must show the boundary's message, never the exception's text or
a traceback, keep its input widget, and work again once the failure is gone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import attnviz
import attnviz.analysis.dcmha
import attnviz.analysis.generation
import attnviz.decoding
import attnviz.analysis.positions
import attnviz.teaching.slides
import attnviz.analysis.steps
import ui.controls
import ui.session

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120
SECRET = "injected-failure /srv/secret/path.py line 42"


@pytest.fixture(autouse=True)
def empty_shared_cache():
    """Captures are shared across sessions (and so across AppTest runs): start each case from an empty cache."""
    from ui.session import shared_captures

    shared_captures().clear()
    yield
    shared_captures().clear()


def boom(*args, **kwargs):
    raise RuntimeError(SECRET)


def every_text(at) -> str:
    texts = []
    for kind in (
        "error",
        "warning",
        "info",
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "exception",
        "code",
        "text",
    ):
        for element in getattr(at, kind):
            value = getattr(element, "value", "")
            texts.append(value if isinstance(value, str) else str(value))
    return "\n".join(texts)


# page file, what to break (module, attribute), the input key to edit afterwards, a new value for it
CASES = {
    "attention": ("app.py", (ui.controls, "captures_for"), "text", "Zebras eat purple carrots"),
    "compare": ("pages/1_Compare_heads.py", (ui.controls, "captures_for"), "text", "Zebras eat purple carrots"),
    "steps": ("pages/3_Step_by_step.py", (attnviz.analysis.steps, "steps"), "text", "Zebras eat purple carrots"),
    "word order": ("pages/4_Word_order.py", (ui.session, "captures_for"), "order_a", "the cat sees the dog"),
    "positions": (
        "pages/4_Word_order.py",
        (attnviz.analysis.positions, "learned_positions"),
        "order_a",
        "the cat sees the dog",
    ),
    "dcmha": ("pages/2_DCMHA.py", (attnviz.analysis.dcmha, "run_dcmha"), "dc_text", "Time flies like an arrow."),
    "encoder-decoder": ("pages/5_Encoder_decoder.py", (attnviz.decoding, "greedy_decode"), "ed_date", "1 May 2020"),
    "generation": (
        "pages/7_Generation.py",
        (attnviz.analysis.generation, "generate_with_cache"),
        "gen_text",
        "Once upon a",
    ),
}


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
@pytest.mark.parametrize("case", list(CASES))
def test_a_failing_compute_is_a_message_and_the_next_edit_works(case, monkeypatch):
    page, (module, name), input_key, new_value = CASES[case]
    monkeypatch.setattr(module, name, boom)
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()
    assert not at.exception, f"{case}: Streamlit's exception box is shown"
    errors = [e.value for e in at.error]
    assert any("Something went wrong" in e and "inputs are kept" in e for e in errors), errors
    shown = every_text(at)
    assert "injected-failure" not in shown and "/srv/secret" not in shown and "Traceback" not in shown
    assert at.text_input(key=input_key).value, f"{case}: the input must stay on screen"

    monkeypatch.undo()  # the failure is gone: the next edit works as usual
    at.text_input(key=input_key).input(new_value).run()
    assert not at.exception
    assert not any("Something went wrong" in e.value for e in at.error)
    assert at.get("plotly_chart"), f"{case}: no figure after the failure went away"


def test_word_order_failure_leaves_the_position_figures(monkeypatch):
    monkeypatch.setattr(ui.session, "captures_for", boom)
    at = AppTest.from_file(str(ROOT / "pages/4_Word_order.py"), default_timeout=TIMEOUT).run()
    assert any("comparing the two word orders" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) == 4  # the positions section has its own boundary


def test_presenter_failure_keeps_next_and_previous(monkeypatch):
    monkeypatch.setattr(attnviz.teaching.slides, "slide_view", boom)
    at = AppTest.from_file(str(ROOT / "pages/6_Presenter.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("Something went wrong while drawing this slide" in e.value for e in at.error)
    assert "injected-failure" not in every_text(at)
    monkeypatch.undo()
    next_button = next(b for b in at.button if "Next" in b.label)
    next_button.click().run()
    assert not at.exception and not at.error
    assert at.get("plotly_chart")


def test_chinese_message(monkeypatch):
    monkeypatch.setattr(ui.controls, "captures_for", boom)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.run()
    assert any("出错了" in e.value and "用模型处理你的文本" in e.value for e in at.error)
