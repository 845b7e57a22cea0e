"""Show a figure exactly as exported: no Streamlit theme on top, and an export menu beside it."""

from __future__ import annotations

import contextvars
import re

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from attnviz.export import EXPORT_LINE, capture_npz, figure_html, figure_image
from attnviz.figures.style import ROOMY_AXIS, fit_ticks_to_width

from .lang import T

# st.plotly_chart rebuilds every figure with plotly.py, which adds the default template to any figure without
# one. The live maps carry none on purpose (plots.live_figure: a template makes Plotly redraw each of them a
# second time after mounting); every other figure names its template itself.
pio.templates.default = None

# The page's main block on the smallest screen a class uses (a 1280 × 720 projector, sidebar open), in CSS px: a figure
# in a column gets its share of it, and its tick labels are thinned to fit there (a wider screen leaves them apart).
NARROWEST_MAIN_PX = 820
COLUMN_GAP_PX = 16  # Streamlit's "small" gap between columns


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "figure"


# The share of the main block the figures being drawn get: set by entering a :class:`Column` (``with column:``),
# multiplied through nested columns; 1 outside any.
_SHARE: contextvars.ContextVar[float] = contextvars.ContextVar("attnviz_column_share", default=1.0)


class Column:
    """A Streamlit column that knows its share of the main block: a figure shown inside it (``with column:``) is
    fitted to that width (:func:`show_figure`). Anything else is the column's own (``column.caption(...)``)."""

    def __init__(self, column, share: float):
        self._column, self.share = column, share
        self._tokens: list[contextvars.Token] = []

    def __enter__(self):
        self._tokens.append(_SHARE.set(self.share))
        return self._column.__enter__()

    def __exit__(self, *exc):
        try:
            return self._column.__exit__(*exc)
        finally:
            _SHARE.reset(self._tokens.pop())

    def __getattr__(self, name: str):
        return getattr(self._column, name)


def columns(spec: int | list[float], **kwargs) -> list[Column]:
    """``st.columns(spec, **kwargs)``, each column with its share of the main block (its weight's part of the
    enclosing column's share): the one place a figure's column width is written."""
    weights = [1.0] * spec if isinstance(spec, int) else [float(weight) for weight in spec]
    outer, total = _SHARE.get(), sum(weights)
    return [Column(column, outer * weight / total) for column, weight in zip(st.columns(spec, **kwargs), weights)]


def current_share() -> float:
    """The share of the main block of the :class:`Column` being drawn in (1 outside any)."""
    return _SHARE.get()


def column_width(share: float) -> float:
    """The width (px) of a column holding ``share`` of the main block (1/2: one of two equal columns; 3/5: the wide
    one of ``st.columns([3, 2])``), on the smallest screen, less its gap to a neighbour."""
    return NARROWEST_MAIN_PX * share - (COLUMN_GAP_PX if share < 1 else 0)


def show_figure(
    fig: go.Figure,
    key: str,
    *,
    arrays: dict | None = None,
    exports: bool = True,
    **chart_kwargs,
):
    """st.plotly_chart with ``theme=None`` (what you see is what exports) plus PNG/SVG/HTML/NPZ downloads.

    A figure drawn at its column's width (the share of the main block of the :class:`Column` it is shown in:
    :func:`column_width`) has its tick labels thinned to every k-th where they would touch there on the smallest
    screen; a figure that sets its own width (a slide's) keeps its labels.

    The menu is lazy: its buttons exist only while it is open (``on_change="rerun"``), so an edit of the
    sentence does not make the browser rebuild a dozen download buttons it never shows; each export is
    generated only when its button is clicked (deferred callables). ``exports=False``: no menu (a slide, whose
    figures are the page's own, exported there).
    """
    # Without Streamlit's theme, axes must make room for their own labels; set on the figure itself
    # so that the exports below carry the same layout. Figures that computed their own margins
    # (plots.fixed_layout: the live main-page maps) keep them and are drawn in one pass.
    if fig.layout.width is None:
        fit_ticks_to_width(fig, column_width(current_share()))
    if fig.layout.margin.autoexpand is not False:
        fig.update_xaxes(**ROOMY_AXIS)
        fig.update_yaxes(**ROOMY_AXIS)
    event = st.plotly_chart(fig, key=key, theme=None, **chart_kwargs)
    if not exports:
        return event
    name = _slug(key)
    menu = st.popover(T("export.menu"), icon=":material/download:", key=f"{key}__export", on_change="rerun")
    if not menu.open:
        return event
    run = get_script_run_ctx()
    session = run.session_id if run else None

    def prepared(prepare):  # each click waits in the server's bounded export line: one export per session
        return lambda: EXPORT_LINE.run(session, prepare)

    downloads = [  # (file extension, MIME type, how to make the file when its button is clicked)
        ("png", "image/png", lambda: figure_image(fig, "png")),
        ("svg", "image/svg+xml", lambda: figure_image(fig, "svg")),
        ("html", "text/html", lambda: figure_html(fig)),
    ]
    if arrays:
        downloads.append(("npz", "application/octet-stream", lambda: capture_npz(arrays)))
    with menu:
        for extension, mime, prepare in downloads:
            st.download_button(
                T(f"export.{extension}"),
                prepared(prepare),
                file_name=f"{name}.{extension}",
                mime=mime,
                key=f"{key}__{extension}",
                on_click="ignore",
            )
    return event
