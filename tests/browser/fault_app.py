"""The app with failures injected, for the browser test of the error boundary (never shipped as an entry point).

``streamlit run tests/browser/fault_app.py``: the main page's capture fails whenever the sentence contains
FAIL-NOW, and ``?crash=1`` raises outside every boundary, to see what Streamlit itself shows then.
"""

import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import streamlit as st  # noqa: E402

import ui.controls  # noqa: E402

SECRET = "injected-failure /srv/secret/path.py"
_real = getattr(ui.controls.captures_for, "__wrapped_real__", ui.controls.captures_for)


def failing_captures_for(model_name, texts, *args, **kwargs):
    if any("FAIL-NOW" in text for text in texts):
        raise RuntimeError(SECRET)
    return _real(model_name, texts, *args, **kwargs)


failing_captures_for.__wrapped_real__ = _real
ui.controls.captures_for = failing_captures_for

if st.query_params.get("crash") == "1":
    raise RuntimeError(SECRET)

runpy.run_path(str(REPO / "app.py"), run_name="__main__")
