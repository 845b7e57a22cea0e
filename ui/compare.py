"""The Compare heads page's two views over every head at once (pages/1_Compare_heads.py lays them out):
which heads attend alike, and how many directions each head's map and scores use."""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from attnviz.analysis import redundancy
from attnviz.figures import heads as head_figures
from attnviz.models.base import hook_name

from .figures import show_figure
from .lang import T, ensure_language
from .session import captures_for, remembered


def pick_pair(n_heads: int) -> None:
    """A click on the similarity matrix: the row's head becomes A and the column's head B (each cell's click target
    carries both as ``layer * n_heads + head``, whatever the cluster order)."""
    points = st.session_state["similarity"]["selection"]["points"]
    if not points or "customdata" not in points[0]:
        return
    row, column = (int(i) for i in points[0]["customdata"][:2])
    st.session_state.update(
        a_layer=row // n_heads, a_head=row % n_heads, b_layer=column // n_heads, b_head=column % n_heads
    )


def similarity_section(view) -> None:
    """Every head against every head, ordered so that heads that attend alike form blocks; a click compares two."""
    capture, lang = view.captures[0], ensure_language()
    st.subheader(T("compare.similar_header"))
    if view.long:  # maps not stored: the cosine streams over blocks of rows; JS would compare every row of every pair
        metric = "cosine"
        st.caption(T("compare.long_cosine", n=len(capture.tokens)))
    else:
        st.radio(
            T("compare.metric"),
            redundancy.METRICS,
            key="similarity_metric",
            horizontal=True,
            format_func=lambda m: T(f"compare.metric_{m}"),
        )
        metric = st.session_state["similarity_metric"]
    keep = view.keep(0)
    rows = (
        None if keep is None else np.isin(np.arange(len(capture.tokens)), keep)
    )  # "hide special tokens": their rows too
    key = ("similarity", view.model_name, view.texts, view.spec, metric, None if keep is None else tuple(keep))
    try:
        matrix, order = remembered(
            "similarity", key, lambda: _similarity_and_order(capture, metric, rows), lane="analysis"
        )
    except ValueError as error:  # JS of a map with negative weights (a DCFormer's post-composed maps)
        st.info(T("compare.js_refused", error=str(error)))
        return
    labels = redundancy.head_labels(capture.n_layers, capture.n_heads)
    show_figure(
        head_figures.similarity_matrix(
            matrix,
            labels,
            is_distance=metric == "js",
            order=order,
            title=T("compare.similar_title", n=len(labels)),
            lang=lang,
        ),
        key="similarity",
        arrays={"similarity": matrix, "order": order},
        on_select=functools.partial(pick_pair, capture.n_heads),
        selection_mode="points",
    )
    st.caption(T("compare.similar_caption_js" if metric == "js" else "compare.similar_caption_cosine"))


def _similarity_and_order(capture, metric: str, rows) -> tuple[np.ndarray, np.ndarray]:
    matrix = redundancy.head_similarity(capture, metric, query_rows=rows)
    return matrix, redundancy.cluster_order(matrix, is_distance=metric == "js")


def rank_section(view) -> None:
    """Effective rank of every head's map and score matrix next to d_head, the bound of the scores."""
    model, lang = view.model, ensure_language()
    st.subheader(T("compare.rank_header"))
    # every layer's scores, recorded (a short sentence) or rebuilt from q and k a layer at a time (T·d each, never
    # every layer's scores at once): from the view's capture when it holds them (ui.session.view_hooks), else from
    # a capture of q and k alone
    capture = view.captures[0]
    if not all(capture.holds_scores(layer) for layer in range(model.n_layers)):
        hooks = tuple(hook_name(name, layer) for layer in range(model.n_layers) for name in ("q", "k", "score_scale"))
        linear = captures_for(view.model_name, view.texts[:1], view.spec, hooks, slot="ranks")[0]
        capture = capture.with_arrays({**linear, **capture})
    key = ("ranks", view.model_name, view.texts[:1], view.spec)
    table = remembered("ranks", key, lambda: redundancy.rank_table(capture), lane="analysis")
    n_real = int(np.asarray(capture.key_is_real).sum())
    show_figure(
        head_figures.rank_bars(
            table, d_head=model.d_head, n_tokens=n_real, title=T("compare.rank_title", d=model.d_head), lang=lang
        ),
        key="rank_bars",
        arrays={name: table[name].to_numpy() for name in redundancy.RANK_COLUMNS},
    )
    above = int((table["pattern_erank"] > model.d_head).sum())
    st.caption(
        T(
            "compare.rank_caption" if n_real > model.d_head else "compare.rank_caption_short",
            d=model.d_head,
            n=n_real,
            above=above,
            heads=len(table),
            pattern=float(table["pattern_erank"].mean()),
            scores=float(table["scores_erank"].mean()),
        )
    )
