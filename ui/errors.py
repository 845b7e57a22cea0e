"""One error boundary for every page: a failure becomes a message in words, never a traceback.

    with guard("error.capture"):
        view = run_view()
        ...draw...

The widgets a page draws before the ``with`` stay on screen; the next edit reruns the page as usual.
Streamlit's own control flow (``st.stop()``, ``st.rerun()``) passes through untouched.
"""

from __future__ import annotations

import contextlib
import logging

import streamlit as st

from attnviz.text import InputError

from .lang import T, ensure_language

log = logging.getLogger("attnviz")


@contextlib.contextmanager
def guard(what: str, **values):
    """Run a page's compute; ``what`` is the catalogue key of what it does (said in the message)."""
    try:
        yield
    except InputError as error:  # the user's text: its own message, already in words
        st.info(error.message(ensure_language()))
    except Exception:  # noqa: BLE001 - the boundary: anything else is our failure, told without a traceback
        log.exception("attnviz: %s failed", what)
        st.error(T("error.failed", what=T(what, **values)), icon=":material/error:")
