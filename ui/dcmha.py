"""The DCMHA page's tabs (pages/2_DCMHA.py lays them out): each draws one view of the chosen cell of one layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.analysis import dcmha as dv
from attnviz import tiles
from attnviz.capture import Capture, run_capture
from attnviz.analysis import redundancy
from attnviz.figures import attention as plots
from attnviz.figures import dcmha as figs
from attnviz.figures import heads as head_figures
from attnviz.models.base import hook_name
from attnviz.text import InputError, clean_text, escape_markdown

from . import url_state
from .controls import show_notices, text_box
from .editors import compose_editor, load_preset
from .figures import columns, show_figure
from .lang import T, ensure_language, error_text, texts_of
from .long_maps import LONG_MAP_BLOCKS, dragged_box
from .session import LONG_FORWARD_TOKENS, encoded_shape, remembered
from .offered import get_model
from .state import fit_indices

D = texts_of("dcmha")
MINILM = "all-MiniLM-L6-v2"  # the sandbox composes MiniLM's heads: a trained model that never learned to


@dataclass
class Cell:
    """What every tab looks at: the forward of the text on the chosen model and its twin, the layer, the (t, s) cell,
    and the captures the maps are drawn from: the forwards themselves, or for a long text the exact region of
    dv.REGION characters around the chosen query (``first``: where it starts)."""

    model: object
    twin: object
    cap: Capture
    twin_cap: Capture
    cap_key: tuple
    layer: int
    t: int
    s: int
    labels: list[str]
    maps: Capture  # the maps' capture: ``cap``, or its region
    twin_maps: Capture
    first: int  # the region's first position (0: the whole text)
    shapes: list[dict]  # window band, query blocks and the selected cell, drawn on every map (region coordinates)

    @property
    def allowed(self) -> np.ndarray:
        """The chosen layer's mask over the maps drawn."""
        return self.maps.mask(self.layer)

    @property
    def map_labels(self) -> list[str]:
        return self.labels[self.first : self.first + len(self.maps.tokens)]

    @property
    def region(self) -> bool:
        return self.maps is not self.cap


def region_note(cell: Cell) -> None:
    """Above a long text's maps: which region they show, and that it is exact."""
    if cell.region:
        st.info(D("region_note", a=cell.first, b=cell.first + len(cell.maps.tokens) - 1, n=len(cell.cap.tokens)))


def lane_of(n_tokens: int) -> str:
    """Where a computation over a text of ``n_tokens`` runs: a long text's DCMHA work (its forward, its regions,
    draw matrices and block maps, each seconds on a 1,000-character text) in the analysis lane."""
    return "analysis" if n_tokens >= LONG_FORWARD_TOKENS else "forward"


def capture_for(model, text: str, window, causal: bool) -> tuple[tuple, Capture]:
    """(key, the forward of this text under this window): this session's last one, else the server's shared cache."""
    key = ("dcmha", model.name, text, window, causal)
    # A long text's DCMHA forward (every stage of every layer recorded) takes seconds: the analysis lane, so that
    # five students' 1,000-character texts do not hold the forward workers every page's short sentence needs.
    lane = lane_of(encoded_shape(model, (text,))[1])
    return key, remembered(
        f"dcmha:{model.name}", key, lambda: dv.run_dcmha(model, text, window=window, causal=causal), lane
    )


def visible_keys(cap: Capture, layer: int, t: int) -> np.ndarray:
    """(T,) bool: the keys query ``t`` may attend to in ``layer`` (from the mask rule: a long text stores no mask)."""
    return tiles.allowed_tile(cap, layer, slice(t, t + 1), slice(0, len(cap.tokens)))[0]


def map_captures(cap: Capture, twin_cap: Capture, cap_key: tuple, t: int) -> tuple[Capture, Capture, int]:
    """(maps, the twin's maps, first position): the captures themselves for a short text; for a long one (captured
    linearly) the exact region of dv.REGION characters around query ``t``, of both models, remembered."""
    if not cap.is_linear(0):
        return cap, twin_cap, 0
    n = len(cap.tokens)
    first = dv.region_start(n, t, cap.query_block)
    stop = min(n, first + dv.REGION)
    regions = [
        remembered(
            f"dcmha:region:{which}",
            ("region", which, *cap_key, first),
            lambda c=c: dv.region_capture(c, first, stop),
            lane_of(n),
        )
        for which, c in (("model", cap), ("twin", twin_cap))
    ]
    return regions[0], regions[1], first


def chart_in(column, fig, key: str) -> None:
    """``fig`` in ``column`` (a :func:`ui.figures.columns` column: its tick labels fit its width)."""
    with column:
        show_figure(fig, key=key)


def compose_tab(cell: Cell) -> None:
    """C_ts's parts at both stages, every head's value at the cell, and how much each head draws from the others."""
    cap, layer, t, s, lang = cell.cap, cell.layer, cell.t, cell.s, ensure_language()
    if not cell.model.use_dcmha:
        st.info(D("mha_note"))
    st.caption(D("compose_caption"))
    if not visible_keys(cap, layer, t)[s]:
        st.warning(D("masked_cell", t=t, s=s))
    part_titles = {k: D(f"part_{k}") for k in (*dv.PARTS, "C")}
    for stage in ("pre", "post"):
        show_figure(
            figs.compose_parts(
                dv.compose(cap, layer, t, s, stage),
                part_titles=part_titles,
                title=D(f"{stage}_title", layer=layer, t=t, s=s, q=cell.labels[t], k=cell.labels[s]),
                x_title=D("in_head"),
                y_title=D("out_head"),
                lang=lang,
            ),
            key=f"compose_{stage}",
        )
    st.markdown(D("cell_table"))
    st.dataframe(
        pd.DataFrame({D(f"col_{k}"): v for k, v in dv.cell_values(cap, layer, t, s).items()}),
        hide_index=True,
        key="cell_table",
    )
    if not cell.model.use_dcmha:
        return
    # remembered with the number of allowed cells they average over: a long text's mask is computed, not stored
    draws = remembered(
        "dcmha:draws",
        ("draws", *cell.cap_key, layer),
        lambda: {
            "cells": int(cap.mask(layer).sum()),
            **{stage: dv.draw_matrix(cap, layer, stage) for stage in ("pre", "post")},
        },
        lane_of(len(cap.tokens)),
    )
    left, right = columns([3, 2])
    chart_in(
        left,
        figs.draw_matrices(
            [(D("draw_pre"), draws["pre"]), (D("draw_post"), draws["post"])],
            title=D("draw_title", layer=layer, n=draws["cells"]),
            x_title=D("in_head"),
            y_title=D("out_head"),
            lang=lang,
        ),
        key="draw_matrix",
    )
    strengths = {stage: dv.head_strength(draws[stage]) for stage in ("pre", "post")}
    bars = {f"{stage} · {D(kind)}": strengths[stage][kind] for kind in ("cross", "self") for stage in ("pre", "post")}
    chart_in(
        right,
        figs.head_bars(bars, title=D("strength_title", layer=layer), x_title=D("out_head"), y_title=D("strength_axis")),
        key="head_strength",
    )


def whole_map(cell: Cell, head: int) -> None:
    """A long text: the head's whole post-composed map in exact blocks, as the Attention page draws it, with the
    region the maps below show outlined; a box dragged over it moves the region there (query and key at its centre)."""
    n = len(cell.cap.tokens)
    blocks = remembered(
        "dcmha:blocks",
        ("blocks", *cell.cap_key, cell.layer, head),
        lambda: tiles.block_map(cell.cap, cell.layer, head, LONG_MAP_BLOCKS),
        lane_of(n),
    )
    fig = plots.block_heatmap(
        blocks,
        title=D("whole_title", layer=cell.layer, head=head, n=n),
        height=520,
        lang=ensure_language(),
    )
    stop = cell.first + len(cell.maps.tokens)
    fig.add_shape(
        type="rect",
        x0=cell.first - 0.5,
        x1=stop - 0.5,
        y0=cell.first - 0.5,
        y1=stop - 0.5,
        line=dict(color=figs.SELECTED_COLOR, width=2),
        fillcolor="rgba(0,0,0,0)",
    )

    def move_region() -> None:
        box = dragged_box("dcmha_whole", n)
        if box is not None:
            (a, b), (c, d) = box
            st.session_state["dc_q"], st.session_state["dc_k"] = (a + b) // 2, (c + d) // 2

    show_figure(fig, key="dcmha_whole", on_select=move_region, selection_mode="box")
    st.caption(D("whole_caption", blocks=len(blocks.row_starts), region=dv.REGION))


def stages_tab(cell: Cell) -> None:
    """One head's four maps (raw, composed, softmax, post-composed) with their differences, then every head small."""
    st.caption(D("stages_caption"))
    if not cell.model.use_dcmha:
        st.info(D("mha_note"))
    head_n = D("head_n")
    st.radio(
        D("head"),
        list(range(cell.cap.n_heads)),
        key="dc_head",
        horizontal=True,
        format_func=lambda h: head_n.format(h=h),
    )
    head, lang = st.session_state["dc_head"], ensure_language()
    if cell.region:
        whole_map(cell, head)
    region_note(cell)
    stages = dv.stage_maps(cell.maps, cell.layer)
    stage_titles = {k: D(f"stage_{k}") for k in ("raw", "composed", "dpre", "probs", "pattern", "dpost")}
    show_figure(
        figs.stage_figure(
            {k: v[head] for k, v in stages.items()},
            cell.map_labels,
            cell.allowed,
            title=D("stage_title", layer=cell.layer, head=head),
            panel_titles=stage_titles,
            x_title=D("key_axis"),
            y_title=D("query_axis"),
            shapes=cell.shapes,
            lang=lang,
        ),
        key="stages",
    )
    show_figure(
        figs.stage_grid(
            stages,
            cell.allowed,
            title=D("grid_title", layer=cell.layer),
            column_titles={k: stage_titles[k] for k in dv.STAGES},
            lang=lang,
        ),
        key="stage_grid",
    )


def gates_tab(cell: Cell) -> None:
    """The per-token gates and low-rank compose strengths, and the heads ranked by how much they compose."""
    if not cell.model.use_dcmha:
        st.info(D("mha_note"))
        return
    cap, layer, lang = cell.cap, cell.layer, ensure_language()
    show_figure(
        figs.token_head_maps(
            dv.gates(cap, layer),
            cell.labels,
            title=D("gates_title", layer=layer),
            panel_titles={g: D(f"gate_{g}") for g in dv.GATES},
            limit=1.0,
            x_title=D("token_axis"),
            y_title=D("head"),
            bar_title="tanh",
            lang=lang,
        ),
        key="gates",
    )
    show_figure(
        figs.token_head_maps(
            dv.lowrank_strength(cap, layer),
            cell.labels,
            title=D("lowrank_title", layer=layer),
            panel_titles={k: D(f"lr_{k}") for k in ("pre_q", "pre_k", "post_q", "post_k")},
            diverging=False,
            x_title=D("token_axis"),
            y_title=D("head"),
            lang=lang,
        ),
        key="lowrank",
    )
    st.subheader(D("ranking"))
    st.caption(D("ranking_help"))
    table = remembered("dcmha:ranking", ("ranking", *cell.cap_key), lambda: dv.ranking(cap), lane="analysis")
    st.dataframe(table.round(4), hide_index=True, key="ranking")


def compare_tab(cell: Cell, text: str) -> None:
    """The DCFormer next to its MHA twin on the same text: one head's maps, every head's, and their continuations."""
    dc_cap, mha_cap = (cell.maps, cell.twin_maps) if cell.model.use_dcmha else (cell.twin_maps, cell.maps)
    head, layer, lang = st.session_state["dc_head"], cell.layer, ensure_language()
    st.caption(D("compare_loss", dc=dc_cap.loss, mha=mha_cap.loss))
    region_note(cell)
    show_figure(
        figs.side_by_side(
            [(D("dc_map"), dc_cap.pattern(layer)[head]), (D("mha_map"), mha_cap.pattern(layer)[head])],
            cell.map_labels,
            cell.allowed,
            title=D("compare_title", layer=layer, head=head),
            x_title=D("key_axis"),
            y_title=D("query_axis"),
            shapes=cell.shapes,
            lang=lang,
        ),
        key="compare",
    )
    left, right = columns(2)
    pair = (dc_cap.pattern(layer), mha_cap.pattern(layer))  # side by side: one scale, one meaning of a colour
    shared = dict(
        columns=cell.cap.n_heads,
        selected=head,
        head_label=D("head_n"),
        lang=lang,
        diverging=any(figs.has_negative(m) for m in pair),
        limit=max(float(np.abs(m).max()) for m in pair),
    )
    chart_in(
        left,
        figs.head_grid(pair[0], cell.allowed, title=D("dc_grid", layer=layer), **shared),
        key="compare_dc_grid",
    )
    chart_in(
        right,
        figs.head_grid(pair[1], cell.allowed, title=D("mha_grid", layer=layer), **shared),
        key="compare_mha_grid",
    )
    with st.expander(D("generate")):
        g1, g2 = st.columns(2)
        n_chars = g1.slider(
            D("gen_chars"), 10, 200, 60, key="dc_gen_chars", **url_state.PERSIST
        )  # kept while the text is empty
        temperature = g2.slider(D("gen_temp"), 0.0, 1.5, 0.0, 0.1, key="dc_gen_temp", **url_state.PERSIST)
        if st.button(D("gen_button"), key="dc_gen"):
            for model in (cell.model, cell.twin):
                more = dv.continue_text(model, text, n_chars, temperature=temperature, seed=0)
                st.markdown(f"**{model.name}**")
                st.code(text + more, language=None, wrap_lines=True)


def redundancy_tab(cell: Cell) -> None:
    """Does composition make heads less redundant, or maps higher-rank? The two models on the user's text, per layer."""
    dc_cap, mha_cap = (cell.maps, cell.twin_maps) if cell.model.use_dcmha else (cell.twin_maps, cell.maps)
    lang, layer = ensure_language(), cell.layer
    st.caption(D("redundancy_caption"))
    region_note(cell)
    result = remembered(
        "dcmha:redundancy",
        ("redundancy", *cell.cap_key, cell.first),
        lambda: dv.redundancy_comparison(dc_cap, mha_cap),
        lane="analysis",
    )
    for measure in ("similarity", "rank"):
        key, values = result.verdict(measure)
        st.markdown(D(key.removeprefix("dcmha."), **values))
    left, right = columns(2)
    similarity = {D(f"series_{name}"): values for name, values in result.similarity.items()}
    chart_in(
        left,
        figs.head_bars(
            similarity, title=D("similarity_by_layer"), x_title=D("layer"), y_title=D("mean_cosine"), highlight=layer
        ),
        key="similarity_by_layer",
    )
    ranks = {D(f"series_{name}"): values for name, values in result.rank.items()}
    chart_in(
        right,
        figs.head_bars(
            ranks,
            title=D("rank_by_layer", d=result.d_head),
            x_title=D("layer"),
            y_title=D("mean_erank"),
            highlight=layer,
        ),
        key="rank_by_layer",
    )
    matrices = [redundancy.layer_similarity(cap, layer, "cosine") for cap in (dc_cap, mha_cap)]
    bottom = min(0.0, *(float(m.min()) for m in matrices))  # one colour scale for both
    labels = [D("head_n", h=h) for h in range(cell.cap.n_heads)]
    for column, matrix, name in zip(columns(2), matrices, ("dc_map", "mha_map")):
        chart_in(
            column,
            head_figures.similarity_matrix(
                matrix,
                labels,
                is_distance=False,
                zmin=bottom,
                lang=lang,
                title=D("layer_similarity_title", model=D(name), layer=layer),
            ),
            key=f"similarity_{name}",
        )
    st.caption(D("redundancy_honest"))


def sandbox() -> None:
    """A static compose matrix applied to one layer of MiniLM: what changes in that layer and after it."""
    state, lang = st.session_state, ensure_language()
    st.markdown(D("sandbox_intro"))
    try:
        minilm = get_model(MINILM)
    except Exception as error:  # the offline model package missing must not take the page down
        st.error(f"{MINILM}: {error_text(error)}")
        return
    H, L = minilm.n_heads, minilm.n_layers
    fit_indices(sb_layer=L, sb_a=H, sb_b=H)
    text_box(D("sb_text"), "sb_text")
    try:
        sb_text = clean_text(state["sb_text"])
    except InputError as error:
        st.info(error.message(lang))
        sb_text = None
    else:
        show_notices(sb_text, lang)
    c1, c2, c3, c4, c5 = st.columns([1, 2, 2, 1, 1])
    c1.selectbox(D("sb_layer"), list(range(L)), key="sb_layer")
    c2.radio(D("sb_stage"), ["pre", "post"], key="sb_stage", format_func=lambda x: D(f"stage_{x}"), horizontal=True)
    preset = dict(on_change=load_preset, args=(H,))
    c3.selectbox(D("sb_preset"), dv.SANDBOX_PRESETS, key="sb_preset", format_func=lambda p: D(f"preset_{p}"), **preset)
    c4.number_input(D("sb_a"), 0, H - 1, key="sb_a", **preset)
    c5.number_input(D("sb_b"), 0, H - 1, key="sb_b", **preset)
    st.button(D("sb_apply"), on_click=load_preset, args=(H,), key="sb_apply")
    matrix = compose_editor(H)
    if matrix is None or sb_text is None:
        return
    text, layer, stage = sb_text.text, int(state["sb_layer"]), state["sb_stage"]
    base = remembered("sandbox_base", ("sandbox_base", text), lambda: dict(run_capture(minilm, [text])[0]))
    result = remembered(
        "sandbox",
        ("sandbox", text, layer, stage, state["sb_matrix"]),
        lambda: dv.sandbox_capture(minilm, text, layer, matrix, stage, base=base),
    )
    if result.truncated:
        st.warning(
            T("msg.truncated_first", n=result.full_length, model=escape_markdown(minilm.name), limit=minilm.max_tokens)
        )
    before, after = result.base[hook_name("pattern", layer)], result.edited[hook_name("pattern", layer)]
    allowed = result.base[hook_name("mask", layer)]
    if np.array_equal(matrix, np.eye(H, dtype=np.float32)):
        st.success(D("sb_identity") + f" (max |Δ| = {dv.max_difference(result):.1e})")
    st.caption(D("sb_hidden", rel=dv.hidden_change(result, L)))
    peak, negative = float(max(np.abs(before).max(), np.abs(after).max())), figs.has_negative(after)
    grid = dict(head_label=D("head_n"), lang=lang)
    show_figure(
        figs.head_grid(
            before, allowed, title=D("sb_before", layer=layer), limit=peak, diverging=negative, bar_title="p", **grid
        ),
        key="sb_before",
    )
    show_figure(
        figs.head_grid(
            after,
            allowed,
            title=D("sb_after", layer=layer, stage=stage),
            limit=peak,
            diverging=negative,
            bar_title="p′",
            **grid,
        ),
        key="sb_after",
    )
    show_figure(
        figs.head_grid(
            after - before, allowed, title=D("sb_diff_title", layer=layer), diverging=True, bar_title="Δ", **grid
        ),
        key="sb_diff",
    )
    show_figure(
        figs.head_bars(
            {D("mean_dpattern"): dv.pattern_change_by_layer(result, L)},
            title=D("sb_spread", layer=layer),
            x_title=D("layer"),
            highlight=layer,
        ),
        key="sb_spread",
    )
    st.caption(escape_markdown(" ".join(str(x) for x in result.base["tokens"])))
