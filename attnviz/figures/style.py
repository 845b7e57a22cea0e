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
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..i18n import translate
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
# A title at the top edge of a figure with fixed margins: anchored by its top, a few pixels in (at 0.995 of the
# height its letters reached past the edge).
TITLE_AT_TOP = dict(x=0.01, y=1, yref="container", yanchor="top", pad=dict(t=6))


def top_title(text: str) -> dict:
    """A figure title hanging from the figure's top edge (:data:`TITLE_AT_TOP`); a second line (after ``<br>``) is its
    subtitle: Plotly centres a multi-line title on its anchor, so one in two lines reached past the figure's edge or
    into its plot. The top margin for it: :func:`title_room`."""
    first, _, rest = text.partition("<br>")
    return dict(text=first, **TITLE_AT_TOP, **({"subtitle": dict(text=rest)} if rest else {}))


def title_room(text: str) -> float:
    """The top margin for :func:`top_title`: 45 px for a line, 20 more for each further line, 20 with no title."""
    return 25 + 20 * (text.count("<br>") + 1) if text else 20


def finish(fig: go.Figure) -> go.Figure:
    """Shared styling: a white template and axes that make room for their own labels.

    Set here, not by Streamlit's theme, so that the page and every export look the same.
    Plotly's automargin draws such a figure twice (draw, measure the labels, redraw); the live
    main-page figures avoid that with :func:`fixed_layout` instead.
    """
    fig.update_layout(**STYLE)
    fig.update_xaxes(**ROOMY_AXIS)
    fig.update_yaxes(**ROOMY_AXIS)
    if fig.layout.title.text and fig.layout.title.yref is None:
        # The title just above the plot (and its subplot titles), in room Plotly makes for it: in the middle of a fixed
        # top margin it was cut by the figure's edge or met what the margin also holds.
        _title_above_plot(fig, gap=TICK_SIZE + 2)
    return fig


def _title_above_plot(fig: go.Figure, gap: float, size: float | None = None, subtitle: bool = True) -> None:
    """Put the figure's title right above its plot, ``gap`` px clear of it and of the subplot titles that sit above
    the top plot; Plotly grows the top margin to hold it (``automargin``)."""
    above_plot = [a for a in fig.layout.annotations if a.yref == "paper" and a.y is not None and a.y >= 0.99 and a.text]
    lines = max((1.4 * (a.font.size or TICK_SIZE + 4) * (1 + a.text.count("<br>")) for a in above_plot), default=0.0)
    first, _, rest = (fig.layout.title.text or "").partition("<br>")
    # Plotly centres a multi-line title on its anchor: its lower lines came down over the plot's top row.
    if rest and subtitle:  # a second line as the subtitle, below the title and held clear of the plot
        fig.update_layout(title=dict(text=first, subtitle=dict(text=rest)))
    elif rest:  # lines of one size (a slide's wrapped title): the lower half of them lifted clear of the plot
        height = 1.3 * (size or fig.layout.title.font.size or TICK_SIZE + 4)
        lines += height * (fig.layout.title.text.count("<br>") + 1) / 2
    if fig.layout.title.subtitle.text:  # its line sits between the title and the plot
        if size is not None:
            fig.layout.title.subtitle.font.size = size - 2
        lines += 1.4 * (fig.layout.title.subtitle.font.size or TICK_SIZE)
    fig.update_layout(title=dict(automargin=True, yref="paper", y=1, yanchor="bottom", pad=dict(b=gap + lines)))
    if size is not None:
        fig.layout.title.font.size = size


def ems(text: str, narrow: float = 0.62) -> float:
    """Width of plain ``text`` in ems: wide characters (CJK, emoji) 1 em, others ``narrow`` (a generous 0.62 for
    labels that must not be cut; a slide's running text plans with Source Sans's 0.5)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else narrow for ch in text)


def text_width(label: str, size: float = TICK_SIZE) -> float:
    """Generous width estimate (px) of an HTML-escaped label: wide characters (CJK, emoji) 1 em, others 0.62 em."""
    return size * ems(html.unescape(label))


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


# --- the one colour rule for attention weights ---------------------------------------------------------------------

WEIGHT_SLACK = 1e-5  # float rounding around the [0, 1] a softmax weight lies in


def is_probability(values: np.ndarray) -> bool:
    """Every finite value lies in [0, 1] (up to rounding): a softmax's weights, not DCMHA's post-composed mixture."""
    finite = np.asarray(values)[np.isfinite(values)]
    return not finite.size or (float(finite.min()) >= -WEIGHT_SLACK and float(finite.max()) <= 1 + WEIGHT_SLACK)


def weight_colours(values: np.ndarray, lang: str = "en", limit: float | None = None) -> tuple[dict, str]:
    """How attention weights are coloured, in every view of a head (map, layer grid, overview, comparison, slide,
    export): softmax weights on one sequential scale from 0 to 1, the range a weight can take, so one head looks
    the same in every view and every head is comparable; weights that leave [0, 1] (DCMHA's post-composed maps mix
    heads after the softmax) on a diverging scale centred on 0 spanning ±``limit`` (default: their largest |value|;
    a capture-wide limit keeps views of one model alike). Returns the trace's colour settings and the colour bar's
    title, which states the rule."""
    if limit is None and is_probability(values):
        return dict(colorscale=colorscale(SEQUENTIAL), zmin=0.0, zmax=1.0), translate("plot.weight_bar", lang)
    finite = np.abs(np.asarray(values)[np.isfinite(values)])
    limit = limit if limit is not None else (float(finite.max()) if finite.size else 1.0)
    return (
        dict(colorscale=colorscale(DIVERGING), zmid=0.0, zmin=-limit, zmax=limit),
        translate("plot.weight_composed_bar", lang),
    )


def block_colours(values: np.ndarray, lang: str = "en") -> tuple[dict, str]:
    """Block means of a long text's maps, another quantity: a weight averaged over a block of about T/48 keys is
    near 1/T, so on 0–1 the map would be white. From 0 to the largest block mean drawn, as the colour bar says."""
    finite = np.asarray(values)[np.isfinite(values)]
    top = max(float(finite.max()) if finite.size else 1.0, 1e-6)
    return dict(colorscale=colorscale(SEQUENTIAL), zmin=0.0, zmax=top), translate("plot.block_mean_bar", lang)


def colorbar(title: str, thickness: int = 12) -> dict:
    """A colour bar just right of the plot, inside the room that :func:`colorbar_room` reserves."""
    return dict(title=dict(text=title), thickness=thickness, x=1.0, xanchor="left", xpad=8)


def colorbar_room(title: str) -> float:
    """Room right of the plot for a colour bar titled ``title``: its pad (8 px), the title and a margin of 20."""
    return max(COLORBAR_ROOM, text_width(title) + 28)


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


# --- a figure laid out for a box on a screen (the Presenter's slides) -----------------------------------------------

SLIDE_TICK_PX = 14  # the smallest text on a slide: a tick label read from the back of a classroom
_AXIS_NAME = re.compile(r"^[xy]axis\d*$")


def _label_spacing_needed(name: str, axis: dict, labels: Sequence[str], size: float) -> float:
    """Pixels between neighbouring tick labels of axis ``name`` (its JSON ``axis``) so that they never touch: the
    font's size and 2 px for labels stacked vertically or turned (measured across the slant), the widest label (plus a
    gap) for labels side by side."""
    angle = axis.get("tickangle")
    angle = abs(float(angle)) if isinstance(angle, (int, float)) else 0.0
    if name.startswith("y"):
        return size + 2
    if angle >= 30:  # turned: a line of text (and 2 px) apart across the labels' slant
        return (size + 2) / math.sin(math.radians(angle))
    return widest([str(label) for label in labels], size) + 8


def _axes_json(fig: go.Figure) -> dict[str, dict]:
    """Every axis of ``fig`` as plain JSON (its name -> its set properties): read once, since each property read
    through plotly.py's objects costs a validator lookup, and a page thins the ticks of every figure at every rerun."""
    return {name: fig.layout[name].to_plotly_json() for name in fig.layout if _AXIS_NAME.match(name)}


def wrap_text(text: str, width: float, size: float) -> str:
    """``text`` broken into lines (Plotly's ``<br>``) no wider than ``width`` px at ``size`` px, at spaces (or
    anywhere in text without spaces, such as Chinese)."""
    if text_width(text, size) <= width or "<br>" in text:
        return text
    words = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines, line = [], ""
    for word in words:
        candidate = f"{line}{joiner}{word}" if line else word
        if line and text_width(candidate, size) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return "<br>".join([*lines, line])


def _categories(fig: go.Figure, axis_name: str) -> list:
    """The categories drawn on a category axis (bars over token names), in order, from the traces on it and on
    every axis that shares it (``matches``: a column of subplots with one x axis)."""
    letter = axis_name[0]
    ref = letter + axis_name[5:]
    linked = {ref, fig.layout[axis_name].matches} | {
        key[0] + key[5:]
        for key in fig.layout
        if key[0] == letter and _AXIS_NAME.match(key) and fig.layout[key].matches == ref
    }
    seen: dict = {}
    for trace in fig.data:
        if (getattr(trace, f"{letter}axis", None) or letter) in linked:
            values = getattr(trace, letter, None)
            for value in () if values is None else values:
                if isinstance(value, str):
                    seen.setdefault(value, None)
    return list(seen)


def _plot_size(fig: go.Figure, width: int, height: int, tick_px: int, font_px: int) -> tuple[float, float]:
    """The plot area Plotly will leave once its margins hold the slide-sized labels (an estimate that errs small,
    so tick labels are thinned enough): the widest y label and the turned x labels' height, the axis titles, the
    title's lines, and a colour bar or legend on the right."""
    margin = fig.layout.margin
    left, right = float(margin.l or 10), float(margin.r or 10)
    top, bottom = float(margin.t or 10), float(margin.b or 10)
    axes = [fig.layout[key] for key in fig.layout if _AXIS_NAME.match(key)]
    for axis in axes:
        shown = axis.visible is not False and axis.showticklabels is not False
        text = [str(label) for label in (axis.ticktext or ())] if shown else []
        title_room = 1.6 * (tick_px + 1) if axis.title.text else 0.0
        if axis.plotly_name.startswith("y"):
            left = max(left, widest(text, tick_px) + title_room + 12)
        else:
            angle = math.radians(abs(float(axis.tickangle))) if isinstance(axis.tickangle, (int, float)) else 0.0
            turned = widest(text, tick_px) * math.sin(angle) + tick_px * math.cos(angle) if text else tick_px * 1.4
            bottom = max(bottom, turned + title_room + tick_px)
    if fig.layout.title.text:
        top = max(top, 1.3 * (font_px + 2) * (1 + fig.layout.title.text.count("<br>")) + 2 * tick_px)
    if any("colorbar" in trace and trace.showscale is not False for trace in fig.data) or fig.layout.showlegend:
        right = max(right, 6 * tick_px)
    return max(width - left - right, 40.0), max(height - top - bottom, 40.0)


def _fit_bar_text(trace, plot_width: float, tick_px: int) -> None:
    """A bar's value label at the slide's size: level when it fits over its bar, turned upright when it does not,
    left out when even upright it would touch its neighbours (the hover still shows it)."""
    n_bars = max(len(trace.x if trace.x is not None else trace.y or ()), 1)
    slot = plot_width / n_bars
    text = [str(t) for t in (trace.text if isinstance(trace.text, (list, tuple, np.ndarray)) else [trace.text])]
    trace.textfont.size = tick_px
    trace.cliponaxis = False
    if widest(text, tick_px) + 4 > slot:
        if 1.3 * tick_px <= slot:
            trace.textangle = -90
        else:
            trace.textposition = "none"


def fit_to_box(fig: go.Figure, width: int, height: int, *, tick_px: int = SLIDE_TICK_PX, font_px: int = 17) -> int:
    """Lay ``fig`` out for exactly ``width`` × ``height`` px with no text smaller than ``tick_px``: every font set,
    tick labels thinned to every k-th where neighbours would touch (never shrunk), long titles wrapped, legends and
    colour-bar titles beside their plots, and margins grown by Plotly to hold what it draws. Returns k, the widest
    stride in tokens between the labels left on an axis it thinned (1: nothing thinned), for the slide to say so."""
    plot_width, plot_height = _plot_size(fig, width, height, tick_px, font_px)
    fig.update_layout(
        width=width,
        height=height,
        font=dict(size=font_px),
        margin=dict(autoexpand=True),
        # Bar labels at the slide's smallest size, never shrunk to fit a bar (Plotly's default).
        uniformtext=dict(minsize=tick_px, mode="show"),
    )
    for annotation in fig.layout.annotations:
        annotation.font.size = max(tick_px, font_px - 2)
        annotation.text = wrap_text(annotation.text or "", width * 0.9, annotation.font.size)
    if fig.layout.title.text:  # clear of the top row's tick label, which reaches above the plot
        fig.layout.title.text = wrap_text(fig.layout.title.text, width - 20, font_px + 2)
        _title_above_plot(fig, gap=tick_px, size=font_px + 2, subtitle=False)  # wrapped lines of one size
    if any(
        getattr(trace, "showlegend", False) is not False and getattr(trace, "name", None) for trace in fig.data
    ):  # (an image trace has no legend)
        fig.update_layout(legend=dict(font_size=tick_px, orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    for trace in fig.data:
        if "colorbar" in trace:
            trace.colorbar.tickfont.size = tick_px
            trace.colorbar.title.font.size = tick_px
            trace.colorbar.title.side = "right"  # along the bar: above it, the title met the top tick label
        if trace.type == "bar" and trace.text is not None:
            _fit_bar_text(trace, plot_width, tick_px)
    for name in [key for key in fig.layout if _AXIS_NAME.match(key)]:
        axis = fig.layout[name]
        axis.tickfont.size = tick_px
        axis.title.font.size = tick_px + 1
        axis.automargin = True
        if name.startswith("x"):
            axis.side = "bottom" if axis.side == "top" else axis.side  # a top axis would meet the title
            axis.ticklabelstandoff = tick_px // 2  # turned labels start below the y axis's lowest label
    return thin_ticks(fig, plot_width, plot_height, categories=True)


def fit_ticks_to_width(fig: go.Figure, width: float) -> int:
    """A page's figure, drawn at the width of its column (at least ``width`` px on the smallest screen a class uses):
    its tick labels thinned to every k-th where they would touch there (:func:`thin_ticks`). The plot area is the
    width less the figure's own margins (exact for :func:`fixed_layout`'s figures, estimated for the others)."""
    height = float(fig.layout.height or 450)
    margin = fig.layout.margin
    if margin.autoexpand is False:
        plot_width = width - float(margin.l or 0) - float(margin.r or 0)
        plot_height = height - float(margin.t or 0) - float(margin.b or 0)
    else:
        plot_width, plot_height = _plot_size(fig, int(width), int(height), TICK_SIZE, TICK_SIZE + 2)
    return thin_ticks(fig, max(plot_width, 40.0), max(plot_height, 40.0))


def _px_per_unit(axes: dict[str, dict], name: str, plot_width: float, plot_height: float) -> float | None:
    """Pixels per data unit along axis ``name`` of ``axes`` (:func:`_axes_json`; None: no ticks to place); an axis
    tied to another by ``scaleanchor`` (a square map) gets the smaller scale of the two, as Plotly draws it."""

    def own(key: str) -> float | None:
        axis = axes[key]
        values = list(axis.get("tickvals") or ())
        span_range = axis.get("range")
        if span_range is not None and None not in span_range:
            span = abs(span_range[1] - span_range[0])
        elif len(values) >= 2:
            span = float(max(values) - min(values) + 1)
        else:
            return None
        domain = axis.get("domain")
        share = domain[1] - domain[0] if domain is not None else 1.0
        return share * (plot_width if key.startswith("x") else plot_height) / max(span, 1e-9)

    scale = own(name)
    ref = name[0] + name[5:]
    partners: set[str] = {key[0] + key[5:] for key, axis in axes.items() if axis.get("scaleanchor") == ref}
    anchor = axes[name].get("scaleanchor")
    if isinstance(anchor, str):
        partners.add(anchor)
    for partner in partners - {ref}:
        key = f"{partner[0]}axis{partner[1:]}"
        other = own(key) if key in axes else None
        if scale is not None and other is not None:
            scale = min(scale, other)
    return scale


def thin_ticks(fig: go.Figure, plot_width: float, plot_height: float, *, categories: bool = False) -> int:
    """Leave every k-th tick label on each axis of ``fig`` whose neighbours would touch in a plot area of
    ``plot_width`` × ``plot_height`` px, at each axis's own font size (never shrunk); ``categories``: also a category
    axis (bars over token names), whose labels Plotly would otherwise place itself. Returns the widest stride, in
    tokens, between the labels left on an axis it thinned (1: nothing thinned)."""
    largest_step = 1
    axes = _axes_json(fig)
    for name, axis in axes.items():
        size = float(axis.get("tickfont", {}).get("size") or TICK_SIZE)
        if axis.get("visible") is False or axis.get("showticklabels") is False:
            continue
        categories_drawn = _categories(fig, name) if categories and axis.get("tickmode") != "array" else []
        tickvals, ticktext = list(axis.get("tickvals") or ()), list(axis.get("ticktext") or ())
        if categories_drawn:
            drawn = fig.layout[name]
            drawn.tickmode, drawn.tickvals, drawn.ticktext = "array", categories_drawn, categories_drawn
            tickvals, ticktext = categories_drawn, categories_drawn
            positions = list(range(len(categories_drawn)))
            domain = axis.get("domain")
            share = domain[1] - domain[0] if domain is not None else 1.0
            scale = share * (plot_width if name.startswith("x") else plot_height) / max(len(positions), 1)
        elif axis.get("tickmode") == "array" and tickvals and ticktext and len(tickvals) >= 2:
            positions = tickvals
            scale = _px_per_unit(axes, name, plot_width, plot_height)
        else:
            continue
        if scale is None:
            continue
        gap = float(np.min(np.diff(np.sort(np.asarray(positions, dtype=float))))) if len(positions) > 1 else 1.0
        pixels_apart = (gap or 1.0) * scale
        step = max(1, math.ceil(_label_spacing_needed(name, axis, ticktext, size) / max(pixels_apart, 1e-9)))
        if step > 1:
            thinned = fig.layout[name]  # set property by property: ``update`` goes through plotly.py's relayout path
            thinned.tickvals, thinned.ticktext = tickvals[::step], ticktext[::step]
            # In tokens: a builder may already label every few tokens (a long text's map), thinned once more here.
            largest_step = max(largest_step, step * max(1, round(gap)))
    return largest_step
