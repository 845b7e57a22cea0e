"""The one style of every figure: colours, fonts, margins, the template policy and the payload budget.

Template policy (one for the whole app and every export): no Plotly template. Live maps carry none at all
(:func:`live_figure`, a template makes Plotly redraw them after mounting); every other figure goes through
:func:`finish`, which sets template "none" — the same look: white background, no grid, Plotly's default
colour cycle. Masked cells are NaN on a grey plot background (``MASKED_COLOR``), never drawn as zero.

Colour rule: attention weights are ``SEQUENTIAL`` from 0; anything signed (scores, differences, DCMHA's
post-composed weights when one is negative) is ``DIVERGING`` centred on 0. Figures compared side by side share
one scale and one meaning of each colour (``attnviz.figures.dcmha.side_by_side``, ``head_grid``).
"""

from __future__ import annotations

import functools
import hashlib
import html
import math
import unicodedata
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..text import token_label

MASKED_COLOR = "#d0d0d0"
SEQUENTIAL = "Blues"
DIVERGING = "RdBu_r"
FULL_DETAIL_TOKENS = 160  # above this, hover text names positions instead of carrying per-cell strings
MAX_DRAWN_TOKENS = 512  # above this, one head's map is block-averaged (payload budget: ~3 MB of JSON per map)
FONT = dict(family="Source Sans Pro, Noto Sans CJK SC, sans-serif")
STYLE = dict(template="none", font=FONT)
TICK_SIZE = 12  # Plotly's default tick font size (px)
TITLE_ROOM = 24  # an axis title (14 px) and its gap to the tick labels
COLORBAR_ROOM = 76  # right of the plot: pad, bar, its tick labels ("0.035")
# Tick labels that fit need not be measured against the figure's edge to hide those past it (Plotly's default,
# "hide past div"): that check was a quarter of a 20-token head map's redraw and four fifths of a 128-token one's
# (benchmarks/plotly_redraw.py). Labels fit on axes that make room for them (ROOMY_AXIS) and in fixed_layout's margins.
LABELS_FIT = dict(ticklabeloverflow="allow")
ROOMY_AXIS = dict(automargin=True, **LABELS_FIT)


def finish(fig: go.Figure) -> go.Figure:
    """Shared styling: a white template and axes that make room for their own labels.

    Set here, not by Streamlit's theme, so that the page and every export look the same.
    Plotly's automargin draws such a figure twice (draw, measure the labels, redraw); the live
    main-page figures avoid that with :func:`fixed_layout` instead.
    """
    fig.update_layout(**STYLE)
    fig.update_xaxes(**ROOMY_AXIS)
    fig.update_yaxes(**ROOMY_AXIS)
    return fig


def text_width(label: str, size: float = TICK_SIZE) -> float:
    """Generous width estimate (px) of an HTML-escaped label: wide characters (CJK, emoji) 1 em, others 0.62 em."""
    return size * sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.62 for ch in html.unescape(label))


def widest(labels: Sequence[str], size: float = TICK_SIZE) -> float:
    return max((text_width(label, size) for label in labels), default=0.0)


def fixed_layout(*, left: float, right: float, top: float, bottom: float, **layout) -> dict:
    """A whole layout with margins computed here instead of by Plotly's automargin.

    ``autoexpand=False`` keeps colour bars and labels from growing the margins, so Plotly draws the
    figure once instead of drawing, measuring and redrawing it — the live figures redraw on every edit.
    No template: :func:`live_figure`, which builds every such figure, leaves it out on purpose.
    """
    margin = dict(l=math.ceil(left), r=math.ceil(right), t=math.ceil(top), b=math.ceil(bottom), autoexpand=False)
    axes = {
        name: {**LABELS_FIT, **axis} for name, axis in layout.items() if name[1:5] == "axis" and isinstance(axis, dict)
    }
    return {"font": FONT, **layout, **axes, "margin": margin}


def live_figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure for a map that redraws on every edit: no template, and a ``datarevision`` of its data.

    Streamlit hands a mounted chart a JSON copy of its figure once more after the first draw. Plotly.react
    then redraws from scratch unless it can tell nothing changed: ``datarevision`` tells it the arrays are
    the same, and a template (even "none", which carries a stub list) always counts as changed. Without a
    template Plotly's own defaults apply, which is what "none" gives; the app keeps plotly.py from adding
    its default template back (``ui.figures``).

    ``traces`` (dicts with their ``type``) and ``layout`` are written in the form plotly.py's validation
    gives them: colour scales as explicit ``[position, colour]`` pairs (:func:`colorscale`), titles as
    ``dict(text=...)``, no ``None`` values, plain numbers. So the figure is assembled without validating
    every property once more (``_validate=False``): every session rebuilds these maps on every edit, and
    validating them was the largest part of a main-page run's Python time (``benchmarks/load_sessions.py``).
    ``tests/test_figures_attention.py`` checks that validating a live figure changes nothing in what it sends. Changes
    made to the figure afterwards are validated as usual.
    """
    digest = hashlib.blake2b(digest_size=8)
    for trace in traces:  # the arrays, and the labels that customdata's hover text repeats
        for name in ("z", "x", "y"):
            values = trace.get(name)
            if values is not None:
                digest.update(np.asarray(values, dtype=np.float64).tobytes())
    for axis in ("xaxis", "yaxis"):
        ticktext = layout.get(axis, {}).get("ticktext")
        digest.update(repr(None if ticktext is None else tuple(ticktext)).encode())
    fig = go.Figure({"data": traces, "layout": {**layout, "datarevision": digest.hexdigest()}}, _validate=False)
    for part in (fig, fig.layout, *fig.data):
        part._validate = True
    fig.layout.template = None
    return fig


@functools.cache
def _colorscale_pairs(name: str) -> tuple:
    return tuple(tuple(pair) for pair in go.Heatmap(colorscale=name).to_plotly_json()["colorscale"])


def colorscale(name: str) -> list[list]:
    """A named colour scale as plotly.py validates it: the explicit ``[position, colour]`` pairs it sends
    (plotly.js's own scale of the same name has other colours)."""
    return [list(pair) for pair in _colorscale_pairs(name)]


def colorbar(title: str, thickness: int = 12) -> dict:
    """A colour bar just right of the plot, inside the room that :func:`colorbar_room` reserves."""
    return dict(title=dict(text=title), thickness=thickness, x=1.0, xanchor="left", xpad=8)


def colorbar_room(title: str) -> float:
    return max(COLORBAR_ROOM, text_width(title) + 20)


def labels(tokens: list[str]) -> list[str]:
    return [token_label(t) for t in tokens]


def block_starts(n: int, size: int) -> np.ndarray:
    """First index of each of at most ``size`` near-equal blocks of ``range(n)`` (as ``downsample`` cuts them)."""
    return np.array([block[0] for block in np.array_split(np.arange(n), min(size, n))])


def downsample(matrix: np.ndarray, size: int) -> np.ndarray:
    """Block-average a (q, k) map to at most (size, size) cells; NaN cells are skipped."""
    q_len, k_len = matrix.shape
    if q_len <= size and k_len <= size:
        return matrix
    row_starts, col_starts = block_starts(q_len, size), block_starts(k_len, size)
    valid = ~np.isnan(matrix)
    sums = np.add.reduceat(np.add.reduceat(np.where(valid, matrix, 0.0), row_starts, axis=0), col_starts, axis=1)
    counts = np.add.reduceat(np.add.reduceat(valid.astype(np.int64), row_starts, axis=0), col_starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)
