"""Figures of where information flows: a rollout map (:func:`rollout_map`), the token graph across layers
(:func:`flow_graph`) and one head's queries and keys in 2-D (:func:`qk_scatter`). Arrays from
:mod:`attnviz.analysis.flow` and :mod:`attnviz.analysis.projection` in, ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .attention import _axis_ticks, _translator, map_heatmap
from .style import title_room, top_title, TICK_SIZE, TITLE_ROOM, fixed_layout, labels, live_figure, widest

EDGE_COLOR = "31, 95, 168"  # rgb of the graph's lines; each width bucket sets its own opacity
WIDTH_BUCKETS = 5  # lines are drawn as this many traces, one per width: a few traces, however many lines
MAX_WIDTH = 6.0  # px, the heaviest line
QUERY_COLOR, KEY_COLOR = "#1f77b4", "#e65000"
TEXT_LABELS_UP_TO = 40  # tokens: beyond this, the scatter's points carry their token in the hover only


def rollout_map(
    rolled_layer: np.ndarray,
    tokens: list[str],
    *,
    allowed: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    title: str = "",
    lang: str = "en",
) -> go.Figure:
    """One layer's rollout (T, T) as an attention map: row = token after that layer, column = input token.
    ``allowed`` (T, T) bool: the cells a path can reach (:func:`attnviz.analysis.flow.reachable`), the others
    grey; ``keep``: positions to show. The weights are shares of the row, as an attention map's are."""
    return map_heatmap(rolled_layer, tokens, allowed=allowed, keep=keep, title=title, lang=lang)


def _positions(keep: np.ndarray | None, n_tokens: int) -> np.ndarray:
    """The positions to draw: all, the True ones of a bool (T,) mask, or the given indices."""
    if keep is None:
        return np.arange(n_tokens)
    keep = np.asarray(keep)
    return np.flatnonzero(keep) if keep.dtype == bool else keep.astype(np.int64)


def _column_names(n_layers: int, t) -> list[str]:
    return [t("analysis.embeddings")] + [t("analysis.after_layer", layer=layer) for layer in range(n_layers)]


def flow_graph(
    edges, tokens: list[str], n_layers: int, *, keep: np.ndarray | None = None, title: str = "", lang: str = "en"
) -> go.Figure:
    """The token graph across layers: one column of tokens per layer boundary (column 0 = the input, column
    l + 1 = after layer l), a line per edge (:func:`attnviz.analysis.flow.flow_edges`: (layer, source, target,
    weight) joins column ``layer`` to ``layer + 1``) with width ∝ weight, the heaviest line of the figure widest.

    Lines are grouped into WIDTH_BUCKETS traces by width (None between lines), so a graph of thousands of lines
    is still a handful of traces; their hover is on a marker at each line's middle. ``keep``: the positions
    drawn as nodes (all tokens by default; give :func:`~attnviz.analysis.flow.flow_edges` the same ``keep``, so
    that no line ends at a token left out).
    """
    t = _translator(lang)
    token_labels = labels(tokens)
    positions = _positions(keep, len(tokens))
    columns = _column_names(n_layers, t)
    nodes_x = [float(c) for c in range(n_layers + 1) for _ in positions]
    nodes_y = [float(p) for _ in range(n_layers + 1) for p in positions]
    node_custom = [[token_labels[p], int(p), columns[c]] for c in range(n_layers + 1) for p in positions]
    traces = []
    peak = max((edge[3] for edge in edges), default=0.0)
    if peak > 0:
        # bucket b (0 = lightest) holds the weights in (b/B, (b+1)/B] of the peak, drawn at its upper width
        buckets: list[tuple[list, list]] = [([], []) for _ in range(WIDTH_BUCKETS)]
        for layer, source, target, weight in edges:
            bucket = min(WIDTH_BUCKETS - 1, int(np.ceil(weight / peak * WIDTH_BUCKETS)) - 1)
            xs, ys = buckets[max(bucket, 0)]
            xs.extend([float(layer), float(layer + 1), None])
            ys.extend([float(source), float(target), None])
        for bucket, (xs, ys) in enumerate(buckets):
            if not xs:
                continue
            share = (bucket + 1) / WIDTH_BUCKETS
            traces.append(
                dict(
                    type="scatter",
                    x=xs,
                    y=ys,
                    mode="lines",
                    hoverinfo="skip",
                    showlegend=False,
                    line=dict(width=MAX_WIDTH * share, color=f"rgba({EDGE_COLOR}, {0.25 + 0.6 * share:.2f})"),
                )
            )
        middles = dict(
            type="scatter",
            x=[layer + 0.5 for layer, *_ in edges],
            y=[(source + target) / 2 for _, source, target, _ in edges],
            mode="markers",
            marker=dict(size=8, color="rgba(0,0,0,0)"),  # invisible: it only carries the line's hover
            customdata=[
                [int(layer), token_labels[source], int(source), token_labels[target], int(target), float(weight)]
                for layer, source, target, weight in edges
            ],
            hovertemplate=(
                t("analysis.edge_layer", layer="%{customdata[0]}")
                + ": <b>%{customdata[1]}</b> #%{customdata[2]} → <b>%{customdata[3]}</b> #%{customdata[4]}<br>"
                + t("plot.weight")
                + " %{customdata[5]:.3f}<extra></extra>"
            ),
            showlegend=False,
        )
        traces.append(middles)
    traces.append(
        dict(
            type="scatter",
            x=nodes_x,
            y=nodes_y,
            mode="markers",
            showlegend=False,
            marker=dict(size=7, color="white", line=dict(color="#555555", width=1)),
            customdata=node_custom,
            hovertemplate="<b>%{customdata[0]}</b> #%{customdata[1]}<br>%{customdata[2]}<extra></extra>",
        )
    )
    shown_labels = [token_labels[p] for p in positions]
    tick_size = 10 if len(positions) > 30 else TICK_SIZE
    y_ticks = dict(tickmode="array", tickvals=[float(p) for p in positions], ticktext=shown_labels)
    if len(positions) > 64:  # thinned as the maps thin theirs
        thinned = _axis_ticks(len(positions), shown_labels)
        y_ticks = dict(
            tickmode="array", tickvals=[float(positions[i]) for i in thinned["tickvals"]], ticktext=thinned["ticktext"]
        )
    layout = fixed_layout(
        left=widest(y_ticks["ticktext"], tick_size) + TITLE_ROOM + 14,
        right=20,
        top=title_room(title),
        bottom=widest(columns) * 0.8 + TITLE_ROOM,
        title=top_title(title),
        height=int(np.clip(22 * len(positions) + 140, 360, 1400)),
        plot_bgcolor="white",
        hovermode="closest",
        xaxis=dict(
            tickmode="array",
            tickvals=list(range(n_layers + 1)),
            ticktext=columns,
            tickangle=-30,
            range=[-0.3, n_layers + 0.3],
            showgrid=False,
            zeroline=False,
            automargin=False,
        ),
        yaxis=dict(
            title=dict(text=t("analysis.token_axis")),
            autorange="reversed",
            **y_ticks,
            tickfont=dict(size=tick_size),
            showgrid=False,
            zeroline=False,
            automargin=False,
        ),
    )
    return live_figure(traces, layout)


def qk_scatter(projection: dict, tokens: list[str], *, title: str = "", lang: str = "en") -> go.Figure:
    """One head's queries (circles) and keys (diamonds) in the 2-D picture of
    :func:`attnviz.analysis.projection.qk_projection`; later tokens are drawn more opaque. Hover: the token
    (escaped), its position, and whether it is the query or the key. Equal scales on both axes: distance is
    what the picture means. Up to TEXT_LABELS_UP_TO tokens, each point is labelled with its token too."""
    t = _translator(lang)
    positions = np.asarray(projection["positions"])
    token_labels = labels([tokens[p] for p in positions])
    n = len(positions)
    # opacity 0.3 (first token) … 1 (last): order without a second colour scale
    opacity = (0.3 + 0.7 * np.arange(n) / max(n - 1, 1)).tolist()
    with_text = n <= TEXT_LABELS_UP_TO
    traces = []
    for role, name_key, symbol, colour in (
        ("queries", "analysis.queries", "circle", QUERY_COLOR),
        ("keys", "analysis.keys", "diamond", KEY_COLOR),
    ):
        points = np.asarray(projection[role], dtype=np.float64)
        role_word = t("plot.query") if role == "queries" else t("plot.key")
        traces.append(
            dict(
                type="scatter",
                x=points[:, 0].tolist(),  # plain lists, as every live figure sends them
                y=points[:, 1].tolist(),
                mode="markers+text" if with_text else "markers",
                name=t(name_key),
                marker=dict(symbol=symbol, size=10, color=colour, opacity=opacity, line=dict(color="white", width=1)),
                **(
                    {"text": token_labels, "textposition": "top center", "textfont": dict(size=10, color=colour)}
                    if with_text
                    else {}
                ),
                customdata=[[label, int(p)] for label, p in zip(token_labels, positions)],
                hovertemplate=f"<b>%{{customdata[0]}}</b> #%{{customdata[1]}}<br>{role_word}<extra></extra>",
            )
        )
    explained = projection.get("explained_variance")
    if explained is None:
        axis_titles = [t("analysis.umap_axis", n=n_axis) for n_axis in (1, 2)]
    else:
        axis_titles = [
            t("analysis.pc_axis", n=n_axis, share=f"{share:.0%}") for n_axis, share in zip((1, 2), explained)
        ]
    layout = fixed_layout(
        left=70,
        right=20,
        top=70 if title else 45,
        bottom=60,
        title=top_title(title),
        height=560,
        plot_bgcolor="white",
        hovermode="closest",
        legend=dict(orientation="h", x=0, y=1.0, xanchor="left", yanchor="bottom"),
        xaxis=dict(title=dict(text=axis_titles[0]), gridcolor="#eeeeee", zeroline=False, automargin=False),
        yaxis=dict(
            title=dict(text=axis_titles[1]), gridcolor="#eeeeee", zeroline=False, automargin=False, scaleanchor="x"
        ),
    )
    return live_figure(traces, layout)
