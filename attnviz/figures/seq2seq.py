"""Figure builders of the encoder-decoder page (pure: arrays in, Plotly figures out).

Attention maps reuse :func:`attnviz.figures.attention.map_heatmap` (queries on rows, keys on columns, masked
cells grey); this module adds what the autoregressive walk needs: visible spaces in character
labels, a frame around the row computed at the current step, the next-character probabilities,
and every head of one attention side by side.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import attention as plots
from ..i18n import translate
from ..text import escape_label, visible_token

HIGHLIGHT_COLOR = "#d62728"


MIN_PLOT_HEIGHT = 140


def show_chars(tokens: list[str]) -> list[str]:
    """Tokens as axis labels, their white space drawn (text.visible_token): a space is ␣, as on every page."""
    return [visible_token(t) for t in tokens]


def attention_map(
    pattern: np.ndarray,
    query_tokens: list[str],
    key_tokens: list[str],
    *,
    allowed: np.ndarray | None = None,
    scores: np.ndarray | None = None,
    title: str = "",
    highlight_row: int | None = None,
    height: int | None = None,
    lang: str = "en",
) -> go.Figure:
    """One head's (q_len, k_len) map with row ``highlight_row`` framed (the step's new query)."""
    fig = plots.map_heatmap(
        pattern,
        show_chars(query_tokens),
        key_tokens=show_chars(key_tokens),
        scores=scores,
        allowed=allowed,
        title=title,
        height=height,
        lang=lang,
    )
    n_q, n_k = pattern.shape
    fig.update_yaxes(range=[n_q - 0.5, -0.5], autorange=False)
    # The key axis sits on top with its title: keep the figure title above both.
    lines = title.count("<br>") + 1
    fig_height = fig.layout.height or 400
    fig.update_layout(
        # Plotly centres a multi-line title on its anchor: place the centre so that every line stays inside.
        title=dict(yref="container", y=1 - (8 + 10 * lines) / fig_height, yanchor="middle", font=dict(size=15)),
        margin=dict(t=60 + 20 * lines),
        xaxis=dict(tickangle=0, title=dict(text=translate("plot.key_axis", lang), standoff=4)),
    )
    # At the first steps the map has a row or two: the plot keeps MIN_PLOT_HEIGHT px so that its colour bar, as
    # long as the plot, still has room for "0 / 0.5 / 1" (at 60 px they were drawn over each other).
    margin = fig.layout.margin
    fig.update_layout(height=max(fig.layout.height or 400, int(margin.t + margin.b) + MIN_PLOT_HEIGHT))
    if highlight_row is not None:
        fig.add_shape(
            type="rect",
            x0=-0.5,
            x1=n_k - 0.5,
            y0=highlight_row - 0.5,
            y1=highlight_row + 0.5,
            line=dict(color=HIGHLIGHT_COLOR, width=3),
            fillcolor="rgba(0,0,0,0)",
            name="new row",
        )
    return fig


def next_token_bar(
    probs: np.ndarray,
    itos: list[str],
    chosen: int,
    *,
    top: int = 5,
    title: str = "",
    height: int = 300,
    lang: str = "en",
) -> go.Figure:
    """The ``top`` most likely next tokens (softmax of the last position's logits); the chosen one in red."""
    order = np.argsort(-probs)[:top]
    names = [escape_label(show_chars([itos[i]])[0]) for i in order]
    colors = [HIGHLIGHT_COLOR if i == chosen else "#4c78a8" for i in order]
    fig = go.Figure(
        go.Bar(
            x=probs[order],
            y=names,
            orientation="h",
            marker_color=colors,
            text=[f"{p:.3f}" for p in probs[order]],
            textposition="auto",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=title, x=0.01),
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 20, b=50),
        xaxis=dict(title=translate("ed.probability", lang), range=[0, 1]),
        yaxis=dict(autorange="reversed", type="category"),
    )
    return plots.finish(fig)


def heads_row(
    patterns: np.ndarray,
    query_tokens: list[str],
    key_tokens: list[str],
    *,
    allowed: np.ndarray | None = None,
    highlight_row: int | None = None,
    selected_head: int | None = None,
    title: str = "",
    height: int = 320,
    lang: str = "en",
) -> go.Figure:
    """Every head's (q_len, k_len) map of one attention side by side, the new row framed in each."""
    n_heads, n_q, n_k = patterns.shape
    titles = [
        f"<b>{translate('plot.head', lang, h=h)}</b>" if h == selected_head else translate("plot.head", lang, h=h)
        for h in range(n_heads)
    ]
    fig = make_subplots(rows=1, cols=n_heads, subplot_titles=titles, horizontal_spacing=0.03)
    q_text = [escape_label(t) for t in show_chars(query_tokens)]
    k_text = [escape_label(t) for t in show_chars(key_tokens)]
    custom = np.empty((n_q, n_k, 2), dtype=object)
    custom[:, :, 0] = np.array(q_text, dtype=object)[:, None]
    custom[:, :, 1] = np.array(k_text, dtype=object)[None, :]
    for h in range(n_heads):
        z = patterns[h].astype(np.float32, copy=True)
        if allowed is not None:
            z[~np.broadcast_to(allowed, z.shape)] = np.nan
        fig.add_trace(
            go.Heatmap(
                z=z,
                customdata=custom,
                coloraxis="coloraxis",
                hovertemplate=f"{translate('plot.head', lang, h=h)}<br>{translate('plot.query', lang)} <b>%{{customdata[0]}}</b> → "
                f"{translate('plot.key', lang)} <b>%{{customdata[1]}}</b><br>{translate('plot.weight', lang)} %{{z:.3f}}<extra></extra>",
            ),
            row=1,
            col=h + 1,
        )
        if highlight_row is not None:
            fig.add_shape(
                type="rect",
                x0=-0.5,
                x1=n_k - 0.5,
                y0=highlight_row - 0.5,
                y1=highlight_row + 0.5,
                line=dict(color=HIGHLIGHT_COLOR, width=2),
                row=1,
                col=h + 1,
            )
    fig.update_xaxes(
        showticklabels=False, ticks="", showgrid=False, zeroline=False
    )  # too narrow for labels: hover shows them
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(n_q)),
        ticktext=q_text,
        range=[n_q - 0.5, -0.5],
        showgrid=False,
        zeroline=False,
        tickfont=dict(size=11),
    )
    for col in range(2, n_heads + 1):
        fig.update_yaxes(showticklabels=False, ticks="", col=col)
    fig.update_layout(
        title=dict(text=title, x=0.01),
        coloraxis=dict(
            colorscale=plots.SEQUENTIAL,
            cmin=0,
            cmax=1,
            colorbar=dict(title=translate("plot.weight", lang), thickness=10),
        ),
        height=height,
        margin=dict(l=60, r=10, t=80 if title else 40, b=10),
        plot_bgcolor=plots.MASKED_COLOR,
    )
    return plots.finish(fig)
