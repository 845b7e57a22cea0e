"""Teachers' lesson uploads: parsed once per file content, never again on each click.

``st.cache_data`` keys the result on the content's SHA-256 (and the shown file name, which messages
quote); a refused file caches its message too, so a bad upload is not parsed again on every rerun.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from attnviz.teaching.lessons import Lesson, LessonError, parse_lesson_bytes


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
