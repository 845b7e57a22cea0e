"""A shared class password in front of every page, for a server a teacher opens to a LAN.

The password comes from the operator: the ``ATTNVIZ_PASSWORD`` environment variable (``make class
PASSWORD=...``) or ``class_password`` in ``.streamlit/secrets.toml``. Without one there is no gate. A session
that typed it once stays in; a wrong password costs a second, so guessing is slow.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

from .lang import T

PASSED = "_class_password_ok"


def class_password() -> str | None:
    password = os.environ.get("ATTNVIZ_PASSWORD", "")
    if password:
        return password
    try:
        return str(st.secrets.get("class_password", "")) or None
    except Exception:  # no secrets file, or a malformed one: no gate from there
        return None


def admitted() -> bool:
    """True when no class password is set, or this session has typed it."""
    return not class_password() or bool(st.session_state.get(PASSED))


def password_page() -> None:
    """The only page a session sees until it has typed the class password."""
    st.title("attnviz")
    with st.form("class_password_form"):
        entered = st.text_input(T("gate.password"), type="password", max_chars=200)
        submitted = st.form_submit_button(T("gate.enter"))
    if not submitted:
        return
    expected = class_password() or ""
    if hmac.compare_digest(entered.encode("utf-8"), expected.encode("utf-8")):
        st.session_state[PASSED] = True
        st.rerun()
    time.sleep(1.0)
    st.error(T("gate.wrong"))
