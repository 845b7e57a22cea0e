"""What a browser uploads: teachers' lessons (parsed once per file content, never again on each click) and the main
page's long texts (a pasted passage or a text file, bounded and checked).

``st.cache_data`` keys the result on the content's SHA-256 (and the shown file name, which messages
quote); a refused file caches its message too, so a bad upload is not parsed again on every rerun.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from attnviz.teaching.lessons import Lesson, LessonError, parse_lesson_bytes
from attnviz.text import MAX_CHARS, MAX_UPLOAD_BYTES, InputError, clean_text, escape_markdown, text_from_file

from .lang import T
from .offered import get_model


@st.cache_data(max_entries=32, show_spinner=False)
def _parse_upload(digest: str, name: str, _data: bytes) -> tuple[Lesson | None, LessonError | None]:
    """(lesson, None) or (None, the LessonError: its text key and values, for the page's language); ``_data`` is not
    hashed: ``digest`` stands for it."""
    try:
        return parse_lesson_bytes(_data, name), None
    except LessonError as error:
        return None, error


def uploaded_lesson(data: bytes, name: str) -> Lesson:
    """The lesson in an uploaded file, or ``LessonError`` with the same message every time."""
    data = bytes(data)
    lesson, error = _parse_upload(hashlib.sha256(data).hexdigest(), name, data)
    if error is not None:
        raise error
    assert lesson is not None
    return lesson


def _use_text(read) -> None:
    """``read()``'s text, cleaned, becomes the sentence: the box shows what the maps use (on one line), never the raw
    characters (a file's bidi overrides or 170,000 zero-width characters), and what cleaning removed is said under
    the uploader; text that cannot be used leaves the sentence and says why."""
    state = st.session_state
    state["long_text_notes"] = []
    try:
        cleaned = clean_text(read())
    except InputError as error:
        state["long_text_notes"] = [(error.key, error.values)]
        return
    state["text"], state["zoom"], state["long_text_notes"] = cleaned.text, "", cleaned.notice_keys
    # the box holds the text on one line: where its blank lines were is kept beside it, for splitting documents
    state[PARAGRAPHS] = (cleaned.text, cleaned.paragraphs)


PARAGRAPHS = "long_text_paragraphs"  # (the text as used, where each paragraph after a blank line begins in it)


def paragraphs_of(text: str) -> tuple[int, ...]:
    """Where the paragraphs of the pasted or opened passage begin, while the sentence box still holds it unchanged."""
    used, paragraphs = st.session_state.get(PARAGRAPHS, ("", ()))
    return paragraphs if used == text else ()


def _use_pasted() -> None:
    if st.session_state.get("long_paste", "").strip():
        _use_text(lambda: st.session_state["long_paste"])


def _use_file() -> None:
    uploaded = st.session_state.get("long_file")
    if uploaded is not None:
        _use_text(lambda: text_from_file(uploaded.getvalue()))


def long_text_input() -> None:
    """Below the sentence box: paste a long passage, or open a text file (bounded, checked, never run as markup)."""
    with st.expander(T("input.long")):
        name = st.session_state["model"]
        try:
            st.caption(T("input.long_help", limit=f"{get_model(name).max_tokens:,}", model=escape_markdown(name)))
        except Exception:  # a model that cannot load says so where the maps would be (ui.controls.run_view)
            pass
        st.text_area(T("input.long_paste"), key="long_paste", height=120, max_chars=MAX_CHARS)
        st.button(T("input.long_use"), key="long_use", on_click=_use_pasted)
        st.file_uploader(
            T("input.long_file", limit=MAX_UPLOAD_BYTES // 1024),
            type=["txt", "md", "text"],
            key="long_file",
            on_change=_use_file,
        )
        for key, values in st.session_state.get("long_text_notes", []):
            st.warning(T(key, **values))
