"""Pure figure builders: captured arrays in, ``plotly.graph_objects.Figure`` out.

Nothing here runs a model.  Conventions shared by every attention map:
queries on rows (top to bottom), keys on columns, token text escaped before it becomes a
label (Plotly renders some HTML), masked cells drawn as blank grey, never as zero. Colours, fonts, margins and
the payload budget are :mod:`attnviz.figures.style`'s.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..i18n import translate
from ..text import escape_label
from .style import (
    title_room,
    top_title,
    DIVERGING,
    FULL_DETAIL_TOKENS,
    MASKED_COLOR,
    MAX_DRAWN_TOKENS,
    SEQUENTIAL,
    TICK_SIZE,
    TITLE_ROOM,
    block_starts,
    colorbar,
    colorbar_room,
    colorscale,
    downsample,
    finish,
    fixed_layout,
    labels,
    block_colours,
    live_figure,
    weight_colours,
    widest,
)


def _translator(lang: str):
    return lambda key, **values: translate(key, lang, **values)


def select(matrix: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """Rows and columns ``keep`` of the trailing (q, k) axes."""
    if keep is None:
        return matrix
    keep = np.asarray(keep)
    return matrix[..., keep, :][..., :, keep]


def _masked(values: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    values = values.astype(np.float32, copy=True)
    if allowed is not None:
        values[~np.broadcast_to(allowed, values.shape)] = np.nan
    return values


def position_ticks(first: int, stop: int, max_ticks: int) -> dict:
    """Ticks at round text positions in ``[first, stop)``, at most about ``max_ticks`` (steps of 1, 2 or 5 × 10ⁿ):
    the labels of an axis whose rows are blocks of tokens or too thin to carry a token each ("every other character"
    reads as a word that is not in the text)."""
    rough = max(stop - first, 1) / max(max_ticks, 1)
    scale = 10 ** math.floor(math.log10(max(rough, 1.0)))
    step = next(m * scale for m in (1, 2, 5, 10) if m * scale >= rough)
    values = list(range(math.ceil(first / step) * step, stop, step))
    return dict(tickmode="array", tickvals=values, ticktext=[str(v) for v in values])


def token_or_position_ticks(
    text: list[str], positions: np.ndarray, row_px: float, size: float, max_ticks: int = 64
) -> dict:
    """Each cell labelled with its token when every one fits (at most ``max_ticks``, rows at least 2 px taller than the font
    ``size``), else round positions: a label per token or none, never every other token."""
    n = len(text)
    if n <= max_ticks and row_px >= size + 2:  # the spacing style.thin_ticks keeps between stacked labels
        return _axis_ticks(n, text, max_ticks=n, positions=positions)
    return position_ticks(int(positions[0]), int(positions[-1]) + 1, max_ticks=10)


def square_cells(layout: dict, width: float | None, rows: float, cols: float) -> dict:
    """``layout`` with square cells for a map of ``rows`` × ``cols`` in a column ``width`` px wide (None: as it is):
    the height that makes the plot area as tall as its cells are wide there, and the axes tied (``scaleanchor``) so
    that a wider column keeps the cells square rather than stretching them."""
    if width is None:
        return layout
    margin = layout["margin"]
    plot_width = max(width - margin["l"] - margin["r"], 80.0)
    layout["height"] = int(round(plot_width * rows / max(cols, 1) + margin["t"] + margin["b"]))
    layout["xaxis"]["constrain"] = "domain"
    layout["yaxis"].update(scaleanchor="x", scaleratio=1, constrain="domain")
    return layout


def _axis_ticks(n: int, text: list[str], max_ticks: int = 64, positions: np.ndarray | None = None) -> dict:
    """At most ``max_ticks`` of the ``n`` labels ``text``; a tick sits at its cell's coordinate, which is its index or,
    when only some tokens are drawn (hidden special tokens, block starts), ``positions[index]``."""
    step = max(1, int(np.ceil(n / max_ticks)))
    idx = list(range(0, n, step))
    values = idx if positions is None else [int(positions[i]) for i in idx]
    return dict(tickmode="array", tickvals=values, ticktext=[text[i] for i in idx])


def map_heatmap(
    pattern: np.ndarray,
    tokens: list[str],
    *,
    scores: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    title: str = "",
    key_tokens: list[str] | None = None,
    limit: float | None = None,
    height: int | None = None,
    first_query: int = 0,
    first_key: int = 0,
    square_width: float | None = None,
    lang: str = "en",
) -> go.Figure:
    """One head's attention: queries on rows, keys on columns, hover = tokens, weight, raw score.

    pattern, scores, allowed: (q_len, k_len); keep: indices of the tokens to show. A tile of a longer map (a zoom)
    passes its own tokens and where it starts (``first_query``, ``first_key``): cells and hovers keep the text's
    positions. Colours: :func:`~attnviz.figures.style.weight_colours` (``limit``: the capture-wide ±limit of a
    model whose weights leave [0, 1]). ``square_width``: square cells in a column that wide (a zoomed region).
    """
    t = _translator(lang)
    key_tokens = tokens if key_tokens is None else key_tokens
    positions_q = np.arange(len(tokens)) if keep is None else np.asarray(keep)
    positions_k = np.arange(len(key_tokens)) if keep is None else np.asarray(keep)
    query_labels, key_labels = labels(tokens), labels(key_tokens)
    q_text = [query_labels[i] for i in positions_q]
    k_text = [key_labels[i] for i in positions_k]
    positions_q, positions_k = positions_q + first_query, positions_k + first_key
    z = _masked(select(pattern, keep), None if allowed is None else select(allowed, keep))
    n_q, n_k = z.shape
    raw = np.zeros_like(z) if scores is None else select(scores, keep).astype(np.float32)
    if max(n_q, n_k) > MAX_DRAWN_TOKENS:
        # Over the payload budget (a 1,024-token map is 14 MB of JSON, and the browser gains nothing from
        # more cells than pixels): block-averaged, and the hover says so and names each block's first token.
        rows, cols = block_starts(n_q, MAX_DRAWN_TOKENS), block_starts(n_k, MAX_DRAWN_TOKENS)
        z = downsample(z, MAX_DRAWN_TOKENS)
        positions_q, positions_k = positions_q[rows], positions_k[cols]
        q_text, k_text = [q_text[i] for i in rows], [k_text[i] for i in cols]
        n_q, n_k = z.shape
        custom = None
        hover = f"{t('plot.block_average')}: {t('plot.query')} #%{{y}}… → {t('plot.key')} #%{{x}}…<br>{t('plot.weight')} %{{z:.4f}}"
    elif max(n_q, n_k) <= FULL_DETAIL_TOKENS:
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
    colour, bar_title = weight_colours(z, lang, limit)  # the one rule: 0–1, or ±limit for composed weights
    heat = dict(
        type="heatmap",
        z=z,
        x=positions_k.tolist(),  # plain lists: typed-array axes make Plotly.react redraw a copy from scratch
        y=positions_q.tolist(),
        **({} if custom is None else {"customdata": custom}),
        hovertemplate=hover + "<extra></extra>",
        colorbar=colorbar(bar_title),
        **colour,
        xgap=0,
        ygap=0,
    )
    side = height or int(np.clip(28 * n_q + 160, 360, 760))  # square_cells sets a square map's own height
    tick_size = 10 if max(n_q, n_k) > 30 else TICK_SIZE  # many labels: small, fixed size (also on a projector)
    if square_width is None:  # a sentence: every k-th token where they do not all fit (the hover names each)
        x_ticks, y_ticks = (
            _axis_ticks(n_k, k_text, positions=positions_k),
            _axis_ticks(n_q, q_text, positions=positions_q),
        )
    else:  # a region of a long text: its tokens, or positions, never every other character
        # Its cells are square, so a row is as tall as a column is wide: the column less about 160 px of margins
        # (an estimate: it decides between two kinds of label, not their size). Keys share the rule.
        row_px = (square_width - 160) / max(n_k, 1)
        x_ticks = token_or_position_ticks(k_text, positions_k, row_px, tick_size)
        y_ticks = token_or_position_ticks(q_text, positions_q, row_px, tick_size)
    # Key labels are turned 60°: their height is w·sin 60° + h·cos 60°.
    x_label_height = widest(x_ticks["ticktext"], tick_size) * math.sin(math.radians(60)) + tick_size * 0.5
    layout = fixed_layout(
        left=widest(y_ticks["ticktext"], tick_size) + TITLE_ROOM + 14,
        right=colorbar_room(bar_title),
        # The title sits at the very top of the figure, above the plot.
        top=title_room(title),
        bottom=x_label_height + TITLE_ROOM + 14,
        title=top_title(title),
        height=side,
        plot_bgcolor=MASKED_COLOR,
        xaxis=dict(
            title=dict(text=t("plot.key_axis")),
            side="bottom",
            tickangle=-60,
            **x_ticks,
            showgrid=False,
            zeroline=False,
            tickfont=dict(size=tick_size),
            automargin=False,
            **({"range": [float(positions_k[0]) - 0.5, float(positions_k[-1]) + 0.5]} if keep is None else {}),
        ),
        yaxis=dict(
            title=dict(text=t("plot.query_axis")),
            autorange="reversed",
            **y_ticks,
            showgrid=False,
            zeroline=False,
            tickfont=dict(size=tick_size),
            automargin=False,
        ),
    )
    if keep is None:  # the cells only (a box-drag target over a zoom would pad the axis)
        layout["yaxis"].update(autorange=False, range=[float(positions_q[-1]) + 0.5, float(positions_q[0]) - 0.5])
    return live_figure([heat], square_cells(layout, square_width, n_q, n_k))


def block_heatmap(
    block_map,
    *,
    statistic: str = "mean",
    title: str = "",
    height: int | None = None,
    zmax: float | None = None,
    square_width: float | None = None,
    lang: str = "en",
) -> go.Figure:
    """A long text's map (or a zoomed region of it) at block resolution: each block's mean (or max) weight, exact,
    and in its hover the block's strongest cell: its query and key positions and tokens, weight and raw score.

    ``block_map``: an :class:`attnviz.tiles.BlockMap` (duck-typed: mean, weight, query, key, score,
    row_starts, col_starts, rows, cols). Cells sit at each block's first position, so a box dragged over the map
    reads in token positions. Blocks with no allowed cell (all weights exactly 0) are drawn masked, grey.
    """
    t = _translator(lang)
    value = np.asarray(block_map.mean if statistic == "mean" else block_map.weight, dtype=np.float32)
    z = np.where(np.asarray(block_map.weight) > 0, value, np.nan).astype(np.float32)
    rows, cols = np.asarray(block_map.row_starts), np.asarray(block_map.col_starts)
    # numbers only, so the payload goes as one typed array: query, key, weight, score of each block's strongest cell
    custom = np.stack([block_map.query, block_map.key, block_map.weight, block_map.score], axis=-1).astype(np.float32)
    name = t("plot.block_mean") if statistic == "mean" else t("plot.block_max")
    hover = (
        f"{name} %{{z:.4f}}<br>{t('plot.strongest')}: {t('plot.query')} #%{{customdata[0]}} → {t('plot.key')} "
        f"#%{{customdata[1]}}<br>{t('plot.weight')} %{{customdata[2]:.4f}} · {t('plot.raw_score')} %{{customdata[3]:.3f}}"
    )
    finite = np.isfinite(z).any()
    top = (
        float(zmax) if zmax is not None else max(float(np.nanmax(z)) if finite else 1.0, 1e-6)
    )  # maps side by side: one
    bottom = float(np.nanmin(z)) if finite else 0.0
    if bottom < -1e-6:  # a DCFormer's post-composed weights can be negative: a diverging scale centred on 0
        limit = max(top, -bottom)
        colour = dict(colorscale=colorscale(DIVERGING), zmid=0.0, zmin=-limit, zmax=limit)
    else:
        colour = dict(colorscale=colorscale(SEQUENTIAL), zmin=0.0, zmax=top)
    heat = dict(
        type="heatmap",
        z=z,
        x=cols.tolist(),
        y=rows.tolist(),
        customdata=custom,
        hovertemplate=hover + "<extra></extra>",
        **colour,
        colorbar=colorbar(name),
        xgap=0,
        ygap=0,
    )
    margins, xaxis, yaxis = _block_axes(rows, cols, t)
    xaxis["range"] = [block_map.cols.start - 0.5, block_map.cols.stop - 0.5]
    yaxis["range"] = [block_map.rows.stop - 0.5, block_map.rows.start - 0.5]
    layout = fixed_layout(
        **margins,
        right=colorbar_room(name),
        top=title_room(title),
        title=top_title(title),
        height=height or 720,
        plot_bgcolor=MASKED_COLOR,
        dragmode="select",  # a box dragged over the map is a zoom request (the page draws that region exactly)
        xaxis=xaxis,
        yaxis=yaxis,
    )
    span_rows, span_cols = block_map.rows.stop - block_map.rows.start, block_map.cols.stop - block_map.cols.start
    layout = square_cells(layout, square_width, span_rows, span_cols)  # ``square_width``: square in a column that wide
    return live_figure([heat, box_target(rows[0], rows[-1], cols[0], cols[-1])], layout)


def _block_axes(rows: np.ndarray, cols: np.ndarray, t) -> tuple[dict, dict, dict]:
    """(left and bottom margins, x axis, y axis) of a map drawn at block resolution: a block holds many tokens, so the
    axes are labelled with round text positions (a block's first character named a letter, not a place)."""
    x_ticks = position_ticks(int(cols[0]), int(cols[-1]) + 1, max_ticks=6)
    y_ticks = position_ticks(int(rows[0]), int(rows[-1]) + 1, max_ticks=10)
    tick_size = 10
    margins = dict(
        left=widest(y_ticks["ticktext"], tick_size) + TITLE_ROOM + 34,
        bottom=tick_size * 1.5 + TITLE_ROOM + 14,
    )
    axis = dict(showgrid=False, zeroline=False, tickfont=dict(size=tick_size), automargin=False)
    xaxis = dict(title=dict(text=t("plot.key_axis")), tickangle=0, **x_ticks, **axis)
    yaxis = dict(title=dict(text=t("plot.query_axis")), **y_ticks, **axis)
    return margins, xaxis, yaxis


def block_difference(
    map_a,
    map_b,
    *,
    title: str = "",
    height: int | None = None,
    square_width: float | None = None,
    lang: str = "en",
) -> go.Figure:
    """Head A's block means minus head B's, over the same blocks of a long text: the exact block means of A − B
    (a mean is linear), on a diverging scale centred on 0; blocks neither head may attend to are grey."""
    t = _translator(lang)
    masked = (np.asarray(map_a.weight) <= 0) & (np.asarray(map_b.weight) <= 0)
    z = np.where(masked, np.nan, np.asarray(map_a.mean, np.float64) - np.asarray(map_b.mean, np.float64)).astype(
        np.float32
    )
    limit = max(float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0, 1e-6)
    rows, cols = np.asarray(map_a.row_starts), np.asarray(map_a.col_starts)
    name = t("plot.difference")
    heat = dict(
        type="heatmap",
        z=z,
        x=cols.tolist(),
        y=rows.tolist(),
        colorscale=colorscale(DIVERGING),
        zmid=0.0,
        zmin=-limit,
        zmax=limit,
        colorbar=colorbar(t("plot.block_mean")),
        xgap=0,
        ygap=0,
        hovertemplate=f"{name}, {t('plot.block_mean')}: %{{z:.4f}}<br>{t('plot.query')} #%{{y}}… → {t('plot.key')} #%{{x}}…<extra></extra>",
    )
    margins, xaxis, yaxis = _block_axes(rows, cols, t)
    xaxis["range"] = [map_a.cols.start - 0.5, map_a.cols.stop - 0.5]
    yaxis["range"] = [map_a.rows.stop - 0.5, map_a.rows.start - 0.5]
    layout = fixed_layout(
        **margins,
        right=colorbar_room(t("plot.block_mean")),
        top=title_room(title or name),
        title=top_title(title or name),
        height=height or 480,
        plot_bgcolor=MASKED_COLOR,
        xaxis=xaxis,
        yaxis=yaxis,
    )
    span_rows, span_cols = map_a.rows.stop - map_a.rows.start, map_a.cols.stop - map_a.cols.start
    return live_figure([heat], square_cells(layout, square_width, span_rows, span_cols))


def box_target(first_row: float, last_row: float, first_col: float, last_col: float, per_side: int = 32) -> dict:
    """A grid of invisible points over a map: Plotly lets a box be dragged (``dragmode="select"``) only over a
    selectable trace, which a heatmap is not, and reports a box only when it holds a point. The page reads the
    box's range, not the points; 32 a side (~20 KB) catch any box wider than 1/32 of the map."""
    rows = np.unique(np.linspace(first_row, last_row, per_side).round())
    cols = np.unique(np.linspace(first_col, last_col, per_side).round())
    y, x = (grid.ravel().tolist() for grid in np.meshgrid(rows, cols, indexing="ij"))
    return dict(
        type="scatter",
        x=x,
        y=y,
        mode="markers",
        marker=dict(size=1, color="rgba(0,0,0,0)"),
        hoverinfo="skip",
        showlegend=False,
    )


def downsample_stack(stack: np.ndarray, size: int) -> np.ndarray:
    """Block-average every (q, k) map of a (n, q, k) stack to at most (size, size); NaN-free input."""
    _, q_len, k_len = stack.shape
    if q_len <= size and k_len <= size:
        return stack.astype(np.float32, copy=False)
    rows, cols, sizes = _blocks(q_len, k_len, size)
    sums = np.add.reduceat(np.add.reduceat(stack, rows, axis=1), cols, axis=2)
    return (sums / sizes).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _blocks(q_len: int, k_len: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First row and column of each block of :func:`downsample_stack`, and each block's number of cells."""
    row_groups = np.array_split(np.arange(q_len), min(size, q_len))
    col_groups = np.array_split(np.arange(k_len), min(size, k_len))
    rows = np.array([g[0] for g in row_groups])
    cols = np.array([g[0] for g in col_groups])
    sizes = np.outer([len(g) for g in row_groups], [len(g) for g in col_groups])
    for array in (rows, cols, sizes):
        array.flags.writeable = False  # shared by every call
    return rows, cols, sizes


def _tile_canvas(
    tiles: list[np.ndarray], columns: int, gap: int, row_gap: int | None = None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Place equal-sized tiles on one NaN canvas (row-major), ``gap`` cells apart in a row; with ``row_gap``, that
    many empty rows above every row of tiles (their titles' room, inside the plot), else ``gap`` between rows.
    Returns the canvas and each tile's (x0, y0)."""
    size_q, size_k = tiles[0].shape
    above, between = (0, gap) if row_gap is None else (row_gap, row_gap)
    rows = int(np.ceil(len(tiles) / columns))
    canvas = np.full(
        (above + rows * (size_q + between) - between, min(columns, len(tiles)) * (size_k + gap) - gap),
        np.nan,
        dtype=np.float32,
    )
    origins = []
    for index, tile in enumerate(tiles):
        y0, x0 = above + (index // columns) * (size_q + between), (index % columns) * (size_k + gap)
        canvas[y0 : y0 + size_q, x0 : x0 + size_k] = tile
        origins.append((x0, y0))
    return canvas, origins


def _frame(x0: float, y0: float, width: int, height: int, **line) -> dict:
    """A rectangle shape around cells x0..x0+width-1, y0..y0+height-1."""
    return dict(type="rect", x0=x0 - 0.5, x1=x0 + width - 0.5, y0=y0 - 0.5, y1=y0 + height - 0.5, **line)


def map_grid(
    patterns: np.ndarray,
    tokens: list[str],
    *,
    allowed: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    layer: int = 0,
    selected_head: int | None = None,
    max_cells: int = 48,
    columns: int = 6,
    kv_heads: list[int] | None = None,
    blocks: bool = False,
    limit: float | None = None,
    lang: str = "en",
) -> go.Figure:
    """Every head of one layer as small maps on one canvas (block-averaged beyond ``max_cells`` tokens; ``blocks``:
    the maps given are already block averages of a long text's, :func:`attnviz.tiles.block_map`).

    One heatmap trace for all heads keeps the figure light; each tile sits on a grey rectangle,
    so masked (NaN) cells show grey while the gaps between tiles stay white. ``kv_heads[h]``: the K/V head
    that query head h reads (grouped-query attention); heads sharing one are then laid out as one row and
    titled with it.
    """
    t = _translator(lang)
    n_heads = patterns.shape[0]
    kv_of = list(kv_heads) if kv_heads is not None else []
    grouped = bool(kv_of) and len(set(kv_of)) < n_heads
    if grouped:
        group = n_heads // len(set(kv_of))
        columns = group if 2 <= group <= 8 else columns  # one row per K/V head when it fits
    kept = select(patterns, keep).astype(np.float32)  # (heads, q, k)
    if allowed is not None:
        kept = np.where(np.broadcast_to(select(allowed, keep), kept.shape[1:])[None], kept, np.nan)
    tiles = [downsample(kept[h], max_cells) for h in range(n_heads)]
    exact = tiles[0].shape == kept.shape[1:] and not blocks
    size = tiles[0].shape[0]
    gap = max(1, round(size * 0.1))
    # Above each row, room for its head titles inside the plot: a quarter of a tile keeps "head 6" clear of the tile
    # above (and of the frame around a chosen head there), and the top row's clear of the figure's title.
    canvas, origins = _tile_canvas(tiles, columns, gap, row_gap=max(2, round(size * 0.25)))
    # (head, query, key) under each cell; the gaps between tiles (NaN, never hovered) hold 0s, not -1s: the figure's
    # JSON carries this array in base64, where the bytes of -1 are "/" characters that Plotly escapes to six bytes
    # each ("\\u002f"), which made a layer's grid half again as heavy to send at every rerun.
    index = np.zeros(canvas.shape + (3,), dtype=np.int16)
    width = tiles[0].shape[1]  # every tile has the same shape
    block = np.stack(np.meshgrid(np.zeros(1), np.arange(size), np.arange(width), indexing="ij"), -1)[0].astype(np.int16)
    for head, (x0, y0) in enumerate(origins):
        block[..., 0] = head
        index[y0 : y0 + size, x0 : x0 + width] = block
    where = (
        t("plot.query") + " #%{customdata[1]} → " + t("plot.key") + " #%{customdata[2]}"
        if exact
        else t("plot.block_average")
    )
    # As the head's own map (one rule for weights); a long text's block means are their own quantity.
    colour, bar_title = block_colours(canvas, lang) if blocks else weight_colours(canvas, lang, limit)
    heat = dict(
        type="heatmap",
        z=canvas,
        customdata=index,
        **colour,
        colorbar=colorbar(bar_title, thickness=10),
        hovertemplate=t("plot.head", h="%{customdata[0]}")
        + "<br>"
        + where
        + "<br>"
        + t("plot.weight")
        + " %{z:.3f}<extra></extra>",
        hoverongaps=False,
    )
    shapes, titles = [], []
    for head, (x0, y0) in enumerate(origins):
        width = tiles[head].shape[1]
        shapes.append(
            dict(
                type="rect",
                x0=x0 - 0.5,
                x1=x0 + width - 0.5,
                y0=y0 - 0.5,
                y1=y0 + size - 0.5,
                fillcolor=MASKED_COLOR,
                line=dict(width=0),
                layer="below",
            )
        )
        label = t("plot.head", h=head) + (t("plot.kv_head", kv=kv_of[head]) if grouped else "")
        titles.append(
            dict(
                x=x0 + (width - 1) / 2,
                y=y0 - 0.6,
                text=f"<b>{label}</b>" if head == selected_head else label,
                showarrow=False,
                yanchor="bottom",
                font=dict(size=13),
            )
        )
    if selected_head is not None:
        x0, y0 = origins[selected_head]
        shapes.append(
            dict(
                type="rect",
                x0=x0 - 0.8,
                x1=x0 + tiles[selected_head].shape[1] - 0.2,
                y0=y0 - 0.8,
                y1=y0 + size - 0.2,
                line=dict(color="#e65000", width=3),
            )
        )
    rows = int(np.ceil(n_heads / columns))
    layout = fixed_layout(
        left=10,
        right=colorbar_room(bar_title),
        top=50,
        bottom=10,
        title=dict(text=t("plot.layer_heads", layer=layer, n=n_heads), x=0.01),
        height=200 * rows + 80,
        plot_bgcolor="white",
        shapes=shapes,
        annotations=titles,
        xaxis=dict(visible=False, constrain="domain", automargin=False),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain", automargin=False),
    )
    return live_figure([heat], layout)


def maps_overview(
    patterns_by_layer: list[np.ndarray],
    *,
    keep: np.ndarray | None = None,
    thumb: int = 16,
    selected: tuple[int, int] | None = None,
    kv_heads: list[int] | None = None,
    limit: float | None = None,
    blocks: bool = False,
    lang: str = "en",
) -> go.Figure:
    """All layers × all heads as thumbnails in one image; each thumbnail is a clickable point.

    Thumbnails are coloured as every view of a head is (:func:`~attnviz.figures.style.weight_colours`: 0–1, or
    ±``limit`` for composed weights), so a head looks the same here as in its map and its layer's grid; ``blocks``:
    a long text's block means, on their own scale (:func:`~attnviz.figures.style.block_colours`).
    The scatter layer carries (layer, head) as customdata for Plotly selection events.
    ``kv_heads[h]``: the K/V head query head h reads; with grouped-query attention a line separates the groups.
    """
    n_layers = len(patterns_by_layer)
    n_heads = patterns_by_layer[0].shape[0]
    tiles: list[np.ndarray] = []
    for patterns in patterns_by_layer:
        tiles.extend(downsample_stack(select(patterns, keep).astype(np.float32), thumb))  # (heads, s, s)
    size_q, size_k = tiles[0].shape
    canvas, origins = _tile_canvas(tiles, n_heads, gap=1)
    centers = [(x0 + (size_k - 1) / 2, y0 + (size_q - 1) / 2) for x0, y0 in origins]
    colour, bar_title = block_colours(canvas, lang) if blocks else weight_colours(canvas, lang, limit)
    thumbnails = dict(
        type="heatmap",
        z=canvas,
        **colour,
        colorbar=colorbar(bar_title, thickness=10),
        hoverinfo="skip",
    )
    targets = dict(
        type="scatter",
        x=[c[0] for c in centers],
        y=[c[1] for c in centers],
        mode="markers",
        customdata=[[layer, head] for layer in range(n_layers) for head in range(n_heads)],
        # Nearly transparent squares: they only catch clicks and hovers over each thumbnail.
        marker=dict(symbol="square", size=26, color="rgba(0,0,0,0.01)"),
        hovertemplate=translate("plot.click_to_select", lang, layer="%{customdata[0]}", head="%{customdata[1]}")
        + "<extra></extra>",
        showlegend=False,
    )
    shapes = []
    if kv_heads is not None and len(set(kv_heads)) < n_heads:
        bottom = origins[-1][1] + size_q - 0.5
        for head in range(1, n_heads):
            if kv_heads[head] != kv_heads[head - 1]:  # the gap between two K/V groups
                x = origins[head][0] - 1.0
                shapes.append(dict(type="line", x0=x, x1=x, y0=-0.5, y1=bottom, line=dict(color="#555555", width=2)))
    if selected is not None:
        x0, y0 = origins[selected[0] * n_heads + selected[1]]
        shapes.append(_frame(x0 - 0.3, y0 - 0.3, size_k + 0.6, size_q + 0.6, line=dict(color="#e65000", width=3)))
    layer_labels = [f"L{l}" for l in range(n_layers)]
    layout = fixed_layout(
        left=widest(layer_labels) + 12,
        right=colorbar_room(bar_title),
        top=TICK_SIZE + 18,
        bottom=10,
        height=34 * n_layers + 70,
        plot_bgcolor="white",
        clickmode="event+select",
        dragmode=False,
        shapes=shapes,
        xaxis=dict(
            tickmode="array",
            tickvals=[centers[h][0] for h in range(n_heads)],
            ticktext=[f"h{h}" for h in range(n_heads)],
            showgrid=False,
            zeroline=False,
            side="top",
            constrain="domain",
            automargin=False,
        ),
        yaxis=dict(
            tickmode="array",
            tickvals=[centers[l * n_heads][1] for l in range(n_layers)],
            ticktext=layer_labels,
            showgrid=False,
            zeroline=False,
            autorange="reversed",
            scaleanchor="x",
            constrain="domain",
            automargin=False,
        ),
    )
    return live_figure([thumbnails, targets], layout)


def comparison(
    pattern_a: np.ndarray,
    pattern_b: np.ndarray,
    tokens: list[str],
    *,
    name_a: str,
    name_b: str,
    allowed: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    weight_limit: float | None = None,
    lang: str = "en",
) -> go.Figure:
    """Two heads side by side, coloured as in their own maps, and their difference A − B on a diverging scale
    centred on 0 (red: more weight in A)."""
    t = _translator(lang)
    a = _masked(select(pattern_a, keep), None if allowed is None else select(allowed, keep))
    b = _masked(select(pattern_b, keep), None if allowed is None else select(allowed, keep))
    diff = a - b
    shown = labels([tokens[i] for i in (range(len(tokens)) if keep is None else keep)])
    n = len(shown)
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=[escape_label(name_a), escape_label(name_b), t("plot.difference")],
        horizontal_spacing=0.09,  # room for A and B's shared colour bar between B and the difference
    )
    limit = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    weights, bar_title = weight_colours(np.stack([a, b]), lang, weight_limit)  # A and B as in their own maps
    # Its bar stands in the narrow gap before A − B: the range on a line of its own, in narrow parentheses.
    narrow = bar_title.replace(" (", "<br>(").replace("（", "<br>(").replace("）", ")")
    for col, (z, kwargs) in enumerate(
        [
            (a, dict(weights, showscale=False)),
            (
                b,
                dict(
                    weights,
                    colorbar=dict(x=0.642, xanchor="left", thickness=10, title=dict(text=narrow)),
                ),
            ),
            (
                diff,
                dict(colorscale=DIVERGING, zmid=0, zmin=-limit, zmax=limit, colorbar=dict(thickness=10, title="A−B")),
            ),
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
    fig.update_layout(
        height=int(np.clip(18 * n + 220, 380, 700)), margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor=MASKED_COLOR
    )
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
    limit: float | None = None,
    limit_note: str = "",
) -> go.Figure:
    """A plain labelled matrix (differences, encodings, similarities); diverging scales centre on 0 and span ±``limit``
    (default: the largest |value|; values beyond a given limit saturate, and ``limit_note`` on the colour bar says
    so)."""
    values = np.asarray(values, dtype=np.float32)
    colour: dict[str, object] = dict(colorscale=SEQUENTIAL)
    if diverging:
        if limit is None:
            limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        colour = dict(colorscale=DIVERGING, zmid=0, zmin=-limit, zmax=limit)
    fig = go.Figure(
        go.Heatmap(
            z=values,
            hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}: %{{z:.4f}}<extra></extra>",
            colorbar=dict(thickness=10, title=dict(text=limit_note, side="right"))
            if limit_note
            else dict(thickness=10),
            **colour,
        )
    )
    xaxis = dict(title=x_title, showgrid=False, zeroline=False)
    yaxis = dict(title=y_title, autorange="reversed", showgrid=False, zeroline=False)
    if col_tokens is not None:
        # Keys along the bottom, as on every map of the app (on top they met the figure's title).
        xaxis.update(_axis_ticks(values.shape[1], labels(col_tokens)), tickangle=-60)
    if row_tokens is not None:
        yaxis.update(_axis_ticks(values.shape[0], labels(row_tokens)))
    fig.update_layout(
        title=dict(text=title, x=0.01), xaxis=xaxis, yaxis=yaxis, height=460, margin=dict(l=10, r=10, t=60, b=10)
    )
    return finish(fig)
