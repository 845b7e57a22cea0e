"""The main page's maps of a long text (a linear capture: q, k and the row normalisers, no (T × T) map stored).

The head's map is drawn at block resolution (attnviz.tiles.block_map), each block coloured by the exact
mean of its cells or by its strongest cell (``blocks=max``: a thin line of strong cells, which a mean over a block
dilutes, stays visible); a box dragged over it asks for that region, drawn cell by cell once it is at most
EXACT_TILE tokens a side, with token labels once they are readable. The zoom and the statistic live in the URL
(``zoom=q0-q1,k0-k1``). The overview and the layer grid are block means.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from attnviz import tiles
from attnviz.figures import attention as plots

from . import url_state
from .figures import column_width, columns, current_share, show_figure
from .lang import T, ensure_language
from .session import remembered
from .state import one_of

# blocks a side of a head's whole map: about 5 px each on a ~650 px map. The browser's work grows with the cells (each
# with its strongest cell's hover): MiniLM at 512 tokens, typed -> drawn 0.39 s at 192² blocks, 0.32 s at 128²
# (benchmarks/long_context.py), and the payload 1.0 -> 0.46 MB
LONG_MAP_BLOCKS = 128
EXACT_TILE = 256  # a zoomed region up to this many tokens a side is drawn cell by cell
BLOCKS_ABOVE = EXACT_TILE  # a text of more tokens is drawn in blocks, whether or not its maps are stored whole
THUMB_BLOCKS = 48  # blocks a side of each head's thumbnail in the overview and the layer grid
BLOCK_STATISTICS = ("mean", "max")  # what colours a block of the head's map (plots.block_heatmap)
LONG_MAP_PARAMS = [url_state.text_param("zoom", ""), url_state.text_param("blocks", "mean")]


def parse_zoom(raw: str, n: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``"q0-q1,k0-k1"`` (half-open token ranges) clamped to the text, or None for the whole map (or junk)."""
    try:
        spans = [tuple(int(x) for x in part.split("-")) for part in raw.split(",")]
        (a, b), (c, d) = spans
    except ValueError:
        return None
    a, b, c, d = max(0, a), min(n, b), max(0, c), min(n, d)
    return ((a, b), (c, d)) if a < b and c < d and (b - a, d - c) != (n, n) else None


def dragged_box(key: str, n: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The token ranges (queries, keys; half-open) of the box last dragged over chart ``key``, or None (a click)."""
    boxes = st.session_state[key]["selection"].get("box") or []
    if not boxes:
        return None
    xs, ys = boxes[0]["x"], boxes[0]["y"]
    a, b = max(0, math.floor(min(ys) + 0.5)), min(n, math.floor(max(ys) + 0.5) + 1)
    c, d = max(0, math.floor(min(xs) + 0.5)), min(n, math.floor(max(xs) + 0.5) + 1)
    return ((a, b), (c, d)) if a < b and c < d else None


def zoom_from_box(n: int) -> None:
    """A box dragged over the head's map: its token range becomes the zoom (a click without a box changes nothing)."""
    box = dragged_box("head_heatmap", n)
    if box is not None:
        (a, b), (c, d) = box
        st.session_state["zoom"] = f"{a}-{b},{c}-{d}"


def _of(view) -> tuple:
    return (view.model_name, view.texts, view.spec)


def long_head(view, layer: int, head: int, title: str) -> None:
    """The head's map of a long text: blocks, or the exact region of the zoom; its arrays for export."""
    cap, lang = view.captures[0], ensure_language()
    tokens, n = cap.tokens, len(cap.tokens)
    zoom = parse_zoom(st.session_state["zoom"], n)
    (a, b), (c, d) = zoom or ((0, n), (0, n))
    rows, cols = slice(a, b), slice(c, d)
    if max(b - a, d - c) <= EXACT_TILE:
        pattern, scores = (
            tiles.pattern_tile(cap, layer, head, rows, cols),
            tiles.scores_tile(cap, layer, head, rows, cols),
        )
        allowed = tiles.allowed_tile(cap, layer, rows, cols)
        fig = plots.map_heatmap(
            pattern,
            tokens[a:b],
            key_tokens=tokens[c:d],
            scores=scores,
            allowed=allowed,
            first_query=a,
            first_key=c,
            title=title,
            square_width=column_width(current_share()),
            lang=lang,
        )
        fig.add_trace(plots.box_target(a, b - 1, c, d - 1))
        fig.update_layout(dragmode="select")
        arrays = {
            "pattern": pattern,
            "scores": scores,
            "mask": allowed,
            "query_tokens": np.array(tokens[a:b]),
            "key_tokens": np.array(tokens[c:d]),
            "first_query": np.int64(a),
            "first_key": np.int64(c),
        }
    else:
        blocks = head_blocks(view, layer, head, (a, b), (c, d))
        statistic = one_of("blocks", BLOCK_STATISTICS, "mean")
        fig = plots.block_heatmap(
            blocks, statistic=statistic, title=title, square_width=column_width(current_share()), lang=lang
        )
        arrays = {
            name: getattr(blocks, name)
            for name in ("mean", "weight", "query", "key", "score", "row_starts", "col_starts")
        }
    show_figure(
        fig,
        key="head_heatmap",
        arrays=arrays,
        on_select=lambda: zoom_from_box(n),
        selection_mode="box",
    )
    if max(b - a, d - c) > EXACT_TILE:
        st.radio(
            T("main.blocks_show"),
            BLOCK_STATISTICS,
            key="blocks",
            horizontal=True,
            help=T("main.blocks_show_help"),
            format_func=lambda s: T(f"main.blocks_{s}"),
            **url_state.PERSIST,
        )
    where, reset = st.columns([4, 1], vertical_alignment="center")
    if zoom is None:
        where.caption(T("main.long_whole", n=n, blocks=min(LONG_MAP_BLOCKS, n), tile=EXACT_TILE))
    else:
        where.caption(T("main.long_zoomed", a=a, b=b - 1, c=c, d=d - 1, tile=EXACT_TILE))
        reset.button(
            T("main.long_reset"), key="zoom_reset", on_click=lambda: st.session_state.update(zoom=""), width="stretch"
        )
    if view.hide_special:  # two tokens among hundreds: a map in blocks and its regions keep them (their weight is real)
        st.caption(T("main.long_special_kept"))


def head_blocks(view, layer: int, head: int, rows: tuple[int, int] | None = None, cols: tuple[int, int] | None = None):
    """One head's block map over ``rows`` × ``cols`` (the whole map by default), remembered: the main page and
    Compare heads share it."""
    n = len(view.captures[0].tokens)
    (a, b), (c, d) = rows or (0, n), cols or (0, n)
    return remembered(
        "long:head",
        ("long:head", *_of(view), layer, head, a, b, c, d),
        lambda: tiles.block_map(view.captures[0], layer, head, LONG_MAP_BLOCKS, slice(a, b), slice(c, d)),
    )


def long_comparison(view, a: tuple[int, int], b: tuple[int, int]) -> None:
    """Compare heads on a long text: A and B as block maps on one colour scale, and A − B, block by block."""
    tokens, lang = view.captures[0].tokens, ensure_language()
    maps = [head_blocks(view, layer, head) for layer, head in (a, b)]
    top = max(max(float(m.mean.max()), 1e-6) for m in maps)
    for column, blocks, which, (layer, head) in zip(columns(2), maps, "AB", (a, b)):
        with column:
            show_figure(
                plots.block_heatmap(
                    blocks,
                    zmax=top,
                    square_width=column_width(current_share()),
                    lang=lang,
                    title=T("compare.name", which=which, layer=layer, head=head),
                ),
                key=f"long_compare_{which}",
            )
    difference, caption = columns(2)
    with difference:
        show_figure(
            plots.block_difference(maps[0], maps[1], square_width=column_width(current_share()), lang=lang),
            key="long_compare_difference",
        )
    with caption:
        st.caption(T("compare.long_caption", n=len(tokens), blocks=LONG_MAP_BLOCKS))


def thumbnails(view, layer: int) -> np.ndarray:
    """(heads, ≤48, ≤48) block means of every head of ``layer`` (NaN where a block has no allowed cell)."""
    return remembered(
        f"long:thumbs:{layer}",
        ("long:thumbs", *_of(view), layer),
        lambda: tiles.layer_block_means(view.captures[0], layer, THUMB_BLOCKS),
    )


def long_overview(view, layer: int, head: int, on_select) -> None:
    model = view.model
    maps = [np.nan_to_num(thumbnails(view, l)) for l in range(model.n_layers)]
    show_figure(
        plots.maps_overview(
            maps,
            selected=(layer, head),
            kv_heads=[model.kv_head_of(h) for h in range(model.n_heads)],
            blocks=True,
            lang=ensure_language(),
        ),
        key="overview",
        on_select=on_select,
        selection_mode="points",
    )


def long_grid(view, layer: int, head: int) -> None:
    model, cap = view.model, view.captures[0]
    thumbs = thumbnails(view, layer)
    starts = tiles._blocks(len(cap.tokens), THUMB_BLOCKS)
    show_figure(
        plots.map_grid(
            thumbs,
            [cap.tokens[i] for i in starts],
            layer=layer,
            selected_head=head,
            blocks=True,
            kv_heads=[model.kv_head_of(h) for h in range(model.n_heads)],
            lang=ensure_language(),
        ),
        key="layer_grid",
        arrays={f"layer{layer}_block_means": thumbs},
    )
