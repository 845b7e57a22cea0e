"""Figures of the Head importance page (pure: arrays from :mod:`attnviz.analysis.importance` in, ``go.Figure`` out).

* :func:`loss_per_token`: a language model's loss of every next-token prediction, clean and ablated;
* :func:`token_cosine`: an encoder's per-token cosine of the ablated last hidden state to the clean one;
* :func:`layer_head_map`: one number per (layer, head), as a grid: how far each head's map moved, or the effect of
  ablating each head alone. A nearly transparent square on every cell carries (layer, head) as customdata, so that a
  click can pick a head (Plotly's selection events come from points, not from heatmap cells).

Token text is hostile data: it is made readable (:func:`attnviz.text.token_label`, spaces as ␣) and escaped in every label and hover.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..i18n import translate
from ..text import token_label
from .style import (
    top_title,
    DIVERGING,
    SEQUENTIAL,
    TICK_SIZE,
    TITLE_ROOM,
    colorbar,
    colorbar_room,
    colorscale,
    fixed_layout,
    live_figure,
    widest,
)

BEFORE_COLOR = "#4c78a8"
AFTER_COLOR = "#e45756"
MARK_COLOR = "#111111"
MAX_TOKEN_TICKS = 64  # beyond this many tokens, every other label is left out


def token_labels(tokens) -> list[str]:
    """Readable, HTML-escaped labels: what a Plotly label or hover may show of a token."""
    return [token_label(t) for t in tokens]


def _t(lang: str):
    return lambda key, **values: translate(f"importance.{key}", lang, **values)


def _token_axis(n: int, names: list[str], title: str) -> dict:
    """At most MAX_TOKEN_TICKS token labels; upright while every one is a single character (a character model's),
    else turned to read upwards."""
    step = max(1, int(np.ceil(n / MAX_TOKEN_TICKS)))
    shown = list(range(0, n, step))
    upright = widest([names[i] for i in shown]) <= TICK_SIZE
    # a standoff makes Plotly place the title below the labels as drawn (without one it sits at a fixed distance,
    # on top of turned labels)
    return dict(
        title=dict(text=title, standoff=6),
        tickmode="array",
        tickvals=shown,
        ticktext=[names[i] for i in shown],
        tickangle=0 if upright else -90,
        tickfont=dict(size=TICK_SIZE),
        showgrid=False,
        zeroline=False,
        automargin=False,
        range=[-0.5, n - 0.5],
    )


def _token_layout(n: int, names: list[str], axis_title: str, y_title: str, title: str, height: int) -> dict:
    xaxis = _token_axis(n, names, axis_title)
    room = widest(list(xaxis["ticktext"])) + 12
    bottom = (room if xaxis["tickangle"] else 22) + TITLE_ROOM + 8
    return fixed_layout(
        left=84,
        right=20,
        top=48 + 24 * (title.count("<br>") + 1) if title else 48,  # the title's lines, then the legend
        bottom=bottom,
        title=top_title(title),
        height=height + bottom,
        plot_bgcolor="white",
        hovermode="closest",
        legend=dict(orientation="h", x=0, y=1.0, xanchor="left", yanchor="bottom"),
        xaxis=xaxis,
        yaxis=dict(title=dict(text=y_title, standoff=8), gridcolor="#eeeeee", zeroline=False, automargin=False),
    )


def loss_per_token(
    loss_clean: np.ndarray,
    loss_ablated: np.ndarray,
    tokens: list[str],
    *,
    title: str = "",
    height: int = 300,
    lang: str = "en",
) -> go.Figure:
    """Next-token loss (nats) at every position, clean and ablated. loss_*: (n,), entry i = token i predicting token
    i + 1; tokens: the sentence's n + 1 tokens. The x axis names the predicted token; the hover, what it was read
    after ("The cat" → "sat")."""
    t = _t(lang)
    loss_clean, loss_ablated = np.asarray(loss_clean), np.asarray(loss_ablated)
    n = len(loss_clean)
    names = token_labels(tokens)
    targets = names[1 : n + 1]
    custom = np.empty((n, 2), dtype=object)
    custom[:, 0] = names[:n]
    custom[:, 1] = targets
    traces = []
    for values, name, colour, dash in (
        (loss_clean, t("before"), BEFORE_COLOR, "solid"),
        (loss_ablated, t("after"), AFTER_COLOR, "dot"),
    ):
        traces.append(
            dict(
                type="scatter",
                x=list(range(n)),
                y=values,
                name=name,
                mode="lines+markers",
                line=dict(color=colour, width=2, dash=dash),
                marker=dict(color=colour, size=6),
                customdata=custom,
                hovertemplate=f"%{{customdata[0]}} → %{{customdata[1]}}<br>{name}: %{{y:.3f}} {t('nats')}<extra></extra>",
            )
        )
    layout = _token_layout(n, targets, t("predicted_axis"), t("loss_axis"), title, height)
    layout["yaxis"]["rangemode"] = "tozero"
    return live_figure(traces, layout)


# Two float32 forwards of the same text agree to about this much: a cosine closer to 1 is rounding, not a change
# (with nothing ablated, 1 − cosine is ~1e-16; drawn to scale it zig-zagged across the whole axis).
COSINE_NOISE = 1e-6


def token_cosine(
    cosine: np.ndarray, tokens: list[str], *, title: str = "", height: int = 300, lang: str = "en"
) -> go.Figure:
    """Each token's cosine (ablated last hidden state against the clean one), (n,), with a dashed line at 1. A cosine
    within COSINE_NOISE of 1 is drawn as exactly 1, and the axis always spans at least 0.95–1: rounding is never
    drawn as a change."""
    t = _t(lang)
    cosine = np.asarray(cosine, dtype=np.float64)
    cosine = np.where(np.abs(1.0 - cosine) < COSINE_NOISE, 1.0, cosine)
    n = len(cosine)
    span = max(1.0 - float(np.nanmin(cosine)) if n else 0.0, 0.05)
    names = token_labels(tokens)[:n]
    traces = [
        dict(
            type="scatter",
            x=[-0.5, n - 0.5],
            y=[1.0, 1.0],
            mode="lines",
            name=t("unchanged"),
            hoverinfo="skip",
            line=dict(color="#999999", dash="dash", width=1),
        ),
        dict(
            type="scatter",
            x=list(range(n)),
            y=cosine,
            name=t("cosine_axis"),
            mode="lines+markers",
            line=dict(color=AFTER_COLOR, width=2),
            marker=dict(color=AFTER_COLOR, size=7),
            customdata=names,
            hovertemplate=f"%{{customdata}}<br>{t('cosine_axis')}: %{{y:.6f}}<extra></extra>",
        ),
    ]
    layout = _token_layout(n, names, t("token_axis"), t("cosine_axis"), title, height)
    layout["yaxis"]["range"] = [1.0 - 1.1 * span, 1.0 + 0.1 * span]
    return live_figure(traces, layout)


def layer_head_map(
    values: np.ndarray,
    *,
    title: str = "",
    value_name: str = "",
    extra: np.ndarray | None = None,
    extra_name: str = "",
    marked=(),
    signed: bool = False,
    clickable: bool = False,
    lang: str = "en",
) -> go.Figure:
    """One number per head: values (layers, heads), layers on rows (top = layer 0), heads on columns.

    ``extra`` (layers, heads): a second number in the hover (the largest change beside the mean one). ``marked``:
    (layer, head) pairs drawn with a cross (the ablated heads). ``signed``: a diverging scale centred on 0 (a loss
    can also fall), else sequential from 0. ``clickable``: a click on a cell selects its square, whose customdata
    starts with (layer, head).
    """
    t = _t(lang)
    values = np.asarray(values)
    n_layers, n_heads = values.shape
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    top = top if top > 0 else 1.0
    heat = dict(
        type="heatmap",
        z=values,
        x=list(range(n_heads)),
        y=list(range(n_layers)),
        hoverinfo="skip",
        colorscale=colorscale(DIVERGING if signed else SEQUENTIAL),
        zmin=-top if signed else 0.0,
        zmax=top,
        colorbar=colorbar(value_name),
    )
    layers, heads = np.divmod(np.arange(n_layers * n_heads), n_heads)
    flat = values.reshape(-1)
    extras = None if extra is None else np.asarray(extra).reshape(-1)
    custom = [
        [int(l), int(h), f"L{l} H{h}", float(v)] + ([] if extras is None else [float(extras[i])])
        for i, (l, h, v) in enumerate(zip(layers, heads, flat))
    ]
    hover = f"%{{customdata[2]}}<br>{value_name}: %{{customdata[3]:.4g}}"
    if extras is not None:
        hover += f"<br>{extra_name}: %{{customdata[4]:.4g}}"
    cell = int(np.clip(420 / max(n_layers, n_heads), 16, 56))
    cells = dict(
        type="scatter",
        x=heads.tolist(),
        y=layers.tolist(),
        mode="markers",
        showlegend=False,
        customdata=custom,
        hovertemplate=hover + "<extra></extra>",
        marker=dict(symbol="square", size=cell, color="rgba(0,0,0,0.01)"),
    )
    traces = [heat, cells]
    marked = sorted({(int(l), int(h)) for l, h in marked if 0 <= int(l) < n_layers and 0 <= int(h) < n_heads})
    if marked:
        traces.append(
            dict(
                type="scatter",
                x=[h for _, h in marked],
                y=[l for l, _ in marked],
                mode="markers",
                name=t("ablated_mark"),
                hoverinfo="skip",
                showlegend=True,
                marker=dict(
                    symbol="x-thin", size=max(8, cell * 0.45), line=dict(color=MARK_COLOR, width=2.5), color=MARK_COLOR
                ),
            )
        )
    tick_size = 9 if max(n_layers, n_heads) > 36 else TICK_SIZE
    left = widest([str(n_layers - 1)], tick_size) + TITLE_ROOM + 16
    layout = fixed_layout(
        left=left,
        right=colorbar_room(value_name),
        top=(64 if title else 30) + (20 if marked else 0),
        bottom=TITLE_ROOM + 30,
        title=top_title(title),
        height=cell * n_layers + (64 if title else 30) + (20 if marked else 0) + TITLE_ROOM + 30,
        plot_bgcolor="white",
        hovermode="closest",
        legend=dict(orientation="h", x=0, y=1.0, xanchor="left", yanchor="bottom"),
        xaxis=dict(
            title=dict(text=t("head_axis")),
            tickmode="array",
            tickvals=list(range(n_heads)),
            ticktext=[str(h) for h in range(n_heads)],
            tickfont=dict(size=tick_size),
            showgrid=False,
            zeroline=False,
            automargin=False,
            range=[-0.5, n_heads - 0.5],
        ),
        yaxis=dict(
            title=dict(text=t("layer_axis")),
            tickmode="array",
            tickvals=list(range(n_layers)),
            ticktext=[str(l) for l in range(n_layers)],
            tickfont=dict(size=tick_size),
            showgrid=False,
            zeroline=False,
            automargin=False,
            range=[n_layers - 0.5, -0.5],
        ),
    )
    if clickable:
        layout["clickmode"] = "event+select"
    return live_figure(traces, layout)
