"""Attention drawn over the image a vision transformer read (the arrays from :mod:`attnviz.analysis.patches`).

    patch_overlay     the image with one head's (or the rollout's) weights over its patches, translucent
    overlay_grid      every layer × head as small overlays on one canvas (one image trace: light to send)
    class_bars        a classifier's likeliest classes, and the same classes without the mask beside them

The image is the one the model read (resized to its input size), in pixels: a patch of P pixels spans
``[c·P, (c+1)·P)``. Overlays are coloured from 0 to the largest weight drawn (the colour bar says so), since a
query's weight spread over dozens of patches would be pale on 0–1; hovers give each patch's exact weight.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..i18n import translate
from .style import DIVERGING, SEQUENTIAL, colorbar, colorscale, finish

OVERLAY_OPACITY = 0.85  # the most a patch's colour covers the image (at the largest weight drawn)
HIGHLIGHT = "#e65000"  # the chosen patch (the query), as the selected head is framed elsewhere
HIDDEN = "rgba(150,150,150,0.75)"  # a patch the mask hides: a mid grey that reads on dark and on light images


def _sample(scale: list, values: np.ndarray) -> np.ndarray:
    """(…, 3) RGB of ``values`` in [0, 1] on a ``[[position, "rgb(r,g,b)"], …]`` colour scale, linearly."""
    positions = np.array([p for p, _ in scale])
    colours = np.array([[float(v) for v in c[4:-1].split(",")] for _, c in scale])
    return np.stack([np.interp(values, positions, colours[:, i]) for i in range(3)], -1)


def overlay_scale() -> list[list]:
    """The attention colour scale with its opacity growing from 0 (the image shows through where a head does not
    look) to :data:`OVERLAY_OPACITY` at the largest weight."""
    return [
        [position, f"rgba{colour[3:-1]},{OVERLAY_OPACITY * position:.3f})"]
        for position, colour in colorscale(SEQUENTIAL)
    ]


def patch_overlay(
    picture: np.ndarray,
    weights: np.ndarray,
    *,
    title: str = "",
    bar_title: str | None = None,
    query: tuple[int, int] | None = None,
    allowed: np.ndarray | None = None,
    height: int = 420,
    lang: str = "en",
) -> go.Figure:
    """``picture`` (S, S, 3) uint8 with ``weights`` (rows, cols) over its patches, translucent; ``query`` (row,
    col): the patch whose attention this is, framed; ``allowed`` (rows, cols) bool: patches the mask hid are
    hatched grey (nothing can be drawn there: their weight is exactly 0)."""
    side = picture.shape[0]
    rows, cols = weights.shape
    px = side / cols
    heat = go.Heatmap(
        z=weights,
        x0=px / 2 - 0.5,
        dx=px,
        y0=px / 2 - 0.5,
        dy=px,
        colorscale=overlay_scale(),
        zmin=0.0,
        zmax=max(float(np.max(weights)), 1e-9),
        colorbar=colorbar(bar_title or translate("images.overlay_bar", lang), thickness=10),
        customdata=np.stack(np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij"), -1),
        hovertemplate=translate("images.patch_hover", lang, row="%{customdata[0]}", col="%{customdata[1]}")
        + " %{z:.4f}<extra></extra>",
    )
    fig = go.Figure([go.Image(z=picture, hoverinfo="skip"), heat])

    def cell(r: int, c: int, **style) -> dict:  # patch (r, c) as a rectangle in the image's pixels
        return dict(
            type="rect", x0=c * px - 0.5, x1=(c + 1) * px - 0.5, y0=r * px - 0.5, y1=(r + 1) * px - 0.5, **style
        )

    hidden = [] if allowed is None else list(zip(*np.nonzero(~np.asarray(allowed, bool))))
    shapes = [cell(r, c, line=dict(width=0), fillcolor=HIDDEN) for r, c in hidden]
    if query is not None:
        shapes.append(cell(*query, line=dict(color=HIGHLIGHT, width=3)))
    fig.update_layout(
        title=dict(text=title),
        height=height,
        shapes=shapes,
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(visible=False, range=[-0.5, side - 0.5], constrain="domain"),
        yaxis=dict(visible=False, range=[side - 0.5, -0.5], scaleanchor="x", constrain="domain"),
    )
    return finish(fig)


def overlay_canvas(picture: np.ndarray, weights: np.ndarray, gap: int = 2) -> tuple[np.ndarray, list]:
    """One RGB canvas of overlays: ``weights`` (n_rows, n_cols, rows, cols), each drawn over ``picture`` blended by
    its own largest weight; white ``gap`` pixels between them. Returns the canvas and each tile's top-left (x, y)."""
    n_rows, n_cols, rows, cols = weights.shape
    side = picture.shape[0]
    repeat = side // rows
    scale = colorscale(SEQUENTIAL)
    canvas = np.full((n_rows * (side + gap) - gap, n_cols * (side + gap) - gap, 3), 255.0)
    corners = []
    base = picture.astype(np.float64)
    for i in range(n_rows):
        for j in range(n_cols):
            w = weights[i, j]
            share = w / max(float(w.max()), 1e-12)
            big = np.kron(share, np.ones((repeat, repeat)))[:side, :side]
            colour = _sample(scale, big)
            alpha = OVERLAY_OPACITY * big[..., None]
            y, x = i * (side + gap), j * (side + gap)
            canvas[y : y + side, x : x + side] = (1 - alpha) * base + alpha * colour
            corners.append((x, y))
    return canvas.round().astype(np.uint8), corners


def overlay_grid(
    picture: np.ndarray,
    weights: np.ndarray,
    *,
    title: str = "",
    selected: tuple[int, int] | None = None,
    lang: str = "en",
) -> go.Figure:
    """Every layer (rows) × head (columns) as small overlays of ``weights`` (layers, heads, rows, cols) on the
    image; each tile a clickable point carrying (layer, head), the chosen one framed."""
    n_layers, n_heads = weights.shape[:2]
    side = picture.shape[0]
    canvas, corners = overlay_canvas(picture, weights)
    centres = [(x + side / 2, y + side / 2) for x, y in corners]
    peaks = weights.reshape(n_layers * n_heads, -1).max(-1)
    points = go.Scatter(
        x=[c[0] for c in centres],
        y=[c[1] for c in centres],
        mode="markers",
        marker=dict(symbol="square", size=30, color="rgba(0,0,0,0.01)"),
        customdata=[
            [layer, head, float(peaks[layer * n_heads + head])] for layer in range(n_layers) for head in range(n_heads)
        ],
        hovertemplate=translate("images.thumb_hover", lang, layer="%{customdata[0]}", head="%{customdata[1]}")
        + " %{customdata[2]:.4f}<extra></extra>",
        showlegend=False,
    )
    shapes = []
    if selected is not None:
        x, y = corners[selected[0] * n_heads + selected[1]]
        shapes.append(
            dict(
                type="rect",
                x0=x - 1.5,
                x1=x + side + 0.5,
                y0=y - 1.5,
                y1=y + side + 0.5,
                line=dict(color=HIGHLIGHT, width=3),
            )
        )
    fig = go.Figure([go.Image(z=canvas, hoverinfo="skip"), points])
    width_px = canvas.shape[1]
    fig.update_layout(
        title=dict(text=title),
        height=int(min(900, 60 + 560 * canvas.shape[0] / max(width_px, 1))),
        shapes=shapes,
        clickmode="event+select",
        dragmode=False,
        margin=dict(l=40, r=10, t=50, b=10),
        xaxis=dict(visible=False, range=[-0.5, width_px - 0.5], constrain="domain"),
        yaxis=dict(
            range=[canvas.shape[0] - 0.5, -0.5],
            scaleanchor="x",
            constrain="domain",
            tickmode="array",
            tickvals=[corners[layer * n_heads][1] + side / 2 for layer in range(n_layers)],
            ticktext=[f"L{layer}" for layer in range(n_layers)],
            showgrid=False,
            zeroline=False,
        ),
    )
    return finish(fig)


def class_bars(
    probabilities: np.ndarray,
    names: list[str],
    *,
    unmasked: np.ndarray | None = None,
    top: int = 5,
    title: str = "",
    lang: str = "en",
) -> go.Figure:
    """The ``top`` likeliest classes (probabilities under the mask drawn); ``unmasked``: the same classes' probabilities
    without the mask, beside them, so a student sees what the mask cost."""
    from ..text import escape_label

    order = np.argsort(-probabilities)[:top][::-1]  # likeliest at the top of a horizontal bar chart
    labels = [escape_label(names[i]) for i in order]
    traces = []
    if unmasked is not None:
        traces.append(
            go.Bar(
                y=labels,
                x=unmasked[order],
                orientation="h",
                name=translate("images.unmasked", lang),
                marker_color="#bbbbbb",
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            )
        )
    traces.append(
        go.Bar(
            y=labels,
            x=probabilities[order],
            orientation="h",
            name=translate("images.masked", lang) if unmasked is not None else translate("images.probability", lang),
            marker_color="#2171b5",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig = go.Figure(traces)
    fig.update_layout(
        title=dict(text=title),
        barmode="group",
        height=60 + 44 * len(order) * (2 if unmasked is not None else 1) ** 0.5,
        xaxis=dict(range=[0, 1], title=dict(text=translate("images.probability", lang))),
        showlegend=unmasked is not None,
        legend=dict(orientation="h", y=-0.25),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return finish(fig)


def distance_figure(distance: np.ndarray, *, patch_pixels: int, title: str = "", lang: str = "en") -> go.Figure:
    """Each head's mean attention distance (pixels, ``distance`` (layers, heads)) against its layer: the ViT paper's
    Figure 7 (right), on the user's image; a dotted line at one patch's width."""
    n_layers, n_heads = distance.shape
    points = go.Scatter(
        x=[layer + (head - (n_heads - 1) / 2) * 0.06 for layer in range(n_layers) for head in range(n_heads)],
        y=distance.ravel(),
        mode="markers",
        marker=dict(
            size=9,
            color=[head for _ in range(n_layers) for head in range(n_heads)],
            colorscale=colorscale("Viridis"),
            showscale=False,
        ),
        customdata=[[layer, head] for layer in range(n_layers) for head in range(n_heads)],
        hovertemplate=translate("images.distance_hover", lang, layer="%{customdata[0]}", head="%{customdata[1]}")
        + " %{y:.1f} px<extra></extra>",
        showlegend=False,
    )
    fig = go.Figure([points])
    fig.add_hline(y=patch_pixels, line=dict(dash="dot", color="#888888"))
    fig.update_layout(
        title=dict(text=title),
        height=380,
        xaxis=dict(
            title=dict(text=translate("images.depth", lang)),
            tickmode="array",
            tickvals=list(range(n_layers)),
            ticktext=[str(layer) for layer in range(n_layers)],
        ),
        yaxis=dict(title=dict(text=translate("images.distance_axis", lang)), rangemode="tozero"),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return finish(fig)


def position_grid(similarity: np.ndarray, *, title: str = "", lang: str = "en") -> go.Figure:
    """The learned position embeddings' similarity (rows, cols, rows, cols) as a grid of small maps: the map at
    (r, c) is how alike position (r, c) is to every other position (the ViT paper's Figure 7, centre)."""
    rows, cols = similarity.shape[:2]
    gap = 1
    canvas = np.full((rows * (rows + gap) - gap, cols * (cols + gap) - gap), np.nan)
    custom = np.zeros(canvas.shape + (4,), dtype=np.int16)
    for r in range(rows):
        for c in range(cols):
            y, x = r * (rows + gap), c * (cols + gap)
            canvas[y : y + rows, x : x + cols] = similarity[r, c]
            rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
            custom[y : y + rows, x : x + cols] = np.stack([np.full_like(rr, r), np.full_like(cc, c), rr, cc], -1)
    heat = go.Heatmap(
        z=canvas,
        colorscale=colorscale(DIVERGING),
        zmid=0.0,
        zmin=-1.0,
        zmax=1.0,
        customdata=custom,
        colorbar=colorbar(translate("images.cosine", lang), thickness=10),
        hovertemplate=translate(
            "images.position_hover",
            lang,
            a="(%{customdata[0]},%{customdata[1]})",
            b="(%{customdata[2]},%{customdata[3]})",
        )
        + " %{z:.3f}<extra></extra>",
        hoverongaps=False,
        xgap=0,
        ygap=0,
    )
    fig = go.Figure([heat])
    fig.update_layout(
        title=dict(text=title),
        height=520,
        plot_bgcolor="white",
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    return finish(fig)
