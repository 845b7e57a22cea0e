"""A teacher's lesson upload in the Presenter: bounded, parsed once per file, titles shown as plain text.

ui/uploads.py directly, then the page in Streamlit's AppTest with ``file_uploader.set_value``.
(The browser side, that a Markdown link in a title is not a link, is in tests/browser/test_presenter.py.)
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.uploads as uploads
from attnviz.teaching.lessons import MAX_LESSON_BYTES, LessonError
from attnviz.text import escape_markdown

TIMEOUT = 120
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "6_Presenter.py")

EVIL_TITLE = "[log in again](http://evil) ![x](http://img/x.png) **bold** :red[red]"
EVIL_LESSON_TITLE = "Lesson <b>[home](http://evil/home)</b>"


def lesson_yaml(title: str = "Plain", lesson_title: str = "Mine") -> bytes:
    """Two small slides; a random comment makes the content (and so the cache entry) new for each test."""
    slide = (
        "  - title: {{en: '{title}', zh: 标题}}\n"
        "    explanation: {{en: Look at the rows., zh: 看每一行。}}\n"
        "    view: head\n"
        "    text: the cat sat\n"
    )
    return (
        f"# {uuid.uuid4()}\ntitle: {{en: '{lesson_title}', zh: 我的课程}}\nslides:\n"
        + slide.format(title=title)
        + slide.format(title="Second")
    ).encode("utf-8")


def bomb_yaml(levels: int = 10) -> bytes:
    lines = [
        f"# {uuid.uuid4()}",
        "title: {en: T, zh: 标题}",
        "slides:",
        "  - title: {en: a, zh: b}",
        "    explanation: {en: a, zh: b}",
        "    view:",
    ]
    lines.append('      - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]')  # line 7
    for i in range(1, levels):
        prev, this = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"      - &{this} [" + ",".join([f"*{prev}"] * 10) + "]")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def parses(monkeypatch):
    """How many times ui/uploads.py really parsed a file (the page uses the same module object)."""
    calls: list[str] = []
    real = uploads.parse_lesson_bytes

    def counting(data, name):
        calls.append(name)
        return real(data, name)

    monkeypatch.setattr(uploads, "parse_lesson_bytes", counting)
    return calls


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


# --- ui/uploads.py ---------------------------------------------------------------------------


def test_an_upload_is_parsed_once_per_content(parses):
    data = lesson_yaml()
    first = uploads.uploaded_lesson(data, "mine.yaml")
    again = uploads.uploaded_lesson(data, "mine.yaml")
    assert first == again and first.slides[1].title["en"] == "Second"
    assert parses == ["mine.yaml"]
    changed = data + b"# one more line\n"
    uploads.uploaded_lesson(changed, "mine.yaml")
    assert parses == ["mine.yaml", "mine.yaml"]


def test_a_refused_upload_is_refused_the_same_way_without_parsing_again(parses):
    data = bomb_yaml()
    messages = []
    for _ in range(3):
        with pytest.raises(LessonError) as error:
            uploads.uploaded_lesson(data, "bomb.yaml")
        messages.append(str(error.value))
    assert messages == ["bomb.yaml: line 7: anchors and aliases (&name, *name) are not allowed in a lesson"] * 3
    assert parses == ["bomb.yaml"]


# --- the page --------------------------------------------------------------------------------


def presenter(lang: str = "en") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params["lang"] = lang
    return at.run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader[0].set_value((name, data, "application/x-yaml")).run()


def test_an_alias_bomb_upload_gets_a_short_message_and_no_slide():
    at = upload(presenter(), "bomb.yaml", bomb_yaml())
    assert not at.exception
    assert len(at.error) == 1 and not at.title
    message = unescaped(at.error[0].value)
    assert "bomb.yaml: line 7: anchors and aliases (&name, *name) are not allowed in a lesson" in message
    assert len(message) < 300


def test_a_refused_upload_speaks_the_pages_language_and_again_after_switching_back():
    """A teacher on a Chinese screen reads why the file was refused in Chinese; switching to English and back (the
    parse is remembered per file content) gives each language its own words, never the other's."""
    at = upload(presenter("zh"), "bomb.yaml", bomb_yaml())
    message = unescaped(at.error[0].value)
    assert not at.exception and "bomb.yaml" in message and "7" in message
    assert re.search(r"[\u4e00-\u9fff]", message) and "are not allowed" not in message, message
    at.radio(key="lang").set_value("en").run()
    assert not at.exception and len(at.error) == 1, [e.value for e in at.error]
    english = unescaped(at.error[0].value)
    assert "anchors and aliases (&name, *name) are not allowed in a lesson" in english


def test_an_oversize_upload_is_refused_by_its_size():
    data = lesson_yaml() + b"#" * (MAX_LESSON_BYTES + 40_000)
    at = upload(presenter(), "big.yaml", data)
    assert not at.exception and len(at.error) == 1
    assert "big.yaml: the file is 296 KB; a lesson is at most 256 KB" in unescaped(at.error[0].value)


def test_uploaded_titles_are_plain_text_and_the_file_is_parsed_once(parses):
    at = upload(presenter(), "mine.yaml", lesson_yaml(EVIL_TITLE, EVIL_LESSON_TITLE))
    assert not at.exception and not at.error
    # st.title and st.markdown render Markdown: the titles arrive with every punctuation mark escaped
    assert at.title[0].value == escape_markdown(EVIL_TITLE) and "](http" not in at.title[0].value
    assert unescaped(at.title[0].value) == EVIL_TITLE
    assert any(md.value == f"**{escape_markdown(EVIL_LESSON_TITLE)}**" for md in at.markdown)
    at.button[1].click().run()  # Next: a rerun, the same upload
    assert not at.exception and at.title[0].value == "Second"
    at.button[0].click().run()  # Previous
    assert at.title[0].value == escape_markdown(EVIL_TITLE)
    assert parses == ["mine.yaml"]


def test_an_uploaded_slide_computes_once_through_the_shared_cache_and_a_huge_one_is_refused(monkeypatch):
    """A slide's captures go through the server's shared cache and heavy slots (captures_for): clicking away and
    back computes nothing again; a slide with 5,000-character texts (+7 GB before, uncached on every click) is
    refused in words, and next/previous still work."""
    import ui.session

    computed = []
    real = ui.session.run_capture
    monkeypatch.setattr(ui.session, "run_capture", lambda *a, **k: computed.append(a[1]) or real(*a, **k))
    long_text = ("the cat sat on the mat and the dog sat on the log " * 100)[:5000]
    lesson = (
        f"# {uuid.uuid4()}\ntitle: {{en: Budget, zh: 预算}}\nslides:\n"
        "  - title: {en: Short, zh: 短}\n    explanation: {en: a, zh: b}\n    view: head\n"
        "    text: the owl sat on the branch\n"
        "  - title: {en: Long, zh: 长}\n    explanation: {en: a, zh: b}\n    view: head\n"
        f"    text: '{long_text}'\n    text2: '{long_text}'\n"
    ).encode()
    at = presenter()
    computed.clear()  # the shipped lesson's first slide
    at = upload(at, "budget.yaml", lesson)
    assert not at.exception and not at.error
    assert computed == [["the owl sat on the branch"]] and at.get("plotly_chart")
    at.button[1].click().run()  # Next: the long slide
    assert any("too long for a slide" in e.value for e in at.error) and not at.exception
    assert len(computed) == 1  # refused before any forward pass
    at.button[0].click().run()  # Previous
    assert not at.error and at.get("plotly_chart")
    assert len(computed) == 1  # back: from the cache, no second forward pass
