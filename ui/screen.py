"""The browser window a page is drawn in, as the browser reports it (Streamlit's components v2, inline script).

The Presenter lays each slide out for the screen it is shown on (``attnviz.teaching.layout``). The browser reports
its window's inner size once and again after a resize settles; the size is hostile input like everything a browser
sends, so ``Screen.reported`` clamps it, and a session that has not reported yet (the first run, AppTest) is laid
out for a 1280 × 720 projector.
"""

from __future__ import annotations

import streamlit as st

from attnviz.teaching.layout import Screen

# Reports {width, height} now and 250 ms after the last resize; the page reruns when the value changes.
_JS = """
export default function(component) {
  const { setStateValue } = component;
  const report = () => setStateValue('size', {width: window.innerWidth, height: window.innerHeight});
  let timer = null;
  const onResize = () => { clearTimeout(timer); timer = setTimeout(report, 250); };
  report();
  window.addEventListener('resize', onResize);
  return () => { clearTimeout(timer); window.removeEventListener('resize', onResize); };
}
"""

_window_size = st.components.v2.component("attnviz_window_size", js=_JS)


def window_screen() -> Screen:
    """This session's window (the projector default until the browser has said)."""
    result = _window_size(key="window_size", default={"size": None}, on_size_change=lambda: None)
    return Screen.reported(result.get("size") if hasattr(result, "get") else None)
