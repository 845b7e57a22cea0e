"""The block view: which tiles of a mask a blocked attention kernel skips, computes with a mask, or computes whole.
A :class:`attnviz.analysis.kernel_blocks.BlockCensus` in, a ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.kernel_blocks import FULL, PARTIAL, SKIPPED, BlockCensus
from ..i18n import translate
from .attention import _translator
from .style import TICK_SIZE, colorbar_room, fixed_layout, live_figure, title_room, top_title

STATE_COLOURS = {
    SKIPPED: "#e0e0e0",
    PARTIAL: "#f1a340",
    FULL: "#2166ac",
}  # grey, amber, blue: apart in colour-blind eyes
STATE_KEYS = {SKIPPED: "blocks.skipped", PARTIAL: "blocks.partial", FULL: "blocks.full"}


def kernel_blocks_figure(census: BlockCensus, *, title: str | None = None, lang: str = "en") -> go.Figure:
    """Each query-block × key-block tile coloured by its state, on axes in token positions (a tile spans its
    block's positions), the hover naming its positions, state and allowed cells."""
    T = _translator(lang)
    n = census.n
    blocks = census.states.shape[0]
    edges = [census.tile_bounds(i)[0] - 0.5 for i in range(blocks)] + [n - 0.5]  # a tile spans its block's cells
    hover = np.empty(census.states.shape, dtype=object)
    for i in range(blocks):
        qa, qb = census.tile_bounds(i)
        for j in range(blocks):
            ka, kb = census.tile_bounds(j)
            hover[i, j] = T(
                "blocks.hover",
                q=f"{qa}–{qb - 1}",
                k=f"{ka}–{kb - 1}",
                state=T(STATE_KEYS[int(census.states[i, j])]),
                allowed=int(census.allowed[i, j]),
                cells=(qb - qa) * (kb - ka),
            )
    colours = [STATE_COLOURS[state] for state in (SKIPPED, PARTIAL, FULL)]
    scale = [[(state + side) / 3, colour] for state, colour in enumerate(colours) for side in (0, 1)]  # discrete
    bar_title = T("blocks.state")
    trace = dict(
        type="heatmap",
        x=edges,
        y=edges,
        z=census.states.astype(float),
        zmin=-0.5,
        zmax=2.5,
        colorscale=scale,
        xgap=1 if blocks <= 64 else 0,
        ygap=1 if blocks <= 64 else 0,
        customdata=hover.tolist(),
        hovertemplate="%{customdata}<extra></extra>",
        colorbar=dict(
            title=dict(text=bar_title, side="top"),
            tickvals=[SKIPPED, PARTIAL, FULL],
            ticktext=[T(STATE_KEYS[state]) for state in (SKIPPED, PARTIAL, FULL)],
            thickness=12,
            len=0.6,
        ),
    )
    text = title if title is not None else T("blocks.title", block=census.block)  # the counts: summary(), said beside
    layout = fixed_layout(
        left=56,
        right=colorbar_room(bar_title) + 60,
        top=title_room(text),
        bottom=64,
        title=top_title(text),
        # both ranges fixed and constrained to the plot's domain: a square map shrinks its plot, never its range
        xaxis=dict(
            title=dict(text=T("blocks.keys")), range=[-0.5, n - 0.5], constrain="domain", tickfont=dict(size=TICK_SIZE)
        ),
        yaxis=dict(
            title=dict(text=T("blocks.queries")),
            range=[n - 0.5, -0.5],
            scaleanchor="x",
            constrain="domain",
            tickfont=dict(size=TICK_SIZE),
        ),
        height=460,
    )
    return live_figure([trace], layout)


def summary(census: BlockCensus, lang: str = "en") -> str:
    """The census in words: tiles skipped (and their share), partly masked, full; the work a kernel does."""
    return translate(
        "blocks.summary",
        lang,
        block=census.block,
        skipped=f"{census.count(SKIPPED):,}",  # thousands apart: a long text has some 16,000 tiles
        tiles=f"{census.tiles:,}",
        share=f"{census.skipped_share:.0%}",
        partial=f"{census.count(PARTIAL):,}",
        full=f"{census.count(FULL):,}",
    )
