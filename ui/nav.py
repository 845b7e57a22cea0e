"""Keep every page under app.py's navigation, even when a browser opens a page's URL first."""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def run_through_navigation() -> None:
    """Call first in every page file.

    Streamlit starts in its older multipage mode because a ``pages/`` folder exists; until app.py's
    ``st.navigation`` has run once, a direct visit to ``/DCMHA`` would run the page alone, with
    untranslated file-name links. Switching the mode off and rerunning sends the visit through app.py.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
