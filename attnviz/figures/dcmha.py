"""Pure figure builders for the DCMHA page: arrays in, ``plotly.graph_objects.Figure`` out.

Conventions (as in :mod:`attnviz.figures.attention`): queries on rows top to bottom, keys on columns, labels escaped
with :func:`attnviz.text.escape_label`, masked cells drawn as NaN on a grey background. Compose matrices:
rows = OUTPUT head n, columns = INPUT head m, diverging colour scale centred on 0. Titles and axis titles are passed
in by the caller; hover words are translated here (``lang``). Style and template: :mod:`attnviz.figures.style`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..i18n import translate
from ..masks import window_band_outline
from ..text import escape_label
from .style import DIVERGING, MASKED_COLOR, MAX_DRAWN_TOKENS, SEQUENTIAL, block_starts, downsample, finish

SELECTED_COLOR = "#e65000"
WINDOW_COLOR = "#1b7837"
QUERY_BLOCK_COLOR = "#5e3c99"


# ----------------------------------------------------------------------------- helpers
def _labels(tokens: Sequence[str]) -> list[str]:
    return [escape_label(t) for t in tokens]


def _ticks(labels: list[str], max_ticks: int = 48) -> dict:
    n = len(labels)
    step = max(1, int(np.ceil(n / max_ticks)))
    idx = list(range(0, n, step))
    return dict(tickmode="array", tickvals=idx, ticktext=[labels[i] for i in idx])


def _masked(values: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    out = np.asarray(values, dtype=np.float32).copy()
    if allowed is not None:
        out[~np.broadcast_to(np.asarray(allowed, dtype=bool), out.shape)] = np.nan
    return out


def _abs_limit(*arrays: np.ndarray) -> float:
    vals = [np.nanmax(np.abs(a)) for a in arrays if np.isfinite(a).any()]
    return max(float(max(vals)) if vals else 1.0, 1e-6)


def has_negative(values: np.ndarray, tol: float = 1e-7) -> bool:
    return bool(np.isfinite(values).any() and np.nanmin(values) < -tol)


def _colorbar_for(fig: go.Figure, row: int, col: int, title: str = "") -> dict:
    """A colorbar placed just right of subplot (row, col)."""
    sub = fig.get_subplot(row, col)
    xd, yd = sub.xaxis.domain, sub.yaxis.domain
    return dict(
        x=xd[1] + 0.004,
        xanchor="left",
        y=(yd[0] + yd[1]) / 2,
        yanchor="middle",
        len=(yd[1] - yd[0]) * 0.95,
        thickness=9,
        title=dict(text=title, side="right"),
        tickfont=dict(size=9),
    )


def _axis_ref(fig: go.Figure, row: int, col: int) -> tuple[str, str]:
    sub = fig.get_subplot(row, col)
    return sub.xaxis.plotly_name.replace("axis", ""), sub.yaxis.plotly_name.replace("axis", "")


def _head_ticks(H: int) -> dict:
    return dict(tickmode="array", tickvals=list(range(H)), ticktext=[f"h{h}" for h in range(H)])


# ----------------------------------------------------------------------------- structure shapes
def window_band_path(T: int, window: int | None, causal: bool = True) -> str | None:
    """SVG path (data coordinates) outlining the allowed band of a local layer, or None for a global layer."""
    points = window_band_outline(T, window, causal)
    return "M " + " L ".join(f"{x:g},{y:g}" for x, y in points) + " Z" if points else None


def structure_shapes(
    T: int,
    window: int | None,
    causal: bool,
    spans: Sequence[tuple[int, int, int, int]] = (),
    selected: tuple[int, int] | None = None,
    xref: str = "x",
    yref: str = "y",
) -> list[dict]:
    """Window band outline, one dashed box per block of queries of the blocked computation (the keys it reads),
    and the selected (t, s) cell."""
    shapes: list[dict] = []
    path = window_band_path(T, window, causal)
    if path:
        shapes.append(
            dict(
                type="path",
                path=path,
                xref=xref,
                yref=yref,
                line=dict(color=WINDOW_COLOR, width=2 if T <= 64 else 1),
                fillcolor="rgba(0,0,0,0)",
                name="window",
            )
        )
    if len(spans) > 1:
        for a, b, k0, k1 in spans:
            shapes.append(
                dict(
                    type="rect",
                    x0=k0 - 0.5,
                    x1=k1 - 0.5,
                    y0=a - 0.5,
                    y1=b - 0.5,
                    xref=xref,
                    yref=yref,
                    line=dict(color=QUERY_BLOCK_COLOR, width=1.5, dash="dash"),
                    name="query block",
                )
            )
    if selected is not None:
        t, s = selected
        shapes.append(
            dict(
                type="rect",
                x0=s - 0.5,
                x1=s + 0.5,
                y0=t - 0.5,
                y1=t + 0.5,
                xref=xref,
                yref=yref,
                line=dict(color=SELECTED_COLOR, width=2.5),
                name="selected",
            )
        )
    return shapes


# ----------------------------------------------------------------------------- compose matrices
def compose_parts(
    parts: dict[str, np.ndarray],
    *,
    title: str,
    part_titles: dict[str, str],
    order: Sequence[str] = ("identity", "query", "key", "query_gate", "key_gate", "static", "C"),
    x_title: str = "input head m",
    y_title: str = "output head n",
    show_zero_static: bool = False,
    height: int = 340,
    lang: str = "en",
) -> go.Figure:
    """The parts of one C_ts side by side (they add up to the last panel, C_ts).

    Two diverging scales centred on 0: one for I and C_ts, one for the dynamic parts (much smaller than I,
    they would look blank on the scale of the identity).
    """
    keys = [k for k in order if k in parts and (k != "static" or show_zero_static or np.any(parts[k]))]
    H = parts["C"].shape[0]
    fig = make_subplots(
        rows=1, cols=len(keys), subplot_titles=[part_titles.get(k, k) for k in keys], horizontal_spacing=0.025
    )
    whole = [k for k in keys if k in ("identity", "C")]
    dynamic = [k for k in keys if k not in whole]
    lim_whole = _abs_limit(*(parts[k] for k in whole))
    lim_dyn = _abs_limit(*(parts[k] for k in dynamic)) if dynamic else 1.0
    show_text = H <= 8
    for col, k in enumerate(keys, start=1):
        z = np.asarray(parts[k], dtype=np.float32)
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=list(range(H)),
                y=list(range(H)),
                coloraxis="coloraxis" if k in whole else "coloraxis2",
                name=part_titles.get(k, k),
                text=np.round(z, 2) if show_text else None,
                texttemplate="%{text:.2f}" if show_text else None,
                textfont=dict(size=10),
                hovertemplate=f"{escape_label(part_titles.get(k, k))}<br>{translate('plot.compose_cell', lang, n='%{y}', m='%{x}')}<br>%{{z:.4f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=x_title if col == (len(keys) + 1) // 2 else None, row=1, col=col)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain", **_head_ticks(H))
    fig.update_yaxes(showgrid=False, zeroline=False, autorange="reversed", **_head_ticks(H))
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    for col in range(2, len(keys) + 1):
        fig.update_yaxes(showticklabels=False, row=1, col=col)
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        coloraxis=dict(
            colorscale=DIVERGING,
            cmid=0,
            cmin=-lim_whole,
            cmax=lim_whole,
            colorbar=dict(thickness=9, title="I, C", x=1.0, xanchor="left", len=0.8),
        ),
        coloraxis2=dict(
            colorscale=DIVERGING,
            cmid=0,
            cmin=-lim_dyn,
            cmax=lim_dyn,
            colorbar=dict(thickness=9, title=translate("plot.parts", lang), x=1.06, xanchor="left", len=0.8),
        ),
        height=height,
        margin=dict(l=10, r=40, t=80, b=50),
    )
    fig.update_annotations(font=dict(size=11))
    return finish(fig)


def draw_matrices(
    mats: Sequence[tuple[str, np.ndarray]],
    *,
    title: str,
    x_title: str = "input head m",
    y_title: str = "output head n",
    height: int = 340,
    lang: str = "en",
) -> go.Figure:
    """Non-negative H x H summaries (e.g. mean |C_ts - I|) side by side on one sequential scale from 0."""
    H = mats[0][1].shape[0]
    fig = make_subplots(
        rows=1, cols=len(mats), subplot_titles=[escape_label(n) for n, _ in mats], horizontal_spacing=0.08
    )
    peak = max(float(np.max(m)) for _, m in mats) or 1e-6
    for col, (name, m) in enumerate(mats, start=1):
        fig.add_trace(
            go.Heatmap(
                z=np.asarray(m, dtype=np.float32),
                x=list(range(H)),
                y=list(range(H)),
                coloraxis="coloraxis",
                text=np.round(m, 3) if H <= 8 else None,
                texttemplate="%{text:.3f}" if H <= 8 else None,
                hovertemplate=f"{escape_label(name)}<br>{translate('plot.draws_from', lang, n='%{y}', m='%{x}')}<br>%{{z:.4f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=x_title, row=1, col=col)
        fig.update_yaxes(title_text=y_title if col == 1 else None, row=1, col=col)
    fig.update_xaxes(showgrid=False, zeroline=False, **_head_ticks(H))
    fig.update_yaxes(showgrid=False, zeroline=False, autorange="reversed", **_head_ticks(H))
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        coloraxis=dict(colorscale="Oranges", cmin=0, cmax=peak, colorbar=dict(thickness=10, title="|C−I|")),
        height=height,
        margin=dict(l=10, r=10, t=80, b=50),
    )
    return finish(fig)


def head_bars(
    series: dict[str, np.ndarray],
    *,
    title: str,
    x_title: str = "head",
    y_title: str = "",
    highlight: int | None = None,
    height: int = 380,
) -> go.Figure:
    """Grouped bars per head (or per layer), one group member per entry of ``series``."""
    fig = go.Figure()
    n = len(next(iter(series.values())))
    for name, values in series.items():
        fig.add_trace(
            go.Bar(
                x=list(range(n)),
                y=np.asarray(values, dtype=float),
                name=escape_label(name),
                hovertemplate=f"{escape_label(name)}<br>{escape_label(x_title)} %{{x}}: %{{y:.4f}}<extra></extra>",
            )
        )
    if highlight is not None:
        fig.add_vrect(x0=highlight - 0.5, x1=highlight + 0.5, fillcolor=SELECTED_COLOR, opacity=0.12, line_width=0)
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        barmode="group",
        height=height,
        xaxis=dict(title=x_title, tickmode="linear", dtick=1),
        yaxis=dict(title=y_title, rangemode="tozero"),
        # The legend at the figure's foot, below the axis title (two rows of entries in a half-page column); placed
        # in the plot's coordinates it met the axis title.
        margin=dict(l=10, r=10, t=70, b=110),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0),
    )
    return finish(fig)


# ----------------------------------------------------------------------------- attention maps
def _map_axes(fig: go.Figure, labels: list[str], rows: int, cols: int, x_title: str, y_title: str) -> None:
    n = len(labels)
    fig.update_xaxes(
        showgrid=False,
        zeroline=False,
        tickangle=-60 if n > 6 else 0,
        tickfont=dict(size=9),
        range=[-0.5, n - 0.5],
        **_ticks(labels, max_ticks=(64 if cols <= 2 else 40)),
    )
    fig.update_yaxes(
        showgrid=False,
        zeroline=False,
        autorange=False,
        range=[n - 0.5, -0.5],
        tickfont=dict(size=9),
        **_ticks(labels, max_ticks=80),
    )
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            if c > 1:
                fig.update_yaxes(showticklabels=False, row=r, col=c)
            else:
                fig.update_yaxes(title_text=y_title, row=r, col=c)
            if r == rows:
                fig.update_xaxes(title_text=x_title, row=r, col=c)


def _heat(z, labels, name, lang: str = "en", **kw) -> go.Heatmap:
    n = len(labels)
    custom = None
    if max(z.shape) > MAX_DRAWN_TOKENS:
        # The payload budget of every map (plots.MAX_DRAWN_TOKENS): block means, each at its block's first
        # position, so window bands and query-block outlines drawn in token coordinates still line up.
        rows, cols = block_starts(z.shape[0], MAX_DRAWN_TOKENS), block_starts(z.shape[1], MAX_DRAWN_TOKENS)
        hover = f"{escape_label(name)}<br>{translate('plot.block_average', lang)}: {translate('plot.query', lang)} #%{{y}}… → {translate('plot.key', lang)} #%{{x}}…<br>%{{z:.4f}}<extra></extra>"
        return go.Heatmap(
            z=downsample(z, MAX_DRAWN_TOKENS), x=cols.tolist(), y=rows.tolist(), hovertemplate=hover, name=name, **kw
        )
    if n <= 160:
        custom = np.empty((z.shape[0], z.shape[1], 2), dtype=object)
        custom[:, :, 0] = np.array(labels, dtype=object)[:, None]
        custom[:, :, 1] = np.array(labels, dtype=object)[None, :]
        hover = f"{escape_label(name)}<br>{translate('plot.query', lang)} #%{{y}} <b>%{{customdata[0]}}</b> → {translate('plot.key', lang)} #%{{x}} <b>%{{customdata[1]}}</b><br>%{{z:.4f}}<extra></extra>"
    else:
        hover = f"{escape_label(name)}<br>{translate('plot.query', lang)} #%{{y}} → {translate('plot.key', lang)} #%{{x}}<br>%{{z:.4f}}<extra></extra>"
    return go.Heatmap(
        z=z,
        x=list(range(z.shape[1])),
        y=list(range(z.shape[0])),
        customdata=custom,
        hovertemplate=hover,
        name=name,
        **kw,
    )


def stage_figure(
    stages: dict[str, np.ndarray],
    labels: Sequence[str],
    allowed: np.ndarray | None,
    *,
    title: str,
    panel_titles: dict[str, str],
    x_title: str = "key s",
    y_title: str = "query t",
    shapes: Sequence[dict] = (),
    lang: str = "en",
) -> go.Figure:
    """One head: row 1 raw scores | after pre-compose | difference; row 2 probabilities | after post-compose | difference.

    ``stages`` holds (T, T) maps 'raw', 'composed', 'probs', 'pattern'. Scores and differences use a
    diverging scale centred on 0; the post-composed map too when it holds negative values.
    ``shapes`` (data coordinates of one panel, xref 'x'/yref 'y') are repeated on every panel.
    """
    labels = _labels(labels)
    raw, comp = _masked(stages["raw"], allowed), _masked(stages["composed"], allowed)
    probs, pat = _masked(stages["probs"], allowed), _masked(stages["pattern"], allowed)
    dpre, dpost = comp - raw, pat - probs
    order = ["raw", "composed", "dpre", "probs", "pattern", "dpost"]
    n = len(labels)
    height = int(np.clip(2 * (9 * n + 160) + 60, 700, 1600))
    fig = make_subplots(
        rows=2,
        cols=3,
        subplot_titles=[panel_titles[k] for k in order],
        horizontal_spacing=0.075,
        vertical_spacing=110 / height,
    )
    s_lim = _abs_limit(raw, comp)
    p_max = max(float(np.nanmax(probs)) if np.isfinite(probs).any() else 1.0, 1e-6)
    negative = has_negative(pat)
    p_lim = _abs_limit(pat)
    specs = {
        "raw": (raw, 1, 1, dict(colorscale=DIVERGING, zmid=0, zmin=-s_lim, zmax=s_lim, showscale=False)),
        "composed": (comp, 1, 2, dict(colorscale=DIVERGING, zmid=0, zmin=-s_lim, zmax=s_lim)),
        "dpre": (dpre, 1, 3, dict(colorscale=DIVERGING, zmid=0, zmin=-_abs_limit(dpre), zmax=_abs_limit(dpre))),
        "probs": (probs, 2, 1, dict(colorscale=SEQUENTIAL, zmin=0, zmax=p_max)),
        "pattern": (
            pat,
            2,
            2,
            dict(colorscale=DIVERGING, zmid=0, zmin=-p_lim, zmax=p_lim)
            if negative
            else dict(colorscale=SEQUENTIAL, zmin=0, zmax=max(p_max, p_lim)),
        ),
        "dpost": (dpost, 2, 3, dict(colorscale=DIVERGING, zmid=0, zmin=-_abs_limit(dpost), zmax=_abs_limit(dpost))),
    }
    bar_titles = {"composed": "score", "dpre": "Δ", "probs": "p", "pattern": "p′", "dpost": "Δ"}
    for key in order:
        z, r, c, kw = specs[key]
        if kw.get("showscale", True):
            kw["colorbar"] = _colorbar_for(fig, r, c, bar_titles.get(key, ""))
        fig.add_trace(_heat(z, labels, panel_titles[key], lang, **kw), row=r, col=c)
        xref, yref = _axis_ref(fig, r, c)
        for shape in shapes:
            fig.add_shape(dict(shape, xref=xref, yref=yref))
    _map_axes(fig, labels, 2, 3, x_title, y_title)
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        plot_bgcolor=MASKED_COLOR,
        height=height,
        margin=dict(l=10, r=30, t=80, b=10),
    )
    fig.update_annotations(font=dict(size=12))
    return finish(fig)


def stage_grid(
    per_layer: dict[str, np.ndarray],
    allowed: np.ndarray | None,
    *,
    title: str,
    column_titles: dict[str, str],
    max_cells: int = 64,
    lang: str = "en",
) -> go.Figure:
    """Every head (rows) at the four stages (columns), small and block-averaged beyond ``max_cells``.

    Scores and negative post-composed maps: diverging scale centred on 0, each panel scaled to its own range.
    """
    order = ["raw", "composed", "probs", "pattern"]
    H = per_layer["raw"].shape[0]
    fig = make_subplots(
        rows=H,
        cols=4,
        column_titles=[column_titles[k] for k in order],
        row_titles=[f"h{h}" for h in range(H)],
        horizontal_spacing=0.02,
        vertical_spacing=0.02,
    )
    for h in range(H):
        for c, key in enumerate(order, start=1):
            z = downsample(_masked(per_layer[key][h], allowed), max_cells)
            diverging = key in ("raw", "composed") or has_negative(z)
            kw = (
                dict(colorscale=DIVERGING, zmid=0, zmin=-_abs_limit(z), zmax=_abs_limit(z))
                if diverging
                else dict(colorscale=SEQUENTIAL, zmin=0)
            )
            fig.add_trace(
                go.Heatmap(
                    z=z,
                    showscale=False,
                    hovertemplate=f"{translate('plot.head', lang, h=h)} · {escape_label(column_titles[key])}<br>%{{z:.3f}}<extra></extra>",
                    **kw,
                ),
                row=h + 1,
                col=c,
            )
            fig.update_xaxes(range=[-0.5, z.shape[1] - 0.5], row=h + 1, col=c)
            fig.update_yaxes(range=[z.shape[0] - 0.5, -0.5], row=h + 1, col=c)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        plot_bgcolor=MASKED_COLOR,
        height=170 * H + 90,
        margin=dict(l=10, r=30, t=90, b=10),
    )
    return finish(fig)


def token_head_maps(
    panels: dict[str, np.ndarray],
    labels: Sequence[str],
    *,
    title: str,
    panel_titles: dict[str, str],
    diverging: bool = True,
    limit: float | None = None,
    x_title: str = "token",
    y_title: str = "head",
    bar_title: str = "",
    lang: str = "en",
) -> go.Figure:
    """Per-token, per-head values (each panel (T, H)) drawn heads × tokens, panels stacked."""
    labels = _labels(labels)
    keys = list(panels)
    H = panels[keys[0]].shape[1]
    height = len(keys) * (22 * H + 110) + 90
    fig = make_subplots(
        rows=len(keys),
        cols=1,
        subplot_titles=[panel_titles.get(k, k) for k in keys],
        vertical_spacing=min(0.3, 75 / height),
        shared_xaxes=True,
    )
    lim = limit if limit is not None else _abs_limit(*(panels[k] for k in keys))
    color = (
        dict(colorscale=DIVERGING, cmid=0, cmin=-lim, cmax=lim)
        if diverging
        else dict(colorscale=SEQUENTIAL, cmin=0, cmax=lim)
    )
    for r, k in enumerate(keys, start=1):
        z = np.asarray(panels[k], dtype=np.float32).T  # (H, T)
        custom = np.empty(z.shape, dtype=object)
        custom[:] = np.array(labels, dtype=object)[None, :]
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=list(range(z.shape[1])),
                y=list(range(H)),
                coloraxis="coloraxis",
                customdata=custom,
                hovertemplate=f"{escape_label(panel_titles.get(k, k))}<br>#%{{x}} <b>%{{customdata}}</b> · {translate('plot.head', lang, h='%{y}')}<br>%{{z:.4f}}<extra></extra>",
            ),
            row=r,
            col=1,
        )
        fig.update_yaxes(title_text=y_title, row=r, col=1)
    fig.update_yaxes(showgrid=False, zeroline=False, autorange="reversed", **_head_ticks(H))
    fig.update_xaxes(
        showgrid=False,
        zeroline=False,
        tickfont=dict(size=9),
        tickangle=0 if len(labels) <= 60 else -60,
        **_ticks(labels, 80),
    )
    fig.update_xaxes(title_text=x_title, row=len(keys), col=1)
    fig.update_xaxes(showticklabels=True)
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        coloraxis=dict(colorbar=dict(thickness=10, title=bar_title), **color),
        height=height,
        margin=dict(l=10, r=10, t=80, b=40),
    )
    fig.update_annotations(font=dict(size=12))
    return finish(fig)


def side_by_side(
    maps: Sequence[tuple[str, np.ndarray]],
    labels: Sequence[str],
    allowed: np.ndarray | None,
    *,
    title: str,
    x_title: str = "key s",
    y_title: str = "query t",
    shapes: Sequence[dict] = (),
    lang: str = "en",
) -> go.Figure:
    """Maps of the same text next to each other (e.g. DCFormer vs MHA twin, or before / after / difference), on ONE
    colour scale with one meaning: diverging and centred on 0 for all when any map holds a negative value, else
    sequential for all, with a common limit. (A colour must mean the same number in both panels.)
    """
    labels = _labels(labels)
    n_cols = len(maps)
    fig = make_subplots(rows=1, cols=n_cols, subplot_titles=[escape_label(n) for n, _ in maps], horizontal_spacing=0.08)
    zs = [_masked(m, allowed) for _, m in maps]
    if any(has_negative(z) for z in zs):
        lim = max(_abs_limit(z) for z in zs)
        scale = dict(colorscale=DIVERGING, zmid=0, zmin=-lim, zmax=lim)
    else:
        top = max((float(np.nanmax(z)) for z in zs if np.isfinite(z).any()), default=1.0)
        scale = dict(colorscale=SEQUENTIAL, zmin=0, zmax=max(top, 1e-6))
    for c, ((name, _), z) in enumerate(zip(maps, zs), start=1):
        kw = dict(scale, colorbar=_colorbar_for(fig, 1, c))
        fig.add_trace(_heat(z, labels, name, lang, **kw), row=1, col=c)
        xref, yref = _axis_ref(fig, 1, c)
        for shape in shapes:
            fig.add_shape(dict(shape, xref=xref, yref=yref))
    _map_axes(fig, labels, 1, n_cols, x_title, y_title)
    n = len(labels)
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        plot_bgcolor=MASKED_COLOR,
        height=int(np.clip(11 * n + 250, 420, 1000)),
        margin=dict(l=10, r=30, t=80, b=10),
    )
    return finish(fig)


def head_grid(
    maps: np.ndarray,
    allowed: np.ndarray | None,
    *,
    title: str,
    columns: int = 6,
    max_cells: int = 64,
    limit: float | None = None,
    diverging: bool | None = None,
    selected: int | None = None,
    bar_title: str = "",
    head_label: str = "head {h}",
    lang: str = "en",
) -> go.Figure:
    """All heads of one layer as small maps on ONE shared colour scale (diverging when negatives, or asked)."""
    H = maps.shape[0]
    rows = int(np.ceil(H / columns))
    zs = [downsample(_masked(maps[h], allowed), max_cells) for h in range(H)]
    stacked = np.stack(zs)
    if diverging is None:
        diverging = has_negative(stacked)
    lim = limit if limit is not None else _abs_limit(stacked)
    color = (
        dict(colorscale=DIVERGING, cmid=0, cmin=-lim, cmax=lim)
        if diverging
        else dict(colorscale=SEQUENTIAL, cmin=0, cmax=lim)
    )
    names = [escape_label(head_label.format(h=h)) for h in range(H)]
    titles = [f"<b>{names[h]}</b>" if h == selected else names[h] for h in range(H)]
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        horizontal_spacing=0.015,
        vertical_spacing=0.12 / max(rows - 1, 1),
    )
    for h in range(H):
        r, c = h // columns + 1, h % columns + 1
        fig.update_xaxes(range=[-0.5, zs[h].shape[1] - 0.5], autorange=False, row=r, col=c)
        fig.update_yaxes(range=[zs[h].shape[0] - 0.5, -0.5], autorange=False, row=r, col=c)
        masked = np.where(np.isnan(zs[h]), 0.0, np.nan)  # grey underlay for masked cells (the background stays white)
        if np.isfinite(masked).any():
            fig.add_trace(
                go.Heatmap(
                    z=masked,
                    colorscale=[[0, MASKED_COLOR], [1, MASKED_COLOR]],
                    showscale=False,
                    hoverinfo="skip",
                    name="masked",
                ),
                row=r,
                col=c,
            )
        fig.add_trace(
            go.Heatmap(
                z=zs[h],
                coloraxis="coloraxis",
                name=f"head {h}",
                hovertemplate=f"{translate('plot.head', lang, h=h)}<br>{translate('plot.query', lang)} #%{{y}} → {translate('plot.key', lang)} #%{{x}}<br>%{{z:.4f}}<extra></extra>",
            ),
            row=h // columns + 1,
            col=h % columns + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        plot_bgcolor="white",
        coloraxis=dict(colorbar=dict(thickness=10, title=bar_title), **color),
        height=190 * rows + 90,
        margin=dict(l=10, r=10, t=80, b=10),
    )
    return finish(fig)


__all__ = [
    "compose_parts",
    "draw_matrices",
    "head_bars",
    "stage_figure",
    "stage_grid",
    "token_head_maps",
    "side_by_side",
    "head_grid",
    "structure_shapes",
    "window_band_path",
    "has_negative",
]
