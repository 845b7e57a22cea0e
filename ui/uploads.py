"""What a browser uploads: teachers' lessons (parsed once per file content, never again on each click) and the main
page's long texts (a pasted passage or a text file, bounded and checked).

``st.cache_data`` keys the result on the content's SHA-256 (and the shown file name, which messages
quote); a refused file caches its message too, so a bad upload is not parsed again on every rerun.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from attnviz.teaching.lessons import Lesson, LessonError, parse_lesson_bytes
from attnviz.text import MAX_CHARS, MAX_UPLOAD_BYTES, InputError, escape_markdown, text_from_file

from .lang import T
from .session import get_model


@st.cache_data(max_entries=32, show_spinner=False)
def _parse_upload(digest: str, name: str, _data: bytes) -> tuple[Lesson | None, str | None]:
    """(lesson, None) or (None, the LessonError's message); ``_data`` is not hashed: ``digest`` stands for it."""
    try:
        return parse_lesson_bytes(_data, name), None
    except LessonError as error:
        return None, str(error)


def uploaded_lesson(data: bytes, name: str) -> Lesson:
    """The lesson in an uploaded file, or ``LessonError`` with the same message every time."""
    data = bytes(data)
    lesson, error = _parse_upload(hashlib.sha256(data).hexdigest(), name, data)
    if error is not None:
        raise LessonError(error)
    return lesson


def _use_pasted() -> None:
    """The pasted passage becomes the sentence (the main box then shows it, on one line)."""
    state = st.session_state
    if state.get("long_paste", "").strip():
        state["text"], state["zoom"] = state["long_paste"], ""


def _use_file() -> None:
    """An opened text file becomes the sentence; a file that is not text leaves the sentence and says why."""
    state = st.session_state
    state.pop("long_file_error", None)
    uploaded = state.get("long_file")
    if uploaded is None:
        return
    try:
        state["text"], state["zoom"] = text_from_file(uploaded.getvalue()), ""
    except InputError as error:
        state["long_file_error"] = (error.key, error.values)


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
        st.file_uploader(T("input.long_file", limit=MAX_UPLOAD_BYTES // 1024), type=["txt", "md", "text"], key="long_file",
                         on_change=_use_file)
        if "long_file_error" in st.session_state:
            key, values = st.session_state["long_file_error"]
            st.warning(T(key, **values))
