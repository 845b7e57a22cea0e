"""The interface language: from the URL (?lang=zh), else the browser's language, else English."""

from __future__ import annotations

import streamlit as st

from attnviz.i18n import LANGUAGE_NAMES, translate
from attnviz.text import InputError, escape_markdown


def browser_language() -> str:
    locale = ""
    try:
        locale = st.context.locale or ""
    except Exception:  # older Streamlit or bare AppTest runs expose no locale
        locale = ""
    return "zh" if locale.lower().startswith("zh") else "en"


def ensure_language() -> str:
    if "lang" not in st.session_state:
        raw = st.query_params.get("lang")
        st.session_state["lang"] = raw if raw in LANGUAGE_NAMES else browser_language()
    return st.session_state["lang"]


def language_switch() -> None:
    """The sidebar switch; call it before any text is translated on the page."""
    if "lang" in st.session_state:
        st.session_state["lang"] = st.session_state["lang"]  # keep the widget's value across pages
    ensure_language()
    st.sidebar.radio(
        "Language / 语言", list(LANGUAGE_NAMES), key="lang", format_func=LANGUAGE_NAMES.get, horizontal=True
    )


def T(key: str, **values) -> str:
    return translate(key, ensure_language(), **values)


def error_text(error: BaseException) -> str:
    """An error as a page quotes it, inert: a user error (``attnviz.text.InputError`` and its kinds, such as a model
    that cannot load: a text key and values) in the page's language; anything else in its own words."""
    return escape_markdown(error.message(ensure_language()) if isinstance(error, InputError) else error)


def texts_of(page: str):
    """``T`` for one page's catalogue (``attnviz/i18n/{page}.py``, keys ``{page}.…``): ``D = texts_of("dcmha")``,
    then ``D("title")`` is ``T("dcmha.title")``."""
    return lambda key, **values: T(f"{page}.{key}", **values)
