"""Pure figure builders: captured arrays in, ``plotly.graph_objects.Figure`` out.

Nothing here runs a model.  Conventions shared by every attention map:
queries on rows (top to bottom), keys on columns, token text escaped before it becomes a
label (Plotly renders some HTML), masked cells drawn as blank grey, never as zero.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .i18n import translate
from .text import escape_label

MASKED_COLOR = "#d0d0d0"
SEQUENTIAL = "Blues"
DIVERGING = "RdBu_r"
FULL_DETAIL_TOKENS = 160  # above this, hover text names positions instead of carrying per-cell strings


def finish(fig: go.Figure) -> go.Figure:
    """Shared styling: a white template and axes that make room for their own labels.

    Set here, not by Streamlit's theme, so that the page and every export look the same.
    """
    fig.update_layout(template="plotly_white", font=dict(family="Source Sans Pro, Noto Sans CJK SC, sans-serif"))
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _translator(lang: str):
    return lambda key, **values: translate(key, lang, **values)


def labels(tokens: list[str]) -> list[str]:
    return [escape_label(t) for t in tokens]


def select(matrix: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """Rows and columns ``keep`` of the trailing (q, k) axes."""
    if keep is None:
        return matrix
    keep = np.asarray(keep)
    return matrix[..., keep, :][..., :, keep]


def downsample(matrix: np.ndarray, size: int) -> np.ndarray:
    """Block-average a (q, k) map to at most (size, size) cells; NaN cells are skipped."""
    q_len, k_len = matrix.shape
    if q_len <= size and k_len <= size:
        return matrix
    rows = np.array_split(np.arange(q_len), min(size, q_len))
    cols = np.array_split(np.arange(k_len), min(size, k_len))
    out = np.empty((len(rows), len(cols)), dtype=np.float32)
    with np.errstate(invalid="ignore"):
        for i, r in enumerate(rows):
            band = matrix[r[0] : r[-1] + 1]
            for j, c in enumerate(cols):
                block = band[:, c[0] : c[-1] + 1]
                out[i, j] = np.nan if np.isnan(block).all() else np.nanmean(block)
    return out


def _masked(values: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    values = values.astype(np.float32, copy=True)
    if allowed is not None:
        values[~np.broadcast_to(allowed, values.shape)] = np.nan
    return values


def _axis_ticks(n: int, text: list[str], max_ticks: int = 64) -> dict:
    step = max(1, int(np.ceil(n / max_ticks)))
    idx = list(range(0, n, step))
    return dict(tickmode="array", tickvals=idx, ticktext=[text[i] for i in idx])


def head_heatmap(
    pattern: np.ndarray,
    tokens: list[str],
    *,
    scores: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    title: str = "",
    key_tokens: list[str] | None = None,
    zmax: float | None = None,
    height: int | None = None,
    lang: str = "en",
) -> go.Figure:
    """One head's attention: queries on rows, keys on columns, hover = tokens, weight, raw score.

    pattern, scores, allowed: (q_len, k_len); keep: indices of the tokens to show.
    """
    t = _translator(lang)
    key_tokens = tokens if key_tokens is None else key_tokens
    positions_q = np.arange(len(tokens)) if keep is None else np.asarray(keep)
    positions_k = np.arange(len(key_tokens)) if keep is None else np.asarray(keep)
    q_text = [labels(tokens)[i] for i in positions_q]
    k_text = [labels(key_tokens)[i] for i in positions_k]
    z = _masked(select(pattern, keep), None if allowed is None else select(allowed, keep))
    n_q, n_k = z.shape
    raw = np.zeros_like(z) if scores is None else select(scores, keep).astype(np.float32)
    if max(n_q, n_k) <= FULL_DETAIL_TOKENS:
        custom = np.empty((n_q, n_k, 3), dtype=object)
        custom[:, :, 0] = np.array(q_text, dtype=object)[:, None]
        custom[:, :, 1] = np.array(k_text, dtype=object)[None, :]
        custom[:, :, 2] = np.round(raw, 4)
        hover = f"{t('plot.query')} <b>%{{customdata[0]}}</b> → {t('plot.key')} <b>%{{customdata[1]}}</b><br>{t('plot.weight')} %{{z:.4f}}"
        hover += f"<br>{t('plot.raw_score')} %{{customdata[2]:.3f}}" if scores is not None else ""
    else:
        custom = np.round(raw, 3)
        hover = f"{t('plot.query')} #%{{y}} → {t('plot.key')} #%{{x}}<br>{t('plot.weight')} %{{z:.4f}}"
        hover += f"<br>{t('plot.raw_score')} %{{customdata:.3f}}" if scores is not None else ""
    finite_max = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    finite_min = float(np.nanmin(z)) if np.isfinite(z).any() else 0.0
    if finite_min < -1e-6:
        # DCMHA's post-composed maps can hold negative weights: centre a diverging scale on 0.
        limit = max(abs(finite_min), finite_max)
        colour = dict(colorscale=DIVERGING, zmid=0.0, zmin=-limit, zmax=limit)
    else:
        colour = dict(colorscale=SEQUENTIAL, zmin=0.0, zmax=zmax if zmax is not None else max(finite_max, 1e-6))
    heat = go.Heatmap(
        z=z,
        x=positions_k,
        y=positions_q,
        customdata=custom,
        hovertemplate=hover + "<extra></extra>",
        colorbar=dict(title=t("plot.weight"), thickness=12),
        **colour,
        xgap=0,
        ygap=0,
    )
    fig = go.Figure(heat)
    side = height or int(np.clip(28 * n_q + 160, 360, 760))
    fig.update_layout(
        # The key axis sits on top; the title goes above it, at the very top of the figure.
        title=dict(text=title, x=0.01, y=0.995, yref="container", yanchor="top"),
        height=side,
        margin=dict(l=10, r=10, t=40 if title else 20, b=10),
        plot_bgcolor=MASKED_COLOR,
        xaxis=dict(title=t("plot.key_axis"), side="top", tickangle=-60, **_axis_ticks(n_k, k_text), showgrid=False, zeroline=False),
        yaxis=dict(title=t("plot.query_axis"), autorange="reversed", **_axis_ticks(n_q, q_text), showgrid=False, zeroline=False),
    )
    fig.update_xaxes(range=[positions_k[0] - 0.5, positions_k[-1] + 0.5] if keep is None else None)
    return finish(fig)


def layer_grid(
    patterns: np.ndarray,
    tokens: list[str],
    *,
    allowed: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    layer: int = 0,
    selected_head: int | None = None,
    max_cells: int = 48,
    columns: int = 6,
    lang: str = "en",
) -> go.Figure:
    """Every head of one layer as small maps (downsampled beyond ``max_cells`` tokens)."""
    t = _translator(lang)
    n_heads = patterns.shape[0]
    rows = int(np.ceil(n_heads / columns))
    titles = [f"<b>{t('plot.head', h=h)}</b>" if h == selected_head else t("plot.head", h=h) for h in range(n_heads)]
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.12 / max(rows - 1, 1))
    mask_kept = None if allowed is None else select(allowed, keep)
    q_text = labels([tokens[i] for i in (range(len(tokens)) if keep is None else keep)])
    for head in range(n_heads):
        z = _masked(select(patterns[head], keep), mask_kept)
        small = downsample(z, max_cells)
        exact = small.shape == z.shape
        fig.add_trace(
            go.Heatmap(
                z=small,
                coloraxis="coloraxis",
                customdata=np.array(q_text, dtype=object)[:, None].repeat(len(q_text), 1)[:, :, None]
                if exact
                else None,
                hovertemplate=(
                    f"{t('plot.head', h=head)}<br>{t('plot.query')} %{{customdata[0]}} (#%{{y}}) → {t('plot.key')} #%{{x}}<br>{t('plot.weight')} %{{z:.3f}}<extra></extra>"
                    if exact
                    else f"{t('plot.head', h=head)} ({t('plot.block_average')})<br>{t('plot.weight')} %{{z:.3f}}<extra></extra>"
                ),
            ),
            row=head // columns + 1,
            col=head % columns + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    fig.update_layout(
        title=dict(text=t("plot.layer_heads", layer=layer, n=n_heads), x=0.01),
        coloraxis=dict(colorscale=SEQUENTIAL, cmin=0, colorbar=dict(title=t("plot.weight"), thickness=10)),
        height=200 * rows + 80,
        margin=dict(l=10, r=10, t=70, b=10),
        plot_bgcolor=MASKED_COLOR,
    )
    return finish(fig)


def overview(
    patterns_by_layer: list[np.ndarray],
    *,
    keep: np.ndarray | None = None,
    thumb: int = 16,
    selected: tuple[int, int] | None = None,
    lang: str = "en",
) -> go.Figure:
    """All layers × all heads as thumbnails in one image; each thumbnail is a clickable point.

    Each thumbnail is scaled to its own maximum so that weak heads stay readable.
    The scatter layer carries (layer, head) as customdata for Plotly selection events.
    """
    n_layers = len(patterns_by_layer)
    n_heads = patterns_by_layer[0].shape[0]
    cell = thumb + 1  # one blank row/column between thumbnails
    canvas = np.full((n_layers * cell - 1, n_heads * cell - 1), np.nan, dtype=np.float32)
    for layer, patterns in enumerate(patterns_by_layer):
        for head in range(n_heads):
            small = downsample(select(patterns[head], keep).astype(np.float32), thumb)
            peak = np.nanmax(small) if np.isfinite(small).any() else 1.0
            tile = np.full((thumb, thumb), np.nan, dtype=np.float32)
            tile[: small.shape[0], : small.shape[1]] = small / max(peak, 1e-9)
            canvas[layer * cell : layer * cell + thumb, head * cell : head * cell + thumb] = tile
    fig = go.Figure(
        go.Heatmap(z=canvas, colorscale=SEQUENTIAL, showscale=False, hoverinfo="skip", zmin=0, zmax=1)
    )
    centers_x, centers_y, custom = [], [], []
    for layer in range(n_layers):
        for head in range(n_heads):
            centers_x.append(head * cell + (thumb - 1) / 2)
            centers_y.append(layer * cell + (thumb - 1) / 2)
            custom.append([layer, head])
    fig.add_trace(
        go.Scatter(
            x=centers_x,
            y=centers_y,
            mode="markers",
            customdata=custom,
            # Nearly transparent squares: they only catch clicks and hovers over each thumbnail.
            marker=dict(symbol="square", size=26, color="rgba(0,0,0,0.01)"),
            hovertemplate=translate("plot.click_to_select", lang, layer="%{customdata[0]}", head="%{customdata[1]}") + "<extra></extra>",
            showlegend=False,
        )
    )
    if selected is not None:
        layer, head = selected
        fig.add_shape(
            type="rect",
            x0=head * cell - 0.8,
            x1=head * cell + thumb - 0.2,
            y0=layer * cell - 0.8,
            y1=layer * cell + thumb - 0.2,
            line=dict(color="#e65000", width=3),
        )
    fig.update_xaxes(
        tickmode="array",
        tickvals=[h * cell + (thumb - 1) / 2 for h in range(n_heads)],
        ticktext=[f"h{h}" for h in range(n_heads)],
        showgrid=False,
        zeroline=False,
        side="top",
    )
    fig.update_yaxes(
        tickmode="array",
        tickvals=[l * cell + (thumb - 1) / 2 for l in range(n_layers)],
        ticktext=[f"L{l}" for l in range(n_layers)],
        showgrid=False,
        zeroline=False,
        autorange="reversed",
    )
    fig.update_layout(
        height=62 * n_layers + 60,
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
        clickmode="event+select",
        dragmode=False,
    )
    return finish(fig)


def comparison(
    pattern_a: np.ndarray,
    pattern_b: np.ndarray,
    tokens: list[str],
    *,
    name_a: str,
    name_b: str,
    allowed: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    lang: str = "en",
) -> go.Figure:
    """Two heads side by side and their difference A − B on a diverging scale centred on 0."""
    t = _translator(lang)
    a = _masked(select(pattern_a, keep), None if allowed is None else select(allowed, keep))
    b = _masked(select(pattern_b, keep), None if allowed is None else select(allowed, keep))
    diff = a - b
    shown = labels([tokens[i] for i in (range(len(tokens)) if keep is None else keep)])
    n = len(shown)
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=[escape_label(name_a), escape_label(name_b), t("plot.difference")],
        horizontal_spacing=0.06,
    )
    limit = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    peak = float(np.nanmax([np.nanmax(a), np.nanmax(b)])) if np.isfinite(a).any() else 1.0
    for col, (z, kwargs) in enumerate(
        [
            (a, dict(colorscale=SEQUENTIAL, zmin=0, zmax=peak, showscale=False)),
            (b, dict(colorscale=SEQUENTIAL, zmin=0, zmax=peak, colorbar=dict(x=0.63, thickness=10, title=t("plot.weight")))),
            (diff, dict(colorscale=DIVERGING, zmid=0, zmin=-limit, zmax=limit, colorbar=dict(thickness=10, title="A−B"))),
        ],
        start=1,
    ):
        fig.add_trace(
            go.Heatmap(
                z=z,
                hovertemplate=f"{t('plot.query')} #%{{y}} → {t('plot.key')} #%{{x}}<br>%{{z:.4f}}<extra></extra>",
                **kwargs,
            ),
            row=1,
            col=col,
        )
    ticks = _axis_ticks(n, shown, max_ticks=40)
    fig.update_xaxes(tickangle=-60, showgrid=False, **ticks)
    fig.update_yaxes(autorange="reversed", showgrid=False, **ticks)
    fig.update_yaxes(showticklabels=False, col=2)
    fig.update_yaxes(showticklabels=False, col=3)
    fig.update_layout(height=int(np.clip(18 * n + 220, 380, 700)), margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor=MASKED_COLOR)
    return finish(fig)


def matrix_figure(
    values: np.ndarray,
    row_tokens: list[str] | None,
    col_tokens: list[str] | None,
    *,
    title: str,
    diverging: bool = False,
    x_title: str = "key",
    y_title: str = "query",
) -> go.Figure:
    """A plain labelled matrix (differences, encodings, similarities); diverging scales centre on 0."""
    values = np.asarray(values, dtype=np.float32)
    colour = dict(colorscale=SEQUENTIAL)
    if diverging:
        limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        colour = dict(colorscale=DIVERGING, zmid=0, zmin=-limit, zmax=limit)
    fig = go.Figure(go.Heatmap(z=values, hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}: %{{z:.4f}}<extra></extra>", colorbar=dict(thickness=10), **colour))
    xaxis = dict(title=x_title, showgrid=False, zeroline=False)
    yaxis = dict(title=y_title, autorange="reversed", showgrid=False, zeroline=False)
    if col_tokens is not None:
        xaxis.update(_axis_ticks(values.shape[1], labels(col_tokens)), tickangle=-60, side="top")
    if row_tokens is not None:
        yaxis.update(_axis_ticks(values.shape[0], labels(row_tokens)))
    fig.update_layout(title=dict(text=title, x=0.01), xaxis=xaxis, yaxis=yaxis, height=460, margin=dict(l=10, r=10, t=60, b=10))
    return finish(fig)
