"""ui/nav.py's one use of a private Streamlit name, held to the Streamlit attnviz locks.

A ``pages/`` folder beside app.py starts Streamlit in its older multipage mode, where a browser's first visit to
``/DCMHA`` would run that page alone (file-name links, no translated navigation). ``run_through_navigation`` turns
the mode off once and reruns through app.py's ``st.navigation``. The folder keeps its name (the project's layout);
this test fails first if a Streamlit release renames the flag, instead of the pages silently losing their menu.
"""

from __future__ import annotations

import pytest
from streamlit.runtime.pages_manager import PagesManager

from ui import nav


def test_the_flag_nav_turns_off_is_still_streamlits():
    assert "uses_pages_directory" in vars(PagesManager)


@pytest.mark.parametrize(("mode", "reruns"), [(True, 1), (False, 0), (None, 0)])
def test_the_older_mode_is_turned_off_once_and_the_run_goes_through_app_py(monkeypatch, mode, reruns):
    calls = []
    monkeypatch.setattr(PagesManager, "uses_pages_directory", mode)
    monkeypatch.setattr(nav.st, "rerun", lambda: calls.append("rerun"))
    nav.run_through_navigation()
    assert len(calls) == reruns
    assert PagesManager.uses_pages_directory is (False if mode else mode)
