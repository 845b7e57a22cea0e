"""Figures for the step-by-step view: vectors with their numbers, per-key bars, the split projection."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from typing import TYPE_CHECKING

from ..i18n import translate
from ..text import token_label
from plotly.subplots import make_subplots

from .style import DIVERGING, MASKED_COLOR, SEQUENTIAL, finish, labels

if TYPE_CHECKING:
    from ..analysis.steps import Steps


def _limit(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 1.0


NUMBERS_UP_TO = 12  # dimensions of a vector drawn with their values written in the cells


def vector_rows(
    rows: np.ndarray,
    row_labels: list[str],
    *,
    title: str,
    dims: int | None = None,
    numbers: bool = True,
    lang: str = "en",
) -> go.Figure:
    """Vectors as rows of coloured cells, each with its value while at most ``NUMBERS_UP_TO`` dimensions are shown
    (first ``dims`` dimensions; more cells than that leave a number no room in half a page, and the hover has it)."""
    rows = np.atleast_2d(rows)
    total = rows.shape[1]
    shown = rows[:, : dims or total]
    limit = _limit(shown)
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=list(range(shown.shape[1])),
            y=list(range(shown.shape[0])),
            colorscale=DIVERGING,
            zmid=0,
            zmin=-limit,
            zmax=limit,
            texttemplate="%{z:.2f}" if numbers and shown.shape[1] <= NUMBERS_UP_TO else None,
            textfont=dict(size=11),
            hovertemplate="%{customdata}<br>" + translate("plot.dimension", lang) + " %{x}: %{z:.4f}<extra></extra>",
            customdata=np.array(labels(row_labels), dtype=object)[:, None].repeat(shown.shape[1], 1),
            showscale=False,
        )
    )
    # "(first 8 of 32 dimensions)" on a line of its own: beside the title it ran past a half-page column's edge.
    note = "" if shown.shape[1] == total else translate("plot.first_dims", lang, shown=shown.shape[1], total=total)
    fig.update_layout(
        title=dict(text=title + (f"<br>{note.strip()}" if note else ""), x=0.01),
        height=60 + 34 * shown.shape[0] + 30 + (20 if note else 0),
        margin=dict(l=10, r=10, t=62 if note else 40, b=10),
        yaxis=dict(
            tickmode="array", tickvals=list(range(len(row_labels))), ticktext=labels(row_labels), autorange="reversed"
        ),
        xaxis=dict(title=None, showticklabels=shown.shape[1] <= 48, dtick=1 if shown.shape[1] <= 48 else None),
    )
    return finish(fig)


def key_bars(
    values: np.ndarray,
    tokens: list[str],
    *,
    title: str,
    allowed: np.ndarray | None = None,
    fmt: str = ".3f",
    first: int = 0,
    lang: str = "en",
) -> go.Figure:
    """One value per key; masked keys are drawn as grey '−∞' markers (they get weight 0 after softmax). ``first``: the
    text's position of the first key (a window of a long text's keys)."""
    values = np.asarray(values, dtype=float)
    allowed = np.ones(len(values), dtype=bool) if allowed is None else np.asarray(allowed)
    names = [f"{first + i}: {t}" for i, t in enumerate(labels(tokens))]
    shown = np.where(allowed & np.isfinite(values), values, 0.0)
    text = [
        format(v, fmt) if ok and np.isfinite(v) else translate("plot.masked", lang) for v, ok in zip(values, allowed)
    ]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=shown,
            text=text,
            textposition="outside",
            marker_color=["#2b6cb0" if ok else MASKED_COLOR for ok in allowed],
            hovertemplate=translate("plot.key", lang) + " %{x}<br>%{text}<extra></extra>",
        )
    )
    span = _limit(shown) or 1.0
    low = min(0.0, float(shown.min())) - 0.25 * span
    fig.update_layout(
        title=dict(text=title, x=0.01),
        height=300,
        margin=dict(l=10, r=10, t=40, b=10),
        yaxis=dict(range=[low, float(shown.max()) + 0.3 * span], zeroline=True),
        xaxis=dict(tickangle=-45),
        uniformtext=dict(minsize=9, mode="hide"),
    )
    return finish(fig)


def projection_split(weight: np.ndarray, *, head: int, d_head: int, name: str = "W_Q", lang: str = "en") -> go.Figure:
    """The one (d_model, d_model) projection with its columns cut into heads; the chosen head is framed."""
    d_model = weight.shape[0]
    n_heads = weight.shape[1] // d_head
    limit = float(np.percentile(np.abs(weight), 99))
    fig = go.Figure(
        go.Heatmap(
            z=weight,
            colorscale=DIVERGING,
            zmid=0,
            zmin=-limit,
            zmax=limit,
            hovertemplate=f"{name}[%{{y}}, %{{x}}] = %{{z:.4f}}<extra></extra>",
            colorbar=dict(thickness=10),
        )
    )
    for h in range(1, n_heads):
        fig.add_vline(x=h * d_head - 0.5, line=dict(color="black", width=1))
    fig.add_shape(
        type="rect",
        x0=head * d_head - 0.5,
        x1=(head + 1) * d_head - 0.5,
        y0=-0.5,
        y1=d_model - 0.5,
        line=dict(color="#e65000", width=4),
    )
    fig.update_layout(
        title=dict(
            text=translate("plot.split_title", lang, name=name, d=d_model, n=n_heads, dh=d_head, head=head), x=0.01
        ),
        height=420,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(
            title=translate("plot.output_dim", lang),
            tickmode="array",
            tickvals=[h * d_head + d_head / 2 - 0.5 for h in range(n_heads)],
            ticktext=[f"h{h}" for h in range(n_heads)],
        ),
        yaxis=dict(title=translate("plot.input_dim", lang), autorange="reversed"),
    )
    return finish(fig)


def probability_bars(
    probs: np.ndarray, tokens: list[str], *, allowed: np.ndarray, title: str, first: int = 0, lang: str = "en"
) -> go.Figure:
    fig = key_bars(probs, tokens, title=title, allowed=allowed, first=first, lang=lang)
    fig.update_traces(marker_colorscale=SEQUENTIAL)
    fig.update_yaxes(range=[0, 1.15])
    return finish(fig)


def online_softmax_figure(masked: np.ndarray, online, tokens: list[str], *, title: str, lang: str = "en") -> go.Figure:
    """FlashAttention's pass over one query's row: above, each key's score (grey: masked) with the running max m
    after each block of keys as a step line; below, the running sum l after each block, each bar labelled with the
    factor exp(m_before − m) that rescaled what came before it.

    masked: (seq,) scores with −∞ at masked keys; online: the steps of :func:`attnviz.analysis.steps.online_softmax`.
    """
    names = [f"{i}: {t}" for i, t in enumerate(labels(tokens))]
    allowed = np.isfinite(masked)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.6, 0.4],
        subplot_titles=[translate("steps.flash_scores", lang), translate("steps.flash_sums", lang)],
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=np.where(allowed, masked, 0.0),
            marker_color=["#2b6cb0" if ok else MASKED_COLOR for ok in allowed],
            name=translate("plot.raw_score", lang),
            hovertemplate=translate("plot.key", lang) + " %{x}: %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    step_x, step_m = [], []
    for step in online:
        a, b = step.keys
        if np.isfinite(step.running_max):
            step_x += [names[a], names[b - 1], None]
            step_m += [step.running_max, step.running_max, None]
    fig.add_trace(
        go.Scatter(
            x=step_x,
            y=step_m,
            mode="lines",
            line=dict(color="#e65000", width=3),
            name="m",
            hovertemplate="m = %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    centres = [names[(step.keys[0] + step.keys[1] - 1) // 2] for step in online]
    fig.add_trace(
        go.Bar(
            x=centres,
            y=[step.running_sum for step in online],
            marker_color="#74a9cf",
            name="l",
            text=[f"×{step.rescale:.3f}" for step in online],
            textposition="outside",
            hovertemplate="l = %{y:.4f}<br>" + translate("steps.col_rescale", lang) + " %{text}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    boundaries = [
        dict(
            type="line",
            x0=step.keys[0] - 0.5,
            x1=step.keys[0] - 0.5,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line=dict(color="#999999", width=1, dash="dot"),
        )
        for step in online[1:]
    ]  # where each block of keys starts
    fig.update_layout(
        shapes=boundaries,
        title=dict(text=title, x=0.01),
        height=520,
        margin=dict(l=10, r=10, t=70, b=10),
        legend=dict(orientation="h", x=1, xanchor="right", y=1.08),
        bargap=0.15,
    )
    fig.update_xaxes(tickangle=-45)
    return finish(fig)


# The views Step by step and its slides share: one builder each, so a slide shows what the page shows.
def masked_scores(s: Steps, *, lang: str = "en") -> go.Figure:
    """Step 5: the query's scores after the mask (−∞ where it may not look): what the softmax reads."""
    title = translate("steps.masked_title", lang)
    return key_bars(s.masked, s.tokens, title=title, allowed=s.allowed, first=s.first, lang=lang)


def attention_weights(s: Steps, *, lang: str = "en") -> go.Figure:
    """Step 6: the softmax of those scores, the query's attention weights (their sum in the title)."""
    token = token_label(s.tokens[s.query])  # in a title, which Plotly renders as a little HTML
    title = translate("steps.probs_title", lang, token=token, total=float(s.probs.sum()))
    return probability_bars(s.probs, s.tokens, allowed=s.allowed, first=s.first, title=title, lang=lang)
