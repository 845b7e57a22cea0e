"""Figures over all heads at once: how alike they attend (:func:`similarity_matrix`) and how many directions their
maps use (:func:`rank_bars`). Arrays from :mod:`attnviz.analysis.redundancy` in, ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..text import escape_label
from .attention import _axis_ticks, _translator
from .style import (
    SEQUENTIAL,
    TICK_SIZE,
    TITLE_ROOM,
    colorbar,
    colorbar_room,
    colorscale,
    title_room,
    top_title,
    fixed_layout,
    live_figure,
    widest,
)

MAX_HEAD_TICKS = 96  # beyond this many heads, every other label is left out
MAX_CLICKABLE_HEADS = (
    160  # up to 160² click targets; beyond, the matrix is drawn without them (a heatmap can't be clicked)
)


def similarity_matrix(
    matrix: np.ndarray,
    head_labels: list[str],
    *,
    is_distance: bool,
    order: np.ndarray | None = None,
    title: str = "",
    zmin: float | None = None,
    lang: str = "en",
) -> go.Figure:
    """Every head against every head: matrix (N, N) (a JS distance when ``is_distance``, else a cosine
    similarity), rows and columns permuted by ``order`` (:func:`attnviz.analysis.redundancy.cluster_order`) so
    that alike heads form blocks. Alike is dark on both metrics. Hover: "L0 H1 ↔ L3 H2: 0.123". ``zmin``: the bottom of
    the colour scale (default: 0, or the lowest negative cosine), the same for matrices drawn side by side."""
    t = _translator(lang)
    matrix = np.asarray(matrix, dtype=np.float64)
    n = matrix.shape[0]
    order = np.arange(n) if order is None else np.asarray(order)
    shown = matrix[np.ix_(order, order)]
    names = [escape_label(head_labels[i]) for i in order]  # the caller's labels: escaped like any label
    custom = np.empty((n, n, 2), dtype=object)
    custom[:, :, 0] = np.array(names, dtype=object)[:, None]
    custom[:, :, 1] = np.array(names, dtype=object)[None, :]
    metric = t("analysis.js_distance") if is_distance else t("analysis.cosine_similarity")
    low = min(0.0, float(np.nanmin(shown))) if np.isfinite(shown).any() else 0.0
    low = low if zmin is None else float(zmin)  # matrices drawn side by side pass one shared bottom: one scale
    clickable = n <= MAX_CLICKABLE_HEADS
    heat = dict(
        type="heatmap",
        z=shown,
        x=list(range(n)),
        y=list(range(n)),
        **(
            {"hoverinfo": "skip"}
            if clickable
            else {"customdata": custom, "hovertemplate": "%{customdata[0]} ↔ %{customdata[1]}: %{z:.3f}<extra></extra>"}
        ),
        colorscale=colorscale(SEQUENTIAL),
        reversescale=is_distance,  # distance 0 = identical: dark, as similarity 1 is
        zmin=low,
        zmax=1.0,
        colorbar=colorbar(metric),
    )
    traces = [heat]
    tick_size = 9 if n > 36 else TICK_SIZE
    ticks = _axis_ticks(n, names, max_ticks=MAX_HEAD_TICKS)
    label_room = widest(ticks["ticktext"], tick_size) + 10
    side = int(np.clip(14 * n + label_room + 80, 420, 900))
    if clickable:
        # Plotly's selection events come from points, not heatmap cells: a nearly transparent square on every cell
        # carries (row head, column head) in the matrix's own head numbering, and the hover.
        rows, columns = np.divmod(np.arange(n * n), n)
        traces.append(
            dict(
                type="scatter",
                x=columns.tolist(),
                y=rows.tolist(),
                mode="markers",
                showlegend=False,
                customdata=[
                    [int(order[r]), int(order[c]), names[r], names[c], round(float(shown[r, c]), 4)]
                    for r, c in zip(rows, columns)
                ],
                marker=dict(symbol="square", size=max(2.0, (side - 2 * label_room) / n), color="rgba(0,0,0,0.01)"),
                hovertemplate="%{customdata[2]} ↔ %{customdata[3]}: %{customdata[4]:.3f}<extra></extra>",
            )
        )
    layout = fixed_layout(
        left=label_room + TITLE_ROOM,
        right=colorbar_room(metric),
        top=title_room(title),
        bottom=label_room + TITLE_ROOM,
        title=top_title(title),
        height=side + 20 * title.count("<br>"),
        plot_bgcolor="white",
        xaxis=dict(
            title=dict(text=t("analysis.head_axis")),
            tickangle=-90,
            range=[-0.5, n - 0.5],  # the cells only: the click targets' markers made Plotly pad the axis by a cell
            **ticks,
            tickfont=dict(size=tick_size),
            showgrid=False,
            zeroline=False,
            automargin=False,
            constrain="domain",
        ),
        yaxis=dict(
            title=dict(text=t("analysis.head_axis")),
            range=[n - 0.5, -0.5],  # reversed: the first head on top
            **ticks,
            tickfont=dict(size=tick_size),
            showgrid=False,
            zeroline=False,
            automargin=False,
            scaleanchor="x",
            constrain="domain",
        ),
    )
    if clickable:
        layout["clickmode"] = "event+select"
    return live_figure(traces, layout)


def rank_bars(
    table: pd.DataFrame, *, d_head: int | None, n_tokens: int | None = None, title: str = "", lang: str = "en"
) -> go.Figure:
    """Effective rank of every head's attention map and score matrix, side by side, with the bound that binds as a
    dashed line: d_head for the scores (q·kᵀ has rank ≤ d_head; the map can rise above it), unless the text's
    ``n_tokens`` is smaller, which bounds every T × T matrix (the line then says so). table: one row per head with
    the columns of :data:`attnviz.analysis.redundancy.RANK_COLUMNS`; thin lines separate the layers."""
    t = _translator(lang)
    n = len(table)
    x = list(range(n))
    names = [f"L{layer} H{head}" for layer, head in zip(table["layer"], table["head"])]
    traces = []
    for column, colour, name_key in (
        ("pattern", "#6baed6", "analysis.pattern_erank"),
        ("scores", "#08519c", "analysis.scores_erank"),
    ):
        custom = np.empty((n, 2), dtype=object)
        custom[:, 0] = names
        custom[:, 1] = table[f"{column}_rank90"].to_numpy()
        traces.append(
            dict(
                type="bar",
                x=x,
                y=table[f"{column}_erank"].to_numpy(dtype=np.float64),
                name=t(name_key),
                marker=dict(color=colour),
                customdata=custom,
                hovertemplate=(
                    f"%{{customdata[0]}} · {t(name_key)}<br>{t('analysis.effective_rank')} %{{y:.2f}}<br>"
                    + t("analysis.rank90", n="%{customdata[1]}")
                    + "<extra></extra>"
                ),
            )
        )
    if d_head is not None and np.isfinite(d_head):
        bound = d_head if n_tokens is None else min(n_tokens, d_head)  # a map of T tokens never has a rank above T
        text_binds = bound != d_head or n_tokens == d_head
        traces.append(
            dict(
                type="scatter",
                x=[-0.5, n - 0.5],
                y=[float(bound)] * 2,
                mode="lines",
                name=t("analysis.tokens_line", n=n_tokens, d=int(d_head))
                if text_binds
                else t("analysis.d_head_line", d=int(d_head)),
                hoverinfo="skip",
                line=dict(color="#e65000", dash="dash", width=2),
            )
        )
    layers = table["layer"].to_numpy()
    shapes = [
        dict(type="line", x0=i - 0.5, x1=i - 0.5, y0=0, y1=1, yref="paper", line=dict(color="#bbbbbb", width=1))
        for i in range(1, n)
        if layers[i] != layers[i - 1]
    ]
    tick_size = 9 if n > 36 else TICK_SIZE
    ticks = _axis_ticks(n, names, max_ticks=MAX_HEAD_TICKS)
    layout = fixed_layout(
        left=60,
        right=20,
        top=70 if title else 50,
        bottom=widest(ticks["ticktext"], tick_size) + TITLE_ROOM + 14,
        title=top_title(title),
        height=420,
        barmode="group",
        plot_bgcolor="white",
        shapes=shapes,
        legend=dict(orientation="h", x=0, y=1.0, xanchor="left", yanchor="bottom"),
        xaxis=dict(
            title=dict(text=t("analysis.head_axis")),
            tickangle=-90,
            **ticks,
            tickfont=dict(size=tick_size),
            showgrid=False,
            zeroline=False,
            automargin=False,
            range=[-0.5, n - 0.5],
        ),
        yaxis=dict(
            title=dict(text=t("analysis.effective_rank")),
            rangemode="tozero",
            gridcolor="#eeeeee",
            zeroline=False,
            automargin=False,
        ),
    )
    return live_figure(traces, layout)
